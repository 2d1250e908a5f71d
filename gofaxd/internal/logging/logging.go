// Package logging builds gofaxd's slog logger: structured records to the
// systemd journal when systemd connected stderr to it, text to stderr
// otherwise. Records are formatted by the goroutine that logs and
// written by one goroutine of the logger's own (see Writer), so that a
// call never waits for stderr or journald.
package logging

import (
	"context"
	"io"
	"log/slog"
	"strings"

	"github.com/coreos/go-systemd/v22/journal"
)

// New returns the daemon's logger and the func that writes what is still
// queued and stops its goroutine. Under systemd (stderr is a journal
// stream and the journal socket is reachable) records go to the journal
// with their attributes as fields (CALL_UUID, COMMID, MODEM ...);
// otherwise they are written as text to stderr.
func New(stderr io.Writer, level slog.Leveler) (*slog.Logger, func()) {
	if ok, _ := journal.StderrIsJournalStream(); ok && journal.Enabled() {
		h := NewJournalHandler(level)
		return slog.New(h), h.Close
	}
	w := NewWriter(stderr)
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level})), func() { w.Close() }
}

// JournalHandler is a slog.Handler that sends each record to journald,
// from a goroutine of its own (Close stops it).
type JournalHandler struct {
	level  slog.Leveler
	prefix string // group prefix for attribute names
	attrs  []slog.Attr
	send   func(msg string, p journal.Priority, vars map[string]string) error
	q      *queue[entry]
}

// entry is one record for journald.
type entry struct {
	msg  string
	pri  journal.Priority
	vars map[string]string
}

// NewJournalHandler returns a handler writing records at level or above.
func NewJournalHandler(level slog.Leveler) *JournalHandler {
	h := &JournalHandler{level: level, send: journal.Send}
	h.q = newQueue(maxQueued, func(batch []entry, dropped int) {
		if dropped > 0 {
			h.send(droppedMessage(dropped), journal.PriWarning, nil)
		}
		for _, e := range batch {
			h.send(e.msg, e.pri, e.vars)
		}
	})
	return h
}

// Close sends what is queued and stops the handler's goroutine; records
// logged afterwards are dropped.
func (h *JournalHandler) Close() { h.q.close() }

// Enabled implements slog.Handler.
func (h *JournalHandler) Enabled(_ context.Context, l slog.Level) bool {
	return h.level == nil || l >= h.level.Level()
}

// Handle implements slog.Handler.
func (h *JournalHandler) Handle(_ context.Context, r slog.Record) error {
	vars := make(map[string]string, len(h.attrs)+r.NumAttrs())
	for _, a := range h.attrs {
		addVar(vars, "", a)
	}
	r.Attrs(func(a slog.Attr) bool {
		addVar(vars, h.prefix, a)
		return true
	})
	h.q.put(entry{r.Message, priority(r.Level), vars}, 1)
	return nil
}

// WithAttrs implements slog.Handler.
func (h *JournalHandler) WithAttrs(as []slog.Attr) slog.Handler {
	n := *h
	n.attrs = append([]slog.Attr(nil), h.attrs...)
	for _, a := range as {
		if h.prefix != "" {
			a.Key = h.prefix + a.Key
		}
		n.attrs = append(n.attrs, a)
	}
	return &n
}

// WithGroup implements slog.Handler.
func (h *JournalHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	n := *h
	n.prefix = h.prefix + name + "_"
	return &n
}

func priority(l slog.Level) journal.Priority {
	switch {
	case l >= slog.LevelError:
		return journal.PriErr
	case l >= slog.LevelWarn:
		return journal.PriWarning
	case l >= slog.LevelInfo:
		return journal.PriInfo
	}
	return journal.PriDebug
}

// addVar adds a as journal field(s): names upper-cased, characters other
// than A-Z, 0-9 and _ replaced by _, groups flattened with _.
func addVar(vars map[string]string, prefix string, a slog.Attr) {
	v := a.Value.Resolve()
	if v.Kind() == slog.KindGroup {
		p := prefix
		if a.Key != "" {
			p += a.Key + "_"
		}
		for _, g := range v.Group() {
			addVar(vars, p, g)
		}
		return
	}
	name := fieldName(prefix + a.Key)
	if name == "" {
		return
	}
	vars[name] = v.String()
}

// fieldName makes a valid journal field name: upper case letters, digits
// and underscores, not starting with an underscore or digit (those are
// reserved or invalid).
func fieldName(key string) string {
	var b strings.Builder
	for _, r := range strings.ToUpper(key) {
		if r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	s := strings.TrimLeft(b.String(), "_0123456789")
	if len(s) > 64 {
		s = s[:64]
	}
	return s
}
