package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/gofaxserver/gofaxserver/gofaxlib/esl/esltest"
	"github.com/gofaxserver/gofaxserver/gofaxlib/hylafax"
)

// BenchmarkExecToOriginate execs the built gofaxsend once per iteration,
// as faxq does, against the simulator, and reports the time from exec to
// the originate arriving at FreeSWITCH and the peak RSS of the process
// (p50/p99 over the iterations). Each attempt sends a 2-page fax.
func BenchmarkExecToOriginate(b *testing.B) {
	bin := binary(b)
	spool := b.TempDir()
	for _, d := range []string{"sendq", "docq", "log", "tmp"} {
		os.Mkdir(filepath.Join(spool, d), 0o755)
	}
	doc, err := os.ReadFile("internal/job/testdata/sent-2page-g3.tif")
	if err != nil {
		b.Fatal(err)
	}
	os.WriteFile(filepath.Join(spool, "docq/doc1.tif;00"), doc, 0o644)
	conf := filepath.Join(spool, "gofax.conf")
	// faxq reads its FIFO while the send program runs.
	fifo := filepath.Join(spool, hylafax.FaxqFIFO)
	if err := hylafax.MakeFIFO(fifo, 0o600); err != nil {
		b.Fatal(err)
	}
	rd, err := hylafax.OpenFIFO(fifo)
	if err != nil {
		b.Fatal(err)
	}
	readCtx, stopReading := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for readCtx.Err() == nil {
			rd.Read(readCtx)
		}
	}()
	defer func() { stopReading(); <-done; rd.Close() }()
	qfile := []byte("jobid:1\nnumber:5551234\nexternal:5551234\nowner:root\nmailaddr:root@localhost\ntotdials:0\ntottries:0\nstatus:\nstatuscode:0\nreturned:7\nfax:0::docq/doc1.tif;00\n")

	var latency []time.Duration
	var rss []int64
	for b.Loop() {
		if err := os.WriteFile(filepath.Join(spool, "sendq/q1"), qfile, 0o644); err != nil {
			b.Fatal(err)
		}
		// A fresh simulator per attempt keeps its records (and so the
		// cost of watching them) the same for every iteration.
		sim, err := esltest.Start(esltest.Options{TimeScale: 0.01}) // a 2-page fax in 300 ms
		if err != nil {
			b.Fatal(err)
		}
		sim.Route("5551234", esltest.Scenario{Outcome: esltest.Success})
		writeConfig(b, conf, spool, sim.Addr())
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		cmd := exec.CommandContext(ctx, bin, "-m", "freeswitch0", "sendq/q1")
		cmd.Dir = spool
		cmd.Env = []string{"GOFAX_CONFIG=" + conf}
		originated := make(chan time.Time, 1)
		go func() {
			sim.Wait(ctx, func(s *esltest.Sim) bool { return len(s.Calls()) > 0 })
			originated <- time.Now()
		}()
		start := time.Now()
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		at := <-originated
		err = cmd.Wait()
		cancel()
		sim.Close()
		if code := cmd.ProcessState.ExitCode(); code != 2 {
			q, _ := os.ReadFile(filepath.Join(spool, "sendq/q1"))
			b.Fatalf("exit %d (%v); qfile:\n%s", code, err, q)
		}
		latency = append(latency, at.Sub(start))
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			rss = append(rss, ru.Maxrss) // KiB on Linux
		}
	}
	slices.Sort(latency)
	slices.Sort(rss)
	pct := func(n int, p float64) int { return min(n-1, int(float64(n)*p)) }
	b.ReportMetric(float64(latency[pct(len(latency), 0.50)].Microseconds())/1000, "ms-to-originate-p50")
	b.ReportMetric(float64(latency[pct(len(latency), 0.99)].Microseconds())/1000, "ms-to-originate-p99")
	if len(rss) > 0 {
		b.ReportMetric(float64(rss[pct(len(rss), 0.50)])/1024, "MiB-peak-rss-p50")
		b.ReportMetric(float64(rss[pct(len(rss), 0.99)])/1024, "MiB-peak-rss-p99")
	}
}
