package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"
)

// scenario is one load (calls, concurrency, page timing) with the targets
// its figures are held against.
type scenario struct {
	name, desc string
	spec       loadSpec
	maxConns   int // [gofaxd] maxconnections
	checks     []check
	note       string // why the run differs from the load its targets were set for
}

// check is one measure with its target.
type check struct {
	label  string
	target string // "" for figures without a target
	unit   string // "ms", "s", "MiB", "x", "" (count)
	get    func(*runResult) float64
	ok     func(float64) bool
}

// scenarios are the loads measured: steady and light closed loops, bursts
// of 1,000 and 4,000 calls, 10,000 calls held at once and a long run for
// leaks, in the order the table shows them.
var scenarios = []scenario{
	{
		name: "steady", desc: "2,000 calls, 100 at once (closed loop), no page delay",
		spec: loadSpec{calls: 2000, concurrency: 100},
		checks: []check{
			received(2000),
			{"gofaxd CPU per received call", "≤ 1.2 ms", "ms", func(r *runResult) float64 { return ms(r.cpuPerCall) }, atMost(1.2)},
			{"faxrcvd (children) CPU per call", "", "ms", func(r *runResult) float64 { return ms(r.kidsPerCall) }, nil},
			{"faxload (FreeSWITCH's side) CPU per call", "", "ms", func(r *runResult) float64 { return ms(r.selfPerCall) }, nil},
			{"file create, probed before+after (gofaxd: 2/call)", "", "ms", func(r *runResult) float64 { return ms(r.createCost()) }, nil},
			{"gofaxd CPU per call less 2 creates as probed", "", "ms", func(r *runResult) float64 { return ms(r.cpuPerCall - 2*r.createCost()) }, nil},
			{"setup p50", "", "ms", func(r *runResult) float64 { return ms(pct(r.setup, 0.5)) }, nil},
			{"setup p99", "≤ 250 ms", "ms", func(r *runResult) float64 { return ms(pct(r.setup, 0.99)) }, atMost(250)},
			{"setup p99.9 / p99", "≤ 2", "x", func(r *runResult) float64 { return ratio(pct(r.setup, 0.999), pct(r.setup, 0.99)) }, atMost(2)},
			{"setup max / p99 (noisy)", "", "x", func(r *runResult) float64 { return ratio(pct(r.setup, 1), pct(r.setup, 0.99)) }, nil},
			{"teardown p50", "", "ms", func(r *runResult) float64 { return ms(pct(r.teardown, 0.5)) }, nil},
			{"teardown p99", "≤ 50 ms", "ms", func(r *runResult) float64 { return ms(pct(r.teardown, 0.99)) }, atMost(50)},
			{"calls per second", "", "", func(r *runResult) float64 { return r.callsPerSec }, nil},
		},
	},
	{
		name: "light", desc: "200 calls, 10 at once (closed loop)",
		spec: loadSpec{calls: 200, concurrency: 10},
		checks: []check{
			received(200),
			{"setup p50", "", "ms", func(r *runResult) float64 { return ms(pct(r.setup, 0.5)) }, nil},
			{"setup p99", "≤ 15 ms", "ms", func(r *runResult) float64 { return ms(pct(r.setup, 0.99)) }, atMost(15)},
			{"gofaxd CPU per received call", "", "ms", func(r *runResult) float64 { return ms(r.cpuPerCall) }, nil},
		},
	},
	{
		name: "burst1000", desc: "1,000 calls started at once, held until all are set up",
		spec: loadSpec{calls: 1000, burst: true, hold: true},
		checks: []check{
			received(1000),
			{"last setup", "", "s", func(r *runResult) float64 { return r.setupWindow.Seconds() }, nil},
			{"setup CPU per call", "", "ms", func(r *runResult) float64 { return ms(r.setupCPU) / 1000 }, nil},
			{"last setup / (1,000 × setup CPU ÷ cores)", "≤ 1.5", "x", func(r *runResult) float64 { return r.setupBound }, atMost(1.5)},
			{"faxload (FreeSWITCH's side) setup CPU per call", "", "ms", func(r *runResult) float64 { return ms(r.setupAll.faxload) / 1000 }, nil},
			{"last setup / (gofaxd + faxload setup CPU ÷ cores)", "", "x", func(r *runResult) float64 { return r.setupAll.bound }, nil},
			{"machine's CPU idle until the last setup", "", "%", func(r *runResult) float64 { return 100 * r.setupAll.idle }, nil},
		},
	},
	{
		name: "burst4000", desc: "4,000 calls started at once, all ending together",
		spec: loadSpec{calls: 4000, burst: true, hold: true},
		checks: []check{
			received(4000),
			{"last teardown", "", "s", func(r *runResult) float64 { return r.tearWindow.Seconds() }, nil},
			{"teardown CPU per call", "", "ms", func(r *runResult) float64 { return ms(r.tearCPU) / 4000 }, nil},
			{"last teardown / (4,000 × teardown CPU ÷ cores)", "≤ 1.5", "x", func(r *runResult) float64 { return r.tearBound }, atMost(1.5)},
			{"faxload (FreeSWITCH's side) teardown CPU per call", "", "ms", func(r *runResult) float64 { return ms(r.tearAll.faxload) / 4000 }, nil},
			{"last teardown / (gofaxd + faxload teardown CPU ÷ cores)", "", "x", func(r *runResult) float64 { return r.tearAll.bound }, nil},
			{"machine's CPU idle until the last teardown", "", "%", func(r *runResult) float64 { return 100 * r.tearAll.idle }, nil},
			{"faxrcvd runs failed (/bin/true)", "0", "", func(r *runResult) float64 { return float64(r.faxrcvdFailed) }, atMost(0)},
			{"setup p99", "", "ms", func(r *runResult) float64 { return ms(pct(r.setup, 0.99)) }, nil},
		},
	},
	{
		name: "held10000", desc: "10,000 calls held open at once (answered, rxfax running), then finished",
		spec:     loadSpec{calls: 10000, concurrency: 10000, hold: true, setupConcurrency: 500},
		maxConns: 10100,
		checks: []check{
			received(10000),
			{"calls held at once", "10000", "", func(r *runResult) float64 { return float64(r.held) }, atLeast(10000)},
			{"calls set up (TCP connect → rxfax) per second", "", "", func(r *runResult) float64 { return r.setupRate }, nil},
			{"OS threads (peak)", "≤ 100", "", func(r *runResult) float64 { return float64(r.threads) }, atMost(100)},
			{"descriptors with every call held", "≤ 2/call + c", "", func(r *runResult) float64 { return float64(r.heldFDs) }, nil},
			{"descriptors beyond 2 per held call (c)", "≤ 64", "", func(r *runResult) float64 { return float64(r.heldFDs - 2*r.held) }, atMost(gofaxdReserve)},
			{"RSS with every call held", "≤ 300 MiB", "MiB", func(r *runResult) float64 { return mib(r.heldRSS) }, atMost(300)},
			{"RSS (peak)", "", "MiB", func(r *runResult) float64 { return mib(r.rss) }, nil},
			{"goroutines with every call held", "", "", func(r *runResult) float64 { return r.heldGoroutines }, nil},
			{"connections refused", "0", "", func(r *runResult) float64 { return float64(r.refused) }, atMost(0)},
		},
	},
	{
		name: "leak20000", desc: "20,000 calls, 100 at once; gofaxd idle at 2,000, 10,000 and 20,000",
		spec: loadSpec{calls: 20000, concurrency: 100, checkpoints: []int{2000, 10000}},
		checks: []check{
			received(20000),
			{"goroutines at rest after 2,000 calls", "", "", func(r *runResult) float64 { return r.checkpointGoroutines(0) }, nil},
			{"goroutines at rest after 10,000 calls", "", "", func(r *runResult) float64 { return r.checkpointGoroutines(1) }, nil},
			{"goroutines at rest after 20,000 calls", "", "", func(r *runResult) float64 { return r.checkpointGoroutines(2) }, nil},
			{"goroutines 20,000 − 10,000", "≤ 2", "", func(r *runResult) float64 { return r.checkpointGoroutines(2) - r.checkpointGoroutines(1) }, atMost(2)},
			{"RSS at rest after 10,000 calls", "", "MiB", func(r *runResult) float64 { return mib(r.checkpointRSS(1)) }, nil},
			{"RSS at rest after 20,000 calls", "", "MiB", func(r *runResult) float64 { return mib(r.checkpointRSS(2)) }, nil},
			{"RSS growth 10,000 → 20,000", "≤ 10 %", "%", func(r *runResult) float64 {
				a, b := r.checkpointRSS(1), r.checkpointRSS(2)
				if a <= 0 {
					return math.NaN()
				}
				return 100 * float64(b-a) / float64(a)
			}, atMost(10)},
			{"gofaxd CPU per received call", "", "ms", func(r *runResult) float64 { return ms(r.cpuPerCall) }, nil},
		},
	},
}

func received(n int) check {
	return check{"calls received", fmt.Sprint(n), "", func(r *runResult) float64 { return float64(r.received) }, atLeast(float64(n))}
}

func atMost(v float64) func(float64) bool  { return func(x float64) bool { return x <= v } }
func atLeast(v float64) func(float64) bool { return func(x float64) bool { return x >= v } }

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
func mib(b int64) float64        { return float64(b) / (1 << 20) }
func ratio(a, b time.Duration) float64 {
	if b <= 0 {
		return math.NaN()
	}
	return float64(a) / float64(b)
}

func scenarioNames() string {
	var n []string
	for _, sc := range scenarios {
		n = append(n, sc.name)
	}
	return strings.Join(n, ", ")
}

func selectScenarios(only string) ([]scenario, error) {
	if only == "" {
		return scenarios, nil
	}
	var sel []scenario
	for _, name := range strings.Split(only, ",") {
		i := slices.IndexFunc(scenarios, func(sc scenario) bool { return sc.name == strings.TrimSpace(name) })
		if i < 0 {
			return nil, fmt.Errorf("unknown scenario %q (have %s)", name, scenarioNames())
		}
		sel = append(sel, scenarios[i])
	}
	return sel, nil
}

// runEnv is what every run shares.
type runEnv struct {
	bin     string
	tmp     string
	extra   []string // more [gofaxd] lines, "key = value"
	timeout time.Duration
	// done collects the runs' directories; they are removed when
	// everything ran (unless -keep), see doneDirs.
	done *doneDirs
	tiff []byte
	out  io.Writer
	hold time.Duration // extra time the held calls stay held
}

// checkpoint is gofaxd at rest after some calls.
type checkpoint struct {
	calls      int
	goroutines float64
	rss        int64
}

// runResult is what one run measured.
type runResult struct {
	err                   error
	load                  string
	calls, failed         int
	firstErr              string
	received              int
	cpuPerCall            time.Duration
	kidsPerCall           time.Duration
	callsPerSec           float64
	setup, teardown       []time.Duration
	threads, fds          int
	rss                   int64
	held, heldFDs         int
	fdsPerCall            float64
	heldRSS               int64
	heldGoroutines        float64
	setupWindow, setupCPU time.Duration
	setupBound            float64
	setupAll              burstShare
	tearWindow, tearCPU   time.Duration
	tearBound             float64
	tearAll               burstShare
	setupRate             float64
	faxrcvdFailed         int
	refused               int
	checkpoints           []checkpoint
	createProbed          [2]time.Duration // CPU of creating a file in the spool's file system, before and after the run
	selfPerCall           time.Duration    // faxload's own CPU per call
}

// createCost is what creating a file cost during the run: the mean of
// the probes before and after it.
func (r *runResult) createCost() time.Duration {
	return (r.createProbed[0] + r.createProbed[1]) / 2
}

func (r *runResult) checkpointGoroutines(i int) float64 {
	if i >= len(r.checkpoints) {
		return math.NaN()
	}
	return r.checkpoints[i].goroutines
}

func (r *runResult) checkpointRSS(i int) int64 {
	if i >= len(r.checkpoints) {
		return -1
	}
	return r.checkpoints[i].rss
}

// runOnce runs scenario sc against a fresh gofaxd.
func (e runEnv) runOnce(ctx context.Context, s *script, sc scenario) (*runResult, error) {
	ctx, cancel := context.WithTimeout(ctx, e.timeout)
	defer cancel()
	maxConns := sc.maxConns
	if maxConns == 0 {
		maxConns = 10000
	}
	d, err := startDaemon(ctx, daemonConfig{bin: e.bin, tmp: e.tmp, modems: 4, maxConnections: maxConns, extra: e.extra})
	if err != nil {
		return nil, err
	}
	defer func() {
		d.stop()
		e.done.add(d.dir)
	}()
	pid := d.pid()
	r := &runResult{load: loadAvg(), calls: sc.spec.calls}
	r.createProbed[0] = probeCreate(d.dir, "create-probe")
	idleFDs := countFDs(pid)
	interval := 250 * time.Millisecond
	if sc.spec.calls >= 5000 {
		interval = time.Second // counting 20,000 descriptors is work
	}
	var (
		mu                           sync.Mutex
		atSetup, atRelease, atClosed mark
	)
	hooks := loadHooks{
		allSetUp: func(held int) {
			at, _ := markNow(pid)
			ps := at.gofaxd
			mu.Lock()
			atSetup = at
			mu.Unlock()
			if !sc.spec.hold {
				return
			}
			r.held = held
			r.heldFDs = countFDs(pid)
			r.fdsPerCall = float64(r.heldFDs-idleFDs) / float64(held)
			r.heldRSS = ps.rss
			if m, err := d.scrape(ctx); err == nil {
				r.heldGoroutines = m.get("go_goroutines")
			}
			if e.hold > 0 {
				fmt.Fprintf(e.out, "%-10s %d calls held; gofaxd is pid %d; going on in %v\n", sc.name, held, pid, e.hold)
				time.Sleep(e.hold)
			}
			// The teardown window starts here.
			at, _ = markNow(pid)
			mu.Lock()
			atRelease = at
			mu.Unlock()
		},
		allClosed: func() {
			at, _ := markNow(pid)
			mu.Lock()
			atClosed = at
			mu.Unlock()
		},
		onCheckpoint: func(calls int) {
			r.checkpoints = append(r.checkpoints, e.rest(ctx, d, calls))
		},
	}
	p := watch(pid, interval)
	at0, err := markNow(pid)
	if err != nil {
		p.end()
		return nil, err
	}
	ps0, self0 := at0.gofaxd, at0.self
	lr := s.runLoad(ctx, sc.spec, callOptions{addr: d.addr, ioTimeout: time.Minute, tiff: e.tiff}, hooks)
	r.selfPerCall = (selfCPU() - self0) / time.Duration(max(sc.spec.calls, 1))
	m, werr := e.waitRecorded(ctx, d, sc.spec.calls)
	ps1, _ := readProcStat(pid)
	p.end()
	// Creates cost more or less as the file system's state changes
	// during the run: probed again once gofaxd's CPU is read.
	r.createProbed[1] = probeCreate(d.dir, "create-probe-end")
	if len(sc.spec.checkpoints) > 0 && werr == nil {
		r.checkpoints = append(r.checkpoints, e.rest(ctx, d, sc.spec.calls))
	}
	r.failed = lr.failed
	if lr.firstErr != nil {
		r.firstErr = lr.firstErr.Error()
	}
	r.received = int(m.get(`gofaxd_calls_total{result="received"}`))
	if r.received > 0 {
		r.cpuPerCall = (ps1.cpu - ps0.cpu) / time.Duration(r.received)
		r.kidsPerCall = (ps1.children - ps0.children) / time.Duration(r.received)
	}
	r.callsPerSec = float64(sc.spec.calls) / lr.end.Sub(lr.start).Seconds()
	r.setup, r.teardown = lr.setupLat, lr.tearLat
	r.threads, r.fds, r.rss = p.threads, p.fds, p.rss
	cores := float64(runtime.NumCPU())
	r.setupWindow = lr.lastSetup.Sub(lr.start)
	if r.setupWindow > 0 {
		r.setupRate = float64(len(lr.setupLat)) / r.setupWindow.Seconds()
	}
	r.setupCPU = atSetup.gofaxd.cpu - ps0.cpu
	if r.setupCPU > 0 {
		r.setupBound = r.setupWindow.Seconds() / (r.setupCPU.Seconds() / cores)
		r.setupAll = share(at0, atSetup, r.setupWindow, cores)
	}
	if !lr.release.IsZero() {
		r.tearWindow = lr.end.Sub(lr.release)
		r.tearCPU = atClosed.gofaxd.cpu - atRelease.gofaxd.cpu
		if r.tearCPU > 0 {
			r.tearBound = r.tearWindow.Seconds() / (r.tearCPU.Seconds() / cores)
			r.tearAll = share(atRelease, atClosed, r.tearWindow, cores)
		}
	}
	r.faxrcvdFailed = int(m.get(`gofaxd_faxrcvd_runs_total{result="failed"}`))
	r.refused = int(m.get("gofaxd_connections_refused_total"))
	fmt.Fprintf(e.out, "%-10s load %s: %d calls, %d failed, %d received, %.0f calls/s, gofaxd CPU %.3f ms/call (faxrcvd %.3f, faxload %.3f), setup p50/p99/p99.9/max %s, teardown %s, peak threads %d fds %d RSS %.0f MiB; a file create in the spool costs %.0f µs CPU (%.0f before the run, %.0f after)\n",
		sc.name, r.load, r.calls, r.failed, r.received, r.callsPerSec, ms(r.cpuPerCall), ms(r.kidsPerCall), ms(r.selfPerCall),
		quantiles(r.setup), quantiles(r.teardown), r.threads, r.fds, mib(r.rss), us(r.createCost()), us(r.createProbed[0]), us(r.createProbed[1]))
	if r.firstErr != "" {
		fmt.Fprintf(e.out, "%-10s first failure: %s\n", sc.name, r.firstErr)
	}
	if werr != nil {
		return r, werr
	}
	return r, nil
}

// mark is the CPU counters at one moment of a run.
type mark struct {
	gofaxd     procStat
	self, idle time.Duration // faxload's own CPU, the machine's idle time
}

func markNow(pid int) (mark, error) {
	ps, err := readProcStat(pid)
	return mark{gofaxd: ps, self: selfCPU(), idle: idleCPU()}, err
}

// burstShare is how a burst's window used the machine's CPU: gofaxd and
// faxload both need it, so the window cannot be shorter than their CPU
// divided among the cores, and time the CPU was left idle is time a lock
// or a queue added.
type burstShare struct {
	faxload time.Duration // faxload's CPU in the window (FreeSWITCH's side)
	bound   float64       // the window / ((gofaxd + faxload) CPU ÷ cores)
	idle    float64       // share of the machine's CPU idle in the window
}

func share(from, to mark, window time.Duration, cores float64) burstShare {
	b := burstShare{faxload: to.self - from.self}
	busy := (to.gofaxd.cpu - from.gofaxd.cpu + b.faxload).Seconds()
	if busy > 0 {
		b.bound = window.Seconds() / (busy / cores)
	}
	if window > 0 {
		b.idle = (to.idle - from.idle).Seconds() / (window.Seconds() * cores)
	}
	return b
}

// selfCPU is faxload's own CPU time.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// createProbes is how many files probeCreate creates.
const createProbes = 500

// probeCreate measures what creating a file costs in dir's file system
// (CPU per file): gofaxd creates two a call (the recvq file and the
// session log). The files stay until the runs' directories are removed:
// an ext4 without a journal skips inodes freed in the last minutes on
// every allocation, so deleting them here would make the run's creates
// dearer.
func probeCreate(dir, name string) time.Duration {
	probe := filepath.Join(dir, name)
	if os.Mkdir(probe, 0o700) != nil {
		return 0
	}
	c0 := selfCPU()
	for i := range createProbes {
		f, err := os.OpenFile(filepath.Join(probe, fmt.Sprintf("fax%09d.tif", i)), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return 0
		}
		f.Close()
	}
	return (selfCPU() - c0) / createProbes
}

func us(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

func quantiles(l []time.Duration) string {
	f := func(d time.Duration) string { return fmt.Sprintf("%.1f", ms(d)) }
	return f(pct(l, 0.5)) + "/" + f(pct(l, 0.99)) + "/" + f(pct(l, 0.999)) + "/" + f(pct(l, 1)) + " ms"
}

// recordedPoll is how often waitRecorded asks /metrics: each scrape is
// gofaxd CPU counted in the run.
const recordedPoll = 250 * time.Millisecond

// waitRecorded waits until gofaxd has ended calls calls and has no
// faxrcvd run left, and returns its metrics then.
func (e runEnv) waitRecorded(ctx context.Context, d *daemon, calls int) (metricsSample, error) {
	deadline := time.Now().Add(2 * time.Minute)
	for {
		m, err := d.scrape(ctx)
		if err == nil {
			ended, runs := 0.0, 0.0
			for k, v := range m {
				if strings.HasPrefix(k, "gofaxd_calls_total{") {
					ended += v
				}
				if strings.HasPrefix(k, "gofaxd_faxrcvd_runs_total{") {
					runs += v
				}
			}
			want := m.get(`gofaxd_calls_total{result="received"}`) + m.get(`gofaxd_calls_total{result="partial"}`)
			if int(ended) >= calls && m.get("gofaxd_faxrcvd_queued") == 0 && runs >= want {
				return m, nil
			}
		}
		if time.Now().After(deadline) {
			if err == nil {
				return m, errors.New("gofaxd did not record every call within 2 minutes")
			}
			return nil, err
		}
		select {
		case <-ctx.Done():
			return m, ctx.Err()
		case <-time.After(recordedPoll):
		}
	}
}

// rest waits until gofaxd has recorded calls calls and measures it idle.
func (e runEnv) rest(ctx context.Context, d *daemon, calls int) checkpoint {
	cp := checkpoint{calls: calls, goroutines: math.NaN(), rss: -1}
	m, err := e.waitRecorded(ctx, d, calls)
	if err != nil {
		return cp
	}
	cp.goroutines = m.get("go_goroutines")
	if ps, err := readProcStat(d.pid()); err == nil {
		cp.rss = ps.rss
	}
	return cp
}

// report holds the runs of one scenario.
type report struct {
	sc   scenario
	runs []*runResult
}

// printTable prints every check of every scenario: each run's value, the
// median and whether the median meets the target.
func printTable(w io.Writer, reports []*report) {
	fmt.Fprintf(w, "\n%-10s %-46s %-15s", "scenario", "measure", "target")
	n := 0
	for _, rep := range reports {
		n = max(n, len(rep.runs))
	}
	for i := range n {
		fmt.Fprintf(w, " %9s", fmt.Sprintf("run %d", i+1))
	}
	fmt.Fprintf(w, " %9s  %s\n", "median", "verdict")
	for _, rep := range reports {
		fmt.Fprintf(w, "%-10s %s\n", rep.sc.name, rep.sc.desc)
		if rep.sc.note != "" {
			fmt.Fprintf(w, "%-10s NOTE: %s\n", "", rep.sc.note)
		}
		for _, c := range rep.sc.checks {
			var vals []float64
			fmt.Fprintf(w, "%-10s %-46s %-15s", "", c.label, c.target)
			for i := range n {
				if i >= len(rep.runs) || rep.runs[i].err != nil && rep.runs[i].calls == 0 {
					fmt.Fprintf(w, " %9s", "-")
					continue
				}
				v := c.get(rep.runs[i])
				vals = append(vals, v)
				fmt.Fprintf(w, " %9s", format(v, c.unit))
			}
			med := median(vals)
			verdict := ""
			if c.ok != nil {
				verdict = "ok"
				if math.IsNaN(med) || !c.ok(med) {
					verdict = "MISSED"
				}
			}
			fmt.Fprintf(w, " %9s  %s\n", format(med, c.unit), verdict)
		}
	}
}

func format(v float64, unit string) string {
	switch {
	case math.IsNaN(v):
		return "n/a"
	case unit == "ms" && v < 10:
		return fmt.Sprintf("%.3f ms", v)
	case unit == "ms":
		return fmt.Sprintf("%.1f ms", v)
	case unit == "s":
		return fmt.Sprintf("%.2f s", v)
	case unit == "MiB":
		return fmt.Sprintf("%.0f MiB", v)
	case unit == "x":
		return fmt.Sprintf("%.2f×", v)
	case unit == "%":
		return fmt.Sprintf("%.1f %%", v)
	case v == math.Trunc(v):
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.2f", v)
}

func median(v []float64) float64 {
	v = slices.DeleteFunc(slices.Clone(v), math.IsNaN)
	if len(v) == 0 {
		return math.NaN()
	}
	slices.Sort(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}
