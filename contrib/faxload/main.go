// Command faxload measures gofaxd under load, as the separate process
// FreeSWITCH is: it replays, for every call, what a real FreeSWITCH sent
// gofaxd's outbound event socket listener for one T.38 reception
// (testdata/outbound-rx-t38_B-socket_plain.raw: 119 KB of URL-encoded
// events and 14 command round trips), under a fresh call UUID, and
// writes the received TIFF into the recvq file rxfax names, as spandsp
// would.
//
// Each run starts a gofaxd of its own (-gofaxd) on a new spool under
// -tmp, with faxrcvd /bin/true and 4 modems (GOfax.IP's
// allocateinbounddevices=false), on 127.0.0.1 ports it found free, and
// measures:
//
//   - call setup (TCP connect → "execute rxfax" read) and teardown
//     (spandsp's rxfaxresult written → gofaxd closed the connection)
//     latencies;
//   - gofaxd's own CPU time (utime+stime of /proc/<pid>/stat) over the
//     load, its start-up excluded, and apart from it that of its children
//     (faxrcvd);
//   - gofaxd's threads, descriptors and resident memory (sampled), its
//     goroutines (go_goroutines of /metrics).
//
// The scenarios (steady, light, burst1000, burst4000, held10000,
// leak20000: see scenarios) are each run -runs times and the table gives
// every run, the median and the target:
//
//	faxload -gofaxd bin/gofaxd                 # every scenario, 3 runs each
//	faxload -gofaxd bin/gofaxd -scenario light  # one scenario
//
// Everything is bounded: at most 100,000 calls a run and -timeout per
// run; only 127.0.0.1 is used.
package main

import (
	"context"
	"embed"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"
)

//go:embed testdata/outbound-rx-t38_B-socket_plain.raw testdata/outbound-rx-t38_B-socket_plain.raw.sent testdata/received-t38-2page.tif
var testdata embed.FS

// maxCalls bounds one run.
const maxCalls = 100000

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "faxload:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("faxload", flag.ContinueOnError)
	fs.SetOutput(stderr)
	bin := fs.String("gofaxd", "bin/gofaxd", "gofaxd binary to measure")
	only := fs.String("scenario", "", "run only these scenarios (comma-separated): "+scenarioNames())
	runs := fs.Int("runs", 3, "runs of each scenario (the table gives their median)")
	tmp := fs.String("tmp", "", "directory for the runs' spools (default: $TMPDIR); /dev/shm leaves the disk out")
	timeout := fs.Duration("timeout", 10*time.Minute, "bound on each run")
	total := fs.Duration("total", time.Hour, "bound on everything")
	keep := fs.Bool("keep", false, "keep each run's spool and gofaxd.log")
	calls := fs.Int("calls", 0, "calls of each run instead of the scenario's (a quick look, not the scenario's figures)")
	var extra []string
	fs.Func("gofaxd-conf", "a `key = value` line added to gofaxd's [gofaxd] section (repeatable; an A/B of a setting)", func(v string) error {
		if strings.ContainsAny(v, "\n[") || !strings.Contains(v, "=") {
			return errors.New("want one key = value line")
		}
		extra = append(extra, v)
		return nil
	})
	hold := fs.Duration("hold", 0, "hold scenarios: keep the calls held this long before they go on (to look at gofaxd)")
	err := fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	if *runs < 1 || *runs > 20 || *timeout <= 0 || *timeout > time.Hour || *total <= 0 || *total > 4*time.Hour {
		return errors.New("-runs 1..20, -timeout up to 1h, -total up to 4h")
	}
	ctx, cancel := context.WithTimeout(ctx, *total)
	defer cancel()
	if *bin, err = filepath.Abs(*bin); err != nil {
		return err
	}
	sel, err := selectScenarios(*only)
	if err != nil {
		return err
	}
	if *calls < 0 || *calls > maxCalls || *hold < 0 || *hold > 10*time.Minute {
		return fmt.Errorf("-calls 1..%d, -hold up to 10m", maxCalls)
	}
	for i := range sel {
		if *calls > 0 {
			sel[i].spec.calls = *calls
			sel[i].spec.concurrency = min(sel[i].spec.concurrency, *calls)
			sel[i].spec.checkpoints = nil
		}
	}
	raw, _ := testdata.ReadFile("testdata/outbound-rx-t38_B-socket_plain.raw")
	sent, _ := testdata.ReadFile("testdata/outbound-rx-t38_B-socket_plain.raw.sent")
	tiff, _ := testdata.ReadFile("testdata/received-t38-2page.tif")
	s, err := loadScript(raw, sent)
	if err != nil {
		return err
	}
	limit := raiseFileLimit()
	for i := range sel {
		sc := &sel[i]
		if n := sc.spec.calls; sc.spec.hold && !sc.spec.burst && limit > 0 && uint64(2*n+gofaxdReserve) > limit {
			sc.spec.calls = int((limit - gofaxdReserve) / 2)
			sc.spec.concurrency = sc.spec.calls
			sc.note = fmt.Sprintf("%d calls held need %d descriptors in gofaxd; the limit here is %d and cannot be raised (root without CAP_SYS_RESOURCE): %d calls held instead",
				n, 2*n+gofaxdReserve, limit, sc.spec.calls)
			fmt.Fprintf(stdout, "%s: %s\n", sc.name, sc.note)
		}
	}
	fmt.Fprintf(stdout, "faxload: each call replays %d bytes of FreeSWITCH frames and %d command round trips (outbound-rx-t38_B-socket_plain.raw)\n",
		s.rawBytes, s.commands())
	fmt.Fprintf(stdout, "gofaxd %s, %d CPUs, load average at start %s\n\n", *bin, runtime.NumCPU(), loadAvg())
	done := &doneDirs{}
	if !*keep {
		defer done.remove()
	}
	env := runEnv{bin: *bin, tmp: *tmp, extra: extra, timeout: *timeout, done: done, tiff: tiff, out: stdout, hold: *hold}
	var reports []*report
scenarios:
	for _, sc := range sel {
		rep := &report{sc: sc}
		reports = append(reports, rep)
		for i := range *runs {
			if ctx.Err() != nil {
				break scenarios
			}
			r, err := env.runOnce(ctx, s, sc)
			if err != nil {
				fmt.Fprintf(stdout, "%s run %d: %v\n", sc.name, i+1, err)
				if r == nil {
					r = &runResult{err: err}
				}
				r.err = err
			}
			rep.runs = append(rep.runs, r)
		}
	}
	fmt.Fprintf(stdout, "\nload average at end %s\n", loadAvg())
	printTable(stdout, reports)
	return ctx.Err()
}

// doneDirs are the directories of the runs that ended. They are removed
// only when every run is over: deleting thousands of files makes the
// file creates of the next minutes dearer (an ext4 without a journal,
// as on this machine class, skips the recently freed inodes on every
// allocation), which would charge one run's clean-up to the next run's
// gofaxd.
type doneDirs struct {
	mu   sync.Mutex
	dirs []string
}

func (d *doneDirs) add(dir string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.dirs = append(d.dirs, dir)
}

func (d *doneDirs) remove() {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, dir := range d.dirs {
		os.RemoveAll(dir)
	}
	d.dirs = nil
}

// raiseFileLimit lifts this process's descriptor limit (and so that of
// the gofaxd it starts) as far as allowed, and returns it: 10,000 held
// calls take 10,000 sockets here and 20,000 descriptors (plus a few) in
// gofaxd.
func raiseFileLimit() uint64 {
	var rl syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl) != nil {
		return 0
	}
	want := uint64(65536)
	if rl.Max < want {
		// Root with CAP_SYS_RESOURCE may raise the hard limit too.
		if syscall.Setrlimit(syscall.RLIMIT_NOFILE, &syscall.Rlimit{Cur: want, Max: want}) == nil {
			return want
		}
		want = rl.Max
	}
	rl.Cur = want
	syscall.Setrlimit(syscall.RLIMIT_NOFILE, &rl)
	syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl)
	return rl.Cur
}

// gofaxdReserve is what gofaxd's descriptor limit must hold besides two
// a held call: listeners, the poller, FIFOs, the journal, standard
// streams, faxrcvd's pipes.
const gofaxdReserve = 64

// loadAvg returns the 1, 5 and 15 minute load averages.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}
