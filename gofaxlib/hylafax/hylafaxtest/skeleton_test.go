package hylafaxtest

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestCopySkeleton: a private spool gets the package's files but none of
// the system spool's state (jobs, received faxes, logs, FIFOs, a bind
// mount's etc/), and the directories keep their modes.
func TestCopySkeleton(t *testing.T) {
	src := filepath.Join(t.TempDir(), "spool")
	files := map[string]string{
		"bin/faxrcvd":            "#!/bin/sh\n",
		"config/class1":          "modem template\n",
		"sendq/q7":               "state:5\n",
		"sendq/seqf":             "7",
		"recvq/fax000000001.tif": "II*\x00",
		"log/xferfaxlog":         "record\n",
		"etc/setup.cache":        "SPOOL='/var/spool/hylafax'\n",
		"FIFO":                   "",
	}
	for _, d := range []string{"bin", "config", "sendq", "recvq", "log", "etc", "tmp", "status"} {
		if err := os.MkdirAll(filepath.Join(src, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(filepath.Join(src, "tmp"), 0o777|os.ModeSticky); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(src, "status"), 0o750); err != nil {
		t.Fatal(err)
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(src, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	dst := filepath.Join(t.TempDir(), "spool")
	if err := copySkeleton(src, dst); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]bool{
		"bin/faxrcvd": true, "config/class1": true,
		"sendq/q7": false, "sendq/seqf": false, "recvq/fax000000001.tif": false,
		"log/xferfaxlog": false, "etc/setup.cache": false, "FIFO": false,
	} {
		_, err := os.Lstat(filepath.Join(dst, name))
		if got := err == nil; got != want {
			t.Errorf("%s copied = %v, want %v", name, got, want)
		}
	}
	for d, want := range map[string]os.FileMode{
		"sendq": 0o755, "etc": 0o755, "status": 0o750, "tmp": 0o777 | os.ModeSticky,
	} {
		fi, err := os.Stat(filepath.Join(dst, d))
		if err != nil {
			t.Errorf("%s: %v", d, err)
			continue
		}
		if got := fi.Mode() & (os.ModePerm | os.ModeSticky); !fi.IsDir() || got != want {
			t.Errorf("%s: mode %v, want directory %v", d, fi.Mode(), want)
		}
		if st := fi.Sys().(*syscall.Stat_t); int(st.Uid) != os.Getuid() {
			t.Errorf("%s: owner %d, want %d", d, st.Uid, os.Getuid())
		}
	}
}

// TestSearchable: a work directory below a private parent (a root user's
// TMPDIR in /root) is refused with a message naming that parent.
func TestSearchable(t *testing.T) {
	// Not t.TempDir(): its parent is private.
	if err := searchable(os.TempDir(), 4242, 4242); err != nil {
		t.Skipf("the temporary directory itself is private: %v", err)
	}
	base, err := os.MkdirTemp("", "hylafaxtest-searchable-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	if err := os.Chmod(base, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		parent os.FileMode
		uid    int
		gid    int
		ok     bool
	}{
		{"others may search", 0o711, 4242, 4242, true},
		{"private to the owner", 0o700, 4242, 4242, false},
		{"owner", 0o700, os.Getuid(), 4242, true},
		{"group may search", 0o710, 4242, os.Getgid(), true},
		{"group may not", 0o701, 4242, os.Getgid(), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			parent := filepath.Join(base, tc.name)
			dir := filepath.Join(parent, "work")
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(parent, tc.parent); err != nil {
				t.Fatal(err)
			}
			defer os.Chmod(parent, 0o755)
			err := searchable(dir, tc.uid, tc.gid)
			if (err == nil) != tc.ok {
				t.Fatalf("searchable = %v, want ok %v", err, tc.ok)
			}
			if err != nil && !strings.Contains(err.Error(), parent+" ") {
				t.Errorf("error %q does not name %s", err, parent)
			}
		})
	}
}
