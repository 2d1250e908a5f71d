package tenancy

import (
	"context"
	"os"
	"strconv"
	"strings"
	"time"
)

// Pickup of other writers' journal segments (gofaxsend, its NotifyCmd
// mode): the journal's reader reads them on Refresh.
const (
	// pickupSettle lets a burst of appends settle into one Refresh.
	pickupSettle = 10 * time.Millisecond
	// pickupPoll is how often Refresh runs without news: the only way
	// where inotify is not available, a safety net where it is.
	pickupPoll = 2 * time.Second
)

// journalLoop reads what other processes append to the journal soon
// after they wrote it: on inotify's word, and every pickupPoll.
func (s *Service) journalLoop(ctx context.Context) {
	w, err := watchDirs(s.j.Dir())
	if err != nil {
		s.log.Warn("cannot watch the journal: gofaxsend's records are picked up every "+pickupPoll.String(), "err", err)
		w = idleWatch()
	}
	defer w.Close()
	// Our own segments change with every reception: not news.
	own := "-gofaxd-" + strconv.Itoa(os.Getpid()) + ".jnl"
	poll := time.NewTicker(pickupPoll)
	defer poll.Stop()
	events := w.C
	var settled <-chan time.Time
	for {
		refresh := false
		select {
		case <-ctx.Done():
			return
		case ch, ok := <-events:
			if !ok {
				events = nil
				continue
			}
			if strings.HasSuffix(ch.name, ".jnl") && !strings.HasSuffix(ch.name, own) && settled == nil {
				settled = time.After(pickupSettle)
			}
		case <-settled:
			settled, refresh = nil, true
		case <-poll.C:
			refresh = true
		}
		if refresh {
			if err := s.j.Refresh(); err != nil && ctx.Err() == nil {
				s.log.Warn("journal", "err", err)
			}
		}
	}
}
