package receive

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/gofaxserver/gofaxserver/gofaxlib"
	"github.com/gofaxserver/gofaxserver/gofaxlib/freeswitch"
	"github.com/gofaxserver/gofaxserver/gofaxlib/hylafax"
)

// Timing of the Recovery.
const (
	// RecoveryRetry is how long the Recovery waits before asking
	// FreeSWITCH again when it could not be asked.
	RecoveryRetry = 30 * time.Second
	// recoveryPoll is how often the Recovery asks whether the calls it
	// waits for still exist (besides their hangup events).
	recoveryPoll = 2 * time.Second
	// maxRecvqScan bounds how many recvq entries the start-up check
	// looks at.
	maxRecvqScan = 100_000
)

// recovery is the Recovery's state in the Handler.
type recovery struct {
	once    sync.Once
	wake    chan struct{}
	mu      sync.Mutex
	waiting map[string]string // recv.start ID → why it is not recorded yet
	orphans int               // unfinished recvq files no record tells about
}

func (r *recovery) init() {
	r.once.Do(func() { r.wake = make(chan struct{}, 1) })
}

// wakeRecovery tells the Recovery that a reception was handed over.
func (h *Handler) wakeRecovery() {
	h.recovery.init()
	select {
	case h.recovery.wake <- struct{}{}:
	default:
	}
}

// Unfinished reports how many receptions wait for FreeSWITCH to confirm
// their end (or to be asked at all), with one reason, and how many recvq
// files the start-up check found unfinished with no record about them.
func (h *Handler) Unfinished() (waiting int, why string, orphans int) {
	r := &h.recovery
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, w := range r.waiting {
		why = w
		break
	}
	return len(r.waiting), why, r.orphans
}

// wait records why a reception is not recorded yet; the first time and
// whenever the reason changes it is logged as an error.
func (h *Handler) wait(it *pendingRecv, why string) {
	r := &h.recovery
	r.mu.Lock()
	old, seen := r.waiting[it.id]
	if r.waiting == nil {
		r.waiting = map[string]string{}
	}
	r.waiting[it.id] = why
	r.mu.Unlock()
	if !seen || old != why {
		h.logger().Error("reception not finished: kept in recvq as written until FreeSWITCH confirms that the call ended",
			"reason", why, "call_uuid", it.rcpt.UUID, "commid", it.rcpt.CommID, "file", it.rcpt.File,
			"retry", RecoveryRetry)
	}
}

func (h *Handler) unwait(id string) {
	r := &h.recovery
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.waiting, id)
}

// pendingRecv is a reception the Recovery is to finish.
type pendingRecv struct {
	id       string
	rcpt     Reception
	deadline time.Time // its maxcalltime: then it is killed
	tr       *freeswitch.Tracker
	killedAt time.Time
}

// Recover finishes the receptions whose call could not record them:
// those an earlier run of gofaxd left (crash, kill -9, power loss, the
// stop deadline) and those whose call's end was not confirmed. For each
// it asks FreeSWITCH over the inbound event socket whether the call
// still exists (uuid_exists); once it is gone (waiting for its end,
// killing it after maxcalltime) the file is final and the reception is
// recorded: tagged, RECV record, a note in its session log, and faxrcvd.
// While FreeSWITCH cannot be asked, the reception waits, the file is
// left exactly as it is, and the reason is reported (log, Unfinished);
// it is tried again every RecoveryRetry. At its first pass it also
// reports recvq files that are unfinished while no record tells about
// them. It returns when ctx ends.
func (h *Handler) Recover(ctx context.Context) {
	if h.Journal == nil {
		return
	}
	h.recovery.init()
	h.checkRecvq()
	for {
		h.recoverPass(ctx)
		retry := time.NewTimer(RecoveryRetry)
		if n, _, _ := h.Unfinished(); n == 0 {
			retry.Stop()
		}
		select {
		case <-ctx.Done():
		case <-h.recovery.wake:
		case <-retry.C:
		}
		retry.Stop()
		if ctx.Err() != nil {
			return
		}
	}
}

// recoverable returns the receptions to finish: recv.start records
// pending for ConsumerRecv whose call does not run here, leaving out
// those in skip.
func (h *Handler) recoverable(skip map[string]bool) []*pendingRecv {
	maxCallTime := h.MaxCallTime
	if maxCallTime <= 0 {
		maxCallTime = DefaultMaxCallTime
	}
	var out []*pendingRecv
	for _, rec := range h.Journal.Pending(ConsumerRecv) {
		if skip[rec.ID] || h.active.has(rec.ID) {
			continue
		}
		var r Reception
		err := rec.Decode(&r)
		if err == nil && (!uuidRe.MatchString(r.UUID) || len(r.CommID) != 9) {
			err = fmt.Errorf("uuid %q, commid %q", r.UUID, r.CommID)
		}
		if err != nil {
			h.logger().Error("unusable reception record in the journal, dropped", "record", rec.ID, "err", err)
			h.Journal.Ack(ConsumerRecv, rec.ID)
			continue
		}
		out = append(out, &pendingRecv{id: rec.ID, rcpt: r, deadline: r.Start.Add(maxCallTime),
			tr: &freeswitch.Tracker{UUID: r.UUID}})
	}
	return out
}

// recoverPass finishes what it can over one inbound connection.
func (h *Handler) recoverPass(ctx context.Context) {
	items := h.recoverable(nil)
	if len(items) == 0 {
		return
	}
	if h.Dial == nil {
		for _, it := range items {
			h.wait(it, "FreeSWITCH cannot be asked: no inbound event socket")
		}
		return
	}
	dctx, cancel := context.WithTimeout(ctx, KillGrace)
	conn, err := h.Dial(dctx)
	cancel()
	if err != nil {
		for _, it := range items {
			h.wait(it, fmt.Sprintf("cannot reach FreeSWITCH to ask whether the call ended: %v", err))
		}
		return
	}
	defer conn.Close()
	w := &watcher{h: h, conn: conn, live: map[string]*pendingRecv{}, seen: map[string]bool{}}
	w.run(ctx, items)
}

// watcher follows the calls of unfinished receptions over one inbound
// connection until they are gone.
type watcher struct {
	h          *Handler
	conn       Control
	live       map[string]*pendingRecv // by call UUID
	seen       map[string]bool         // recv.start IDs taken
	subscribed bool
}

// command bounds one event socket command of the Recovery.
func (w *watcher) command(ctx context.Context) (context.Context, context.CancelFunc) {
	d := w.h.CommandTimeout
	if d <= 0 {
		d = DefaultCommandTimeout
	}
	return context.WithTimeout(ctx, d)
}

// exists asks whether the call of it still exists.
func (w *watcher) exists(ctx context.Context, it *pendingRecv) (bool, error) {
	cctx, cancel := w.command(ctx)
	defer cancel()
	out, err := w.conn.API(cctx, "uuid_exists "+it.rcpt.UUID)
	switch out = strings.TrimSpace(out); {
	case err != nil:
		return false, err
	case out == "false":
		return false, nil
	case out == "true":
		return true, nil
	}
	return false, fmt.Errorf("uuid_exists answered %q", out)
}

// intake takes new receptions: gone calls are recorded at once, live
// ones watched. It returns false when the connection failed.
func (w *watcher) intake(ctx context.Context, items []*pendingRecv) bool {
	for i, it := range items {
		w.seen[it.id] = true
		up, err := w.exists(ctx, it)
		if err != nil {
			for _, rest := range items[i:] {
				w.h.wait(rest, fmt.Sprintf("cannot ask FreeSWITCH whether the call ended: %v", err))
			}
			return false
		}
		if !up {
			w.h.finishRecovered(ctx, it, nil)
			continue
		}
		w.h.wait(it, "the call is still up on FreeSWITCH: waiting for its end")
		w.live[it.rcpt.UUID] = it
		cctx, cancel := w.command(ctx)
		err = w.conn.Filter(cctx, "Unique-ID", it.rcpt.UUID)
		if err == nil && !w.subscribed {
			err = w.conn.Subscribe(cctx, "plain", subscription...)
			w.subscribed = err == nil
		}
		cancel()
		if err != nil {
			w.h.wait(it, fmt.Sprintf("cannot follow the call on FreeSWITCH: %v", err))
			return false
		}
	}
	return true
}

func (w *watcher) run(ctx context.Context, items []*pendingRecv) {
	if !w.intake(ctx, items) {
		return
	}
	poll := time.NewTicker(recoveryPoll)
	defer poll.Stop()
	for len(w.live) > 0 {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-w.conn.Events():
			if !ok {
				for _, it := range w.live {
					w.h.wait(it, "the connection to FreeSWITCH was lost while waiting for the call's end")
				}
				return
			}
			it := w.live[ev.UUID()]
			if it == nil {
				continue
			}
			it.tr.Add(ev)
			if it.tr.Complete() {
				delete(w.live, it.rcpt.UUID)
				w.h.finishRecovered(ctx, it, it.tr)
			}
		case <-poll.C:
			if !w.check(ctx) {
				return
			}
		case <-w.h.recovery.wake:
			if !w.intake(ctx, w.h.recoverable(w.seen)) {
				return
			}
		}
	}
}

// check asks about every watched call: gone ones are recorded, those
// past their maxcalltime killed. It returns false when the connection
// failed.
func (w *watcher) check(ctx context.Context) bool {
	for uuid, it := range w.live {
		up, err := w.exists(ctx, it)
		if err != nil {
			for _, it := range w.live {
				w.h.wait(it, fmt.Sprintf("cannot ask FreeSWITCH whether the call ended: %v", err))
			}
			return false
		}
		now := time.Now()
		switch {
		case !up:
			delete(w.live, uuid)
			w.h.finishRecovered(ctx, it, it.tr)
		case it.killedAt.IsZero() && now.After(it.deadline):
			it.killedAt = now
			w.h.logger().Warn("killing a call gofaxd lost: longer than maxcalltime", "call_uuid", uuid, "commid", it.rcpt.CommID)
			cctx, cancel := w.command(ctx)
			if err := freeswitch.Kill(cctx, w.conn, uuid, ""); err != nil && !errors.Is(err, freeswitch.ErrNoChannel) {
				w.h.logger().Warn("uuid_kill failed", "call_uuid", uuid, "err", err)
			}
			cancel()
		case !it.killedAt.IsZero() && now.Sub(it.killedAt) > 2*KillGrace:
			delete(w.live, uuid)
			w.h.wait(it, "the call did not end after uuid_kill")
		}
	}
	return true
}

// finishRecovered records a reception whose call is gone; tr holds what
// its events said, nil when none were seen.
func (h *Handler) finishRecovered(ctx context.Context, it *pendingRecv, tr *freeswitch.Tracker) {
	rcpt := it.rcpt
	log := h.logger().With("call_uuid", rcpt.UUID, "commid", rcpt.CommID, "file", rcpt.File, "modem", rcpt.Modem)
	if h.Journal.Has(it.id + DoneSuffix) {
		// Recorded just before the acknowledgement was lost.
		h.Journal.Ack(ConsumerRecv, it.id)
		h.unwait(it.id)
		return
	}
	var res gofaxlib.Result
	var hungUp time.Time
	if tr != nil {
		res = tr.Result()
		if tr.Complete() {
			hungUp = time.Now()
		}
	}
	file, err := hylafax.OpenRecvFile(h.Spool, rcpt.File, fs.FileMode(rcpt.FileMode))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		file = nil
	case errors.Is(err, hylafax.ErrRecvFileName):
		log.Error("unusable reception record in the journal, dropped", "err", err)
		h.Journal.Ack(ConsumerRecv, it.id)
		h.unwait(it.id)
		return
	case err != nil:
		h.wait(it, fmt.Sprintf("cannot open the received file: %v", err))
		return
	}
	sess, err := hylafax.ReopenSession(h.Spool, rcpt.CommID, hylafax.SessionOptions{Mode: h.LogFileMode})
	if err != nil {
		log.Error("session log", "err", err)
		sess = &hylafax.SessionLog{} // writes nothing
	}
	sess.Printf("gofaxd: FreeSWITCH confirmed the end of call %s: recording the reception", rcpt.UUID)
	r, xfer := h.record(ctx, file, &ending{rcpt: rcpt, res: res, hungUp: hungUp, recovered: true}, sess, log)
	if err := sess.Close(); err != nil {
		log.Error("session log", "err", err)
	}
	done := h.commit(ctx, it.id, r, file, xfer)
	h.unwait(it.id)
	log.Info("reception of a lost call recorded", "pages", r.Pages, "class", r.Class, "reason", r.Reason)
	if obs, ok := h.Observer.(FaxrcvdObserver); ok {
		obs.Recovered(r.Class)
	}
	h.enqueue(ctx, done, r)
}

// checkRecvq reports the files in recvq that are unfinished (not tagged
// by gofaxd or faxgetty), not being received (not locked) and that no
// journal record tells about: files an old version, or a power loss
// before the record was durable, left. They are only reported: without a
// record nothing says which call they came from.
func (h *Handler) checkRecvq() {
	known := map[string]bool{}
	for _, rec := range h.Journal.Pending(ConsumerRecv) {
		var r Reception
		if rec.Decode(&r) == nil {
			known[r.File] = true
		}
	}
	dir := filepath.Join(h.Spool, "recvq")
	f, err := os.Open(dir)
	if err != nil {
		h.logger().Error("cannot check recvq", "err", err)
		return
	}
	names, err := f.Readdirnames(maxRecvqScan)
	f.Close()
	if err != nil && !errors.Is(err, io.EOF) {
		h.logger().Error("cannot check recvq", "err", err)
		return
	}
	orphans := 0
	for _, n := range names {
		name := "recvq/" + n
		if !strings.HasPrefix(n, "fax") || !strings.HasSuffix(n, ".tif") || known[name] {
			continue
		}
		if why := unfinished(filepath.Join(dir, n)); why != "" {
			orphans++
			h.logger().Warn("unfinished file in recvq that no journal record tells about: left as it is",
				"file", name, "state", why)
		}
	}
	h.recovery.mu.Lock()
	h.recovery.orphans = orphans
	h.recovery.mu.Unlock()
}

// unfinished says why a recvq file is unfinished, "" when it is finished
// or being received.
func unfinished(path string) string {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return ""
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		return ""
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB); err != nil {
		return "" // being received
	}
	pages, err := hylafax.TIFFPages(path)
	switch {
	case err != nil:
		return "not a readable TIFF: " + err.Error()
	case len(pages) == 0:
		return "no pages"
	case pages[0].FaxRecvParams == 0:
		return fmt.Sprintf("%d pages, never tagged", len(pages))
	}
	return ""
}
