package receive

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gofaxserver/gofaxserver/gofaxlib/esl"
	"github.com/gofaxserver/gofaxserver/gofaxlib/hylafax"
)

// stuckChannel is a call whose socket stays up but whose reply to the
// first "set" after answer never comes; uuid_kill ends the call as
// FreeSWITCH does (CHANNEL_HANGUP_COMPLETE, then the linger notice).
type stuckChannel struct {
	*fakeChannel
	open chan *esl.Event
}

func (s *stuckChannel) Events() <-chan *esl.Event { return s.open }

func (s *stuckChannel) Execute(ctx context.Context, app, arg string) error {
	err := s.fakeChannel.Execute(ctx, app, arg)
	if app == "set" {
		return fmt.Errorf("esl: sendmsg execute: reply: %w", context.DeadlineExceeded)
	}
	return err
}

func (s *stuckChannel) API(ctx context.Context, cmd string) (string, error) {
	out, err := s.fakeChannel.API(ctx, cmd)
	if strings.HasPrefix(cmd, "uuid_kill ") {
		uuid := s.data.UUID()
		// Buffered: the call reads them after uuid_kill returns.
		s.open <- &esl.Event{Headers: esl.Headers{
			{Name: "Event-Name", Value: "CHANNEL_HANGUP_COMPLETE"},
			{Name: "Unique-ID", Value: uuid},
			{Name: "Hangup-Cause", Value: "NORMAL_CLEARING"},
		}}
		s.open <- &esl.Event{Format: esl.FormatNotice, Headers: esl.Headers{{Name: "Content-Disposition", Value: "linger"}}}
	}
	return out, err
}

// TestStartFailureKillsCall: when a command after answer gets no reply
// but the socket stays up, rxfax is never queued; the call is killed at
// once (not held until a deadline) and recorded with the reason.
func TestStartFailureKillsCall(t *testing.T) {
	h := newHandler(t)
	h.MaxCallTime = 2 * time.Second // the deadline that would end it otherwise
	h.XferFaxLog = filepath.Join(h.Spool, "etc", "xferfaxlog")
	var obs recorder
	h.Observer = &obs
	ch := &stuckChannel{
		fakeChannel: newFakeChannel(map[string]string{"sip_to_user": "5551236"}),
		open:        make(chan *esl.Event, 2),
	}
	h.Serve(context.Background(), ch)
	if slices.ContainsFunc(ch.cmds, func(c string) bool { return strings.HasPrefix(c, "rxfax") }) {
		t.Errorf("commands %q: rxfax queued after a failed set", ch.cmds)
	}
	if want := "api uuid_kill " + ch.data.UUID(); !slices.Contains(ch.cmds, want) {
		t.Errorf("commands %q, want %q", ch.cmds, want)
	}
	b, err := os.ReadFile(h.XferFaxLog)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := hylafax.ParseXferLog(bytes.NewReader(b))
	if err != nil || len(recs) != 1 || !strings.HasPrefix(recs[0].Reason, "Call killed: cannot start the reception") {
		t.Errorf("RECV records %+v, %v; want one killed: cannot start the reception", recs, err)
	}
	if len(obs.outs) != 1 || obs.outs[0].Class != ClassFailed {
		t.Errorf("outcomes %+v, want one %s", obs.outs, ClassFailed)
	}
}
