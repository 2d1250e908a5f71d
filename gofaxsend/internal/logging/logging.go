// Package logging gives gofaxsend somewhere safe to log. faxq closes every
// descriptor before it execs the send program, so stdout and stderr lead
// nowhere: messages go to a configured file, else to the systemd journal,
// else to syslog, and only as a last resort to stderr (by then /dev/null).
package logging

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"log/syslog"
	"os"
	"strings"
	"sync"
	"syscall"

	"github.com/coreos/go-systemd/v22/journal"
)

// GuardStdio makes sure descriptors 0, 1 and 2 are open, putting /dev/null
// on any that is closed, so that no file or socket opened later can land on
// them and receive writes meant for stdout or stderr. (The Go runtime does
// the same at start-up since Go 1.22; this keeps the guarantee explicit and
// reports a failure instead of crashing.)
func GuardStdio() error {
	for fd := 0; fd < 3; fd++ {
		var st syscall.Stat_t
		if err := syscall.Fstat(fd, &st); err == nil {
			continue
		} else if !errors.Is(err, syscall.EBADF) {
			return fmt.Errorf("logging: fd %d: %w", fd, err)
		}
		nfd, err := syscall.Open("/dev/null", syscall.O_RDWR, 0)
		if err != nil {
			return fmt.Errorf("logging: open /dev/null: %w", err)
		}
		if nfd != fd {
			if err := syscall.Dup3(nfd, fd, 0); err != nil {
				return fmt.Errorf("logging: dup /dev/null to fd %d: %w", fd, err)
			}
			syscall.Close(nfd)
		}
	}
	return nil
}

// Open returns a logger for tag (the program name). With file set, records
// are appended to it as text; otherwise they go to the journal when it runs,
// else to syslog, else to fallback. close releases what Open opened.
func Open(tag, file string, level slog.Level, fallback io.Writer) (log *slog.Logger, close func() error, err error) {
	opts := &slog.HandlerOptions{Level: level}
	if file != "" {
		f, err := os.OpenFile(file, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		if err != nil {
			return nil, nil, fmt.Errorf("logging: %w", err)
		}
		return slog.New(slog.NewTextHandler(&lockedWriter{w: f}, opts)), f.Close, nil
	}
	if journal.Enabled() {
		return slog.New(&sinkHandler{opts: opts, sink: journalSink{tag: tag}}), func() error { return nil }, nil
	}
	if w, err := syslog.New(syslog.LOG_DAEMON|syslog.LOG_INFO, tag); err == nil {
		return slog.New(&sinkHandler{opts: opts, sink: syslogSink{w}}), w.Close, nil
	}
	return slog.New(slog.NewTextHandler(&lockedWriter{w: fallback}, opts)), func() error { return nil }, nil
}

// lockedWriter serialises writes of whole records from several goroutines.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// sink delivers one formatted record at a level.
type sink interface {
	send(level slog.Level, line string, attrs map[string]string) error
}

// sinkHandler formats records as slog text (without time: the journal and
// syslog stamp them) and hands each one to a sink with its level.
type sinkHandler struct {
	opts   *slog.HandlerOptions
	sink   sink
	attrs  []slog.Attr
	groups []string
}

func (h *sinkHandler) Enabled(_ context.Context, l slog.Level) bool {
	return l >= h.opts.Level.Level()
}

func (h *sinkHandler) Handle(ctx context.Context, r slog.Record) error {
	var buf bytes.Buffer
	fields := map[string]string{}
	th := slog.Handler(slog.NewTextHandler(&buf, &slog.HandlerOptions{
		Level: h.opts.Level,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && (a.Key == slog.TimeKey || a.Key == slog.LevelKey) {
				return slog.Attr{}
			}
			if a.Key != slog.MessageKey {
				fields[strings.ToUpper(strings.Join(append(groups, a.Key), "_"))] = a.Value.String()
			}
			return a
		},
	}))
	if len(h.attrs) > 0 {
		th = th.WithAttrs(h.attrs)
	}
	for _, g := range h.groups {
		th = th.WithGroup(g)
	}
	if err := th.Handle(ctx, r); err != nil {
		return err
	}
	return h.sink.send(r.Level, strings.TrimSuffix(buf.String(), "\n"), fields)
}

func (h *sinkHandler) WithAttrs(as []slog.Attr) slog.Handler {
	c := *h
	c.attrs = append(append([]slog.Attr(nil), h.attrs...), as...)
	return &c
}

func (h *sinkHandler) WithGroup(name string) slog.Handler {
	c := *h
	c.groups = append(append([]string(nil), h.groups...), name)
	return &c
}

type journalSink struct{ tag string }

func (j journalSink) send(l slog.Level, line string, attrs map[string]string) error {
	vars := map[string]string{"SYSLOG_IDENTIFIER": j.tag}
	for k, v := range attrs {
		if validJournalName(k) {
			vars[k] = v
		}
	}
	p := journal.PriInfo
	switch {
	case l >= slog.LevelError:
		p = journal.PriErr
	case l >= slog.LevelWarn:
		p = journal.PriWarning
	case l < slog.LevelInfo:
		p = journal.PriDebug
	}
	return journal.Send(line, p, vars)
}

// validJournalName reports whether k is a field name journald accepts.
func validJournalName(k string) bool {
	if k == "" || k[0] == '_' || k[0] >= '0' && k[0] <= '9' {
		return false
	}
	for _, r := range k {
		if !(r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_') {
			return false
		}
	}
	return true
}

type syslogSink struct{ w *syslog.Writer }

func (s syslogSink) send(l slog.Level, line string, _ map[string]string) error {
	switch {
	case l >= slog.LevelError:
		return s.w.Err(line)
	case l >= slog.LevelWarn:
		return s.w.Warning(line)
	case l < slog.LevelInfo:
		return s.w.Debug(line)
	}
	return s.w.Info(line)
}
