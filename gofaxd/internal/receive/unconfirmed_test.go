package receive

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gofaxserver/gofaxserver/gofaxlib/esl"
	"github.com/gofaxserver/gofaxserver/gofaxlib/hylafax"
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
func (goneControl) Close() error { return nil }

// TestUnconfirmedEndKeepsFile: when gofaxd cannot confirm that the
// channel is gone, rxfax may still write the file: it is kept exactly as
// written (neither removed for having no finished page, nor tagged),
// faxrcvd does not run, and the call is still recorded with a reason.
// When FreeSWITCH confirms the end, the file is finished as usual.
func TestUnconfirmedEndKeepsFile(t *testing.T) {
	fax, err := os.ReadFile("testdata/received-t38-2page.tif")
	if err != nil {
		t.Fatal(err)
	}
	header := []byte("II*\x00\x00\x00\x00\x00") // page 1 not finished yet
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
		{"socket lost, channel gone, page unfinished", header, false,
			func(context.Context) (Control, error) { return goneControl{}, nil }, true},
		{"socket lost, channel gone, pages written", fax, false,
			func(context.Context) (Control, error) { return goneControl{}, nil }, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHandler(t)
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
			got, err := os.ReadFile(file)
			switch {
			case tc.confirmed:
				// Finished as usual: tagged, or removed without a page.
				if pages := bytes.Equal(tc.content, fax); (err == nil) != pages || pages && bytes.Equal(got, fax) {
					t.Errorf("after the confirmed end: file %d bytes, %v; want it tagged, or removed without a page", len(got), err)
				}
			case err != nil:
				t.Fatalf("received file removed: %v", err)
			case !bytes.Equal(got, tc.content):
				t.Errorf("received file changed (%d bytes, written %d): tagged while rxfax may write it", len(got), len(tc.content))
			}
			_, err = os.Stat(marker)
			if ran, want := err == nil, tc.confirmed && bytes.Equal(tc.content, fax); ran != want {
				t.Errorf("faxrcvd ran %v, want %v", ran, want)
			}

			b, err := os.ReadFile(h.XferFaxLog)
			if err != nil {
				t.Fatal(err)
			}
			recs, err := hylafax.ParseXferLog(bytes.NewReader(b))
			if err != nil || len(recs) != 1 {
				t.Fatalf("RECV records %+v, %v; want one", recs, err)
			}
			note := strings.Contains(recs[0].Reason, "reception end not confirmed")
			if recs[0].Reason == "" || note == tc.confirmed {
				t.Errorf("RECV reason %q, want one that says whether the end was confirmed (%v)", recs[0].Reason, tc.confirmed)
			}
			if !tc.confirmed && recs[0].Pages != 1 {
				t.Errorf("RECV pages %d, want the 1 reported", recs[0].Pages)
			}
			if len(obs.outs) != 1 || obs.outs[0].Class == ClassReceived {
				t.Errorf("outcomes %+v, want one that is not %s", obs.outs, ClassReceived)
			}
		})
	}
}
