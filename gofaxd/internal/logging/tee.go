package logging

import (
	"context"
	"errors"
	"log/slog"
)

// Tee returns a handler that gives each record to every handler that
// takes its level: gofaxd's own log and, with [loki], the Loki shipper.
// A handler's error does not keep the record from the others.
func Tee(hs ...slog.Handler) slog.Handler {
	return tee(hs)
}

type tee []slog.Handler

// Enabled implements slog.Handler.
func (t tee) Enabled(ctx context.Context, l slog.Level) bool {
	for _, h := range t {
		if h.Enabled(ctx, l) {
			return true
		}
	}
	return false
}

// Handle implements slog.Handler.
func (t tee) Handle(ctx context.Context, r slog.Record) error {
	var errs []error
	for _, h := range t {
		if h.Enabled(ctx, r.Level) {
			errs = append(errs, h.Handle(ctx, r.Clone()))
		}
	}
	return errors.Join(errs...)
}

// WithAttrs implements slog.Handler.
func (t tee) WithAttrs(as []slog.Attr) slog.Handler {
	n := make(tee, len(t))
	for i, h := range t {
		n[i] = h.WithAttrs(as)
	}
	return n
}

// WithGroup implements slog.Handler.
func (t tee) WithGroup(name string) slog.Handler {
	n := make(tee, len(t))
	for i, h := range t {
		n[i] = h.WithGroup(name)
	}
	return n
}
