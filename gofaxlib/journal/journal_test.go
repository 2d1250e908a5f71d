package journal

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"
)

var consumers = map[string][]string{
	"recv":    {"recv.start"},
	"faxrcvd": {"recv.done"},
	"db":      {"recv.start", "recv.done"},
}

func open(t *testing.T, dir string) *Journal {
	t.Helper()
	j, err := Open(dir, Options{Consumers: consumers, Writer: WriterOptions{SyncInterval: -1}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	return j
}

func ids(recs []Record) []string {
	var out []string
	for _, r := range recs {
		out = append(out, r.ID)
	}
	return out
}

// TestReplay: records stay pending for each consumer of their kind
// across a reopen until that consumer acknowledges them; a kind no
// consumer takes is done at once.
func TestReplay(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "journal")
	j := open(t, dir)
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("journal directory %v, %v; want mode 0700", fi, err)
	}
	start := rec(t, "recv.start", map[string]string{"commid": "1"})
	done := rec(t, "recv.done", map[string]int{"pages": 2})
	other := rec(t, "send.attempt", 1)
	if err := j.Write(start); err != nil {
		t.Fatal(err)
	}
	if err := j.Append(context.Background(), done, other); err != nil {
		t.Fatal(err)
	}
	if err := j.Ack("recv", start.ID); err != nil {
		t.Fatal(err)
	}
	if err := j.Ack("nobody", start.ID); err == nil {
		t.Error("Ack by an unknown consumer accepted")
	}
	check := func(j *Journal, when string) {
		t.Helper()
		for c, want := range map[string][]string{"recv": nil, "faxrcvd": {done.ID}, "db": {start.ID, done.ID}} {
			if got := ids(j.Pending(c)); !slices.Equal(got, want) {
				t.Errorf("%s: pending for %s %q, want %q", when, c, got, want)
			}
		}
	}
	check(j, "before the restart")
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	j2 := open(t, dir)
	check(j2, "after the restart")
	p := j2.Pending("faxrcvd")
	var v map[string]int
	if err := p[0].Decode(&v); err != nil || v["pages"] != 2 {
		t.Errorf("payload %v, %v", v, err)
	}
	if err := j2.Ack("db", start.ID, done.ID); err != nil {
		t.Fatal(err)
	}
	if err := j2.Ack("faxrcvd", done.ID); err != nil {
		t.Fatal(err)
	}
	j2.Close()
	j3 := open(t, dir)
	for c := range consumers {
		if got := j3.Pending(c); len(got) != 0 {
			t.Errorf("pending for %s after every ack: %q", c, ids(got))
		}
	}
}

// TestNotify: a consumer is told when records become pending for it.
func TestNotify(t *testing.T) {
	j := open(t, t.TempDir())
	select {
	case <-j.Notify("faxrcvd"):
		t.Fatal("notified before any record")
	default:
	}
	if err := j.Write(rec(t, "recv.done", 1)); err != nil {
		t.Fatal(err)
	}
	select {
	case <-j.Notify("faxrcvd"):
	default:
		t.Error("not notified")
	}
	select {
	case <-j.Notify("recv"):
		t.Error("a consumer of another kind was notified")
	default:
	}
}

// TestLocked: one reader at a time.
func TestLocked(t *testing.T) {
	dir := t.TempDir()
	open(t, dir)
	if _, err := Open(dir, Options{}); !errors.Is(err, ErrLocked) {
		t.Errorf("second Open: %v, want ErrLocked", err)
	}
}

// TestTornAndCorrupt: a torn last line of a dead writer's segment and a
// corrupt line in the middle are skipped and counted; every other
// record is there.
func TestTornAndCorrupt(t *testing.T) {
	dir := t.TempDir()
	w, err := OpenWriter(dir, WriterOptions{Name: "gofaxsend", SyncInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for i := range 5 {
		r := rec(t, "recv.done", i)
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
		if i != 2 {
			want = append(want, r.ID)
		}
	}
	w.Close()
	seg := segments(t, dir)[0]
	b, err := os.ReadFile(seg)
	if err != nil {
		t.Fatal(err)
	}
	// Corrupt record 3 (index 2), then add half a record: the write a
	// killed writer did not finish.
	lines := splitLines(b)
	lines[2][30] ^= 0x01
	torn, _ := rec(t, "recv.done", 99).Encode()
	b = append(joinLines(lines), torn[:len(torn)/2]...)
	if err := os.WriteFile(seg, b, 0o600); err != nil {
		t.Fatal(err)
	}
	j := open(t, dir)
	if got := ids(j.Pending("faxrcvd")); !slices.Equal(got, want) {
		t.Errorf("pending %q, want %q", got, want)
	}
	if s := j.Stats(); s.Skipped != 2 {
		t.Errorf("skipped %d, want 2", s.Skipped)
	}
}

func splitLines(b []byte) [][]byte {
	var out [][]byte
	for len(b) > 0 {
		i := slices.Index(b, '\n')
		out = append(out, slices.Clone(b[:i+1]))
		b = b[i+1:]
	}
	return out
}

func joinLines(ls [][]byte) []byte {
	var b []byte
	for _, l := range ls {
		b = append(b, l...)
	}
	return b
}

// TestActiveSegment: the segment of a writer that is still running is
// read as far as it is complete: a half-written line is neither a record
// nor counted as skipped, and the segment is never removed.
func TestActiveSegment(t *testing.T) {
	dir := t.TempDir()
	j := open(t, dir)
	w, err := OpenWriter(dir, WriterOptions{Name: "gofaxsend", SyncInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	first := rec(t, "recv.done", 1)
	if err := w.Append(context.Background(), first); err != nil {
		t.Fatal(err)
	}
	seg := segments(t, dir)[0]
	line, _ := rec(t, "recv.done", 2).Encode()
	f, err := os.OpenFile(seg, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	f.Write(line[:10]) // the writer is in the middle of a write
	if err := j.Refresh(); err != nil {
		t.Fatal(err)
	}
	if got := ids(j.Pending("faxrcvd")); !slices.Equal(got, []string{first.ID}) || j.Stats().Skipped != 0 {
		t.Errorf("pending %q, skipped %d; want the first record only, none skipped", got, j.Stats().Skipped)
	}
	f.Write(line[10:])
	j.Refresh()
	if got := j.Pending("faxrcvd"); len(got) != 2 {
		t.Errorf("pending %q after the write completed, want 2", ids(got))
	}
	j.Ack("faxrcvd", ids(j.Pending("faxrcvd"))...)
	if n, err := j.Compact(context.Background()); n != 0 || err != nil {
		t.Errorf("Compact removed %d (%v) while the writer runs", n, err)
	}
	if _, err := os.Stat(seg); err != nil {
		t.Errorf("active segment removed: %v", err)
	}
}

// TestCompact: segments whose records are all acknowledged are removed,
// except the one being written; acknowledgements in a removed segment
// that records in other segments still need are kept (written again), so
// nothing becomes pending again after a restart.
func TestCompact(t *testing.T) {
	dir := t.TempDir()
	// Run 1 writes a and b.
	j := open(t, dir)
	a, b := rec(t, "recv.done", "a"), rec(t, "recv.done", "b")
	if err := j.Append(context.Background(), a, b); err != nil {
		t.Fatal(err)
	}
	j.Close()
	// Run 2 acknowledges b; a stays pending, so run 1's segment stays.
	// (Consumer db waits for both all along.)
	j = open(t, dir)
	if err := j.Ack("faxrcvd", b.ID); err != nil {
		t.Fatal(err)
	}
	j.Close()
	if n := len(segments(t, dir)); n != 2 {
		t.Fatalf("%d segments, want 2", n)
	}
	// Run 3: run 2's segment holds only the ack of b; removing it must
	// not make b pending again.
	j = open(t, dir)
	n, err := j.Compact(context.Background())
	if err != nil || n != 1 {
		t.Fatalf("Compact = %d, %v; want run 2's segment removed", n, err)
	}
	j.Close()
	j = open(t, dir)
	if got := ids(j.Pending("faxrcvd")); !slices.Equal(got, []string{a.ID}) {
		t.Fatalf("pending %q after compaction, want only %s", got, a.ID)
	}
	// Acknowledge the rest: everything but the reader's current segment
	// goes.
	if err := j.Ack("faxrcvd", a.ID); err != nil {
		t.Fatal(err)
	}
	if err := j.Ack("db", a.ID, b.ID); err != nil {
		t.Fatal(err)
	}
	j.Sync(context.Background())
	if _, err := j.Compact(context.Background()); err != nil {
		t.Fatal(err)
	}
	if segs := segments(t, dir); len(segs) != 1 {
		t.Errorf("segments %q, want only the current one", segs)
	}
	j.Close()
	j = open(t, dir)
	if got := j.Pending("faxrcvd"); len(got) != 0 {
		t.Errorf("pending %q, want none", ids(got))
	}
	if s := j.Stats(); s.Skipped != 0 {
		t.Errorf("skipped %d", s.Skipped)
	}
}

// TestRotationCompacts: in a long run, the reader's own full segments go
// once their records are acknowledged.
func TestRotationCompacts(t *testing.T) {
	dir := t.TempDir()
	j, err := Open(dir, Options{Consumers: consumers, Writer: WriterOptions{SegmentSize: 2048, SyncInterval: -1}})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	for i := range 100 {
		r := rec(t, "recv.done", i)
		if err := j.Append(context.Background(), r); err != nil {
			t.Fatal(err)
		}
		if err := j.Ack("faxrcvd", r.ID); err != nil {
			t.Fatal(err)
		}
		if err := j.Ack("db", r.ID); err != nil {
			t.Fatal(err)
		}
		if i%10 == 9 {
			if _, err := j.Compact(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
	}
	if segs := segments(t, dir); len(segs) > 2 {
		t.Errorf("%d segments left", len(segs))
	}
	if s := j.Stats(); s.Removed == 0 || s.Pending["faxrcvd"] != 0 {
		t.Errorf("stats %+v", s)
	}
}

// TestManyWriterProcesses: several processes append at once, each into
// its own segments, while the reader refreshes; every record arrives
// once and intact.
func TestManyWriterProcesses(t *testing.T) {
	dir := t.TempDir()
	j := open(t, dir)
	const procs, per = 3, 200
	var wg sync.WaitGroup
	errs := make(chan error, procs)
	for p := range procs {
		wg.Go(func() {
			cmd := exec.Command(os.Args[0], "-test.run=^TestWriterProcess$")
			cmd.Env = append(os.Environ(), "JOURNAL_TEST_WRITER="+dir, "JOURNAL_TEST_N="+strconv.Itoa(per),
				"JOURNAL_TEST_TAG="+strconv.Itoa(p))
			if out, err := cmd.CombinedOutput(); err != nil {
				errs <- fmt.Errorf("writer %d: %v\n%s", p, err, out)
			}
		})
	}
	stop := make(chan struct{})
	var refresher sync.WaitGroup
	refresher.Go(func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(time.Millisecond):
				if err := j.Refresh(); err != nil {
					t.Error(err)
				}
			}
		}
	})
	wg.Wait()
	close(stop)
	refresher.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if err := j.Refresh(); err != nil {
		t.Fatal(err)
	}
	got := j.Pending("faxrcvd")
	seen := map[string]bool{}
	for _, r := range got {
		var v struct {
			Tag, I int
		}
		if err := r.Decode(&v); err != nil {
			t.Fatal(err)
		}
		seen[fmt.Sprint(v.Tag, "/", v.I)] = true
	}
	if len(got) != procs*per || len(seen) != procs*per {
		t.Errorf("%d records (%d distinct), want %d", len(got), len(seen), procs*per)
	}
	if s := j.Stats(); s.Skipped != 0 {
		t.Errorf("%d lines skipped", s.Skipped)
	}
	// The writers are gone: their segments go once acknowledged.
	j.Ack("faxrcvd", ids(got)...)
	j.Ack("db", ids(got)...)
	if n, err := j.Compact(context.Background()); err != nil || n < procs {
		t.Errorf("Compact removed %d, %v; want the %d writers' segments", n, err, procs)
	}
}

// TestWriterProcess is the child of TestManyWriterProcesses.
func TestWriterProcess(t *testing.T) {
	dir := os.Getenv("JOURNAL_TEST_WRITER")
	if dir == "" {
		t.Skip("child process of TestManyWriterProcesses")
	}
	n, _ := strconv.Atoi(os.Getenv("JOURNAL_TEST_N"))
	tag, _ := strconv.Atoi(os.Getenv("JOURNAL_TEST_TAG"))
	w, err := OpenWriter(dir, WriterOptions{Name: "gofaxsend", SegmentSize: 8192})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := g; i < n; i += 4 {
				r := rec(t, "recv.done", map[string]int{"tag": tag, "i": i})
				if err := w.Append(context.Background(), r); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestStaleNewSegment: a segment a writer created but never renamed (it
// died in between) is removed once it is old; a fresh one is left to its
// writer.
func TestStaleNewSegment(t *testing.T) {
	dir := t.TempDir()
	old := filepath.Join(dir, tmpPrefix+"0000000000000001-gofaxsend-1"+segSuffix)
	fresh := filepath.Join(dir, tmpPrefix+"0000000000000002-gofaxsend-2"+segSuffix)
	for _, p := range []string{old, fresh} {
		if err := os.WriteFile(p, nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	past := time.Now().Add(-2 * staleAge)
	os.Chtimes(old, past, past)
	open(t, dir)
	if _, err := os.Stat(old); !os.IsNotExist(err) {
		t.Errorf("stale segment kept: %v", err)
	}
	if _, err := os.Stat(fresh); err != nil {
		t.Errorf("fresh segment removed: %v", err)
	}
}

// TestFilesOwnedLikeDirectory: root writing into a directory owned by
// the spool's owner gives the segments to that owner.
func TestFilesOwnedLikeDirectory(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to give files away")
	}
	dir := t.TempDir()
	if err := os.Chown(dir, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	w, err := OpenWriter(dir, WriterOptions{Name: "test"})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if err := w.Append(context.Background(), rec(t, "a", 1)); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(segments(t, dir)[0])
	if err != nil {
		t.Fatal(err)
	}
	if st := fi.Sys().(*syscall.Stat_t); st.Uid != 65534 || st.Gid != 65534 {
		t.Errorf("segment owned by %d:%d, want 65534:65534", st.Uid, st.Gid)
	}
}

// TestNewAck: an acknowledgement appended with a result in one Append
// takes effect like Ack.
func TestNewAck(t *testing.T) {
	dir := t.TempDir()
	j := open(t, dir)
	start := rec(t, "recv.start", 1)
	if err := j.Write(start); err != nil {
		t.Fatal(err)
	}
	ack, err := NewAck("recv", start.ID)
	if err != nil {
		t.Fatal(err)
	}
	if err := j.Append(context.Background(), rec(t, "recv.done", 1), ack); err != nil {
		t.Fatal(err)
	}
	if j.IsPending("recv", start.ID) || !j.Has(start.ID) || j.Has("nonesuch") {
		t.Errorf("pending %v, has %v after the acknowledgement; want false, true", j.IsPending("recv", start.ID), j.Has(start.ID))
	}
	j.Close()
	if j := open(t, dir); j.IsPending("recv", start.ID) || len(j.Pending("faxrcvd")) != 1 {
		t.Errorf("after reopening: recv %q, faxrcvd %q", ids(j.Pending("recv")), ids(j.Pending("faxrcvd")))
	}
	if _, err := NewAck("Bad Consumer", "x"); err == nil {
		t.Error("bad consumer accepted")
	}
	if _, err := NewAck("recv", "a b"); err == nil {
		t.Error("bad id accepted")
	}
}
