package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
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

// TestServeRoute runs serve mode and originates to a -route'd destination.
func TestServeRoute(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-listen", "127.0.0.1:0", "-scale", "0.001", "-route", "5550486=busy"}, pw, io.Discard)
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	go io.Copy(io.Discard, pr)
	f := strings.Fields(line) // fssim: event socket on ADDR (password P), ...
	if len(f) < 5 {
		t.Fatalf("banner %q", line)
	}
	c, err := esl.Dial(ctx, f[4], "ClueCon")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Subscribe(ctx, "plain", "BACKGROUND_JOB"); err != nil {
		t.Fatal(err)
	}
	job, err := c.BgAPI(ctx, "originate sofia/gateway/gw/5550486 &txfax(/nonexistent.tif)")
	if err != nil {
		t.Fatal(err)
	}
	ev, _ := job.Wait(ctx)
	if ev == nil || string(ev.Body) != "-ERR USER_BUSY\n" {
		t.Errorf("BACKGROUND_JOB %v", ev)
	}
	cancel()
	if err := <-done; err != nil {
		t.Error(err)
	}
}
