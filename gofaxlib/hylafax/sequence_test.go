package hylafax

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// holdSeqLock takes the flock of the sequence file at path as another
// process would, until the returned func is called.
func holdSeqLock(t *testing.T, path string) (release func()) {
	t.Helper()
	q, err := OpenQfile(context.Background(), path) // any holder of the flock
	if err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	release = func() { once.Do(func() { q.Close() }) }
	t.Cleanup(release)
	return release
}

// waitQueued waits until n callers wait in s.
func waitQueued(t *testing.T, s *Sequence, n int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		s.mu.Lock()
		got := len(s.queue)
		s.mu.Unlock()
		if got == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d callers queued, want %d", got, n)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestSequenceFair: callers are served in the order they called Next,
// however long the earlier ones waited for another process's lock: a
// waiter is never overtaken by a later arrival.
func TestSequenceFair(t *testing.T) {
	path := filepath.Join(t.TempDir(), "seqf")
	os.WriteFile(path, []byte("10"), 0o600)
	s := NewSequence(path)
	release := holdSeqLock(t, path)
	const callers = 5
	got := make([]int, callers)
	order := make(chan int, callers) // who was served, in order
	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() {
			n, err := s.Next(context.Background())
			if err != nil {
				t.Error(err)
			}
			got[i] = n
			order <- i
		})
		waitQueued(t, s, i+1)
		if i == 0 {
			// The first waits long enough for any backoff to grow.
			time.Sleep(300 * time.Millisecond)
		}
	}
	release()
	wg.Wait()
	close(order)
	for i, n := range got {
		if n != 10+i {
			t.Errorf("caller %d got %d, want %d: served out of arrival order (%v)", i, n, 10+i, got)
		}
	}
	if b, _ := os.ReadFile(path); string(b) != strconv.Itoa(10+callers) {
		t.Errorf("seqf holds %q, want %d", b, 10+callers)
	}
}

// TestSequenceLateArrival: a caller arriving while an earlier one waits
// for the lock gets a later number, also when it arrives just before the
// lock is free.
func TestSequenceLateArrival(t *testing.T) {
	for range 5 {
		path := filepath.Join(t.TempDir(), "seqf")
		os.WriteFile(path, []byte("1"), 0o600)
		s := NewSequence(path)
		release := holdSeqLock(t, path)
		first := make(chan int, 1)
		go func() {
			n, _ := s.Next(context.Background())
			first <- n
		}()
		waitQueued(t, s, 1)
		time.Sleep(150 * time.Millisecond)
		late := make(chan int, 1)
		go func() {
			n, _ := s.Next(context.Background())
			late <- n
		}()
		waitQueued(t, s, 2)
		release()
		if a, b := <-first, <-late; a >= b {
			t.Fatalf("the earlier caller got %d, the later %d", a, b)
		}
	}
}

// TestSequenceGivesUp: a caller whose context ends stops waiting; no
// number is taken for it, and the next caller goes on from there.
func TestSequenceGivesUp(t *testing.T) {
	path := filepath.Join(t.TempDir(), "seqf")
	os.WriteFile(path, []byte("5"), 0o600)
	s := NewSequence(path)
	release := holdSeqLock(t, path)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := s.Next(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want DeadlineExceeded", err)
	}
	release()
	// The allocator ends once nobody waits.
	deadline := time.Now().Add(10 * time.Second)
	for {
		s.mu.Lock()
		running := s.running
		s.mu.Unlock()
		if !running {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the allocator still runs with nobody waiting")
		}
		time.Sleep(time.Millisecond)
	}
	if n, err := s.Next(context.Background()); err != nil || n != 5 {
		t.Errorf("next caller: %d, %v; want 5", n, err)
	}
}

// TestSequenceErrors: a sequence file that cannot be used fails every
// caller, and the next calls try again.
func TestSequenceErrors(t *testing.T) {
	dir := t.TempDir()
	s := NewSequence(dir) // a directory
	if _, err := s.Next(context.Background()); !errors.Is(err, ErrSeqFile) {
		t.Errorf("err = %v, want ErrSeqFile", err)
	}
	s = NewSequence(filepath.Join(dir, "seqf"))
	if n, err := s.Next(context.Background()); err != nil || n != 1 {
		t.Errorf("new file: %d, %v", n, err)
	}
}

// TestSequenceSync: Sync fsyncs the file once numbers were taken, and
// only then.
func TestSequenceSync(t *testing.T) {
	path := filepath.Join(t.TempDir(), "seqf")
	s := NewSequence(path)
	var synced []string
	rec := func(f *os.File) error { synced = append(synced, f.Name()); return nil }
	if err := s.Sync(rec); err != nil || len(synced) != 0 {
		t.Fatalf("Sync before any number: %v, synced %v", err, synced)
	}
	for range 3 {
		if _, err := s.Next(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	s.Sync(rec)
	s.Sync(rec)
	if !slices.Equal(synced, []string{path}) {
		t.Errorf("synced %v, want %s once", synced, path)
	}
	failing := func(*os.File) error { return errors.New("disk gone") }
	s.Next(context.Background())
	if err := s.Sync(failing); err == nil {
		t.Error("a failed fsync is not reported")
	}
	synced = nil
	s.Sync(rec)
	if len(synced) != 1 {
		t.Errorf("after a failed fsync the next Sync fsyncs: synced %v", synced)
	}
}

// TestSequenceWithOtherProcesses: gofaxd's Sequence, used by many
// goroutines, and other processes taking numbers with HylaFAX's protocol
// (NextSeq: flock, read, write, unlock) at the same time never get the
// same number; the numbers one goroutine takes one after the other
// increase.
func TestSequenceWithOtherProcesses(t *testing.T) {
	const childEnv = "GOFAX_SEQUENCE_CHILD"
	const procs, each = 3, 40
	if path := os.Getenv(childEnv); path != "" {
		for range each {
			n, err := NextSeq(context.Background(), path)
			if err != nil {
				t.Fatal(err)
			}
			fmt.Println("seq", n)
		}
		return
	}
	path := filepath.Join(t.TempDir(), "seqf")
	s := NewSequence(path)
	outs := make([][]byte, procs)
	errs := make([]error, procs)
	var wg sync.WaitGroup
	for i := range procs {
		wg.Go(func() {
			cmd := exec.Command(os.Args[0], "-test.run=^TestSequenceWithOtherProcesses$", "-test.count=1")
			cmd.Env = append(os.Environ(), childEnv+"="+path)
			outs[i], errs[i] = cmd.Output()
		})
	}
	const goroutines, mine = 8, 30
	var mu sync.Mutex
	var got []int
	for range goroutines {
		wg.Go(func() {
			last := 0
			for range mine {
				n, err := s.Next(context.Background())
				if err != nil {
					t.Error(err)
					return
				}
				if n <= last {
					t.Errorf("a goroutine got %d after %d", n, last)
				}
				last = n
				mu.Lock()
				got = append(got, n)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	for i := range procs {
		if errs[i] != nil {
			t.Fatalf("child %d: %v\n%s", i, errs[i], outs[i])
		}
		last := 0
		for _, line := range strings.Split(string(outs[i]), "\n") {
			if v, ok := strings.CutPrefix(line, "seq "); ok {
				n, _ := strconv.Atoi(v)
				if n <= last {
					t.Errorf("child %d got %d after %d", i, n, last)
				}
				last = n
				got = append(got, n)
			}
		}
	}
	if len(got) != procs*each+goroutines*mine {
		t.Fatalf("%d numbers, want %d", len(got), procs*each+goroutines*mine)
	}
	checkUnique(t, got)
}

// TestSequenceFileContents: after a batch the file holds exactly the next
// number, also when it held a longer text before (truncated) and when the
// number wraps.
func TestSequenceFileContents(t *testing.T) {
	tests := []struct {
		name, content string
		want          int
		wantFile      string
	}{
		{"same length", "41", 41, "42"},
		{"longer number", "99", 99, "100"},
		{"trailing newline cut", "41\n", 41, "42"},
		{"trailing garbage cut", "17xyz", 17, "18"},
		{"wraps to 1", "999999998", 999999998, "1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "seqf")
			if err := os.WriteFile(path, []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			got, err := NewSequence(path).Next(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("Next = %d, want %d", got, tt.want)
			}
			if b, _ := os.ReadFile(path); string(b) != tt.wantFile {
				t.Errorf("file holds %q, want %q", b, tt.wantFile)
			}
		})
	}
}
