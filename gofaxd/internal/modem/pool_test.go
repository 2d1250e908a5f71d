package modem

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gofaxserver/gofaxserver/gofaxlib/hylafax"
)

// fakeFaxq reads the spool's FIFO like faxq does and hands over records.
type fakeFaxq struct {
	t    *testing.T
	r    *hylafax.FIFOReader
	recs chan string
	wg   sync.WaitGroup
}

func startFaxq(t *testing.T, spool string) *fakeFaxq {
	t.Helper()
	path := filepath.Join(spool, "FIFO")
	if err := hylafax.MakeFIFO(path, 0o600); err != nil {
		t.Fatal(err)
	}
	r, err := hylafax.OpenFIFO(path)
	if err != nil {
		t.Fatal(err)
	}
	q := &fakeFaxq{t: t, r: r, recs: make(chan string, 1000)}
	q.wg.Add(1)
	go func() {
		defer q.wg.Done()
		for {
			rec, err := r.Read(context.Background())
			if err != nil {
				return
			}
			q.recs <- string(rec)
		}
	}()
	t.Cleanup(q.stop)
	return q
}

func (q *fakeFaxq) stop() {
	q.r.Close()
	q.wg.Wait()
}

// expect reads records until want has been seen in order, failing after a
// deadline. Other records in between are allowed.
func (q *fakeFaxq) expect(want ...string) {
	q.t.Helper()
	deadline := time.After(5 * time.Second)
	var got []string
	for len(want) > 0 {
		select {
		case r := <-q.recs:
			got = append(got, r)
			if r == want[0] {
				want = want[1:]
			}
		case <-deadline:
			q.t.Fatalf("still waiting for %q; got %q", want, got)
		}
	}
}

// none asserts that no record matching bad arrives before the marker.
func (q *fakeFaxq) upTo(marker string) []string {
	q.t.Helper()
	deadline := time.After(5 * time.Second)
	var got []string
	for {
		select {
		case r := <-q.recs:
			got = append(got, r)
			if r == marker {
				return got
			}
		case <-deadline:
			q.t.Fatalf("no %q; got %q", marker, got)
		}
	}
}

func newSpool(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, d := range []string{"etc", "status"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func openPool(t *testing.T, spool string, n int, exclusive bool, tweaks ...func(*Config)) *Pool {
	t.Helper()
	cfg := Config{Spool: spool, Prefix: "freeswitch", Count: n, Number: "4711", Exclusive: exclusive,
		LockDir: filepath.Join(spool, "lock")}
	for _, f := range tweaks {
		f(&cfg)
	}
	p, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func writeModemFIFO(t *testing.T, spool, modem, data string) {
	t.Helper()
	f, err := os.OpenFile(filepath.Join(spool, "FIFO."+modem), os.O_WRONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(data); err != nil {
		t.Fatal(err)
	}
}

func statusText(t *testing.T, spool, modem string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(spool, "status", modem))
	if err != nil {
		return ""
	}
	return strings.TrimSuffix(string(b), "\n")
}

func waitStatus(t *testing.T, spool, modem, want string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if statusText(t, spool, modem) == want {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("status/%s = %q, want %q", modem, statusText(t, spool, modem), want)
}

func TestOpenCreatesFilesAndAnnounces(t *testing.T) {
	spool := newSpool(t)
	q := startFaxq(t, spool)
	openPool(t, spool, 2, true)
	q.expect("+freeswitch0:N4711", "+freeswitch0:Rpcef9ff01:ff")
	for _, m := range []string{"freeswitch0", "freeswitch1"} {
		fi, err := os.Stat(filepath.Join(spool, "FIFO."+m))
		if err != nil || fi.Mode()&os.ModeNamedPipe == 0 || fi.Mode().Perm() != 0o600 {
			t.Errorf("FIFO.%s: %v %v", m, fi, err)
		}
		if fi, err := os.Stat(filepath.Join(spool, "etc", "config."+m)); err != nil || !fi.Mode().IsRegular() {
			t.Errorf("etc/config.%s: %v", m, err)
		}
		waitStatus(t, spool, m, StatusIdle)
	}
}

func TestOpenRejectsNonFIFO(t *testing.T) {
	spool := newSpool(t)
	if err := os.WriteFile(filepath.Join(spool, "FIFO.freeswitch1"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Open(Config{Spool: spool, Prefix: "freeswitch", Count: 2})
	if err == nil || !strings.Contains(err.Error(), "not a FIFO") {
		t.Fatalf("err = %v, want 'not a FIFO'", err)
	}
}

func TestAcquireIsAtomic(t *testing.T) {
	spool := newSpool(t)
	startFaxq(t, spool)
	p := openPool(t, spool, 3, true)
	var mu sync.Mutex
	var got []string
	var busy int
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			l, err := p.Acquire()
			mu.Lock()
			defer mu.Unlock()
			switch {
			case errors.Is(err, ErrNoModem):
				busy++
			case err != nil:
				t.Error(err)
			default:
				got = append(got, l.Modem())
			}
		})
	}
	wg.Wait()
	slices.Sort(got)
	if want := []string{"freeswitch0", "freeswitch1", "freeswitch2"}; !slices.Equal(got, want) || busy != 47 {
		t.Fatalf("acquired %q, %d refused; want %q and 47", got, busy, want)
	}
	if c := p.Counts(); c[Receiving] != 3 {
		t.Fatalf("counts %v", c)
	}
}

// TestNonExclusiveLendsNameOnly: without Exclusive, a call that finds
// every modem busy gets a modem's name, round-robin, and nothing it does
// reaches faxq or the status files.
func TestNonExclusiveLendsNameOnly(t *testing.T) {
	spool := newSpool(t)
	q := startFaxq(t, spool)
	p := openPool(t, spool, 2, false)
	q.expect("+freeswitch1:Rpcef9ff01:ff")
	a, _ := p.Acquire()
	b, _ := p.Acquire()
	if a == nil || b == nil || !a.Owned() || !b.Owned() {
		t.Fatalf("free modems not taken: %+v %+v", a, b)
	}
	q.expect("+freeswitch0:B", "+freeswitch1:B")
	waitStatus(t, spool, "freeswitch1", StatusAnswering)
	var lent []string
	for range 3 {
		l, err := p.Acquire()
		if err != nil || l.Owned() {
			t.Fatalf("all busy: %v owned=%v", err, l != nil && l.Owned())
		}
		lent = append(lent, l.Modem())
		info := hylafax.RecvInfo{Pages: 1, CommID: "000000099", File: "recvq/fax000000099.tif", Sender: "X"}
		l.Begin("000000099")
		l.Started(info)
		l.Page(info)
		l.Document(info)
		l.Release(info)
	}
	if want := []string{"freeswitch0", "freeswitch1", "freeswitch0"}; !slices.Equal(lent, want) {
		t.Errorf("lent %q, want %q", lent, want)
	}
	for _, m := range []string{"freeswitch0", "freeswitch1"} {
		if s, _ := p.State(m); s != Receiving {
			t.Errorf("%s: unowned leases changed the state to %v", m, s)
		}
	}
	a.Release(hylafax.RecvInfo{})
	got := q.upTo("+freeswitch0:Rpcef9ff01:ff")
	for _, r := range got {
		if strings.Contains(r, "000000099") || strings.HasPrefix(r, "@") {
			t.Errorf("unowned lease reported %q", r)
		}
	}
	if st := statusText(t, spool, "freeswitch1"); st != StatusAnswering {
		t.Errorf("status/freeswitch1 = %q, want %q", st, StatusAnswering)
	}
	b.Release(hylafax.RecvInfo{})
}

// TestReceptionRecords: a reception that found a free modem is reported
// the faxgetty way, whether or not the pool is Exclusive.
func TestReceptionRecords(t *testing.T) {
	for _, exclusive := range []bool{true, false} {
		t.Run(fmt.Sprintf("exclusive=%v", exclusive), func(t *testing.T) { testReceptionRecords(t, exclusive) })
	}
}

func testReceptionRecords(t *testing.T, exclusive bool) {
	spool := newSpool(t)
	q := startFaxq(t, spool)
	p := openPool(t, spool, 1, exclusive)
	q.expect("+freeswitch0:Rpcef9ff01:ff")
	l, err := p.Acquire()
	if err != nil || !l.Owned() {
		t.Fatalf("Acquire: %v", err)
	}
	waitStatus(t, spool, "freeswitch0", StatusAnswering)
	l.Begin("000000042")
	info := hylafax.RecvInfo{Time: 30 * time.Second, Pages: 1, Params: 0x20_0000, File: "recvq/fax000000001.tif",
		CommID: "000000042", Sender: "Bad \"TSI\"\n"}
	l.Started(info)
	waitStatus(t, spool, "freeswitch0", `Receiving from "Bad  TSI"`)
	l.Page(info)
	info.Pages = 2
	l.Document(info)
	l.Release(info)
	got := q.upTo("+freeswitch0:Rpcef9ff01:ff")
	want := []string{
		"+freeswitch0:B",
		"+freeswitch0:I000000042",
		"@freeswitch0:B",
		`@freeswitch0:S1e,1,200000,recvq/fax000000001.tif,000000042,"Bad 'TSI' ","",""`,
		`@freeswitch0:P1e,1,200000,recvq/fax000000001.tif,000000042,"Bad 'TSI' ","",""`,
		`@freeswitch0:D1e,2,200000,recvq/fax000000001.tif,000000042,"Bad 'TSI' ","",""`,
		`@freeswitch0:E1e,2,200000,recvq/fax000000001.tif,000000042,"Bad 'TSI' ","",""`,
		"+freeswitch0:I",
		"+freeswitch0:Rpcef9ff01:ff",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("records\n got %q\nwant %q", got, want)
	}
	waitStatus(t, spool, "freeswitch0", StatusIdle)
}

func TestHelloNeverForcesReady(t *testing.T) {
	spool := newSpool(t)
	q := startFaxq(t, spool)
	p := openPool(t, spool, 1, true)
	q.expect("+freeswitch0:Rpcef9ff01:ff")
	l, _ := p.Acquire()
	l.Begin("000000007")
	q.expect("+freeswitch0:B", "@freeswitch0:B")
	writeModemFIFO(t, spool, "freeswitch0", "HELLO\x00")
	got := q.upTo("+freeswitch0:I000000007")
	if !slices.Equal(got, []string{"+freeswitch0:N4711", "+freeswitch0:B", "+freeswitch0:I000000007"}) {
		t.Fatalf("after HELLO: %q", got)
	}
	l.Release(hylafax.RecvInfo{})
	q.expect("+freeswitch0:Rpcef9ff01:ff")
}

func TestOutboundLock(t *testing.T) {
	spool := newSpool(t)
	q := startFaxq(t, spool)
	p := openPool(t, spool, 1, true)
	q.expect("+freeswitch0:Rpcef9ff01:ff")

	// gofaxsend's SB and SR, in one write.
	writeModemFIFO(t, spool, "freeswitch0", "SB\x00")
	q.expect("+freeswitch0:U")
	waitStatus(t, spool, "freeswitch0", StatusSending)
	if _, err := p.Acquire(); !errors.Is(err, ErrNoModem) {
		t.Fatalf("Acquire while sending: %v", err)
	}
	writeModemFIFO(t, spool, "freeswitch0", "SR\x00")
	q.expect("+freeswitch0:Rpcef9ff01:ff")
	l, err := p.Acquire()
	if err != nil {
		t.Fatal(err)
	}
	// An outbound SB/SR pair while receiving must not make it ready.
	writeModemFIFO(t, spool, "freeswitch0", "SB\x00")
	q.expect("+freeswitch0:B")
	writeModemFIFO(t, spool, "freeswitch0", "SR\n")
	got := q.upTo("+freeswitch0:B")
	if slices.Contains(got, "+freeswitch0:Rpcef9ff01:ff") {
		t.Fatalf("SR while receiving announced ready: %q", got)
	}
	l.Release(hylafax.RecvInfo{})
	q.expect("+freeswitch0:Rpcef9ff01:ff")
}

// TestFaxqLock: faxq's L holds the modem as long as faxq's UUCP lock
// exists, whatever the send program says (faxsend sends nothing).
func TestFaxqLock(t *testing.T) {
	spool := newSpool(t)
	q := startFaxq(t, spool)
	p := openPool(t, spool, 1, true)
	q.expect("+freeswitch0:Rpcef9ff01:ff")
	lock := filepath.Join(spool, "lock", "LCK..freeswitch0")
	if err := os.Mkdir(filepath.Dir(lock), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(lock, []byte("      4242\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	writeModemFIFO(t, spool, "freeswitch0", "L\x00")
	q.expect("+freeswitch0:U")
	time.Sleep(2 * lockPoll)
	if _, err := p.Acquire(); !errors.Is(err, ErrNoModem) {
		t.Fatalf("Acquire while faxq holds the lock: %v", err)
	}
	os.Remove(lock)
	q.expect("+freeswitch0:Rpcef9ff01:ff")
	l, err := p.Acquire()
	if err != nil {
		t.Fatalf("Acquire after the lock is gone: %v", err)
	}
	l.Release(hylafax.RecvInfo{})
}

func TestSendHoldExpires(t *testing.T) {
	spool := newSpool(t)
	startFaxq(t, spool)
	p, err := Open(Config{Spool: spool, Prefix: "m", Count: 1, Exclusive: true, SendHold: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	writeModemFIFO(t, spool, "m0", "SB\x00")
	deadline := time.Now().Add(5 * time.Second)
	for {
		if s, _ := p.State("m0"); s == Sending {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("SB not applied")
		}
		time.Sleep(time.Millisecond)
	}
	time.Sleep(60 * time.Millisecond)
	if _, err := p.Acquire(); err != nil {
		t.Fatalf("stale outbound lock still held: %v", err)
	}
}

// shortFIFOTimeout makes a pool give faxq up soon.
func shortFIFOTimeout(c *Config) { c.FIFOTimeout = 100 * time.Millisecond }

func TestFaxqAbsentThenBack(t *testing.T) {
	spool := newSpool(t)
	start := time.Now()
	p := openPool(t, spool, 2, true, shortFIFOTimeout) // nobody reads FIFO: must not block
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("Open blocked %v without faxq", d)
	}
	waitAbsent(t, p)
	if p.FaxqReading() {
		t.Error("FaxqReading while nobody reads")
	}
	l, err := p.Acquire()
	if err != nil {
		t.Fatal(err)
	}
	q := startFaxq(t, spool)
	got := q.upTo("+freeswitch1:Rpcef9ff01:ff")
	if !slices.Contains(got, "+freeswitch0:B") {
		t.Fatalf("resync did not report the busy modem: %q", got)
	}
	l.Release(hylafax.RecvInfo{})
	q.expect("+freeswitch0:Rpcef9ff01:ff")
}

func TestFaxqRestart(t *testing.T) {
	spool := newSpool(t)
	q := startFaxq(t, spool)
	p := openPool(t, spool, 1, true, shortFIFOTimeout)
	q.expect("+freeswitch0:Rpcef9ff01:ff")
	q.stop()
	l, _ := p.Acquire() // faxq away: dropped, remembered
	waitAbsent(t, p)
	q = startFaxq(t, spool)
	// faxq greets its modems when it starts.
	writeModemFIFO(t, spool, "freeswitch0", "HELLO\x00")
	q.expect("+freeswitch0:N4711", "+freeswitch0:B")
	l.Release(hylafax.RecvInfo{})
	q.expect("+freeswitch0:Rpcef9ff01:ff")
}

func TestDrainAndClose(t *testing.T) {
	spool := newSpool(t)
	q := startFaxq(t, spool)
	p, err := Open(Config{Spool: spool, Prefix: "freeswitch", Count: 2, Exclusive: true})
	if err != nil {
		t.Fatal(err)
	}
	q.expect("+freeswitch1:Rpcef9ff01:ff")
	l, _ := p.Acquire()
	p.Drain()
	q.expect("+freeswitch1:D")
	if _, err := p.Acquire(); !errors.Is(err, ErrClosed) {
		t.Fatalf("Acquire after Drain: %v", err)
	}
	l.Release(hylafax.RecvInfo{})
	q.expect("+freeswitch0:D")
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, spool, "freeswitch0", StatusDown)
	waitStatus(t, spool, "freeswitch1", StatusDown)
}

func waitAbsent(t *testing.T, p *Pool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		p.ann.mu.Lock()
		absent := p.ann.absent
		p.ann.mu.Unlock()
		if absent {
			return
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatal("announcer never noticed that faxq is away")
}

// TestFaxqBriefAbsence: a faxq that is back within FIFOTimeout (a
// restart) gets every message in order; nothing is dropped, nothing
// announced again.
func TestFaxqBriefAbsence(t *testing.T) {
	spool := newSpool(t)
	q := startFaxq(t, spool)
	p := openPool(t, spool, 1, true, func(c *Config) { c.FIFOTimeout = time.Minute })
	q.expect("+freeswitch0:Rpcef9ff01:ff")
	q.stop()
	l, _ := p.Acquire()
	l.Begin("000000005")
	l.Release(hylafax.RecvInfo{CommID: "000000005"})
	time.Sleep(2 * fifoProbe) // longer than the pool waited before FIFOTimeout
	if !p.FaxqReading() {
		t.Error("faxq taken as away within FIFOTimeout")
	}
	q = startFaxq(t, spool)
	got := q.upTo("+freeswitch0:Rpcef9ff01:ff")
	want := []string{"+freeswitch0:B", "+freeswitch0:I000000005", "@freeswitch0:B",
		`@freeswitch0:E0,0,0,,000000005,"","",""`, "+freeswitch0:I", "+freeswitch0:Rpcef9ff01:ff"}
	if !slices.Equal(got, want) {
		t.Errorf("after faxq's restart\n got %q\nwant %q", got, want)
	}
}

// TestCloseDoesNotWaitForFaxq: a pool closing while a message waits for a
// faxq that went away returns within a probe, not after FIFOTimeout.
func TestCloseDoesNotWaitForFaxq(t *testing.T) {
	spool := newSpool(t)
	q := startFaxq(t, spool)
	p, err := Open(Config{Spool: spool, Prefix: "m", Count: 1, FIFOTimeout: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	q.expect("+m0:Rpcef9ff01:ff")
	q.stop()
	l, _ := p.Acquire() // waits for faxq
	l.Release(hylafax.RecvInfo{})
	closed := make(chan error, 1)
	go func() { closed <- p.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(time.Minute):
		t.Fatal("Close waits for faxq")
	}
}

// errorCounter counts log records at level Error.
type errorCounter struct {
	mu   sync.Mutex
	msgs []string
}

func (h *errorCounter) Enabled(context.Context, slog.Level) bool { return true }
func (h *errorCounter) Handle(_ context.Context, r slog.Record) error {
	if r.Level >= slog.LevelError {
		h.mu.Lock()
		h.msgs = append(h.msgs, r.Message)
		h.mu.Unlock()
	}
	return nil
}
func (h *errorCounter) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *errorCounter) WithGroup(string) slog.Handler      { return h }

// TestCloseQuiet: closing the pool ends the FIFO readers without
// reporting the closed FIFOs as read errors.
func TestCloseQuiet(t *testing.T) {
	spool := newSpool(t)
	startFaxq(t, spool)
	h := &errorCounter{}
	for range 20 {
		p, err := Open(Config{Spool: spool, Prefix: "m", Count: 4, Logger: slog.New(h)})
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if len(h.msgs) > 0 {
		t.Errorf("Close logged errors: %q", h.msgs)
	}
}

// TestAlive: the pool is alive while its goroutines run, whether faxq
// reads or not; a FIFO reader that ends (its FIFO broke) makes it say
// so, naming the modem's FIFO.
func TestAlive(t *testing.T) {
	spool := t.TempDir()
	for _, d := range []string{"status", "etc"} {
		os.Mkdir(filepath.Join(spool, d), 0o755)
	}
	p := openPool(t, spool, 2, false) // no faxq reads its FIFO
	if err := p.Alive(); err != nil {
		t.Fatalf("Alive = %v with faxq away", err)
	}
	p.fifos[1].Close()
	for deadline := time.Now().Add(10 * time.Second); p.Alive() == nil; time.Sleep(2 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("Alive = nil after a FIFO reader ended")
		}
	}
	if err := p.Alive(); !strings.Contains(err.Error(), "FIFO.freeswitch1") {
		t.Errorf("Alive = %v, want it to name FIFO.freeswitch1", err)
	}
}
