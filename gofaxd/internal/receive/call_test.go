package receive

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gofaxserver/gofaxserver/gofaxd/internal/modem"
	"github.com/gofaxserver/gofaxserver/gofaxlib/esl"
	"github.com/gofaxserver/gofaxserver/gofaxlib/hylafax"
)

// fakeChannel records the commands a call sends and how long each may
// wait for its reply. Its event stream is closed: the call sees the
// socket end at once.
type fakeChannel struct {
	data   *esl.Event
	events chan *esl.Event

	mu   sync.Mutex
	cmds []string
	// budgets[i] is how far off the deadline of cmds[i] was when it was
	// sent; 0 without one.
	budgets []time.Duration
}

func newFakeChannel(vars map[string]string) *fakeChannel {
	hs := esl.Headers{{Name: "Unique-ID", Value: "0d1c2b3a-0000-4000-8000-000000000001"}}
	for k, v := range vars {
		hs = append(hs, esl.Header{Name: "variable_" + k, Value: v})
	}
	ch := &fakeChannel{data: &esl.Event{Headers: hs}, events: make(chan *esl.Event)}
	close(ch.events)
	return ch
}

func (f *fakeChannel) record(ctx context.Context, cmd string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	var budget time.Duration
	if d, ok := ctx.Deadline(); ok {
		budget = time.Until(d)
	}
	f.cmds = append(f.cmds, cmd)
	f.budgets = append(f.budgets, budget)
	return nil
}

func (f *fakeChannel) ChannelData() *esl.Event          { return f.data }
func (f *fakeChannel) Linger(ctx context.Context) error { return f.record(ctx, "linger") }
func (f *fakeChannel) Filter(ctx context.Context, h, v string) error {
	return f.record(ctx, "filter "+h)
}
func (f *fakeChannel) Subscribe(ctx context.Context, format string, names ...string) error {
	return f.record(ctx, "event "+format)
}
func (f *fakeChannel) Execute(ctx context.Context, app, arg string) error {
	return f.record(ctx, strings.TrimSpace(app+" "+arg))
}
func (f *fakeChannel) Hangup(ctx context.Context, cause string) error { return f.record(ctx, "hangup") }
func (f *fakeChannel) API(ctx context.Context, cmd string) (string, error) {
	return "", f.record(ctx, "api "+cmd)
}
func (f *fakeChannel) Events() <-chan *esl.Event      { return f.events }
func (f *fakeChannel) Err() error                     { return nil }
func (f *fakeChannel) Exit(ctx context.Context) error { return f.record(ctx, "exit") }

type discardSender struct{}

func (discardSender) Send(context.Context, hylafax.Message) error { return nil }

// newHandler returns a Handler on a fresh spool with one modem.
func newHandler(t *testing.T) *Handler {
	t.Helper()
	spool := t.TempDir()
	for _, d := range []string{"etc", "status", "log", "recvq"} {
		if err := os.Mkdir(filepath.Join(spool, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	pool, err := modem.Open(modem.Config{Spool: spool, Prefix: "m", Count: 1, Sender: discardSender{}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pool.Close() })
	return &Handler{Settings: Settings{Spool: spool, RecipientFrom: []string{SourceTo}}, Pool: pool}
}

// TestCommandTimeout: every event socket command of a call, refused or
// received, may wait for its reply as long as [freeswitch] timeout says,
// or DefaultCommandTimeout when it says nothing.
func TestCommandTimeout(t *testing.T) {
	for _, tc := range []struct {
		name    string
		timeout time.Duration
		vars    map[string]string
		want    []string // commands, prefixes in order
	}{
		{"received, configured", 7 * time.Hour, map[string]string{"sip_to_user": "5551236"},
			[]string{"linger", "filter", "event", "answer", "set", "rxfax", "exit"}},
		{"received, default", 0, map[string]string{"sip_to_user": "5551236"},
			[]string{"linger", "filter", "event", "answer", "set", "rxfax", "exit"}},
		{"refused, configured", 7 * time.Hour, nil, []string{"filter", "event", "respond", "exit"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHandler(t)
			h.CommandTimeout = tc.timeout
			want := tc.timeout
			if want == 0 {
				want = DefaultCommandTimeout
			}
			ch := newFakeChannel(tc.vars)
			h.Serve(context.Background(), ch)
			if !prefixesInOrder(ch.cmds, tc.want) {
				t.Fatalf("commands %q, want %q in order", ch.cmds, tc.want)
			}
			for i, b := range ch.budgets {
				// Far more than the few milliseconds a command needs
				// here, and never more than the setting.
				if b > want || b < want-5*time.Second {
					t.Errorf("%q could wait %v for its reply, want %v", ch.cmds[i], b, want)
				}
			}
		})
	}
}

// TestNoRecipientScreenResponse: a call without a usable called number is
// refused with screenresponse, as one that DynamicConfig rejects.
func TestNoRecipientScreenResponse(t *testing.T) {
	for _, code := range []int{404, 480} {
		t.Run(fmt.Sprint(code), func(t *testing.T) {
			h := newHandler(t)
			h.ScreenResponse = code
			h.RejectResponse = 486
			var obs recorder
			h.Observer = &obs
			ch := newFakeChannel(map[string]string{"sip_req_user": "5551236"}) // not a configured source
			h.Serve(context.Background(), ch)
			if want := fmt.Sprint("respond ", code); !slices.Contains(ch.cmds, want) {
				t.Errorf("commands %q, want %q", ch.cmds, want)
			}
			if len(obs.outs) != 1 || obs.outs[0].Class != ClassNoRecipient {
				t.Errorf("outcomes %+v, want one %s", obs.outs, ClassNoRecipient)
			}
		})
	}
}

type recorder struct{ outs []Outcome }

func (r *recorder) CallStarted()        {}
func (r *recorder) CallEnded(o Outcome) { r.outs = append(r.outs, o) }

func prefixesInOrder(got, want []string) bool {
	i := 0
	for _, g := range got {
		if i < len(want) && strings.HasPrefix(g, want[i]) {
			i++
		}
	}
	return i == len(want)
}

// TestIdentNotExpanded: the configured ident and DynamicConfig's
// LocalIdentifier reach "set fax_ident=" without anything FreeSWITCH
// would expand (${api(...)}, ${system(...)}), cut to 20 bytes.
func TestIdentNotExpanded(t *testing.T) {
	for _, tc := range []struct{ ident, want string }{
		{"${system(id)}", "system(id)"},
		{"+49 ${api(status)}", "+49   api(status)"},
		{"$${x}|[`'\\^", "x"},
		{"abcdefghijklmnopqrs€", "abcdefghijklmnopqrs"}, // no rune cut in half
		{"+49 30 999", "+49 30 999"},
	} {
		t.Run(tc.ident, func(t *testing.T) {
			h := newHandler(t)
			h.Ident = tc.ident
			ch := newFakeChannel(map[string]string{"sip_to_user": "5551236"})
			h.Serve(context.Background(), ch)
			want := "set fax_ident=" + tc.want
			if !slices.Contains(ch.cmds, want) {
				t.Errorf("commands %q, want %q", ch.cmds, want)
			}
			if got := ParseCallConfig([]byte("LocalIdentifier: " + tc.ident)).Ident; got != tc.want {
				t.Errorf("LocalIdentifier %q = %q, want %q", tc.ident, got, tc.want)
			}
		})
	}
}

// TestCallLogAttrsOnce: each line a call logs names each attribute once
// (the recipient was once added twice).
func TestCallLogAttrsOnce(t *testing.T) {
	var buf bytes.Buffer
	h := newHandler(t)
	h.Log = slog.New(slog.NewJSONHandler(&buf, nil))
	h.Serve(context.Background(), newFakeChannel(map[string]string{"sip_to_user": "5551236"}))
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if !strings.Contains(buf.String(), `"msg":"accepting call"`) {
		t.Fatalf("no call logged:\n%s", buf.String())
	}
	for _, line := range lines {
		dec := json.NewDecoder(strings.NewReader(line))
		if _, err := dec.Token(); err != nil { // {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		for dec.More() {
			k, err := dec.Token()
			if err != nil {
				t.Fatal(err)
			}
			var v json.RawMessage
			if err := dec.Decode(&v); err != nil {
				t.Fatal(err)
			}
			if seen[k.(string)] {
				t.Errorf("%q twice in %s", k, line)
			}
			seen[k.(string)] = true
		}
	}
}
