package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/gofaxserver/gofaxserver/gofaxlib/config"
	"github.com/gofaxserver/gofaxserver/gofaxlib/loki"
)

// lokiFlushWait bounds the last push of the log when gofaxd stops: what
// Loki has not taken by then is dropped (and was in the journal anyway).
const lokiFlushWait = 3 * time.Second

// openLoki starts shipping the log to Loki ([loki] url). Its own failures
// are logged to base (the journal), never through itself.
func openLoki(c config.Loki, base *slog.Logger) (*loki.Handler, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.Level)); err != nil {
		return nil, err
	}
	return loki.New(loki.Config{
		URL:         c.URL,
		Username:    c.Username,
		Password:    c.Password,
		BearerToken: c.BearerToken,
		TenantID:    c.TenantID,
		Job:         c.Job,
		Host:        c.Host,
		Labels:      c.Labels,
		Level:       level,
		BatchSize:   c.BatchSize,
		BatchWait:   c.BatchWait,
		Buffer:      c.Buffer,
		Timeout:     c.Timeout,
		OnError:     func(err error) { base.Warn("loki: log shipping", "err", err) },
	})
}

// closeLoki flushes what is buffered, within lokiFlushWait.
func closeLoki(h *loki.Handler, base *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), lokiFlushWait)
	defer cancel()
	if err := h.Close(ctx); err != nil {
		base.Warn("loki: log lines not shipped at stop", "err", err, "dropped_total", h.Dropped())
	}
}
