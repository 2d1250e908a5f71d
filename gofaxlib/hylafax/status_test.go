package hylafax

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestWriteStatus(t *testing.T) {
	spool := newSpool(t, StatusDir)
	ctx := context.Background()
	if err := WriteStatus(ctx, spool, "freeswitch0", "Running and idle"); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(spool, "status/freeswitch0")
	ino := inode(t, path)
	if err := WriteStatus(ctx, spool, "freeswitch0", "Receiving from \"ACME\"\nsecond line"); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	if got, want := string(data), "Receiving from \"ACME\" second line\n"; got != want {
		t.Errorf("file %q, want %q", got, want)
	}
	if inode(t, path) != ino {
		t.Error("status file replaced instead of rewritten")
	}
	st, _ := os.Stat(path)
	if st.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, want 0644", st.Mode().Perm())
	}
	if err := WriteStatus(ctx, spool, "freeswitch0", "Idle"); err != nil {
		t.Fatal(err)
	}
	if got, err := ReadStatus(spool, "freeswitch0"); got != "Idle" || err != nil {
		t.Errorf("ReadStatus = %q, %v", got, err)
	}
}

func TestStatusBadModem(t *testing.T) {
	spool := newSpool(t, StatusDir)
	for _, m := range []string{"", "../etc/passwd", "a/b", ".hidden", "x\x00"} {
		if err := WriteStatus(context.Background(), spool, m, "x"); !errors.Is(err, ErrBadModem) {
			t.Errorf("WriteStatus(%q) err = %v", m, err)
		}
		if _, err := ReadStatus(spool, m); !errors.Is(err, ErrBadModem) {
			t.Errorf("ReadStatus(%q) err = %v", m, err)
		}
	}
	if _, err := ReadStatus(spool, "nomodem"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing status: %v", err)
	}
}
