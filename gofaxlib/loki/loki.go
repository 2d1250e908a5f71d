// Package loki is a log/slog Handler that ships records to Grafana Loki's
// push API (POST /loki/api/v1/push, JSON). Records are queued in a bounded
// buffer and sent in batches by one goroutine; a call to the logger never
// waits for the network: when the buffer is full the record is dropped and
// counted. Failed pushes are retried with backoff; Close flushes.
//
// A push looks like this (one stream per level, values in time order,
// each line the record as JSON without its time, which is the entry's
// timestamp in nanoseconds):
//
//	{"streams":[{"stream":{"host":"fax1","job":"gofaxd","level":"info"},
//	  "values":[["1767225600000000000","{\"level\":\"INFO\",\"msg\":\"call received\",\"call_uuid\":\"…\"}"]]}]}
package loki

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults of Config.
const (
	DefaultJob        = "gofaxd"
	DefaultBatchSize  = 500
	DefaultBatchWait  = time.Second
	DefaultBuffer     = 10000
	DefaultTimeout    = 10 * time.Second
	DefaultMaxRetries = 10
	minBackoff        = 500 * time.Millisecond
	maxBackoff        = 30 * time.Second
	// maxLine bounds one log line: Loki refuses lines over its
	// max_line_size (256 KiB by default); longer ones are cut.
	maxLine = 64 << 10
	// maxResponse bounds what is read of Loki's answer.
	maxResponse = 64 << 10
)

// Config configures a Handler.
type Config struct {
	URL                string // push URL, e.g. https://loki:3100/loki/api/v1/push
	Username, Password string // HTTP basic authentication, if Username is set
	BearerToken        string // Authorization: Bearer, if set (not with Username)
	TenantID           string // X-Scope-OrgID for a multi-tenant Loki, if set
	Job                string // label job; "" = DefaultJob
	Host               string // label host; "" = the host name
	// Labels are added to every stream; job, host and level are set
	// above and cannot be given here.
	Labels     map[string]string
	Level      slog.Leveler  // records below are not sent; nil = slog.LevelInfo
	BatchSize  int           // lines per push; 0 = DefaultBatchSize
	BatchWait  time.Duration // longest a line waits for its batch; 0 = DefaultBatchWait
	Buffer     int           // lines held in memory; 0 = DefaultBuffer
	Timeout    time.Duration // one push request; 0 = DefaultTimeout
	MaxRetries int           // tries of one batch before it is dropped; 0 = DefaultMaxRetries
	// OnError is told about failed pushes (from the sending goroutine; it
	// must not log through this handler). nil = silence.
	OnError func(error)
	Client  *http.Client // nil = a client without proxy from the environment
}

var labelRe = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)

// ErrClosed is the error of Handle after Close.
var ErrClosed = errors.New("loki: handler closed")

// entry is one queued line.
type entry struct {
	ns    int64
	level string
	line  string
}

// core is what all handlers derived by WithAttrs/WithGroup share.
type core struct {
	cfg    Config
	labels map[string]string
	auth   string
	queue  chan entry
	stop   chan struct{} // closed by Close: flush and end
	done   chan struct{} // closed when the sender has ended
	// aborted ends when Close's context does: pushes give up.
	aborted context.Context
	abort   context.CancelFunc
	once    sync.Once
	closed  atomic.Bool
	sent    atomic.Uint64
	dropped atomic.Uint64
}

// Handler is the slog.Handler. Derived handlers share the buffer and the
// sending goroutine; Close any of them to stop all.
type Handler struct {
	c   *core
	ops []func(slog.Handler) slog.Handler // WithAttrs/WithGroup, replayed per record
}

// New checks cfg and starts the sending goroutine; Close stops it.
func New(cfg Config) (*Handler, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("loki: push url %q is not an http(s) URL", cfg.URL)
	}
	if cfg.Username != "" && cfg.BearerToken != "" {
		return nil, errors.New("loki: basic authentication and a bearer token are exclusive")
	}
	if cfg.Job == "" {
		cfg.Job = DefaultJob
	}
	if cfg.Host == "" {
		if cfg.Host, err = os.Hostname(); err != nil || cfg.Host == "" {
			cfg.Host = "localhost"
		}
	}
	labels := map[string]string{"job": cfg.Job, "host": cfg.Host}
	for k, v := range cfg.Labels {
		if !labelRe.MatchString(k) || strings.HasPrefix(k, "__") {
			return nil, fmt.Errorf("loki: %q is not a label name", k)
		}
		if k == "job" || k == "host" || k == "level" {
			return nil, fmt.Errorf("loki: label %q is set by the handler", k)
		}
		labels[k] = v
	}
	if cfg.Level == nil {
		cfg.Level = slog.LevelInfo
	}
	pos := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	pos(&cfg.BatchSize, DefaultBatchSize)
	pos(&cfg.Buffer, DefaultBuffer)
	pos(&cfg.MaxRetries, DefaultMaxRetries)
	if cfg.BatchWait <= 0 {
		cfg.BatchWait = DefaultBatchWait
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{
			Transport: &http.Transport{Proxy: nil, MaxIdleConns: 2, IdleConnTimeout: 90 * time.Second,
				TLSHandshakeTimeout: cfg.Timeout, ResponseHeaderTimeout: cfg.Timeout},
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	c := &core{
		cfg: cfg, labels: labels,
		queue: make(chan entry, cfg.Buffer),
		stop:  make(chan struct{}), done: make(chan struct{}),
	}
	c.aborted, c.abort = context.WithCancel(context.Background())
	switch {
	case cfg.Username != "":
		req := http.Request{Header: http.Header{}}
		req.SetBasicAuth(cfg.Username, cfg.Password)
		c.auth = req.Header.Get("Authorization")
	case cfg.BearerToken != "":
		c.auth = "Bearer " + cfg.BearerToken
	}
	go c.run()
	return &Handler{c: c}, nil
}

// Enabled implements slog.Handler.
func (h *Handler) Enabled(_ context.Context, l slog.Level) bool {
	return l >= h.c.cfg.Level.Level()
}

// WithAttrs implements slog.Handler.
func (h *Handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	if len(attrs) == 0 {
		return h
	}
	return &Handler{c: h.c, ops: append(slices.Clip(h.ops), func(s slog.Handler) slog.Handler { return s.WithAttrs(attrs) })}
}

// WithGroup implements slog.Handler.
func (h *Handler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	return &Handler{c: h.c, ops: append(slices.Clip(h.ops), func(s slog.Handler) slog.Handler { return s.WithGroup(name) })}
}

// dropTime leaves the time out of the line: it is the entry's timestamp.
func dropTime(groups []string, a slog.Attr) slog.Attr {
	if len(groups) == 0 && a.Key == slog.TimeKey {
		return slog.Attr{}
	}
	return a
}

// Handle implements slog.Handler: it formats the record and queues it,
// or drops it when the buffer is full. It never waits.
func (h *Handler) Handle(ctx context.Context, r slog.Record) error {
	if h.c.closed.Load() {
		h.c.dropped.Add(1)
		return ErrClosed
	}
	var buf bytes.Buffer
	var s slog.Handler = slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug - 100, ReplaceAttr: dropTime})
	for _, op := range h.ops {
		s = op(s)
	}
	if err := s.Handle(ctx, r); err != nil {
		return err
	}
	line := strings.TrimSuffix(buf.String(), "\n")
	if len(line) > maxLine {
		line = line[:maxLine]
	}
	t := r.Time
	if t.IsZero() {
		t = time.Now()
	}
	select {
	case h.c.queue <- entry{ns: t.UnixNano(), level: strings.ToLower(r.Level.String()), line: line}:
	default:
		h.c.dropped.Add(1)
	}
	return nil
}

// Sent returns how many lines Loki accepted.
func (h *Handler) Sent() uint64 { return h.c.sent.Load() }

// Dropped returns how many lines were lost: buffer full, logged after
// Close, refused by Loki, out of retries, or unsent when Close gave up.
func (h *Handler) Dropped() uint64 { return h.c.dropped.Load() }

// Close stops taking records, sends what is buffered and returns when the
// sending goroutine has ended. When ctx ends first, what is left is
// dropped and ctx's error returned.
func (h *Handler) Close(ctx context.Context) error {
	c := h.c
	c.once.Do(func() {
		c.closed.Store(true)
		close(c.stop)
	})
	select {
	case <-c.done:
		c.abort()
		c.countLeft()
		return nil
	case <-ctx.Done():
	}
	c.abort()
	<-c.done
	c.countLeft()
	return ctx.Err()
}

// countLeft counts as dropped what a Handle racing with Close queued
// after the last drain.
func (c *core) countLeft() {
	for {
		select {
		case <-c.queue:
			c.dropped.Add(1)
		default:
			return
		}
	}
}

// run is the sending goroutine.
func (c *core) run() {
	defer close(c.done)
	batch := make([]entry, 0, c.cfg.BatchSize)
	wait := time.NewTimer(c.cfg.BatchWait)
	wait.Stop()
	for {
		select {
		case e := <-c.queue:
			if len(batch) == 0 {
				wait.Reset(c.cfg.BatchWait)
			}
			if batch = append(batch, e); len(batch) >= c.cfg.BatchSize {
				wait.Stop()
				c.push(batch)
				batch = batch[:0]
			}
		case <-wait.C:
			c.push(batch)
			batch = batch[:0]
		case <-c.stop:
			wait.Stop()
			for drained := false; !drained; {
				select {
				case e := <-c.queue:
					if batch = append(batch, e); len(batch) >= c.cfg.BatchSize {
						c.push(batch)
						batch = batch[:0]
					}
				default:
					drained = true
				}
			}
			c.push(batch)
			return
		}
	}
}

// push sends one batch, retrying failures that may pass with backoff.
func (c *core) push(batch []entry) {
	if len(batch) == 0 {
		return
	}
	body, err := encode(c.labels, batch)
	if err != nil {
		c.fail(len(batch), err)
		return
	}
	backoff := minBackoff
	for try := 1; ; try++ {
		retry, err := c.send(body)
		if err == nil {
			c.sent.Add(uint64(len(batch)))
			return
		}
		if !retry || try >= c.cfg.MaxRetries {
			c.fail(len(batch), fmt.Errorf("loki: %d lines dropped after %d tries: %w", len(batch), try, err))
			return
		}
		if c.cfg.OnError != nil {
			c.cfg.OnError(fmt.Errorf("loki: push failed, retrying in %v: %w", backoff, err))
		}
		t := time.NewTimer(backoff)
		select {
		case <-t.C:
		case <-c.aborted.Done():
			t.Stop()
			c.fail(len(batch), fmt.Errorf("loki: %d lines dropped at close: %w", len(batch), err))
			return
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

func (c *core) fail(n int, err error) {
	c.dropped.Add(uint64(n))
	if c.cfg.OnError != nil {
		c.cfg.OnError(err)
	}
}

// send makes one push request; retry tells whether a failure may pass.
func (c *core) send(body []byte) (retry bool, err error) {
	ctx, cancel := context.WithTimeout(c.aborted, c.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.cfg.URL, bytes.NewReader(body))
	if err != nil {
		return false, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "gofaxserver")
	if c.auth != "" {
		req.Header.Set("Authorization", c.auth)
	}
	if c.cfg.TenantID != "" {
		req.Header.Set("X-Scope-OrgID", c.cfg.TenantID)
	}
	resp, err := c.cfg.Client.Do(req)
	if err != nil {
		return true, err
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if resp.StatusCode/100 == 2 {
		return false, nil
	}
	err = fmt.Errorf("loki answered %s: %s", resp.Status, strings.TrimSpace(string(msg[:min(len(msg), 200)])))
	return resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500, err
}

// pushRequest is the JSON body of the push API.
type pushRequest struct {
	Streams []stream `json:"streams"`
}

type stream struct {
	Stream map[string]string `json:"stream"`
	Values [][2]string       `json:"values"`
}

// encode groups a batch into one stream per level, each in time order.
func encode(labels map[string]string, batch []entry) ([]byte, error) {
	byLevel := map[string][]entry{}
	var levels []string
	for _, e := range batch {
		if _, ok := byLevel[e.level]; !ok {
			levels = append(levels, e.level)
		}
		byLevel[e.level] = append(byLevel[e.level], e)
	}
	slices.Sort(levels)
	var req pushRequest
	for _, l := range levels {
		es := byLevel[l]
		slices.SortStableFunc(es, func(a, b entry) int { return cmpInt(a.ns, b.ns) })
		s := stream{Stream: map[string]string{"level": l}, Values: make([][2]string, 0, len(es))}
		maps.Copy(s.Stream, labels)
		for _, e := range es {
			s.Values = append(s.Values, [2]string{strconv.FormatInt(e.ns, 10), e.line})
		}
		req.Streams = append(req.Streams, s)
	}
	return json.Marshal(req)
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
