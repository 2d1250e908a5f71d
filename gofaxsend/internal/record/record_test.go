package record

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gofaxserver/gofaxserver/gofaxlib"
	"github.com/gofaxserver/gofaxserver/gofaxlib/config"
	"github.com/gofaxserver/gofaxserver/gofaxlib/journal"
)

func TestParseUUID(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"0f8fad5b-d9cb-469f-a165-70867728950e", "0f8fad5b-d9cb-469f-a165-70867728950e", true},
		{" 0F8FAD5B-D9CB-469F-A165-70867728950E\n", "0f8fad5b-d9cb-469f-a165-70867728950e", true},
		{"", "", false},
		{"done job", "", false},
		{"0f8fad5bd9cb469fa16570867728950e", "", false},
		{"0f8fad5b-d9cb-469f-a165-70867728950", "", false},
		{"0f8fad5b-d9cb-469f-a165-70867728950g", "", false},
		{"0f8fad5b+d9cb-469f-a165-70867728950e", "", false},
	}
	for _, tt := range tests {
		got, ok := ParseUUID(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("ParseUUID(%q) = %q, %v", tt.in, got, ok)
		}
	}
}

func FuzzParseUUID(f *testing.F) {
	for _, s := range []string{"0f8fad5b-d9cb-469f-a165-70867728950e", "6F1C2A3B-4D5E-4F60-8172-93A4B5C6D7E8", "", "x", "done job"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, ok := ParseUUID(s)
		if !ok {
			return
		}
		if len(id) != 36 || id != strings.ToLower(id) {
			t.Fatalf("ParseUUID(%q) = %q", s, id)
		}
		if again, ok := ParseUUID(id); !ok || again != id {
			t.Fatalf("not stable: %q → %q", id, again)
		}
	})
}

func TestLoadRouting(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "routing.json")
	if _, err := LoadRouting(path); !errors.Is(err, ErrRouting) || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing: %v", err)
	}
	rt := gofaxlib.NewRouting(time.Now(), []gofaxlib.Tenant{{ID: "t", Name: "T"}}, []gofaxlib.Number{{ID: "n", TenantID: "t", Number: "+4930111"}},
		[]gofaxlib.User{{ID: "u", TenantID: "t", Username: "alice", DefaultNumberID: "n"}}, nil)
	b, _ := json.Marshal(rt)
	os.WriteFile(path, b, 0o640)
	got, err := LoadRouting(path)
	if err != nil {
		t.Fatal(err)
	}
	if u, tn, ok := got.User("alice"); !ok || u.ID != "u" || tn.Name != "T" {
		t.Errorf("user: %+v %+v %v", u, tn, ok)
	}
	if n, _, ok := got.NumberByID("n"); !ok || n.Number != "+4930111" {
		t.Errorf("number %+v", n)
	}
	os.WriteFile(path, []byte("{"), 0o640)
	if _, err := LoadRouting(path); !errors.Is(err, ErrRouting) {
		t.Errorf("broken: %v", err)
	}
}

func TestRecorder(t *testing.T) {
	spool := t.TempDir()
	r := NewRecorder(spool, "gofaxsend")
	// No journal directory yet: created as gofaxd would.
	rec, err := r.Append(context.Background(), gofaxlib.RecordJobNotice, gofaxlib.JobNotice{Why: "done"})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"gofax", JournalDir} {
		if fi, err := os.Stat(filepath.Join(spool, d)); err != nil || fi.Mode().Perm() != 0o700 {
			t.Errorf("%s: %v %v", d, fi, err)
		}
	}
	// gofaxd reads it.
	j, err := journal.Open(filepath.Join(spool, JournalDir), journal.Options{Consumers: map[string][]string{"db": {gofaxlib.RecordSendAttempt, gofaxlib.RecordJobNotice}}})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	pending := j.Pending("db")
	if len(pending) != 1 || pending[0].ID != rec.ID || pending[0].Kind != gofaxlib.RecordJobNotice {
		t.Errorf("pending %+v", pending)
	}

	id, err := r.FaxID("", 7)
	if err != nil {
		t.Fatal(err)
	}
	sid, _ := gofaxlib.SpoolID(spool)
	if id != gofaxlib.JobFaxID(sid, 7) {
		t.Errorf("FaxID = %q", id)
	}
	if id, _ := r.FaxID("0F8FAD5B-D9CB-469F-A165-70867728950E", 7); id != "0f8fad5b-d9cb-469f-a165-70867728950e" {
		t.Errorf("API job: FaxID = %q", id)
	}
}

func TestHost(t *testing.T) {
	c := config.Default()
	c.Database.Hostname = "fax-1"
	if h := Host(c); h != "fax-1" {
		t.Errorf("Host = %q", h)
	}
	c.Database.Hostname = ""
	if h, _ := os.Hostname(); Host(c) != h {
		t.Errorf("Host = %q, want %q", Host(c), h)
	}
}
