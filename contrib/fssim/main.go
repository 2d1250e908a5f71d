// Command fssim runs the simulated FreeSWITCH of package esltest on
// 127.0.0.1 for demos and benchmarks.
//
// Serve mode (default) listens for inbound event-socket clients such as
// gofaxsend and, with -socket, loops originates back onto that listener
// (gofaxd) as inbound calls:
//
//	fssim -listen 127.0.0.1:8021 -password ClueCon -socket 127.0.0.1:8022 -scale 0.1
//
// Load mode places N inbound fax calls onto the socket listener at a given
// rate, waits for them and prints completed/failed calls, latency
// percentiles and calls per second:
//
//	fssim -socket 127.0.0.1:8022 -load 100 -rate 20 -concurrency 10 -scale 0.001
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/gofaxserver/gofaxserver/gofaxlib/esl/esltest"
)

// Load bounds: every load run ends, whatever the flags say.
const (
	maxLoadCalls   = 100000
	maxLoadTimeout = time.Hour
	// keepRecords bounds the call records kept in memory during long runs.
	keepRecords = 1000
)

// routeFlag collects -route destination=scenario.
type routeFlag []struct {
	dest    string
	outcome esltest.Outcome
}

func (r *routeFlag) String() string { return fmt.Sprint(len(*r), " routes") }

func (r *routeFlag) Set(v string) error {
	dest, name, ok := strings.Cut(v, "=")
	if !ok || dest == "" {
		return fmt.Errorf("want destination=scenario, got %q", v)
	}
	o, err := parseOutcome(name)
	if err != nil {
		return err
	}
	*r = append(*r, struct {
		dest    string
		outcome esltest.Outcome
	}{dest, o})
	return nil
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "fssim:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("fssim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:8021", "inbound event socket address (127.0.0.1 only)")
	password := fs.String("password", "ClueCon", "event socket password")
	socket := fs.String("socket", "", "outbound socket listener for inbound calls and loopback originates, e.g. 127.0.0.1:8022")
	scale := fs.Float64("scale", 1, "time scale: 1 = real FreeSWITCH durations, 0.001 = a 30 s fax in 30 ms")
	outcome := fs.String("scenario", "success", "default far end: success, busy, noanswer, rejected, noroute, notfound, nofax")
	t38 := fs.Bool("t38", true, "default far end enables and requests T.38")
	pages := fs.Int("pages", 0, "pages per inbound call (0: the document's)")
	hangupAt := fs.Int("hangup-at-page", 0, "default far end hangs up during this page")
	badRows := fs.Int("bad-rows", 0, "bad rows reported per page")
	reneg := fs.Bool("renegotiate", false, "two negotiations (audio, then T.38)")
	never := fs.Bool("never-hangup", false, "far end never hangs up after the fax (freeswitch#143)")
	ring := fs.Duration("ring", 0, "far end rings this long before answering (real time)")
	var routes routeFlag
	fs.Var(&routes, "route", "destination=scenario for originates, repeatable (e.g. -route 5550486=busy)")
	caller := fs.String("caller", "5551000", "load mode: calling number")
	dest := fs.String("dest", "5552000", "load mode: called number")
	document := fs.String("document", "", "load mode: TIFF the callers send (default: a captured 2-page fax)")
	syncSocket := fs.Bool("sync", false, `dialplan "socket <addr> full" (static) instead of "async full"`)
	verbose := fs.Bool("v", false, "debug logging")
	load := fs.Int("load", 0, "load mode: number of inbound calls to place onto -socket")
	rate := fs.Float64("rate", 10, "load mode: calls started per second")
	conc := fs.Int("concurrency", 10, "load mode: calls at most in progress")
	timeout := fs.Duration("timeout", 10*time.Minute, "load mode: bound on the whole run")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	for _, a := range []string{*listen, *socket} {
		if a == "" {
			continue
		}
		host, _, err := net.SplitHostPort(a)
		if err != nil || (host != "127.0.0.1" && host != "localhost") {
			return fmt.Errorf("address %q: only 127.0.0.1 is allowed", a)
		}
	}
	oc, err := parseOutcome(*outcome)
	if err != nil {
		return err
	}
	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	sc := esltest.Scenario{Outcome: oc, T38: *t38, Pages: *pages, HangupAtPage: *hangupAt, BadRows: *badRows,
		Renegotiate: *reneg, NeverHangup: *never, RingTime: *ring}
	s, err := esltest.Start(esltest.Options{Addr: *listen, Password: *password, TimeScale: *scale,
		SocketAddr: *socket, SyncSocket: *syncSocket, Logger: log, Default: sc, KeepRecords: keepRecords})
	if err != nil {
		return err
	}
	defer s.Close()
	for _, r := range routes {
		rsc := sc
		rsc.Outcome = r.outcome
		s.Route(r.dest, rsc)
	}
	if *load > 0 {
		if *socket == "" {
			return errors.New("-load needs -socket")
		}
		if *load > maxLoadCalls || *timeout > maxLoadTimeout || *rate <= 0 || *conc <= 0 {
			return fmt.Errorf("load bounds: at most %d calls, timeout %v, positive rate and concurrency", maxLoadCalls, maxLoadTimeout)
		}
		lctx, cancel := context.WithTimeout(ctx, *timeout)
		defer cancel()
		st := runLoad(lctx, s, *load, *rate, *conc, esltest.InboundCall{CallerNumber: *caller, Destination: *dest,
			Document: *document, Scenario: sc})
		st.print(stdout)
		return nil
	}
	fmt.Fprintf(stdout, "fssim: event socket on %s (password %s), socket listener %q, time scale %g\n",
		s.Addr(), *password, *socket, *scale)
	<-ctx.Done()
	return nil
}

// outcomes names the -scenario values.
var outcomes = map[string]esltest.Outcome{
	"success": esltest.Success, "busy": esltest.Busy, "noanswer": esltest.NoAnswer,
	"rejected": esltest.Rejected, "noroute": esltest.NoRoute, "notfound": esltest.NotFound,
	"nofax": esltest.NoFax,
}

func parseOutcome(s string) (esltest.Outcome, error) {
	o, ok := outcomes[s]
	if !ok {
		return 0, fmt.Errorf("unknown scenario %q", s)
	}
	return o, nil
}

// loadStats is the outcome of a load run.
type loadStats struct {
	completed, failed int
	firstFailure      string
	latencies         []time.Duration
	elapsed           time.Duration
}

// runLoad places n calls, starting rate per second, at most conc at once.
func runLoad(ctx context.Context, s *esltest.Sim, n int, rate float64, conc int, call esltest.InboundCall) *loadStats {
	st := &loadStats{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, conc)
	tick := time.NewTicker(time.Duration(float64(time.Second) / rate))
	defer tick.Stop()
	start := time.Now()
loop:
	for i := 0; i < n; i++ {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			break loop
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			t0 := time.Now()
			rec, err := s.PlaceCall(ctx, call)
			d := time.Since(t0)
			mu.Lock()
			defer mu.Unlock()
			if err == nil && rec.Result != nil && rec.Result.Success {
				st.completed++
				st.latencies = append(st.latencies, d)
			} else {
				st.failed++
				if st.firstFailure == "" {
					st.firstFailure = fmt.Sprintf("%s: err %v, hangup %s, result %+v", rec.UUID, err, rec.HangupCause, rec.Result)
				}
			}
		}()
		select {
		case <-tick.C:
		case <-ctx.Done():
			break loop
		}
	}
	wg.Wait()
	st.elapsed = time.Since(start)
	return st
}

func (st *loadStats) print(w io.Writer) {
	slices.Sort(st.latencies)
	pct := func(p float64) time.Duration {
		if len(st.latencies) == 0 {
			return 0
		}
		return st.latencies[int(p*float64(len(st.latencies)-1))]
	}
	total := st.completed + st.failed
	fmt.Fprintf(w, "calls: %d completed, %d failed in %v (%.1f calls/s)\n", st.completed, st.failed,
		st.elapsed.Round(time.Millisecond), float64(total)/st.elapsed.Seconds())
	if st.firstFailure != "" {
		fmt.Fprintf(w, "first failure: %s\n", st.firstFailure)
	}
	fmt.Fprintf(w, "latency: p50 %v  p90 %v  p99 %v\n", pct(0.50).Round(time.Microsecond),
		pct(0.90).Round(time.Microsecond), pct(0.99).Round(time.Microsecond))
}
