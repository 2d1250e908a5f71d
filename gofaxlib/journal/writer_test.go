package journal

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncRecorder replaces fsync: it records what each call covered.
type syncRecorder struct {
	mu    sync.Mutex
	files map[string]int64 // segment name → size when last fsynced
	dirs  int
	calls int
	delay time.Duration
	fail  error // returned (once) instead of syncing
}

func (s *syncRecorder) sync(f *os.File) error {
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if s.delay > 0 {
		time.Sleep(s.delay)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	if err := s.fail; err != nil {
		s.fail = nil
		return err
	}
	if fi.IsDir() {
		s.dirs++
		return nil
	}
	if s.files == nil {
		s.files = map[string]int64{}
	}
	// A segment is opened under its temporary name.
	s.files[strings.TrimPrefix(filepath.Base(f.Name()), tmpPrefix)] = fi.Size()
	return nil
}

func (s *syncRecorder) synced(name string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.files[name]
}

func openTestWriter(t *testing.T, dir string, opt WriterOptions) (*Writer, *syncRecorder) {
	t.Helper()
	w, err := OpenWriter(dir, opt)
	if err != nil {
		t.Fatal(err)
	}
	rec := &syncRecorder{}
	w.sync = rec.sync
	t.Cleanup(func() { w.Close() })
	return w, rec
}

func rec(t testing.TB, kind string, v any) Record {
	t.Helper()
	r, err := NewRecord(kind, v)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// segments returns the segment files of dir, oldest first.
func segments(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*"+segSuffix))
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(m)
	return m
}

// TestAppendIsDurable: when Append returns, the segment has been fsynced
// up to the end of its records, and the directory once after the file
// was created; Write leaves the fsync to the next Append, Sync or the
// interval.
func TestAppendIsDurable(t *testing.T) {
	dir := t.TempDir()
	w, sr := openTestWriter(t, dir, WriterOptions{Name: "test", SyncInterval: -1})
	if err := w.Write(rec(t, "a", 1)); err != nil {
		t.Fatal(err)
	}
	segs := segments(t, dir)
	if len(segs) != 1 {
		t.Fatalf("segments %q, want one", segs)
	}
	name := filepath.Base(segs[0])
	if sr.calls != 0 {
		t.Errorf("Write fsynced (%d calls)", sr.calls)
	}
	for i := range 3 {
		if err := w.Append(context.Background(), rec(t, "b", i)); err != nil {
			t.Fatal(err)
		}
		fi, _ := os.Stat(segs[0])
		if got := sr.synced(name); got != fi.Size() {
			t.Errorf("after Append %d: fsynced %d bytes of %d", i, got, fi.Size())
		}
	}
	if sr.dirs != 1 {
		t.Errorf("%d directory fsyncs, want 1 (after the segment was created)", sr.dirs)
	}
	if files, dirs := w.Syncs(); files != 3 || dirs != 1 {
		t.Errorf("Syncs() = %d, %d; want 3, 1", files, dirs)
	}
	st, err := os.Stat(segs[0])
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("segment mode %v (%v), want 0600", st.Mode(), err)
	}
}

// TestWriteSyncedByInterval: a record written with Write is fsynced
// within SyncInterval without any Append.
func TestWriteSyncedByInterval(t *testing.T) {
	dir := t.TempDir()
	w, sr := openTestWriter(t, dir, WriterOptions{Name: "test", SyncInterval: 10 * time.Millisecond})
	if err := w.Write(rec(t, "a", 1)); err != nil {
		t.Fatal(err)
	}
	name := filepath.Base(segments(t, dir)[0])
	fi, _ := os.Stat(filepath.Join(dir, name))
	for deadline := time.Now().Add(10 * time.Second); sr.synced(name) != fi.Size(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("written record never fsynced")
		}
	}
}

// TestGroupCommit: concurrent Appends share fsyncs: while one runs, the
// records written meanwhile wait for the next, which covers them all.
func TestGroupCommit(t *testing.T) {
	dir := t.TempDir()
	w, sr := openTestWriter(t, dir, WriterOptions{Name: "test", SyncInterval: -1})
	sr.delay = 20 * time.Millisecond
	const n = 64
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			if err := w.Append(context.Background(), rec(t, "call", i)); err != nil {
				t.Error(err)
			}
		})
	}
	close(start)
	wg.Wait()
	files, _ := w.Syncs()
	if files >= n/4 {
		t.Errorf("%d fsyncs for %d concurrent Appends: not shared", files, n)
	}
	b, err := os.ReadFile(segments(t, dir)[0])
	if err != nil {
		t.Fatal(err)
	}
	if got := bytes.Count(b, []byte("\n")); got != n {
		t.Errorf("%d records in the segment, want %d", got, n)
	}
	t.Logf("%d Appends, %d fsyncs", n, files)
}

// TestRotation: a full segment is fsynced and closed, the next record
// goes into a new one, and the directory is fsynced for it.
func TestRotation(t *testing.T) {
	dir := t.TempDir()
	w, sr := openTestWriter(t, dir, WriterOptions{Name: "test", SegmentSize: 600, SyncInterval: -1})
	for i := range 10 {
		if err := w.Write(rec(t, "k", strings.Repeat("x", 200))); err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
	}
	segs := segments(t, dir)
	if len(segs) < 4 {
		t.Fatalf("%d segments, want several", len(segs))
	}
	for _, s := range segs[:len(segs)-1] {
		fi, _ := os.Stat(s)
		if got := sr.synced(filepath.Base(s)); got != fi.Size() || fi.Size() > 600 {
			t.Errorf("%s: %d bytes, %d fsynced before it was closed", filepath.Base(s), fi.Size(), got)
		}
	}
	if err := w.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	if sr.dirs != 1 {
		t.Errorf("%d directory fsyncs, want 1 for all new segments since the last", sr.dirs)
	}
}

// TestFsyncFailure: an Append whose fsync failed reports ErrSync, even
// once a later fsync succeeded; the writer goes on in a new segment.
func TestFsyncFailure(t *testing.T) {
	dir := t.TempDir()
	w, sr := openTestWriter(t, dir, WriterOptions{Name: "test", SyncInterval: -1})
	if err := w.Append(context.Background(), rec(t, "a", 1)); err != nil {
		t.Fatal(err)
	}
	sr.fail = errors.New("EIO")
	if err := w.Append(context.Background(), rec(t, "a", 2)); !errors.Is(err, ErrSync) {
		t.Fatalf("Append with a failing fsync: %v, want ErrSync", err)
	}
	if w.Err() == nil {
		t.Error("Err() = nil after a failed fsync")
	}
	if err := w.Append(context.Background(), rec(t, "a", 3)); err != nil {
		t.Fatalf("Append after the failure: %v", err)
	}
	if w.Err() != nil {
		t.Errorf("Err() = %v after a good fsync", w.Err())
	}
	if segs := segments(t, dir); len(segs) != 2 {
		t.Errorf("segments %q: want a new one after the failure", segs)
	}
}

// TestWriterClosed: Close makes things durable and refuses more.
func TestWriterClosed(t *testing.T) {
	dir := t.TempDir()
	w, sr := openTestWriter(t, dir, WriterOptions{Name: "test", SyncInterval: -1})
	if err := w.Write(rec(t, "a", 1)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if sr.calls == 0 {
		t.Error("Close did not fsync")
	}
	if err := w.Write(rec(t, "a", 2)); !errors.Is(err, ErrClosed) {
		t.Errorf("Write after Close: %v", err)
	}
}

func TestWriterName(t *testing.T) {
	for _, n := range []string{"Gofaxd", "a/b", "a.b", strings.Repeat("a", 33)} {
		if _, err := OpenWriter(t.TempDir(), WriterOptions{Name: n}); err == nil {
			t.Errorf("name %q accepted", n)
		}
	}
	if _, err := OpenWriter(filepath.Join(t.TempDir(), "missing"), WriterOptions{}); err == nil {
		t.Error("missing directory accepted")
	}
}

func BenchmarkAppendParallel(b *testing.B) {
	w, err := OpenWriter(b.TempDir(), WriterOptions{Name: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	b.RunParallel(func(pb *testing.PB) {
		for i := 0; pb.Next(); i++ {
			if err := w.Append(context.Background(), rec(b, "call", fmt.Sprint(i))); err != nil {
				b.Fatal(err)
			}
		}
	})
	files, _ := w.Syncs()
	b.ReportMetric(float64(files)/float64(b.N), "fsyncs/op")
}
