package app

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gofaxserver/gofaxserver/gofaxd/internal/receive"
	"github.com/gofaxserver/gofaxserver/gofaxlib/config"
)

// benchCalls is how many calls one benchmark iteration places: the load
// one gofaxd is to carry at once.
const benchCalls = 2000

// fssim's load mode starts benchRate calls a second, and benchScale makes
// one simulated 2-page fax last about 12 s: all calls are placed before
// the first ends, so they are in progress together, arriving at a steady
// rate rather than in one burst.
const (
	benchRate  = 200
	benchScale = 0.35
)

// recorder is an Observer that keeps what the benchmark reports.
type recorder struct {
	active atomic.Int64
	peak   atomic.Int64
	mu     sync.Mutex
	delays []time.Duration
	counts map[string]int
}

func (r *recorder) CallStarted() {
	n := r.active.Add(1)
	for {
		p := r.peak.Load()
		if n <= p || r.peak.CompareAndSwap(p, n) {
			return
		}
	}
}

func (r *recorder) CallEnded(o receive.Outcome) {
	r.active.Add(-1)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.counts[o.Class]++
}

func (r *recorder) FaxrcvdStarted(sinceHangup time.Duration) {
	if sinceHangup > 0 {
		r.mu.Lock()
		r.delays = append(r.delays, sinceHangup)
		r.mu.Unlock()
	}
}

func (r *recorder) FaxrcvdEnded(string) {}
func (r *recorder) Recovered(string)    {}

// cpuTime is the CPU time of this process (who) or of its waited-for
// children (faxrcvd).
func cpuTime(who int) time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(who, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkConcurrentCalls drives one gofaxd with benchCalls inbound faxes
// from contrib/fssim's load mode, run as a separate process so that the
// figures are gofaxd's own: calls per second, CPU time per call (gofaxd;
// the children, fssim and every faxrcvd, apart), heap per active call and
// the delay from the end of the call (CHANNEL_HANGUP_COMPLETE) to the
// start of faxrcvd (p50, p99). GOFAXD_BENCH_SPOOL=/dev/shm puts the spool
// on tmpfs, leaving the disk's fsync latency out. It uses GOfax.IP's
// default (receptions do not take modems) and /bin/true as faxrcvd.
func BenchmarkConcurrentCalls(b *testing.B) { concurrentCalls(b, benchOptions{}) }

// benchOptions vary BenchmarkConcurrentCalls.
type benchOptions struct {
	tweak func(*config.Config) // changes gofaxd's configuration
	dest  string               // the called number ("": fssim's default)
	// opened runs once gofaxd is open, before the calls; after the
	// calls, it returns what to do then (nil: nothing).
	opened func(*App) func()
}

func concurrentCalls(b *testing.B, o benchOptions) {
	fssim := filepath.Join(b.TempDir(), "fssim")
	if out, err := exec.Command("go", "build", "-o", fssim, "../../../contrib/fssim").CombinedOutput(); err != nil {
		b.Fatalf("building fssim: %v\n%s", err, out)
	}
	spool := b.TempDir()
	if d := os.Getenv("GOFAXD_BENCH_SPOOL"); d != "" {
		spool, _ = os.MkdirTemp(d, "bench-spool-")
		defer os.RemoveAll(spool)
	}
	for _, d := range []string{"recvq", "log", "status", "etc"} {
		if err := os.Mkdir(filepath.Join(spool, d), 0o755); err != nil {
			b.Fatal(err)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	cfg := config.Default()
	cfg.HylaFAX.SpoolDir = spool
	cfg.HylaFAX.Modems = 4
	cfg.Gofaxd.AllocateInboundDevices = false
	cfg.Gofaxd.EnableT38, cfg.Gofaxd.RequestT38 = true, true
	cfg.Gofaxd.FaxRcvdCmd = "/bin/true"
	if o.tweak != nil {
		o.tweak(cfg)
	}
	rec := &recorder{counts: map[string]int{}}
	logger := slog.New(slog.DiscardHandler)
	if testing.Verbose() {
		logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	a, err := Open(cfg, Options{Logger: logger, Listener: ln, Observer: rec})
	if err != nil {
		b.Fatal(err)
	}
	defer a.Shutdown(context.Background())
	var after func()
	if o.opened != nil {
		after = o.opened(a)
	}
	fssimArgs := []string{"-listen", "127.0.0.1:0", "-socket", ln.Addr().String(),
		"-load", strconv.Itoa(benchCalls), "-rate", strconv.Itoa(benchRate), "-concurrency", strconv.Itoa(benchCalls),
		"-scale", strconv.FormatFloat(benchScale, 'f', -1, 64), "-timeout", "4m"}
	if o.dest != "" {
		fssimArgs = append(fssimArgs, "-dest", o.dest)
	}

	var heapPerCall float64
	b.ResetTimer()
	cpu0, kids0, start := cpuTime(syscall.RUSAGE_SELF), cpuTime(syscall.RUSAGE_CHILDREN), time.Now()
	for range b.N {
		var ms runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&ms)
		base := ms.HeapAlloc
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		cmd := exec.CommandContext(ctx, fssim, fssimArgs...)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		// Sample the heap while the calls are all up.
		for sampled := false; !sampled && ctx.Err() == nil; {
			time.Sleep(50 * time.Millisecond)
			if n := rec.active.Load(); n >= benchCalls*9/10 {
				runtime.ReadMemStats(&ms)
				heapPerCall = max(heapPerCall, float64(ms.HeapAlloc-min(base, ms.HeapAlloc))/float64(n))
				sampled = true
			}
		}
		if err := cmd.Wait(); err != nil {
			b.Fatalf("fssim: %v\n%s", err, out.String())
		}
		for rec.active.Load() > 0 && ctx.Err() == nil {
			time.Sleep(5 * time.Millisecond)
		}
		cancel()
		if testing.Verbose() {
			b.Logf("fssim: %s", out.String())
		}
	}
	elapsed := time.Since(start)
	cpu, kids := cpuTime(syscall.RUSAGE_SELF)-cpu0, cpuTime(syscall.RUSAGE_CHILDREN)-kids0
	b.StopTimer()

	calls := b.N * benchCalls
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if rec.counts[receive.ClassReceived] != calls {
		b.Errorf("received %d of %d calls: %v", rec.counts[receive.ClassReceived], calls, rec.counts)
	}
	slices.Sort(rec.delays)
	var p50, p99 time.Duration
	if len(rec.delays) > 0 {
		p50, p99 = rec.delays[len(rec.delays)/2], rec.delays[len(rec.delays)*99/100]
	}
	b.ReportMetric(float64(calls)/elapsed.Seconds(), "calls/s")
	b.ReportMetric(float64(cpu.Microseconds())/float64(calls)/1000, "gofaxd-cpu-ms/call")
	b.ReportMetric(float64(kids.Microseconds())/float64(calls)/1000, "fssim+faxrcvd-cpu-ms/call")
	b.ReportMetric(heapPerCall/1024, "heap-KiB/active-call")
	b.ReportMetric(float64(p50.Microseconds())/1000, "p50-hangup-to-faxrcvd-ms")
	b.ReportMetric(float64(p99.Microseconds())/1000, "p99-hangup-to-faxrcvd-ms")
	b.ReportMetric(float64(rec.peak.Load()), "peak-active-calls")
	if after != nil {
		after()
	}
}
