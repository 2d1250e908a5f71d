package job

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gofaxserver/gofaxserver/gofaxlib/config"
	"github.com/gofaxserver/gofaxserver/gofaxlib/esl/esltest"
	"github.com/gofaxserver/gofaxserver/gofaxlib/hylafax"
	"github.com/gofaxserver/gofaxserver/gofaxsend/internal/outcome"
)

// fixture is a spool in a temp dir with a reader on faxq's FIFO, and a
// simulated FreeSWITCH.
type fixture struct {
	t     *testing.T
	sim   *esltest.Sim
	spool string
	cfg   *config.Config
	logs  *strings.Builder

	mu    sync.Mutex
	fifo  []string // records faxq received
	modem []string // records gofaxd received on FIFO.freeswitch0
	syncs int      // markers written by sync
}

func init() {
	timing.ringGrace = 200 * time.Millisecond
	timing.hangupGrace = 200 * time.Millisecond
	timing.killGrace = time.Second
}

func newFixture(t *testing.T, opts esltest.Options) *fixture {
	t.Helper()
	if opts.TimeScale == 0 {
		// A 2-page fax takes 300 ms: slow enough that a loaded test
		// machine does not change the simulated T.30 timing.
		opts.TimeScale = 0.01
	}
	f := &fixture{t: t, sim: esltest.New(t, opts), spool: t.TempDir(), logs: &strings.Builder{}}
	for _, d := range []string{"sendq", "docq", "log", "tmp", "doneq"} {
		if err := os.Mkdir(filepath.Join(f.spool, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for name, dst := range map[string]*[]string{hylafax.FaxqFIFO: &f.fifo, hylafax.ModemFIFO("freeswitch0"): &f.modem} {
		path := filepath.Join(f.spool, name)
		if err := hylafax.MakeFIFO(path, 0o600); err != nil {
			t.Fatal(err)
		}
		r, err := hylafax.OpenFIFO(path)
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer r.Close()
			for {
				rec, err := r.Read(ctx)
				if err != nil {
					if ctx.Err() != nil {
						return
					}
					continue
				}
				f.mu.Lock()
				*dst = append(*dst, string(rec))
				f.mu.Unlock()
			}
		}()
	}
	t.Cleanup(func() {
		cancel()
		wg.Wait()
		if t.Failed() {
			t.Logf("gofaxsend log:\n%s", f.logs.String())
		}
	})
	c := config.Default()
	c.HylaFAX.SpoolDir = f.spool
	c.FreeSWITCH.Socket = f.sim.Addr()
	c.FreeSWITCH.Password = f.sim.Password()
	c.FreeSWITCH.Gateways = []string{"gw1"}
	c.FreeSWITCH.Ident = "+49 30 1111"
	c.FreeSWITCH.Header = "ACME, Inc."
	c.FreeSWITCH.Timeout = 2 * time.Second
	c.Gofaxsend.EnableT38 = true
	c.Gofaxsend.RequestT38 = true
	c.Gofaxsend.FaxNumber = "4711"
	c.Gofaxsend.RingTimeout = 2 * time.Second
	c.Gofaxsend.PageTimeout = 2 * time.Second
	c.Gofaxsend.MaxCallTime = 10 * time.Second
	f.cfg = c
	return f
}

// qfile writes sendq/q<jobid> as hfaxd and faxq leave it for the send
// program, with the 2-page document prepared as docq/doc<jobid>.tif;00.
func (f *fixture) qfile(jobid, number string, extra ...string) string {
	f.t.Helper()
	src, err := os.ReadFile("testdata/sent-2page-g3.tif")
	if err != nil {
		f.t.Fatal(err)
	}
	docName := fmt.Sprintf("docq/doc%s.tif;00", jobid)
	if err := os.WriteFile(filepath.Join(f.spool, docName), src, 0o644); err != nil {
		f.t.Fatal(err)
	}
	lines := []string{
		"tts:1795327911", "killtime:1795338651", "retrytime:0", "state:6", "npages:0", "totpages:2",
		"nskip:0", "skippages:0", "ncover:0", "coverpages:0", "ntries:0", "ndials:0", "totdials:0",
		"maxdials:12", "tottries:0", "maxtries:3", "pagewidth:209", "resolution:196", "pagelength:296",
		"priority:127", "schedpri:127", "minbr:0", "desiredbr:5", "desiredst:0", "desiredec:2",
		"desireddf:3", "desiredtl:0", "useccover:0", "usexvres:0", "external:" + number,
		"number:" + number, "mailaddr:root@localhost", "sender:Root User", "jobid:" + jobid,
		"jobtag:", "pagehandling:", "modem:any", "faxnumber:", "tsi:", "receiver:", "company:",
		"location:", "voice:", "fromcompany:", "fromlocation:", "fromvoice:", "regarding:",
		"comments:", "cover:", "client:localhost", "owner:root", "groupid:" + jobid,
		"signalrate:", "dataformat:", "jobtype:facsimile", "tagline:", "subaddr:", "passwd:",
		"doneop:default", "commid:", "csi:", "nsf:", "status:", "statuscode:0", "returned:7",
		"notify:none", "pagechop:default", "chopthreshold:3",
	}
	lines = append(lines, extra...)
	// The source as hfaxd and faxq keep it: docq/doc<N>.tif, linked as
	// this job's docq/doc<N>.tif.<jobid>.
	source := filepath.Join(f.spool, "docq/doc"+jobid+".tif")
	if err := os.WriteFile(source, src, 0o644); err != nil {
		f.t.Fatal(err)
	}
	if err := os.Link(source, source+"."+jobid); err != nil && !os.IsExist(err) {
		f.t.Fatal(err)
	}
	lines = append(lines, "!tiff:0::docq/doc"+jobid+".tif."+jobid, "fax:0::"+docName)
	qf := "sendq/q" + jobid
	if err := os.WriteFile(filepath.Join(f.spool, qf), []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		f.t.Fatal(err)
	}
	return qf
}

// run runs one exec's batch with a timeout.
func (f *fixture) run(ctx context.Context, qfiles ...string) outcome.Status {
	f.t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	log := slog.New(slog.NewTextHandler(&syncWriter{w: f.logs}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	st := Batch(ctx, Env{Config: f.cfg, Modem: "freeswitch0", Log: log}, qfiles)
	f.sync()
	return st
}

// sync waits until the readers of both FIFOs have every record the batch
// wrote (Batch returns after writing them): a marker written now comes
// after them in the pipe, so once it is read, they are too.
func (f *fixture) sync() {
	f.t.Helper()
	f.mu.Lock()
	f.syncs++
	marker := fmt.Sprintf("#sync%d", f.syncs)
	f.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, name := range []string{hylafax.FaxqFIFO, hylafax.ModemFIFO("freeswitch0")} {
		if err := hylafax.WriteFIFO(ctx, filepath.Join(f.spool, name), hylafax.Message{Arg: marker}); err != nil {
			f.t.Fatalf("FIFO marker: %v", err)
		}
	}
	for {
		f.mu.Lock()
		done := slices.Contains(f.fifo, marker) && slices.Contains(f.modem, marker)
		f.mu.Unlock()
		if done {
			return
		}
		select {
		case <-ctx.Done():
			f.t.Fatalf("FIFO readers did not get %s", marker)
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// records returns list without the sync markers.
func records(list []string) []string {
	return slices.DeleteFunc(slices.Clone(list), func(r string) bool { return strings.HasPrefix(r, "#sync") })
}

// read parses a qfile of the spool.
func (f *fixture) read(qf string) *hylafax.Qfile {
	f.t.Helper()
	b, err := os.ReadFile(filepath.Join(f.spool, qf))
	if err != nil {
		f.t.Fatal(err)
	}
	q, err := hylafax.ParseQfile(qf, b)
	if err != nil {
		f.t.Fatal(err)
	}
	return q
}

// messages returns the FIFO records faxq received so far: after run,
// every record of the batch.
func (f *fixture) messages() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return records(f.fifo)
}

// modemMessages returns the records gofaxd would have received.
func (f *fixture) modemMessages() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return records(f.modem)
}

// want checks qfile fields.
func (f *fixture) want(qf string, fields map[string]string) {
	f.t.Helper()
	q := f.read(qf)
	for k, v := range fields {
		if got := q.String(k); got != v {
			f.t.Errorf("%s: %s = %q, want %q", qf, k, got, v)
		}
	}
}

type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

func discard() *slog.Logger { return slog.New(slog.DiscardHandler) }
