//go:build unix

package esltest

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestRxfaxWritesInPlace: the receiver creates the file with mode 0600,
// another owner and an flock, as gofaxd does; rxfax writes into that very
// file as libtiff does (no new inode), so owner, mode and lock survive.
func TestRxfaxWritesInPlace(t *testing.T) {
	var (
		mu     sync.Mutex
		before os.FileInfo
		lock   *os.File
	)
	t.Cleanup(func() {
		if lock != nil {
			lock.Close()
		}
	})
	owner := os.Getuid()
	if owner == 0 {
		owner = 65534 // nobody: rxfax runs as root, the file is not root's
	}
	rc := &receiver{dir: t.TempDir(), t38: true, prepare: func(path string) error {
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return err
		}
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
			f.Close()
			return err
		}
		if err := f.Chown(owner, owner); err != nil {
			f.Close()
			return err
		}
		fi, err := f.Stat()
		mu.Lock()
		defer mu.Unlock()
		before, lock = fi, f
		return err
	}}
	s := New(t, Options{SocketAddr: startReceiver(t, rc)})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	doc, _ := filepath.Abs("testdata/sent-2page-g3.tif")
	send(ctx, t, s, "fax_ident=1111", "sofia/gateway/gw1/5552000", doc)
	if err := s.WaitIdle(ctx); err != nil {
		t.Fatal(err)
	}
	rc.mu.Lock()
	files := rc.files
	rc.mu.Unlock()
	mu.Lock()
	defer mu.Unlock()
	if len(files) != 1 || before == nil {
		t.Fatalf("receiver saw %d calls, prepared %v", len(files), before)
	}
	after, err := os.Stat(files[0])
	if err != nil {
		t.Fatal(err)
	}
	if !os.SameFile(before, after) {
		t.Error("rxfax replaced the file (new inode)")
	}
	if after.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", after.Mode().Perm())
	}
	if uid := after.Sys().(*syscall.Stat_t).Uid; int(uid) != owner {
		t.Errorf("owner %d, want %d", uid, owner)
	}
	if n, err := CountPages(files[0]); err != nil || n != 2 {
		t.Errorf("received %d pages (%v), want 2", n, err)
	}
	// The receiver's lock is still on the file rxfax wrote.
	other, err := os.Open(files[0])
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if err := syscall.Flock(int(other.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); !errors.Is(err, syscall.EWOULDBLOCK) {
		t.Errorf("flock by another open file: %v, want EWOULDBLOCK (the receiver's lock)", err)
	}
}
