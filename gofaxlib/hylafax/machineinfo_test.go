package hylafax

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/gofaxserver/gofaxserver/internal/golden"
)

// TestMachineInfoGolden: a new entry and one updated after calls, written
// as HylaFAX 6.0.7's faxsend writes them (FaxMachineInfo::writeConfig).
func TestMachineInfoGolden(t *testing.T) {
	golden.Check(t, "testdata/info/new.golden", NewMachineInfo().Bytes())

	m := ParseMachineInfo([]byte("&supportsMMR:no\n&maxSignallingRate:\"9600\"\nsupportsHighRes:yes\npagerPassword:\"secret\"\nunknownTag:1\n"))
	m.CalledBefore = true
	m.RemoteCSI = `+49 30 "1234"`
	m.SendFailures, m.LastSendFailure = 1, "No response to MPS repeated 3 tries"
	m.DialFailures, m.LastDialFailure = 0, "Busy signal detected"
	m.SetHasV17Trouble(true)
	golden.Check(t, "testdata/info/updated.golden", m.Bytes())

	again := ParseMachineInfo(m.Bytes())
	if !reflect.DeepEqual(again, m) {
		t.Errorf("round trip:\n got %+v\nwant %+v", again, m)
	}
	if m.SupportsMMR || m.MaxSignallingRate != BR9600 || m.Locked != LockMMR|LockSignallingRate || m.PagerPassword != "secret" {
		t.Errorf("parsed %+v", m)
	}
	locked := ParseMachineInfo([]byte("&hasV17Trouble:no\n"))
	locked.SetHasV17Trouble(true)
	if locked.HasV17Trouble {
		t.Error("a locked hasV17Trouble was changed")
	}
}

func TestMachineInfoFile(t *testing.T) {
	for in, want := range map[string]string{"+49 (30) 1234-5": "info/493012345", "5551234": "info/5551234", "anonymous": "", "": ""} {
		if got := MachineInfoFile(in); got != want {
			t.Errorf("MachineInfoFile(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestUpdateMachineInfo(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "5551234")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := UpdateMachineInfo(ctx, p, func(m *MachineInfo) { m.DialFailures++ }); err != nil {
		t.Fatal(err)
	}
	// An existing, longer file is rewritten in place and truncated.
	long := append(NewMachineInfo().Bytes(), "lastDialFailure:\"a very long reason that makes the file longer than the next one\"\n"...)
	if err := os.WriteFile(p, long, 0o644); err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(p)
	if err := UpdateMachineInfo(ctx, p, func(m *MachineInfo) { m.LastDialFailure = ""; m.CalledBefore = true }); err != nil {
		t.Fatal(err)
	}
	m, err := ReadMachineInfo(p)
	if err != nil || !m.CalledBefore || m.LastDialFailure != "" {
		t.Errorf("read back %+v, %v", m, err)
	}
	b, _ := os.ReadFile(p)
	if want := m.Bytes(); string(b) != string(want) {
		t.Errorf("file\n%s\nwant\n%s", b, want)
	}
	if fi2, _ := os.Stat(p); !os.SameFile(fi, fi2) || fi2.Mode().Perm() != 0o644 {
		t.Errorf("file replaced or mode %v", fi2.Mode())
	}
	if _, err := ReadMachineInfo(filepath.Join(dir, "missing")); !os.IsNotExist(err) {
		t.Errorf("missing file: %v", err)
	}
}

func FuzzParseMachineInfo(f *testing.F) {
	for _, name := range []string{"new.golden", "updated.golden"} {
		b, err := os.ReadFile(filepath.Join("testdata/info", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("&supportsVRes:0x1f\nremoteCSI:\"\\0x\\377\\\"\"\nmaxPageLength:-1\npagerMaxMsgLength:-2\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		m := ParseMachineInfo(b)
		out := m.Bytes()
		// Writing and reading again is the identity.
		if again := ParseMachineInfo(out); !reflect.DeepEqual(again, m) {
			t.Errorf("round trip of %q:\n got %+v\nwant %+v", out, again, m)
		}
		for _, l := range ParseConfig(out) {
			if len(l.Tag)+len(l.Value) > 1000 {
				t.Errorf("line %d longer than HylaFAX reads", l.Line)
			}
		}
	})
}
