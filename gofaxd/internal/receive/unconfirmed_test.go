package receive

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/gofaxserver/gofaxserver/gofaxlib/esl"
	"github.com/gofaxserver/gofaxserver/gofaxlib/hylafax"
	"github.com/gofaxserver/gofaxserver/gofaxlib/journal"
)

// writingChannel is a call whose rxfax writes content into the received
// file and reports page 1, and whose end gofaxd never sees: then ends
// (the stop deadline, or the socket closing) and nothing else comes.
type writingChannel struct {
	*fakeChannel
	content []byte
	then    func()
	open    chan *esl.Event
	done    chan struct{} // the goroutine started by rxfax ended
}

func (w *writingChannel) Events() <-chan *esl.Event { return w.open }

func (w *writingChannel) Execute(ctx context.Context, app, arg string) error {
	if app == "rxfax" {
		if err := os.WriteFile(arg, w.content, 0o600); err != nil {
			return err
		}
		go func() {
			defer close(w.done)
			w.open <- &esl.Event{Headers: esl.Headers{
				{Name: "Event-Name", Value: "CUSTOM"},
				{Name: "Event-Subclass", Value: "spandsp::rxfaxpageresult"},
				{Name: "fax-document-transferred-pages", Value: "1"},
			}}
			w.then()
		}()
	}
	return w.fakeChannel.Execute(ctx, app, arg)
}

// failDial is an inbound connection that cannot be made.
func failDial(context.Context) (Control, error) { return nil, errors.New("connection refused") }

// goneControl answers that the channel no longer exists.
type goneControl struct{}

func (goneControl) API(_ context.Context, cmd string) (string, error) {
	if strings.HasPrefix(cmd, "uuid_exists ") {
		return "false", nil
	}
	return "+OK\n", nil
}
func (goneControl) Close() error                                       { return nil }
func (goneControl) Filter(context.Context, string, string) error       { return nil }
func (goneControl) Subscribe(context.Context, string, ...string) error { return nil }
func (goneControl) Events() <-chan *esl.Event                          { return nil }

// withJournal gives h a journal in its spool.
func withJournal(t *testing.T, h *Handler) *journal.Journal {
	t.Helper()
	j, err := journal.Open(filepath.Join(h.Spool, "gofax", "journal"), journal.Options{Consumers: Consumers})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	h.Journal = j
	return j
}

// TestUnconfirmedEndKeepsFile: when gofaxd cannot confirm that the
// channel is gone, rxfax may still write the file: nothing is recorded
// yet, the file is kept exactly as written (neither removed for having no
// finished page, nor tagged), faxrcvd does not run, and the reception
// stays pending in the journal. Once FreeSWITCH confirms the end, the
// Recovery records it: the file is finished as usual, one RECV record,
// the session log ended once, faxrcvd for a file with pages. When
// FreeSWITCH confirms the end during the call, it is recorded at once.
func TestUnconfirmedEndKeepsFile(t *testing.T) {
	fax, err := os.ReadFile("testdata/received-t38-2page.tif")
	if err != nil {
		t.Fatal(err)
	}
	header := []byte("II*\x00\x00\x00\x00\x00") // page 1 not finished yet
	gone := func(context.Context) (Control, error) { return goneControl{}, nil }
	for _, tc := range []struct {
		name      string
		content   []byte
		stop      bool // the stop deadline ends the wait; else the socket closes
		dial      func(context.Context) (Control, error)
		confirmed bool
	}{
		{"stop deadline, page unfinished", header, true, nil, false},
		{"stop deadline, pages written", fax, true, nil, false},
		{"socket lost, FreeSWITCH unreachable, page unfinished", header, false, failDial, false},
		{"socket lost, FreeSWITCH unreachable, pages written", fax, false, failDial, false},
		{"socket lost, channel gone, page unfinished", header, false, gone, true},
		{"socket lost, channel gone, pages written", fax, false, gone, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHandler(t)
			j := withJournal(t, h)
			h.XferFaxLog = filepath.Join(h.Spool, "etc", "xferfaxlog")
			h.Dial = tc.dial
			marker := filepath.Join(h.Spool, "faxrcvd.ran")
			script := filepath.Join(h.Spool, "faxrcvd")
			if err := os.WriteFile(script, []byte("#!/bin/sh\ntouch "+marker+"\n"), 0o755); err != nil {
				t.Fatal(err)
			}
			h.FaxRcvdCmd = "./faxrcvd"
			abort, stop := context.WithCancel(context.Background())
			defer stop()
			h.Abort = abort
			w := &writingChannel{
				fakeChannel: newFakeChannel(map[string]string{"sip_to_user": "5551236"}),
				content:     tc.content,
				open:        make(chan *esl.Event),
				done:        make(chan struct{}),
			}
			w.then = func() { close(w.open) }
			if tc.stop {
				w.then = stop
			}
			var obs recorder
			h.Observer = &obs
			h.Serve(context.Background(), w)
			<-w.done

			file := filepath.Join(h.Spool, "recvq", "fax000000001.tif")
			pages := bytes.Equal(tc.content, fax)
			if !tc.confirmed {
				got, err := os.ReadFile(file)
				switch {
				case err != nil:
					t.Fatalf("received file removed: %v", err)
				case !bytes.Equal(got, tc.content):
					t.Errorf("received file changed (%d bytes, written %d): tagged while rxfax may write it", len(got), len(tc.content))
				}
				if _, err := os.Stat(marker); err == nil {
					t.Error("faxrcvd ran for an unconfirmed reception")
				}
				if _, err := os.Stat(h.XferFaxLog); err == nil {
					t.Error("RECV record written before the end was confirmed")
				}
				if len(obs.outs) != 1 || obs.outs[0].Class != ClassUnconfirmed || obs.outs[0].Pages != 1 {
					t.Errorf("outcomes %+v, want one %s with the 1 page reported", obs.outs, ClassUnconfirmed)
				}
				if p := j.Pending(ConsumerRecv); len(p) != 1 {
					t.Fatalf("%d receptions pending in the journal, want 1", len(p))
				}
				if n, why, _ := h.Unfinished(); n != 0 || why != "" {
					t.Errorf("Unfinished = %d %q before the Recovery looked", n, why)
				}
				// FreeSWITCH can now be asked: the Recovery records it.
				h.Dial = gone
				h.recoverPass(context.Background())
			}
			got, err := os.ReadFile(file)
			if (err == nil) != pages || pages && bytes.Equal(got, fax) {
				t.Errorf("after the confirmed end: file %d bytes, %v; want it tagged, or removed without a page", len(got), err)
			}
			_, err = os.Stat(marker)
			if ran := err == nil; ran != pages {
				t.Errorf("faxrcvd ran %v, want %v", ran, pages)
			}
			b, err := os.ReadFile(h.XferFaxLog)
			if err != nil {
				t.Fatal(err)
			}
			recs, err := hylafax.ParseXferLog(bytes.NewReader(b))
			if err != nil || len(recs) != 1 {
				t.Fatalf("RECV records %+v, %v; want one", recs, err)
			}
			if recs[0].Reason == "" || recs[0].CommID != "000000001" {
				t.Errorf("RECV %+v, want commid 000000001 with a reason", recs[0])
			}
			if p := j.Pending(ConsumerRecv); len(p) != 0 {
				t.Errorf("reception still pending after it was recorded: %v", p)
			}
			log, _ := os.ReadFile(filepath.Join(h.Spool, "log", "c000000001"))
			if n := strings.Count(string(log), "SESSION END"); n != 1 || !strings.HasSuffix(string(log), "SESSION END\n") {
				t.Errorf("session log with %d SESSION END:\n%s", n, log)
			}
		})
	}
}

// logRecorder keeps the messages logged at each level.
type logRecorder struct {
	mu   sync.Mutex
	msgs map[slog.Level][]string
}

func (l *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (l *logRecorder) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.msgs == nil {
		l.msgs = map[slog.Level][]string{}
	}
	l.msgs[r.Level] = append(l.msgs[r.Level], r.Message)
	return nil
}
func (l *logRecorder) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *logRecorder) WithGroup(string) slog.Handler      { return l }

// TestCheckRecvq: at start, an unfinished recvq file that no journal
// record tells about is reported, once; finished files (tagged), files
// being received (locked), files of journaled receptions and other names
// are not, and an empty recvq is no error.
func TestCheckRecvq(t *testing.T) {
	fax, err := os.ReadFile("testdata/received-t38-2page.tif")
	if err != nil {
		t.Fatal(err)
	}
	h := newHandler(t)
	withJournal(t, h)
	logs := &logRecorder{}
	h.Log = slog.New(logs)
	h.checkRecvq()
	if _, _, orphans := h.Unfinished(); orphans != 0 || len(logs.msgs[slog.LevelError])+len(logs.msgs[slog.LevelWarn]) != 0 {
		t.Fatalf("empty recvq: %d orphans, logs %v", orphans, logs.msgs)
	}
	recvq := filepath.Join(h.Spool, "recvq")
	write := func(name string, b []byte) string {
		p := filepath.Join(recvq, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write("fax000000001.tif", fax)                  // untagged: reported
	write("fax000000002.tif", []byte("not a TIFF")) // unreadable: reported
	write("seqf", []byte("7"))                      // not a fax
	tagged := write("fax000000003.tif", fax)        // finished below
	locked := write("fax000000004.tif", fax)        // being received
	write("fax000000005.tif", fax)                  // journaled below
	if err := hylafax.AddFaxTags(tagged, hylafax.FaxTags{Params: &hylafax.Class2Params{BR: hylafax.BR14400}}); err != nil {
		t.Fatal(err)
	}
	lf, err := os.Open(locked)
	if err != nil {
		t.Fatal(err)
	}
	defer lf.Close()
	if err := syscall.Flock(int(lf.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	h.started(Reception{UUID: "0d1c2b3a-0000-4000-8000-000000000005", CommID: "000000005", File: "recvq/fax000000005.tif"})
	h.checkRecvq()
	if _, _, orphans := h.Unfinished(); orphans != 2 || len(logs.msgs[slog.LevelWarn]) != 2 {
		t.Errorf("%d orphans, warnings %q; want the 2 unfinished files", orphans, logs.msgs[slog.LevelWarn])
	}
}
