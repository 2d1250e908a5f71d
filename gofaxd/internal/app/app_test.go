package app

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gofaxserver/gofaxserver/gofaxd/internal/receive"
	"github.com/gofaxserver/gofaxserver/gofaxlib/config"
	"github.com/gofaxserver/gofaxserver/gofaxlib/esl/esltest"
	"github.com/gofaxserver/gofaxserver/gofaxlib/hylafax"
)

// env is one gofaxd with the default allocateinbounddevices (false) on a temp spool, a fake faxq reading its FIFO, a
// faxrcvd stand-in recording its argv and environment, and the simulator.
type env struct {
	t     *testing.T
	spool string
	cfg   *config.Config
	app   *App
	sim   *esltest.Sim
	faxq  *faxqReader
	outs  string // where the faxrcvd stand-in writes
}

// faxrcvdScript records argv (one per line) and the environment gofaxd
// adds (the tenant variables only when set) into <out>/faxrcvd.<commid>.
const faxrcvdScript = `#!/bin/sh
out=%q
{
	for a in "$@"; do printf 'arg=%%s\n' "$a"; done
	printf 'HANGUPCAUSE=%%s\n' "$HANGUPCAUSE"
	printf 'TRANSFER_RATE=%%s\n' "$TRANSFER_RATE"
	[ -z "${TENANT_ID+set}" ] || printf 'TENANT_ID=%%s\n' "$TENANT_ID"
	[ -z "${TENANT_NAME+set}" ] || printf 'TENANT_NAME=%%s\n' "$TENANT_NAME"
	[ -z "${CALLED_NUMBER+set}" ] || printf 'CALLED_NUMBER=%%s\n' "$CALLED_NUMBER"
	[ -z "${FAX_ID+set}" ] || printf 'FAX_ID=%%s\n' "$FAX_ID"
} > "$out/faxrcvd.tmp.$3" && mv "$out/faxrcvd.tmp.$3" "$out/faxrcvd.$3"
`

func newEnv(t *testing.T, modems int, tweak func(*config.Config)) *env {
	t.Helper()
	return newEnvWith(t, envOptions{modems: modems, tweak: tweak})
}

// newEnvScale is newEnv with the simulator's time scale (0: its default).
func newEnvScale(t *testing.T, modems int, scale float64, tweak func(*config.Config)) *env {
	t.Helper()
	return newEnvWith(t, envOptions{modems: modems, scale: scale, tweak: tweak})
}

type envOptions struct {
	modems int
	scale  float64 // simulator time scale, 0: its default
	spool  string  // an existing spool (with its own faxq); "": a new one with a fake faxq
	tweak  func(*config.Config)
	opts   Options // Syncer and Observer for Open
}

func newEnvWith(t *testing.T, o envOptions) *env {
	t.Helper()
	e := &env{t: t, spool: o.spool, outs: t.TempDir()}
	if e.spool == "" {
		e.spool = t.TempDir()
		for _, d := range []string{"recvq", "log", "status", "etc", "bin"} {
			if err := os.Mkdir(filepath.Join(e.spool, d), 0o755); err != nil {
				t.Fatal(err)
			}
		}
		e.faxq = startFaxqReader(t, e.spool)
	}
	script := filepath.Join(e.outs, "faxrcvd")
	if err := os.WriteFile(script, fmt.Appendf(nil, faxrcvdScript, e.outs), 0o755); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e.sim = esltest.New(t, esltest.Options{SocketAddr: ln.Addr().String(), TimeScale: o.scale})
	cfg := config.Default()
	cfg.HylaFAX.SpoolDir = e.spool
	cfg.HylaFAX.Modems = o.modems
	cfg.Gofaxd.Socket = "127.0.0.1:0"
	cfg.Gofaxd.EnableT38, cfg.Gofaxd.RequestT38 = true, true
	cfg.Gofaxd.PageTimeout = 5 * time.Second
	cfg.Gofaxd.MaxCallTime = 30 * time.Second
	cfg.Gofaxd.FaxRcvdCmd = script
	cfg.FreeSWITCH.Socket = e.sim.Addr()
	cfg.FreeSWITCH.Password = e.sim.Password()
	cfg.FreeSWITCH.Ident = "4711"
	if o.tweak != nil {
		o.tweak(cfg)
	}
	e.cfg = cfg
	opts := o.opts
	if opts.Logger == nil {
		opts.Logger = testLogger(t)
	}
	opts.Listener = ln
	a, err := Open(cfg, opts)
	if err != nil {
		ln.Close()
		t.Fatal(err)
	}
	e.app = a
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := a.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	return e
}

func testLogger(t *testing.T) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// call places a call and waits until gofaxd has recorded it.
func (e *env) call(ic esltest.InboundCall) esltest.CallRecord {
	e.t.Helper()
	before := e.ended()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rec, err := e.sim.PlaceCall(ctx, ic)
	if err != nil {
		e.t.Fatalf("PlaceCall: %v", err)
	}
	e.waitEnded(before + 1)
	return rec
}

// ended counts the calls gofaxd finished, from its metrics.
func (e *env) ended() int {
	mfs, err := e.app.Metrics().Registry.Gather()
	if err != nil {
		e.t.Fatal(err)
	}
	n := 0
	for _, mf := range mfs {
		if mf.GetName() == "gofaxd_calls_total" {
			for _, m := range mf.GetMetric() {
				n += int(m.GetCounter().GetValue())
			}
		}
	}
	return n
}

// metric returns the value of an unlabelled counter or gauge.
func (e *env) metric(name string) int {
	mfs, _ := e.app.Metrics().Registry.Gather()
	for _, mf := range mfs {
		if mf.GetName() == name && len(mf.GetMetric()) == 1 {
			m := mf.GetMetric()[0]
			return int(m.GetCounter().GetValue() + m.GetGauge().GetValue())
		}
	}
	e.t.Fatalf("no metric %s", name)
	return 0
}

func (e *env) classCount(class string) int {
	mfs, _ := e.app.Metrics().Registry.Gather()
	for _, mf := range mfs {
		if mf.GetName() != "gofaxd_calls_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetValue() == class {
					return int(m.GetCounter().GetValue())
				}
			}
		}
	}
	return 0
}

func (e *env) waitEnded(n int) {
	e.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for e.ended() < n {
		if time.Now().After(deadline) {
			e.t.Fatalf("gofaxd finished %d calls, want %d", e.ended(), n)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// faxrcvd returns what the stand-in recorded for commid, waiting for it.
func (e *env) faxrcvd(commid string) (args []string, env map[string]string) {
	e.t.Helper()
	path := filepath.Join(e.outs, "faxrcvd."+commid)
	deadline := time.Now().Add(10 * time.Second)
	var b []byte
	for {
		var err error
		if b, err = os.ReadFile(path); err == nil {
			break
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("faxrcvd did not run for %s", commid)
		}
		time.Sleep(2 * time.Millisecond)
	}
	env = map[string]string{}
	for _, l := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
		if a, ok := strings.CutPrefix(l, "arg="); ok {
			args = append(args, a)
		} else if k, v, ok := strings.Cut(l, "="); ok {
			env[k] = v
		}
	}
	return args, env
}

func (e *env) noFaxrcvd(commid string) {
	e.t.Helper()
	if _, err := os.Stat(filepath.Join(e.outs, "faxrcvd."+commid)); err == nil {
		e.t.Errorf("faxrcvd ran for %s, want not", commid)
	}
}

func (e *env) xferlog() []hylafax.XferRecord {
	e.t.Helper()
	f, err := os.Open(filepath.Join(e.spool, "log", "xferfaxlog"))
	if err != nil {
		e.t.Fatal(err)
	}
	defer f.Close()
	recs, err := hylafax.ParseXferLog(f)
	if err != nil {
		e.t.Fatal(err)
	}
	return recs
}

func (e *env) sessionLog(commid string) string {
	e.t.Helper()
	b, err := os.ReadFile(filepath.Join(e.spool, "log", "c"+commid))
	if err != nil {
		e.t.Fatal(err)
	}
	return string(b)
}

// faxqReader is faxq's end of the spool FIFO.
type faxqReader struct {
	r    *hylafax.FIFOReader
	mu   sync.Mutex
	recs []string
	wg   sync.WaitGroup
}

func startFaxqReader(t *testing.T, spool string) *faxqReader {
	t.Helper()
	path := filepath.Join(spool, "FIFO")
	if err := hylafax.MakeFIFO(path, 0o600); err != nil {
		t.Fatal(err)
	}
	r, err := hylafax.OpenFIFO(path)
	if err != nil {
		t.Fatal(err)
	}
	q := &faxqReader{r: r}
	q.wg.Go(func() {
		for {
			rec, err := r.Read(context.Background())
			if err != nil {
				return
			}
			q.mu.Lock()
			q.recs = append(q.recs, string(rec))
			q.mu.Unlock()
		}
	})
	t.Cleanup(func() { r.Close(); q.wg.Wait() })
	return q
}

func (q *faxqReader) records() []string {
	q.mu.Lock()
	defer q.mu.Unlock()
	return slices.Clone(q.recs)
}

// waitFor waits until the records start with the prefixes of want, in
// this order.
func (q *faxqReader) waitFor(t *testing.T, want ...string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := q.records()
		i := 0
		for _, r := range got {
			if i < len(want) && strings.HasPrefix(r, want[i]) {
				i++
			}
		}
		if i == len(want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("faxq records %q\ndo not contain in order %q", got, want)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func TestReceiveDelivered(t *testing.T) {
	for _, tc := range []struct {
		name string
		t38  bool
	}{
		{"t38", true},
		{"g711", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, 2, func(c *config.Config) {
				c.Gofaxd.EnableT38, c.Gofaxd.RequestT38 = tc.t38, tc.t38
			})
			rec := e.call(esltest.InboundCall{CallerNumber: "+4930123", CallerName: "ACME Fax", Gateway: "carrier1",
				Scenario: esltest.Scenario{T38: tc.t38, StationID: "+49 30 123"}})

			wantApps := []string{"answer", fmt.Sprintf("set fax_enable_t38=%v", tc.t38),
				fmt.Sprintf("set fax_enable_t38_request=%v", tc.t38), "set fax_ident=4711",
				"rxfax " + filepath.Join(e.spool, "recvq", "fax000000001.tif")}
			if !containsInOrder(rec.Apps, wantApps) {
				t.Errorf("apps %q, want %q in order", rec.Apps, wantApps)
			}
			if rec.Killed {
				t.Error("call was killed")
			}
			file := filepath.Join(e.spool, "recvq", "fax000000001.tif")
			pages, err := hylafax.TIFFPages(file)
			if err != nil || len(pages) != 2 {
				t.Fatalf("received file: %d pages, %v", len(pages), err)
			}
			if pages[0].FaxRecvParams == 0 || !strings.HasPrefix(pages[0].ImageDescription, "+49 30 123\n+4930123\nACME Fax\n5551236\ncarrier1") {
				t.Errorf("fax tags: params %#x, description %q", pages[0].FaxRecvParams, pages[0].ImageDescription)
			}
			for i, p := range pages {
				// The simulator's pages take milliseconds: spandsp would
				// have written 0, faxinfo needs at least 1 s a page.
				if p.FaxRecvTime < 1 {
					t.Errorf("page %d: FaxRecvTime %d, want at least 1", i+1, p.FaxRecvTime)
				}
			}
			if fi, _ := os.Stat(file); fi.Mode().Perm() != 0o600 {
				t.Errorf("file mode %v, want 0600 (recvfilemode)", fi.Mode().Perm())
			}

			args, env := e.faxrcvd("000000001")
			wantArgs := []string{"recvq/fax000000001.tif", "freeswitch0", "000000001", "", "+4930123", "ACME Fax", "5551236", "carrier1"}
			if !slices.Equal(args, wantArgs) {
				t.Errorf("faxrcvd argv %q, want %q", args, wantArgs)
			}
			if env["HANGUPCAUSE"] != "NORMAL_CLEARING" || env["TRANSFER_RATE"] != "14400" {
				t.Errorf("faxrcvd env %v", env)
			}

			recs := e.xferlog()
			if len(recs) != 1 {
				t.Fatalf("xferfaxlog has %d records", len(recs))
			}
			r := recs[0]
			if r.Kind != "RECV" || r.CommID != "000000001" || r.Modem != "freeswitch0" || r.JobID != "recvq/fax000000001.tif" ||
				r.Pages != 2 || r.Reason != "" || r.CSI != "+49 30 123" || !slices.Equal(r.CallIDs, []string{"+4930123", "ACME Fax", "5551236", "carrier1"}) {
				t.Errorf("RECV record %+v", r)
			}
			if p, err := hylafax.DecodeClass2Params(r.Params); err != nil || p.BitRate() != 14400 {
				t.Errorf("RECV params %#x: %+v %v", r.Params, p, err)
			}
			// The received file's FaxDcs, as the simulator writes it for
			// its default document: 14400, fine, MH, ECM.
			if r.DCS != "00 46 1F 20" {
				t.Errorf("RECV DCS %q, want the received file's FaxDcs", r.DCS)
			}
			checkSessionLog(t, e.sessionLog("000000001"), "SESSION BEGIN 000000001 4930123")
			e.faxq.waitFor(t, "+freeswitch0:B", "+freeswitch0:I000000001", "@freeswitch0:B", "@freeswitch0:S", "@freeswitch0:P", "@freeswitch0:P",
				"@freeswitch0:D", "@freeswitch0:E", "+freeswitch0:I", "+freeswitch0:R")
			if e.classCount(receive.ClassReceived) != 1 {
				t.Errorf("received count %d", e.classCount(receive.ClassReceived))
			}
		})
	}
}

// checkSessionLog checks that a session log's first line contains begin and that it has
// exactly one SESSION BEGIN and one SESSION END, the last line.
func checkSessionLog(t *testing.T, log, begin string) {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(log, "\n"), "\n")
	if n := strings.Count(log, "SESSION BEGIN"); n != 1 || !strings.Contains(lines[0], begin) {
		t.Errorf("session log: %d SESSION BEGIN, want one, in a first line with %q:\n%s", n, begin, log)
	}
	if n := strings.Count(log, "SESSION END"); n != 1 || !strings.HasSuffix(lines[len(lines)-1], "SESSION END") {
		t.Errorf("session log: %d SESSION END, want one, on the last line:\n%s", n, log)
	}
}

func containsInOrder(got, want []string) bool {
	i := 0
	for _, g := range got {
		if i < len(want) && g == want[i] {
			i++
		}
	}
	return i == len(want)
}

// TestUnitStopTimeout: the shipped systemd unit gives a stop with the
// default shutdowngrace the time it may take; systemd would otherwise
// kill receptions before they are recorded.
func TestUnitStopTimeout(t *testing.T) {
	b, err := os.ReadFile("../../../contrib/systemd/gofaxd.service")
	if err != nil {
		t.Fatal(err)
	}
	var stop time.Duration
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(l), "TimeoutStopSec="); ok {
			if stop, err = time.ParseDuration(v); err != nil {
				t.Fatalf("TimeoutStopSec=%s: %v", v, err)
			}
		}
	}
	if need := config.Default().Gofaxd.ShutdownGrace + StopOverhead; stop <= need {
		t.Errorf("TimeoutStopSec %v, want more than shutdowngrace + StopOverhead = %v", stop, need)
	}
}
