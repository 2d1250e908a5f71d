package job

import (
	"context"
	"io"
	"net"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gofaxserver/gofaxserver/gofaxlib/esl"
	"github.com/gofaxserver/gofaxserver/gofaxlib/esl/esltest"
	"github.com/gofaxserver/gofaxserver/gofaxsend/internal/outcome"
)

// recorder is a TCP proxy in front of the simulator that keeps what the
// client sent on each connection.
type recorder struct {
	ln   net.Listener
	wg   sync.WaitGroup
	mu   sync.Mutex
	sent []*strings.Builder
}

func newRecorder(t *testing.T, target string) *recorder {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &recorder{ln: ln}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			var b strings.Builder
			r.mu.Lock()
			r.sent = append(r.sent, &b)
			r.mu.Unlock()
			r.wg.Add(2)
			go func() {
				defer r.wg.Done()
				io.Copy(c, s)
				c.Close()
			}()
			go func() {
				defer r.wg.Done()
				buf := make([]byte, 4096)
				for {
					n, err := c.Read(buf)
					r.mu.Lock()
					b.Write(buf[:n])
					r.mu.Unlock()
					if _, werr := s.Write(buf[:n]); err != nil || werr != nil {
						s.Close()
						return
					}
				}
			}()
		}
	}()
	t.Cleanup(func() { ln.Close(); r.wg.Wait() })
	return r
}

// connection returns what the client sent on connection i, once the
// proxy saw it end.
func (r *recorder) connection(t *testing.T, i int) string {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if i >= len(r.sent) {
		t.Fatalf("%d connections, want at least %d", len(r.sent), i+1)
	}
	return r.sent[i].String()
}

var (
	uuidRe   = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)
	txfaxRe  = regexp.MustCompile(`&txfax\([^)]*\)`)
	passRe   = regexp.MustCompile(`(?m)^auth .*$`)
	commands = regexp.MustCompile(`(?s).*?\n\n`)
)

// normalize replaces what differs between runs: uuids (numbered in order
// of appearance), the document path, the password.
func normalize(s string) string {
	ids := map[string]string{}
	s = uuidRe.ReplaceAllStringFunc(s, func(u string) string {
		if ids[u] == "" {
			ids[u] = "UUID" + string(rune('0'+len(ids)))
		}
		return ids[u]
	})
	s = txfaxRe.ReplaceAllString(s, "&txfax(DOCUMENT)")
	return passRe.ReplaceAllString(s, "auth PASSWORD")
}

// TestDialogueMatchesFreeSWITCH sends a job as in the captured dialogues
// of gofaxsend with a real FreeSWITCH (testdata/gofaxsend-*.raw.sent, a
// T.38 fax and a busy number) and compares every command gofaxsend
// writes with the capture. One difference is wanted: the event
// subscription comes after the call's filters (and after the mod_db
// lookups), so that no event of another channel ever reaches gofaxsend.
func TestDialogueMatchesFreeSWITCH(t *testing.T) {
	tests := []struct {
		capture, number string
		sc              esltest.Scenario
		status          outcome.Status
	}{
		{"gofaxsend-t38-jobuuid_A_plain.raw.sent", "5552001", esltest.Scenario{Outcome: esltest.Success, T38: true}, outcome.Done},
		{"gofaxsend-busy-jobuuid_A_plain.raw.sent", "5552486", esltest.Scenario{Outcome: esltest.Busy}, outcome.Retry},
	}
	for _, tt := range tests {
		t.Run(tt.capture, func(t *testing.T) {
			b, err := os.ReadFile("testdata/" + tt.capture)
			if err != nil {
				t.Fatal(err)
			}
			// The capture's order, with "event" moved before "bgapi".
			var want []string
			event := ""
			for _, c := range commands.FindAllString(normalize(string(b)), -1) {
				switch {
				case strings.HasPrefix(c, "event "):
					event = c
				case strings.HasPrefix(c, "bgapi "):
					want = append(want, event, c)
				default:
					want = append(want, c)
				}
			}

			f := newFixture(t, esltest.Options{})
			f.sim.Route(tt.number, tt.sc)
			rec := newRecorder(t, f.sim.Addr())
			f.cfg.FreeSWITCH.Socket = rec.ln.Addr().String()
			f.cfg.FreeSWITCH.Gateways = []string{"fsb"}
			f.cfg.FreeSWITCH.Ident = "+1 555 0001"
			f.cfg.FreeSWITCH.Header = "E2E ACCEPTANCE"
			f.cfg.Gofaxsend.RingTimeout = 60 * time.Second
			f.cfg.Gofaxsend.CIDName = "root"
			if st := f.run(context.Background(), f.qfile("1", tt.number)); st != tt.status {
				t.Fatalf("status %v, want %v", st, tt.status)
			}
			got := commands.FindAllString(normalize(rec.connection(t, 0)), -1)
			if strings.Join(got, "") != strings.Join(want, "") {
				t.Errorf("gofaxsend wrote\n%s\nwant\n%s", strings.Join(got, ""), strings.Join(want, ""))
			}
		})
	}
}

// TestNoForeignEvents: on a busy switch, events of other channels keep
// coming; gofaxsend's connection must never be sent one of them (its
// filters are in place before it subscribes), or its bounded queue fills.
func TestNoForeignEvents(t *testing.T) {
	f := newFixture(t, esltest.Options{})
	f.sim.Route("5551234", esltest.Scenario{Outcome: esltest.Success})
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; i < 200000 && ctx.Err() == nil; i++ {
			f.sim.Fire("CHANNEL_ANSWER", "", esl.Header{Name: "Unique-ID", Value: esl.NewUUID()})
			f.sim.Fire("BACKGROUND_JOB", "", esl.Header{Name: "Job-UUID", Value: esl.NewUUID()})
			f.sim.Fire("CUSTOM", "spandsp::txfaxpageresult", esl.Header{Name: "Unique-ID", Value: esl.NewUUID()})
		}
	}()
	st := f.run(context.Background(), f.qfile("7", "5551234"), f.qfile("8", "5551234"))
	stop()
	wg.Wait()
	if st != outcome.Done {
		t.Fatalf("status %v", st)
	}
	own := map[string]bool{}
	for _, c := range f.sim.Calls() {
		own[c.UUID], own[c.JobUUID] = true, true
	}
	conns := f.sim.Conns()
	if len(conns) == 0 || len(own) < 4 {
		t.Fatalf("connections %d, calls %v", len(conns), own)
	}
	c := conns[0]
	foreign := 0
	for _, ev := range c.Events {
		if !own[ev.UUID] && !own[ev.JobUUID] {
			foreign++
		}
	}
	if foreign > 0 || c.EventCount != len(c.Events) {
		t.Errorf("gofaxsend's connection was sent %d events of other channels (%d events in all)", foreign, c.EventCount)
	}
}
