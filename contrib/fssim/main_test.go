package main

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gofaxserver/gofaxserver/gofaxlib/esl"
)

// TestLoad runs a small bounded load against a minimal receiving listener.
func TestLoad(t *testing.T) {
	dir := t.TempDir()
	srv := &esl.Server{Addr: "127.0.0.1:0", Handler: func(ctx context.Context, c *esl.OutboundConn) {
		_ = c.Linger(ctx)
		_ = c.Filter(ctx, "Unique-ID", c.UUID()) // subscriptions are switch-wide, as on FreeSWITCH
		_ = c.Subscribe(ctx, "plain", "CHANNEL_EXECUTE_COMPLETE", "CHANNEL_HANGUP_COMPLETE")
		_ = c.Execute(ctx, "answer", "")
		_ = c.Execute(ctx, "rxfax", filepath.Join(dir, c.UUID()+".tif"))
		for {
			select {
			case e, ok := <-c.Events():
				if !ok {
					return
				}
				if e.Name() == "CHANNEL_EXECUTE_COMPLETE" && e.Get("Application") == "rxfax" {
					_ = c.Hangup(ctx, "NORMAL_CLEARING")
				}
				if e.Name() == "CHANNEL_HANGUP_COMPLETE" {
					_ = c.Exit(ctx)
					return
				}
			case <-ctx.Done():
				return
			}
		}
	}}
	if err := srv.Open(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve() }()
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		if err := <-done; err != nil && !errors.Is(err, esl.ErrServerClosed) {
			t.Error(err)
		}
	}()
	var out, errb bytes.Buffer
	err := run(context.Background(), []string{"-listen", "127.0.0.1:0", "-socket", srv.Address().String(),
		"-load", "5", "-rate", "200", "-concurrency", "3", "-scale", "0.001", "-timeout", "30s"}, &out, &errb)
	if err != nil {
		t.Fatalf("%v\n%s", err, errb.String())
	}
	if !strings.Contains(out.String(), "calls: 5 completed, 0 failed") || !strings.Contains(out.String(), "p99") {
		t.Errorf("output:\n%s", out.String())
	}
}

func TestRejectsNonLoopback(t *testing.T) {
	var out, errb bytes.Buffer
	if err := run(context.Background(), []string{"-listen", "0.0.0.0:8021"}, &out, &errb); err == nil {
		t.Error("listening on 0.0.0.0 accepted")
	}
}
