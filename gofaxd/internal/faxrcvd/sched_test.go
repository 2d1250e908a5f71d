package faxrcvd

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestSchedWatchBusy: with many more goroutines wanting to run than there
// are processors, the watch reports goroutines waiting for the CPU.
func TestSchedWatchBusy(t *testing.T) {
	var w SchedWatch
	w.Busy() // the first look: what came before does not count
	var stop atomic.Bool
	var spin sync.WaitGroup
	for range 8 * runtime.GOMAXPROCS(0) {
		spin.Go(func() {
			for x := 0; !stop.Load(); x++ {
				if x%1_000_000 == 0 {
					runtime.Gosched()
				}
			}
		})
	}
	defer func() {
		stop.Store(true)
		spin.Wait()
	}()
	deadline := time.Now().Add(10 * time.Second)
	for !w.Busy() {
		if time.Now().After(deadline) {
			t.Fatal("never busy with goroutines waiting for the CPU")
		}
		time.Sleep(schedLook)
	}
}
