package hylafax

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
)

func TestNextSeq(t *testing.T) {
	tests := []struct {
		name     string
		content  *string // nil: no file
		want     int
		wantFile string
	}{
		{"missing file starts at 1", nil, 1, "2"},
		{"empty file", strPtr(""), 1, "2"},
		{"next number", strPtr("3"), 3, "4"},
		{"newline tolerated", strPtr("41\n"), 41, "42"},
		{"leading blanks and trailing garbage as atol", strPtr("  17xyz"), 17, "18"},
		{"garbage", strPtr("abc"), 1, "2"},
		{"zero", strPtr("0"), 1, "2"},
		{"negative", strPtr("-5"), 1, "2"},
		{"last number wraps", strPtr("999999998"), 999999998, "1"},
		{"out of range", strPtr("999999999"), 1, "2"},
		{"far out of range", strPtr("12345678901234"), 1, "2"},
		{"longer than a read", strPtr(strings.Repeat("9", 2000)), 1, "2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "seqf")
			if tt.content != nil {
				if err := os.WriteFile(path, []byte(*tt.content), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			got, err := NextSeq(context.Background(), path)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got %d, want %d", got, tt.want)
			}
			data, _ := os.ReadFile(path)
			if string(data) != tt.wantFile {
				t.Errorf("file holds %q, want %q", data, tt.wantFile)
			}
			st, _ := os.Stat(path)
			if tt.content == nil && st.Mode().Perm() != 0o600 {
				t.Errorf("created with mode %v, want 0600", st.Mode().Perm())
			}
		})
	}
}

func strPtr(s string) *string { return &s }

func TestNextSeqRejectsOddFiles(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "target")
	os.WriteFile(target, []byte("5"), 0o600)
	link := filepath.Join(dir, "seqf")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	if _, err := NextSeq(context.Background(), link); !errors.Is(err, ErrSeqFile) {
		t.Errorf("symlink: err = %v, want ErrSeqFile", err)
	}
	if _, err := NextSeq(context.Background(), dir); !errors.Is(err, ErrSeqFile) {
		t.Errorf("directory: err = %v, want ErrSeqFile", err)
	}
	if _, err := NextSeq(context.Background(), filepath.Join(dir, "no", "seqf")); err == nil {
		t.Error("missing directory: no error")
	}
}

func TestNextSeqLockedWaitsForContext(t *testing.T) {
	path := filepath.Join(t.TempDir(), "seqf")
	os.WriteFile(path, []byte("7"), 0o600)
	q, err := OpenQfile(context.Background(), path) // any holder of the flock
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := NextSeq(ctx, path); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

// checkUnique asserts that got holds each of 1..len(got) once.
func checkUnique(t *testing.T, got []int) {
	t.Helper()
	sort.Ints(got)
	for i, n := range got {
		if n != i+1 {
			t.Fatalf("numbers not unique and contiguous: position %d holds %d (%v)", i, n, got)
		}
	}
}

func TestNextSeqConcurrentGoroutines(t *testing.T) {
	const workers, each = 8, 40
	path := filepath.Join(t.TempDir(), "seqf")
	var mu sync.Mutex
	var got []int
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range each {
				n, err := NextSeq(context.Background(), path)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				got = append(got, n)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(got) != workers*each {
		t.Fatalf("%d numbers, want %d", len(got), workers*each)
	}
	checkUnique(t, got)
}

// TestNextSeqConcurrentProcesses runs this test binary as several child
// processes that take numbers from one file at once, as faxgetty, faxsend,
// gofaxd and gofaxsend do with log/seqf.
func TestNextSeqConcurrentProcesses(t *testing.T) {
	const childEnv = "GOFAX_SEQ_CHILD"
	const procs, each = 4, 25
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
	outs := make([][]byte, procs)
	errs := make([]error, procs)
	var wg sync.WaitGroup
	for i := range procs {
		wg.Go(func() {
			cmd := exec.Command(os.Args[0], "-test.run=^TestNextSeqConcurrentProcesses$", "-test.count=1")
			cmd.Env = append(os.Environ(), childEnv+"="+path)
			outs[i], errs[i] = cmd.Output()
		})
	}
	wg.Wait()
	var got []int
	for i := range procs {
		if errs[i] != nil {
			t.Fatalf("child %d: %v\n%s", i, errs[i], outs[i])
		}
		for _, line := range strings.Split(string(outs[i]), "\n") {
			if s, ok := strings.CutPrefix(line, "seq "); ok {
				n, _ := strconv.Atoi(s)
				got = append(got, n)
			}
		}
	}
	if len(got) != procs*each {
		t.Fatalf("%d numbers, want %d", len(got), procs*each)
	}
	checkUnique(t, got)
}

func TestNames(t *testing.T) {
	tests := []struct{ got, want string }{
		{CommID(42), "000000042"},
		{CommID(999999998), "999999998"},
		{RecvFileName(1), "recvq/fax000000001.tif"},
		{SessionLogName(CommID(7)), "log/c000000007"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}

func TestNextCommID(t *testing.T) {
	spool := t.TempDir()
	os.Mkdir(filepath.Join(spool, "log"), 0o755)
	os.WriteFile(filepath.Join(spool, LogSeqFile), []byte("41"), 0o600)
	id, err := NextCommID(context.Background(), spool)
	if err != nil || id != "000000041" {
		t.Fatalf("NextCommID = %q, %v", id, err)
	}
}

func BenchmarkNextSeq(b *testing.B) {
	path := filepath.Join(b.TempDir(), "seqf")
	for b.Loop() {
		if _, err := NextSeq(context.Background(), path); err != nil {
			b.Fatal(err)
		}
	}
}
