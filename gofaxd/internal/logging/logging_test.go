package logging

import (
	"bytes"
	"context"
	"log/slog"
	"maps"
	"strings"
	"testing"

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
	New(&buf, slog.LevelInfo).Info("hello", "commid", "000000001")
	if !strings.Contains(buf.String(), "msg=hello commid=000000001") {
		t.Fatalf("got %q", buf.String())
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
