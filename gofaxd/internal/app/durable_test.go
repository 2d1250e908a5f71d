package app

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gofaxserver/gofaxserver/gofaxd/internal/receive"
	"github.com/gofaxserver/gofaxserver/gofaxlib/esl/esltest"
	"github.com/gofaxserver/gofaxserver/gofaxlib/hylafax"
)

// syncRecorder is a hylafax.Syncer and receive.Observer that records, in
// order, what is fsynced (and what the file held then) and when faxrcvd
// starts. It does not sync: killing a process never drops the page cache,
// so what matters is what was synced before faxrcvd, not the disk.
type syncRecorder struct {
	mu     sync.Mutex
	events []string
	xfer   string // the xferfaxlog, whose content at each fsync is noted
}

func (r *syncRecorder) note(op string, f *os.File) error {
	ev := op + " " + f.Name()
	if f.Name() == r.xfer {
		b, _ := os.ReadFile(r.xfer)
		ev += fmt.Sprintf(" (%d RECV records)", strings.Count(string(b), "\tRECV\t"))
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, ev)
	return nil
}

func (r *syncRecorder) Sync(f *os.File) error     { return r.note("fsync", f) }
func (r *syncRecorder) DataSync(f *os.File) error { return r.note("fdatasync", f) }

func (r *syncRecorder) CallStarted()              {}
func (r *syncRecorder) CallEnded(receive.Outcome) {}
func (r *syncRecorder) FaxrcvdEnded(string)       {}
func (r *syncRecorder) Recovered(string)          {}
func (r *syncRecorder) FaxrcvdStarted(time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, "faxrcvd")
}

func (r *syncRecorder) log() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.events)
}

// TestDurableBeforeFaxrcvd: before faxrcvd starts for a reception, its
// TIFF (data, tags and mode, then the header switching to the tags), the
// recvq directory holding its name, the sequence files its numbers came
// from and the xferfaxlog holding its RECV record have been fsynced; a
// fax whose faxrcvd ran survives a power loss.
func TestDurableBeforeFaxrcvd(t *testing.T) {
	rec := &syncRecorder{}
	spool, before := callUntilFaxrcvd(t, rec, rec, nil)
	tiff := filepath.Join(spool, "recvq", "fax000000001.tif")
	for _, want := range []string{
		"fsync " + tiff,
		"fdatasync " + tiff,
		"fsync " + filepath.Join(spool, "recvq"),
		"fsync " + filepath.Join(spool, "recvq", "seqf"),
		"fsync " + filepath.Join(spool, "log", "seqf"),
		"fsync " + rec.xfer + " (1 RECV records)",
	} {
		if !slices.Contains(before, want) {
			t.Errorf("not before faxrcvd: %q\nsynced before faxrcvd: %q", want, before)
		}
	}
	if a, b := slices.Index(before, "fsync "+tiff), slices.Index(before, "fdatasync "+tiff); a > b {
		t.Errorf("the header was synced before the tags: %q", before)
	}
}

// TestDurableGroupCommit: receptions that end together share the fsyncs
// of the directory, the sequence files and xferfaxlog; every file is
// still synced before its faxrcvd.
func TestDurableGroupCommit(t *testing.T) {
	rec := &syncRecorder{}
	e := newEnvWith(t, envOptions{modems: 1, opts: Options{Syncer: rec, Observer: rec}})
	rec.xfer = filepath.Join(e.spool, "log", "xferfaxlog")
	const calls = 20
	var wg sync.WaitGroup
	for range calls {
		wg.Go(func() {
			if _, err := e.sim.PlaceCall(t.Context(), esltest.InboundCall{CallerNumber: "5551000"}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	e.waitEnded(calls)
	deadline := time.Now().Add(30 * time.Second)
	for strings.Count(strings.Join(rec.log(), "\n"), "faxrcvd") < calls {
		if time.Now().After(deadline) {
			t.Fatalf("faxrcvd ran %d times", strings.Count(strings.Join(rec.log(), "\n"), "faxrcvd"))
		}
		time.Sleep(10 * time.Millisecond)
	}
	events := rec.log()
	xferSyncs, dirSyncs := 0, 0
	for _, ev := range events {
		if strings.HasPrefix(ev, "fsync "+rec.xfer) {
			xferSyncs++
		}
		if ev == "fsync "+filepath.Join(e.spool, "recvq") {
			dirSyncs++
		}
	}
	if xferSyncs == 0 || xferSyncs > calls || dirSyncs == 0 || dirSyncs > calls {
		t.Errorf("%d xferfaxlog and %d recvq fsyncs for %d receptions", xferSyncs, dirSyncs, calls)
	}
	t.Logf("%d receptions: %d rounds of fsyncs", calls, dirSyncs)
	for i := 1; i <= calls; i++ {
		tiff := filepath.Join(e.spool, "recvq", fmt.Sprintf("fax%09d.tif", i))
		if !slices.Contains(events, "fdatasync "+tiff) {
			t.Errorf("%s never synced", tiff)
		}
	}
}

// fsRecorder is a syncRecorder with syncfs: it notes the first received
// file's name and header at each, and the sequence files' numbers.
type fsRecorder struct {
	syncRecorder
	spool string
}

func (r *fsRecorder) SyncFS() error {
	b, err := os.ReadFile(filepath.Join(r.spool, "recvq", "fax000000001.tif"))
	ev := "syncfs: no fax000000001.tif"
	if err == nil && len(b) >= 8 {
		ev = fmt.Sprintf("syncfs: fax000000001.tif header %x", b[:8])
	}
	for _, seqf := range []string{"recvq/seqf", "log/seqf"} {
		n, _ := os.ReadFile(filepath.Join(r.spool, seqf))
		ev += fmt.Sprintf(", %s %s", seqf, strings.TrimSpace(string(n)))
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, ev)
	return nil
}

// TestDurableBeforeFaxrcvdSyncFS: with syncfs, before faxrcvd starts the
// spool's file system was synced twice with the reception's name and
// numbers in place, first with its TIFF's old header, then with the
// header switching to the new tags; and xferfaxlog, which may be
// elsewhere, was fsynced with its RECV record.
func TestDurableBeforeFaxrcvdSyncFS(t *testing.T) {
	rec := &fsRecorder{}
	spool, before := callUntilFaxrcvd(t, rec, &rec.syncRecorder, func(spool string) { rec.spool = spool })
	final, err := os.ReadFile(filepath.Join(spool, "recvq", "fax000000001.tif"))
	if err != nil {
		t.Fatal(err)
	}
	var syncfs []string
	for _, ev := range before {
		if strings.HasPrefix(ev, "syncfs") {
			syncfs = append(syncfs, ev)
		} else if strings.Contains(ev, "fax000000001.tif") || strings.Contains(ev, "seqf") {
			t.Errorf("synced by itself with syncfs at hand: %q", ev)
		}
	}
	if len(syncfs) != 2 {
		t.Fatalf("syncfs before faxrcvd: %q, want 2", syncfs)
	}
	numbers := ", recvq/seqf 2, log/seqf 2" // the next numbers: 1 was taken
	if want := fmt.Sprintf("syncfs: fax000000001.tif header %x%s", final[:8], numbers); syncfs[1] != want {
		t.Errorf("second syncfs: %q, want %q", syncfs[1], want)
	}
	if !strings.HasSuffix(syncfs[0], numbers) || syncfs[0] == syncfs[1] || strings.Contains(syncfs[0], "no fax") {
		t.Errorf("first syncfs: %q; want the file with its old header, and the numbers", syncfs[0])
	}
	if want := "fsync " + rec.xfer + " (1 RECV records)"; !slices.Contains(before, want) {
		t.Errorf("not before faxrcvd: %q\nsynced before faxrcvd: %q", want, before)
	}
}

// callUntilFaxrcvd receives one call in a gofaxd making it durable with
// syncer, and returns the spool and what rec noted before faxrcvd
// started. prepare, if set, is given the spool before the call.
func callUntilFaxrcvd(t *testing.T, syncer hylafax.Syncer, rec *syncRecorder, prepare func(spool string)) (spool string, before []string) {
	t.Helper()
	e := newEnvWith(t, envOptions{modems: 1, opts: Options{Syncer: syncer, Observer: rec}})
	rec.xfer = filepath.Join(e.spool, "log", "xferfaxlog")
	if prepare != nil {
		prepare(e.spool)
	}
	e.call(esltest.InboundCall{CallerNumber: "5551000"})
	e.faxrcvd("000000001")
	events := rec.log()
	at := slices.Index(events, "faxrcvd")
	if at < 0 {
		t.Fatalf("faxrcvd never started: %q", events)
	}
	return e.spool, events[:at]
}
