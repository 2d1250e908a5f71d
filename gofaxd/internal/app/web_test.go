package app

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"
)

// TestRecoverLoop: the API's Recover runs again after it succeeded
// (every interval, so that a submission hfaxd did not confirm is settled
// without a restart), sooner after an error, and the loop ends with its
// context.
func TestRecoverLoop(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	const want = 4
	var mu sync.Mutex
	var results []bool // true: the run succeeded
	reached := make(chan struct{})
	run := func(context.Context) error {
		mu.Lock()
		defer mu.Unlock()
		// Fails once (hfaxd down), then succeeds.
		ok := len(results) != 1
		results = append(results, ok)
		if len(results) == want {
			close(reached)
		}
		if !ok {
			return errors.New("hfaxd: service unavailable")
		}
		return nil
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		recoverLoop(ctx, run, 10*time.Millisecond, slog.New(slog.DiscardHandler))
	}()
	select {
	case <-reached:
	case <-time.After(time.Minute):
		mu.Lock()
		defer mu.Unlock()
		t.Fatalf("Recover ran %d times in a minute (%v), want %d: it is not repeated after success", len(results), results, want)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(time.Minute):
		t.Fatal("the loop did not end with its context")
	}
}
