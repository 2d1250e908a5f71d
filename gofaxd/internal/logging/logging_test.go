package logging

import (
	"bytes"
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
