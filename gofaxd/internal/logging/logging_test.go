package logging

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"maps"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coreos/go-systemd/v22/journal"
)

type sent struct {
	msg  string
	pri  journal.Priority
	vars map[string]string
}

func TestJournalHandler(t *testing.T) {
	var got []sent
	h := NewJournalHandler(slog.LevelInfo)
	h.send = func(msg string, p journal.Priority, vars map[string]string) error {
		got = append(got, sent{msg, p, maps.Clone(vars)})
		return nil
	}
	log := slog.New(h).With("call_uuid", "u-1", "modem", "freeswitch0")
	log.Debug("dropped")
	log.Warn("fax reception failed", "pages", 1, "9bad-key", "x", slog.Group("res", "code", 49))
	log.WithGroup("g").Error("oops", "k", "v")
	h.Close()
	if len(got) != 2 {
		t.Fatalf("got %d records, want 2: %+v", len(got), got)
	}
	want := map[string]string{"CALL_UUID": "u-1", "MODEM": "freeswitch0", "PAGES": "1", "BAD_KEY": "x", "RES_CODE": "49"}
	if got[0].msg != "fax reception failed" || got[0].pri != journal.PriWarning || !maps.Equal(got[0].vars, want) {
		t.Errorf("record 0 = %+v, want vars %v", got[0], want)
	}
	if got[1].pri != journal.PriErr || got[1].vars["G_K"] != "v" || got[1].vars["CALL_UUID"] != "u-1" {
		t.Errorf("record 1 = %+v", got[1])
	}
}

func TestNewWritesTextWithoutJournal(t *testing.T) {
	var buf bytes.Buffer
	log, flush := New(&buf, slog.LevelInfo)
	log.Info("hello", "commid", "000000001")
	flush()
	if !strings.Contains(buf.String(), "msg=hello commid=000000001") {
		t.Fatalf("got %q", buf.String())
	}
}

// blockingWriter blocks every Write until released.
type blockingWriter struct {
	release chan struct{}
	mu      sync.Mutex
	buf     bytes.Buffer
}

func (w *blockingWriter) Write(p []byte) (int, error) {
	<-w.release
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(p)
}

// TestWriterNeverBlocks: while stderr accepts nothing, logging goes on
// at once; what fits is written in order once it does, and what did not
// fit is counted in a record of its own.
func TestWriterNeverBlocks(t *testing.T) {
	bw := &blockingWriter{release: make(chan struct{})}
	w := NewWriter(bw)
	log := slog.New(slog.NewTextHandler(w, nil))
	done := make(chan struct{})
	const records = 100
	go func() {
		defer close(done)
		for i := range records {
			log.Info("record", "i", i)
		}
		w.Write(bytes.Repeat([]byte("x"), maxQueued*256+1)) // never fits
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("logging blocked on a blocked writer")
	}
	close(bw.release)
	w.Close()
	out := bw.buf.String()
	for i := range records {
		if !strings.Contains(out, fmt.Sprintf("msg=record i=%d\n", i)) {
			t.Fatalf("record %d missing", i)
		}
	}
	if strings.Index(out, "i=10\n") > strings.Index(out, "i=11\n") {
		t.Error("records out of order")
	}
	if !strings.Contains(out, "1 log records dropped") {
		t.Errorf("the dropped record is not counted:\n%.300s", out)
	}
	w.Write([]byte("after close\n"))
	if strings.Contains(bw.buf.String(), "after close") {
		t.Error("written after Close")
	}
}

// TestJournalHandlerConcurrent: records logged at once by many
// goroutines all reach journald.
func TestJournalHandlerConcurrent(t *testing.T) {
	var mu sync.Mutex
	n := 0
	h := NewJournalHandler(slog.LevelInfo)
	h.send = func(string, journal.Priority, map[string]string) error {
		mu.Lock()
		n++
		mu.Unlock()
		return nil
	}
	log := slog.New(h)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				log.Info("x")
			}
		})
	}
	wg.Wait()
	h.Close()
	if n != 800 {
		t.Errorf("%d records sent, want 800", n)
	}
}

// TestTee: each handler gets the records of its level, with the attributes
// and groups given before.
func TestTee(t *testing.T) {
	var info, debug bytes.Buffer
	h := Tee(slog.NewTextHandler(&info, &slog.HandlerOptions{Level: slog.LevelInfo}),
		slog.NewTextHandler(&debug, &slog.HandlerOptions{Level: slog.LevelDebug}))
	log := slog.New(h).With("modem", "freeswitch0").WithGroup("call")
	log.Debug("negotiating", "uuid", "u-1")
	log.Info("received", "pages", 2)
	if strings.Contains(info.String(), "negotiating") || !strings.Contains(info.String(), "msg=received modem=freeswitch0 call.pages=2") {
		t.Errorf("info handler got %q", info.String())
	}
	if !strings.Contains(debug.String(), "msg=negotiating modem=freeswitch0 call.uuid=u-1") || !strings.Contains(debug.String(), "msg=received") {
		t.Errorf("debug handler got %q", debug.String())
	}
	if !h.Enabled(context.Background(), slog.LevelDebug) || Tee(slog.NewTextHandler(&info, nil)).Enabled(context.Background(), slog.LevelDebug) {
		t.Error("Enabled is not the union of the handlers' levels")
	}
}
