package receive

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/gofaxserver/gofaxserver/gofaxlib/esl"
	"github.com/gofaxserver/gofaxserver/gofaxlib/hylafax"
)

// spandspEvent is a CUSTOM spandsp event with the given headers.
func spandspEvent(sub string, kv ...string) *esl.Event {
	hs := esl.Headers{{Name: "Event-Name", Value: "CUSTOM"}, {Name: "Event-Subclass", Value: "spandsp::" + sub}}
	for i := 0; i+1 < len(kv); i += 2 {
		hs = append(hs, esl.Header{Name: kv[i], Value: kv[i+1]})
	}
	return &esl.Event{Headers: hs}
}

// TestSocketLostAfterRxfaxReturned: the event socket drops after rxfax's
// CHANNEL_EXECUTE_COMPLETE and FreeSWITCH cannot be asked whether the
// channel is gone. spandsp closed the file before rxfax returned, so the
// fax is final: it is tagged, recorded as received and handed to
// faxrcvd, not kept as an unconfirmed partial reception.
func TestSocketLostAfterRxfaxReturned(t *testing.T) {
	fax, err := os.ReadFile("testdata/received-t38-2page.tif")
	if err != nil {
		t.Fatal(err)
	}
	h := newHandler(t)
	h.XferFaxLog = filepath.Join(h.Spool, "etc", "xferfaxlog")
	h.Dial = failDial
	marker := filepath.Join(h.Spool, "faxrcvd.ran")
	if err := os.WriteFile(filepath.Join(h.Spool, "faxrcvd"), []byte("#!/bin/sh\ntouch "+marker+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	h.FaxRcvdCmd = "./faxrcvd"
	var obs recorder
	h.Observer = &obs
	w := &writingChannel{
		fakeChannel: newFakeChannel(map[string]string{"sip_to_user": "5551236"}),
		content:     fax,
		open:        make(chan *esl.Event),
		done:        make(chan struct{}),
	}
	w.then = func() {
		for _, ev := range []*esl.Event{
			spandspEvent("rxfaxpageresult", "fax-document-transferred-pages", "2"),
			spandspEvent("rxfaxresult", "fax-success", "1", "fax-result-code", "0", "fax-result-text", "OK",
				"fax-document-transferred-pages", "2", "fax-document-total-pages", "2", "fax-remote-station-id", "1111"),
			{Headers: esl.Headers{{Name: "Event-Name", Value: "CHANNEL_EXECUTE_COMPLETE"}, {Name: "Application", Value: "rxfax"},
				{Name: "Application-Response", Value: "_none_"}}},
		} {
			w.open <- ev
		}
		close(w.open) // the socket drops: no hangup events
	}
	h.Serve(context.Background(), w)
	<-w.done

	file := filepath.Join(h.Spool, "recvq", "fax000000001.tif")
	got, err := os.ReadFile(file)
	if err != nil || bytes.Equal(got, fax) {
		t.Errorf("received file %d bytes, %v: want it kept and tagged", len(got), err)
	}
	if pages, err := hylafax.TIFFPages(file); err != nil || len(pages) != 2 || pages[0].FaxRecvParams == 0 {
		t.Errorf("received file: %d pages, %v; want 2 tagged pages", len(pages), err)
	}
	if _, err := os.Stat(marker); err != nil {
		t.Error("faxrcvd did not run")
	}
	b, err := os.ReadFile(h.XferFaxLog)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := hylafax.ParseXferLog(bytes.NewReader(b))
	if err != nil || len(recs) != 1 || recs[0].Pages != 2 || recs[0].Reason != "" {
		t.Fatalf("RECV records %+v, %v; want one with 2 pages and no reason", recs, err)
	}
	if len(obs.outs) != 1 || obs.outs[0].Class != ClassReceived || !obs.outs[0].Lost {
		t.Errorf("outcomes %+v, want one received with the socket lost", obs.outs)
	}
}
