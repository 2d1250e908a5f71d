package hylafax

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// testFIFO makes a FIFO in a temporary directory.
func testFIFO(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), FaxqFIFO)
	if err := MakeFIFO(path, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// openTestFIFO opens a reader on path that the test closes.
func openTestFIFO(t *testing.T, path string) *FIFOReader {
	t.Helper()
	r, err := OpenFIFO(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// writeRaw writes b to the FIFO in one write, as another process would.
func writeRaw(t *testing.T, path string, b string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write([]byte(b)); err != nil {
		t.Fatal(err)
	}
}

// readN reads n records with a deadline that only guards against hangs.
func readN(t *testing.T, r *FIFOReader, n int) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var got []string
	for range n {
		rec, err := r.Read(ctx)
		if err != nil {
			t.Fatalf("Read after %q: %v", got, err)
		}
		got = append(got, string(rec))
	}
	return got
}

func TestMakeFIFO(t *testing.T) {
	dir := t.TempDir()
	old := syscall.Umask(0o077)
	defer syscall.Umask(old)
	path := filepath.Join(dir, "FIFO.freeswitch0")
	if err := MakeFIFO(path, 0o620); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Lstat(path)
	if err != nil || fi.Mode() != fs.ModeNamedPipe|0o620 {
		t.Fatalf("mode %v, %v, want named pipe 0620 whatever the umask", fi.Mode(), err)
	}
	if err := MakeFIFO(path, 0o600); err != nil {
		t.Errorf("existing FIFO: %v", err)
	}
	regular := filepath.Join(dir, "FIFO")
	if err := os.WriteFile(regular, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := MakeFIFO(regular, 0o600); !errors.Is(err, ErrNotFIFO) {
		t.Errorf("regular file: %v, want ErrNotFIFO", err)
	}
	if _, err := OpenFIFO(regular); !errors.Is(err, ErrNotFIFO) {
		t.Errorf("OpenFIFO on a regular file: %v, want ErrNotFIFO", err)
	}
	if err := MakeFIFO(filepath.Join(dir, "no/such/dir/FIFO"), 0o600); err == nil {
		t.Error("MakeFIFO in a missing directory succeeded")
	}
}

func TestWriteFIFONoReader(t *testing.T) {
	path := testFIFO(t)
	for name, p := range map[string]string{"FIFO without reader": path, "missing FIFO": path + ".missing"} {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
			defer cancel()
			err := WriteFIFO(ctx, p, Message{Kind: ModemDown, ID: "freeswitch0"})
			if !errors.Is(err, ErrNoReader) || !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("WriteFIFO = %v, want ErrNoReader and the deadline", err)
			}
		})
	}
	t.Run("cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if err := WriteFIFO(ctx, path, Message{Kind: GettyLock}); !errors.Is(err, ErrNoReader) || !errors.Is(err, context.Canceled) {
			t.Fatalf("WriteFIFO = %v, want ErrNoReader and Canceled", err)
		}
	})
}

func TestWriteFIFOErrors(t *testing.T) {
	dir := t.TempDir()
	regular := filepath.Join(dir, "FIFO")
	if err := os.WriteFile(regular, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := WriteFIFO(context.Background(), regular, Message{Kind: GettyLock}); !errors.Is(err, ErrNotFIFO) {
		t.Errorf("regular file: %v, want ErrNotFIFO", err)
	}
	if b, _ := os.ReadFile(regular); len(b) != 0 {
		t.Errorf("regular file was written: %q", b)
	}
	path := testFIFO(t)
	if err := WriteFIFO(context.Background(), path, Message{Kind: ModemReady}); !errors.Is(err, ErrFIFOMessage) {
		t.Errorf("invalid message: %v, want ErrFIFOMessage", err)
	}
}

// TestWriteFIFOReaderLate starts the reader after the writer: the writer
// must retry until the reader is there.
func TestWriteFIFOReaderLate(t *testing.T) {
	path := testFIFO(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- WriteFIFO(ctx, path, Message{Kind: JobSubmit, Arg: "7"}) }()
	time.Sleep(30 * time.Millisecond) // let the writer find no reader first
	r := openTestFIFO(t, path)
	if got := readN(t, r, 1); got[0] != "S7" {
		t.Fatalf("read %q", got)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestWriteFIFOPacing fills the pipe almost to faxq's read size: a record
// that would straddle two of faxq's reads waits until the reader drained
// the pipe.
func TestWriteFIFOPacing(t *testing.T) {
	path := testFIFO(t)
	r := openTestFIFO(t, path)
	backlog := strings.Repeat("b", 1990)
	writeRaw(t, path, backlog+"\x00")
	m := Message{Kind: ModemNumber, ID: "freeswitch0", Arg: strings.Repeat("5", 100)}
	short, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := WriteFIFO(short, path, m); !errors.Is(err, ErrNoReader) {
		t.Fatalf("WriteFIFO over a full read = %v, want ErrNoReader", err)
	}
	small := Message{Kind: ModemDown, ID: "freeswitch0"}
	if err := WriteFIFO(context.Background(), path, small); err != nil {
		t.Fatalf("a record that still fits: %v", err)
	}
	ctx, cancel2 := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel2()
	done := make(chan error, 1)
	go func() { done <- WriteFIFO(ctx, path, m) }()
	got := readN(t, r, 3)
	want, _ := m.Encode()
	if got[0] != backlog || got[1] != "+freeswitch0:D" || got[2] != string(want) {
		t.Fatalf("records %.20q", got)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestFIFOReaderSplitsRecords(t *testing.T) {
	path := testFIFO(t)
	r := openTestFIFO(t, path)
	writeRaw(t, path, "a\x00b\x00")
	writeRaw(t, path, "HELLO\x00\x00\x00+dev:N123\n") // empty records, echo's newline
	writeRaw(t, path, "c\n\x00")
	got := readN(t, r, 5)
	want := []string{"a", "b", "HELLO", "+dev:N123", "c"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("records %q, want %q", got, want)
	}
}

// TestFIFOReaderUnterminated reads a record written without a NUL, as
// faxmodem and "printf >FIFO" do: it is taken after a short wait.
func TestFIFOReaderUnterminated(t *testing.T) {
	path := testFIFO(t)
	r := openTestFIFO(t, path)
	writeRaw(t, path, "+ttyFAKE:RPc87fcf01")
	if got := readN(t, r, 1); got[0] != "+ttyFAKE:RPc87fcf01" {
		t.Fatalf("read %q", got)
	}
	writeRaw(t, path, "x\x00")
	if got := readN(t, r, 1); got[0] != "x" {
		t.Fatalf("then read %q", got)
	}
}

// TestFIFOReaderJoinsReads feeds a record in two pieces, as two reads
// would return them.
func TestFIFOReaderJoinsReads(t *testing.T) {
	r := &FIFOReader{}
	r.buf = append(r.buf, "+free"...)
	if rec, err := r.next(); rec != nil || err != nil {
		t.Fatalf("incomplete record returned %q, %v", rec, err)
	}
	r.buf = append(r.buf, "switch0:B\x00SB"...)
	if rec, err := r.next(); string(rec) != "+freeswitch0:B" || err != nil {
		t.Fatalf("next() = %q, %v", rec, err)
	}
	if rec, err := r.next(); rec != nil || err != nil || string(r.buf) != "SB" {
		t.Fatalf("next() = %q, %v, rest %q", rec, err, r.buf)
	}
}

func TestFIFOReaderTooLong(t *testing.T) {
	path := testFIFO(t)
	r := openTestFIFO(t, path)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	long := strings.Repeat("x", 3*MaxFIFORecord)
	done := make(chan struct{})
	go func() { // larger than a pipe write is atomic; another goroutine keeps the test simple
		defer close(done)
		f, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err != nil {
			t.Error(err)
			return
		}
		defer f.Close()
		f.Write([]byte(long + "\x00ok\x00"))
	}()
	if _, err := r.Read(ctx); !errors.Is(err, ErrFIFOMessage) {
		t.Fatalf("Read = %v, want ErrFIFOMessage", err)
	}
	<-done
	if got := readN(t, r, 1); got[0] != "ok" {
		t.Fatalf("after the long record read %q, want ok", got)
	}
}

func TestFIFOReaderCancel(t *testing.T) {
	path := testFIFO(t)
	r := openTestFIFO(t, path)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := r.Read(ctx)
		done <- err
	}()
	time.Sleep(20 * time.Millisecond) // let Read block
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Read = %v, want Canceled", err)
	}
	// The reader is still usable with a fresh context.
	writeRaw(t, path, "L\x00")
	if got := readN(t, r, 1); got[0] != "L" {
		t.Fatalf("read %q after cancel", got)
	}
}

func TestFIFOReaderClose(t *testing.T) {
	path := testFIFO(t)
	r, err := OpenFIFO(path)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := r.Read(context.Background())
		done <- err
	}()
	time.Sleep(20 * time.Millisecond)
	r.Close()
	if err := <-done; !errors.Is(err, os.ErrClosed) {
		t.Fatalf("Read during Close = %v, want ErrClosed", err)
	}
}

// TestFIFOReaderReadAfterClose reads a closed reader, with and without a
// record part left in its buffer: both are ErrClosed, not the poller's
// "use of closed file".
func TestFIFOReaderReadAfterClose(t *testing.T) {
	for _, tc := range []struct {
		name, write string
		before      int // records read before Close
	}{
		{"empty", "", 0},
		{"partial record buffered", "A\x00B", 1},
		{"whole record buffered", "A\x00B\x00", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := testFIFO(t)
			r, err := OpenFIFO(path)
			if err != nil {
				t.Fatal(err)
			}
			if tc.write != "" {
				writeRaw(t, path, tc.write)
			}
			readN(t, r, tc.before)
			if err := r.Close(); err != nil {
				t.Fatal(err)
			}
			rec, err := r.Read(context.Background())
			if !errors.Is(err, os.ErrClosed) {
				t.Fatalf("Read after Close = %q, %v; want ErrClosed", rec, err)
			}
		})
	}
}

// TestFIFOReaderCloseConcurrent closes the reader while it reads a
// stream of records, so Close lands in every step of Read: the read that
// ends is always ErrClosed. Run it with -race -count=20.
func TestFIFOReaderCloseConcurrent(t *testing.T) {
	for i := range 20 {
		path := testFIFO(t)
		r, err := OpenFIFO(path)
		if err != nil {
			t.Fatal(err)
		}
		w, err := os.OpenFile(path, os.O_WRONLY|syscall.O_NONBLOCK, 0)
		if err != nil {
			t.Fatal(err)
		}
		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Go(func() { // keeps the reader busy; a full pipe is skipped
			for {
				select {
				case <-stop:
					return
				default:
				}
				w.Write([]byte("R\x00"))
			}
		})
		done := make(chan error, 1)
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			for {
				if _, err := r.Read(ctx); err != nil {
					done <- err
					return
				}
			}
		}()
		time.Sleep(time.Duration(i%5) * time.Millisecond)
		r.Close()
		err = <-done
		close(stop)
		wg.Wait()
		w.Close()
		if !errors.Is(err, os.ErrClosed) {
			t.Fatalf("round %d: Read during Close = %v, want ErrClosed", i, err)
		}
	}
}

// TestFIFOWritersConcurrent has many writers send at once: every record
// arrives whole.
func TestFIFOWritersConcurrent(t *testing.T) {
	path := testFIFO(t)
	r := openTestFIFO(t, path)
	const writers, each = 8, 50
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				m := Message{Kind: ModemNumber, ID: fmt.Sprintf("freeswitch%d", w), Arg: fmt.Sprintf("%04d%s", i, strings.Repeat("9", 200))}
				if err := WriteFIFO(ctx, path, m); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	seen := make(map[string]bool)
	for range writers * each {
		rec, err := r.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		m, err := ParseFaxqMessage(rec)
		if err != nil || m.Kind != ModemNumber || len(m.Arg) != 204 || seen[string(rec)] {
			t.Fatalf("record %q: %+v, %v", rec, m, err)
		}
		seen[string(rec)] = true
	}
	wg.Wait()
}

// BenchmarkFIFORoundTrip writes a message through a real FIFO (open,
// write, close, as WriteFIFO does per message) and reads it back.
func BenchmarkFIFORoundTrip(b *testing.B) {
	path := filepath.Join(b.TempDir(), FaxqFIFO)
	if err := MakeFIFO(path, 0o600); err != nil {
		b.Fatal(err)
	}
	r, err := OpenFIFO(path)
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	ctx := context.Background()
	m := NewReadyMessage("freeswitch0", Ready{Caps: FreeSWITCHCapabilities, Priority: DefaultModemPriority})
	for b.Loop() {
		if err := WriteFIFO(ctx, path, m); err != nil {
			b.Fatal(err)
		}
		if _, err := r.Read(ctx); err != nil {
			b.Fatal(err)
		}
	}
}
