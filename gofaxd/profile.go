//go:build profile

package main

import (
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"strconv"
	"syscall"
)

// With -tags profile, GOFAXD_CPUPROFILE=<file> writes a CPU profile of
// gofaxd from its start until SIGTERM or SIGINT (for faxload runs), and
// GOFAXD_MEMPROFILE=<file> the allocations up to then;
// GOFAXD_HEAPPROFILE=<file> the heap in use at each SIGUSR1;
// GOFAXD_MEMPROFILERATE=1 samples every allocation (slow).
func init() {
	if rate, err := strconv.Atoi(os.Getenv("GOFAXD_MEMPROFILERATE")); err == nil && rate > 0 {
		// 1 records every allocation: exact per-call figures.
		runtime.MemProfileRate = rate
	}
	if path := os.Getenv("GOFAXD_HEAPPROFILE"); path != "" {
		// SIGUSR1 writes the heap in use now.
		ch := make(chan os.Signal, 1)
		signal.Notify(ch, syscall.SIGUSR1)
		go func() {
			for range ch {
				if f, err := os.Create(path); err == nil {
					pprof.Lookup("heap").WriteTo(f, 0)
					f.Close()
				}
			}
		}()
	}
	if path := os.Getenv("GOFAXD_MEMPROFILE"); path != "" {
		ch := make(chan os.Signal, 1)
		signal.Notify(ch, syscall.SIGTERM, syscall.SIGINT)
		go func() {
			<-ch
			if f, err := os.Create(path); err == nil {
				pprof.Lookup("allocs").WriteTo(f, 0)
				f.Close()
			}
		}()
	}
	path := os.Getenv("GOFAXD_CPUPROFILE")
	if path == "" {
		return
	}
	f, err := os.Create(path)
	if err != nil {
		return
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return
	}
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		<-ch
		pprof.StopCPUProfile()
		f.Close()
	}()
}
