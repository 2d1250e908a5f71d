package esl

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"time"
)

// Defaults of the connection options.
const (
	// DefaultEventQueue is how many events may wait for the consumer of
	// Events. A fax call yields about 100 events with "event plain ALL"
	// and a dozen with a filtered subscription; 1024 absorbs bursts of
	// many calls while a slow consumer catches up, at 2-5 KB per event.
	DefaultEventQueue = 1024

	// DefaultWriteTimeout bounds writing one command when the context
	// has no earlier deadline. FreeSWITCH reads commands at once; a peer
	// that accepts no bytes for this long is broken.
	DefaultWriteTimeout = 10 * time.Second

	// DefaultHandshakeTimeout bounds the greeting and auth exchange of
	// Dial and the connect exchange of an outbound connection when the
	// context has no earlier deadline.
	DefaultHandshakeTimeout = 10 * time.Second
)

// Connection errors callers branch on.
var (
	// ErrAuth means FreeSWITCH refused the password.
	ErrAuth = errors.New("esl: authentication failed")
	// ErrRejected means FreeSWITCH refused the connection outright
	// (text/rude-rejection, an ACL denial).
	ErrRejected = errors.New("esl: connection rejected")
	// ErrClosed means the connection was closed by Close or Exit.
	ErrClosed = errors.New("esl: connection closed")
	// ErrEventOverflow means the consumer of Events fell DefaultEventQueue
	// (or WithEventQueue) events behind; the connection was closed.
	ErrEventOverflow = errors.New("esl: event queue overflow, consumer too slow")
	// ErrNoReply is matched (errors.Is) by the *ReplyError for the api
	// output "-ERR no reply", which mod_db gives for a missing key.
	ErrNoReply = errors.New("esl: no reply")
)

// ReplyError is a "-ERR ..." answer: the Reply-Text of a command/reply,
// the body of an api/response or the body of a BACKGROUND_JOB event.
type ReplyError struct {
	Text string // the answer without its trailing newline, e.g. "-ERR USER_BUSY"
}

func (e *ReplyError) Error() string { return "esl: " + e.Text }

// Reason returns the text after "-ERR ", e.g. "USER_BUSY".
func (e *ReplyError) Reason() string {
	return strings.TrimSpace(strings.TrimPrefix(e.Text, "-ERR"))
}

// Is makes errors.Is(err, ErrNoReply) true for "-ERR no reply".
func (e *ReplyError) Is(target error) bool {
	return target == ErrNoReply && e.Text == "-ERR no reply"
}

// replyErr returns a *ReplyError if text is a "-ERR" answer.
func replyErr(text string) error {
	text = strings.TrimRight(text, "\r\n")
	if strings.HasPrefix(text, "-ERR") {
		return &ReplyError{Text: text}
	}
	return nil
}

// Option configures a connection.
type Option func(*options)

type options struct {
	log          *slog.Logger
	eventQueue   int
	writeTimeout time.Duration
}

func buildOptions(opts []Option) options {
	o := options{eventQueue: DefaultEventQueue, writeTimeout: DefaultWriteTimeout}
	for _, f := range opts {
		f(&o)
	}
	if o.log == nil {
		o.log = slog.New(slog.DiscardHandler)
	}
	return o
}

// WithLogger sets the logger for what the connection handles itself
// (frames of unknown type, malformed events). The default discards.
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.log = l } }

// WithEventQueue sets how many events may wait in Events before the
// connection fails with ErrEventOverflow (default DefaultEventQueue).
func WithEventQueue(n int) Option {
	return func(o *options) {
		if n > 0 {
			o.eventQueue = n
		}
	}
}

// WithWriteTimeout bounds writing one command (default DefaultWriteTimeout).
func WithWriteTimeout(d time.Duration) Option {
	return func(o *options) {
		if d > 0 {
			o.writeTimeout = d
		}
	}
}

// Conn is an authenticated event socket connection. Its methods may be
// called from several goroutines: commands are written one at a time and
// their replies handed back in order.
//
// One goroutine owned by the Conn reads the socket. It never blocks on the
// consumer: events wait in a queue of bounded length (WithEventQueue), and
// if the queue is full the connection is closed and Err returns
// ErrEventOverflow. So a consumer that stops reading Events fails the
// connection, but can never stall command replies.
type Conn struct {
	nc  net.Conn
	rd  *Reader
	opt options

	wmu sync.Mutex // serialises writes and the order of waiters

	mu      sync.Mutex
	waiters []chan *Message     // FIFO, one per command sent and not yet answered
	jobs    map[string]*jobWait // by Job-UUID
	err     error               // why the connection ended; set once
	closing bool                // Close or Exit was called
	exited  bool                // "exit" was sent: no command may follow

	events chan *Event
	done   chan struct{} // closed when the read loop has ended
}

// Dial connects to a FreeSWITCH event socket at addr (host:port),
// authenticates with password and starts reading. The context bounds the
// dial and the handshake. A refused password gives an error wrapping
// ErrAuth.
func Dial(ctx context.Context, addr, password string, opts ...Option) (*Conn, error) {
	if err := checkLine("password", password); err != nil {
		return nil, err
	}
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("esl: dial %s: %w", addr, err)
	}
	return handshake(ctx, nc, func(rd *Reader) error {
		m, err := rd.ReadMessage()
		if err != nil {
			return fmt.Errorf("esl: %s: reading greeting: %w", addr, err)
		}
		switch ct := m.ContentType(); ct {
		case TypeAuthRequest:
		case TypeRudeRejection:
			return fmt.Errorf("%w by %s: %s", ErrRejected, addr, strings.TrimSpace(string(m.Body)))
		default:
			return fmt.Errorf("esl: %s: greeting is %q, want %s", addr, ct, TypeAuthRequest)
		}
		if err := WriteCommand(nc, &Command{Line: "auth " + password}); err != nil {
			return fmt.Errorf("esl: %s: sending auth: %w", addr, err)
		}
		m, err = rd.ReadMessage()
		if err != nil {
			return fmt.Errorf("esl: %s: reading auth reply: %w", addr, err)
		}
		if ct := m.ContentType(); ct != TypeCommandReply {
			return fmt.Errorf("esl: %s: auth reply is %q, want %s", addr, ct, TypeCommandReply)
		}
		if text := m.ReplyText(); !strings.HasPrefix(text, "+OK") {
			return fmt.Errorf("%w at %s: %s", ErrAuth, addr, text)
		}
		return nil
	}, opts)
}

// handshake runs hs on nc under a deadline from ctx, then starts the
// read loop. On failure nc is closed.
func handshake(ctx context.Context, nc net.Conn, hs func(*Reader) error, opts []Option) (*Conn, error) {
	deadline := time.Now().Add(DefaultHandshakeTimeout)
	ctxDeadline := false
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline, ctxDeadline = d, true
	}
	nc.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { nc.SetDeadline(time.Unix(1, 0)) })
	rd := newConnReader(nc)
	err := hs(rd)
	if !stop() && err == nil {
		err = fmt.Errorf("esl: handshake: %w", ctx.Err())
	}
	if err != nil {
		cerr := ctx.Err()
		if cerr == nil && ctxDeadline && errors.Is(err, os.ErrDeadlineExceeded) {
			cerr = context.DeadlineExceeded // the socket noticed first
		}
		if cerr != nil && !errors.Is(err, cerr) {
			err = fmt.Errorf("%w (%w)", err, cerr)
		}
		nc.Close()
		return nil, err
	}
	nc.SetDeadline(time.Time{})
	o := buildOptions(opts)
	c := &Conn{
		nc:     nc,
		rd:     rd,
		opt:    o,
		jobs:   map[string]*jobWait{},
		events: make(chan *Event, o.eventQueue),
		done:   make(chan struct{}),
	}
	go c.readLoop()
	return c, nil
}

// readLoop reads frames until the connection fails, handing replies to
// waiters in order and events to Jobs or the event queue. Between frames
// it waits idle (Reader.idle), on a small stack.
func (c *Conn) readLoop() {
	defer close(c.done)
	defer close(c.events)
	for {
		c.rd.idle()
		if !c.readFrame() {
			return
		}
	}
}

// readFrame reads and hands on one frame; false when the connection
// failed.
func (c *Conn) readFrame() bool {
	m, err := c.rd.ReadMessage()
	if errors.Is(err, ErrUnknownContentType) {
		c.opt.log.Warn("esl: skipping frame", "err", err)
		return true
	}
	if err != nil {
		c.fail(err)
		return false
	}
	switch ct := m.ContentType(); ct {
	case TypeCommandReply, TypeAPIResponse:
		if err := c.reply(m); err != nil {
			c.fail(err)
			return false
		}
	case TypeEventPlain, TypeEventJSON, TypeEventXML:
		var e *Event
		var err error
		if m.ContentType() == TypeEventPlain {
			if e, err = parsePlainLazy(m.Body); err == nil {
				e.buf = m.Body
			}
		} else {
			e, err = ParseEvent(m)
		}
		if err != nil {
			c.opt.log.Warn("esl: skipping event", "err", err)
			return true
		}
		if err := c.event(e); err != nil {
			c.fail(err)
			return false
		}
	case TypeDisconnectNotice:
		e := &Event{Format: FormatNotice, Headers: m.Headers, Body: m.Body}
		if err := c.event(e); err != nil {
			c.fail(err)
			return false
		}
	case TypeRudeRejection:
		c.fail(fmt.Errorf("%w: %s", ErrRejected, strings.TrimSpace(string(m.Body))))
		return false
	default: // auth/request, log/data: nothing asked for them
		c.opt.log.Debug("esl: ignoring frame", "content_type", ct)
	}
	return true
}

// reply hands m to the oldest waiting command.
func (c *Conn) reply(m *Message) error {
	c.mu.Lock()
	if len(c.waiters) == 0 {
		c.mu.Unlock()
		return fmt.Errorf("%w: %s without a command", ErrMalformed, m.ContentType())
	}
	w := c.waiters[0]
	c.waiters[0] = nil
	c.waiters = c.waiters[1:]
	// A bgapi whose Job-UUID FreeSWITCH replaced: follow the new one.
	if id := m.Get("Job-UUID"); id != "" {
		for old, j := range c.jobs {
			if j.reply == w && old != id {
				delete(c.jobs, old)
				c.jobs[id] = j
			}
		}
	}
	c.mu.Unlock()
	w <- m // buffered: never blocks
	return nil
}

// event delivers e to the Job waiting for it or to the event queue.
func (c *Conn) event(e *Event) error {
	if e.Name() == "BACKGROUND_JOB" {
		c.mu.Lock()
		j := c.jobs[e.JobUUID()]
		delete(c.jobs, e.JobUUID())
		c.mu.Unlock()
		if j != nil {
			j.ev = e
			close(j.done)
			return nil
		}
	}
	select {
	case c.events <- e:
		return nil
	default:
		return fmt.Errorf("%w (%d events waiting)", ErrEventOverflow, cap(c.events))
	}
}

// fail ends the connection with err unless it already ended.
func (c *Conn) fail(err error) {
	c.mu.Lock()
	if c.err == nil {
		if c.closing && (err == io.EOF || errors.Is(err, net.ErrClosed)) {
			err = ErrClosed
		}
		if err == io.EOF {
			err = fmt.Errorf("esl: connection closed by peer: %w", io.EOF)
		}
		c.err = err
	}
	c.mu.Unlock()
	c.nc.Close()
}

// Err returns why the connection ended, or nil while it is up.
func (c *Conn) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// Done is closed when the connection has ended and Events is closed.
func (c *Conn) Done() <-chan struct{} { return c.done }

// Events returns the events the connection subscribed to, in the order
// they arrived, except BACKGROUND_JOB events that a Job claimed. Disconnect
// notices come as events of Format FormatNotice. The channel is closed when
// the connection ends. Drain it: see Conn about overflow.
func (c *Conn) Events() <-chan *Event { return c.events }

// RemoteAddr returns the address of the peer.
func (c *Conn) RemoteAddr() net.Addr { return c.nc.RemoteAddr() }

// Close closes the connection and waits for its reading goroutine.
// Pending commands fail with ErrClosed.
func (c *Conn) Close() error {
	c.mu.Lock()
	c.closing = true
	c.mu.Unlock()
	c.fail(ErrClosed)
	<-c.done
	return nil
}

// sendErrLocked says why no command may be sent now, if so; c.mu is
// held.
func (c *Conn) sendErrLocked() error {
	switch {
	case c.err != nil:
		return c.err
	case c.exited:
		return fmt.Errorf("esl: a command after exit: %w", ErrClosed)
	}
	return nil
}

// closeWrite marks "exit" sent and shuts down the sending side of the
// connection, when it has one (TCP): a command after it is refused.
func (c *Conn) closeWrite() {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.mu.Lock()
	c.exited = true
	c.mu.Unlock()
	if cw, ok := c.nc.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite()
	}
}

// send writes cmd and returns the channel its reply will arrive on.
// The waiter is queued before the write so the reply cannot overtake it.
func (c *Conn) send(ctx context.Context, cmd *Command, jobID string, job *jobWait) (chan *Message, error) {
	b, err := AppendCommand(nil, cmd)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	w := make(chan *Message, 1)
	c.mu.Lock()
	if err := c.sendErrLocked(); err != nil {
		c.mu.Unlock()
		return nil, err
	}
	if _, dup := c.jobs[jobID]; job != nil && dup {
		c.mu.Unlock()
		return nil, fmt.Errorf("esl: Job-UUID %s is already waiting", jobID)
	}
	c.waiters = append(c.waiters, w)
	if job != nil {
		job.reply = w
		c.jobs[jobID] = job
	}
	c.mu.Unlock()
	if err := c.write(ctx, b, firstWord(cmd.Line)); err != nil {
		return nil, err
	}
	return w, nil
}

// sendRaw writes b, which holds n commands, and returns the channels
// their replies will arrive on, in order.
func (c *Conn) sendRaw(ctx context.Context, b []byte, n int, what string) ([]chan *Message, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	ws := make([]chan *Message, n)
	c.mu.Lock()
	if err := c.sendErrLocked(); err != nil {
		c.mu.Unlock()
		return nil, err
	}
	for i := range ws {
		ws[i] = make(chan *Message, 1)
	}
	c.waiters = append(c.waiters, ws...)
	c.mu.Unlock()
	if err := c.write(ctx, b, what); err != nil {
		return nil, err
	}
	return ws, nil
}

// write writes b under the write deadline; c.wmu is held.
func (c *Conn) write(ctx context.Context, b []byte, what string) error {
	deadline := time.Now().Add(c.opt.writeTimeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	c.nc.SetWriteDeadline(deadline)
	if _, err := c.nc.Write(b); err != nil {
		// A partial command would desynchronise the peer: give up.
		c.fail(fmt.Errorf("esl: writing %s: %w", what, err))
		return c.Err()
	}
	return nil
}

// wait waits for the reply on w.
func (c *Conn) wait(ctx context.Context, w chan *Message, what string) (*Message, error) {
	select {
	case m := <-w:
		return m, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("esl: %s: %w", what, ctx.Err())
	case <-c.done:
		select {
		case m := <-w: // the reply came just before the end
			return m, nil
		default:
		}
		return nil, c.Err()
	}
}

func firstWord(s string) string {
	w, _, _ := strings.Cut(s, " ")
	return w
}

// Do sends cmd and returns its reply, a command/reply or api/response
// message. A command/reply whose Reply-Text starts with "-ERR" gives the
// message and a *ReplyError. If ctx ends first Do returns its error; the
// reply, when it comes, is discarded.
func (c *Conn) Do(ctx context.Context, cmd *Command) (*Message, error) {
	w, err := c.send(ctx, cmd, "", nil)
	if err != nil {
		return nil, err
	}
	m, err := c.wait(ctx, w, firstWord(cmd.Line))
	if err != nil {
		return nil, err
	}
	if m.ContentType() == TypeCommandReply {
		return m, replyErr(m.ReplyText())
	}
	return m, nil
}

// API runs "api cmd" and returns its output. Output starting with "-ERR"
// is returned together with a *ReplyError; errors.Is(err, ErrNoReply)
// tells mod_db's "-ERR no reply" (key not found) apart.
func (c *Conn) API(ctx context.Context, cmd string) (string, error) {
	if err := checkArg("api command", cmd); err != nil {
		return "", err
	}
	m, err := c.Do(ctx, &Command{Line: "api " + cmd})
	if err != nil {
		return "", err
	}
	out := string(m.Body)
	return out, replyErr(out)
}

// Job is a command started with BgAPI.
type Job struct {
	// UUID is the Job-UUID of the job.
	UUID string
	w    *jobWait
	conn *Conn
}

// jobWait is the read loop's side of a Job.
type jobWait struct {
	reply chan *Message // the bgapi's reply waiter, to follow a changed UUID
	done  chan struct{} // closed once ev is set
	ev    *Event
}

// BgAPI runs "bgapi cmd" under a new random Job-UUID (see BgAPIJob).
func (c *Conn) BgAPI(ctx context.Context, cmd string) (*Job, error) {
	return c.BgAPIJob(ctx, NewUUID(), cmd)
}

// BgAPIJob runs "bgapi cmd" with the given Job-UUID, sent in a Job-UUID
// header as FreeSWITCH allows. The Job is registered before the command
// is sent, so its BACKGROUND_JOB event is caught whenever it comes, even
// before BgAPIJob returns; Job.Wait returns it.
//
// FreeSWITCH sends the event only if the connection subscribed to
// BACKGROUND_JOB (or ALL), and, if the connection has filters, only if
// one matches: with "filter Unique-ID <uuid>" also add
// "filter Job-UUID <jobUUID>" before calling BgAPIJob.
func (c *Conn) BgAPIJob(ctx context.Context, jobUUID, cmd string) (*Job, error) {
	if err := checkArg("bgapi command", cmd); err != nil {
		return nil, err
	}
	if err := checkWord("Job-UUID", jobUUID); err != nil {
		return nil, err
	}
	id := jobUUID
	jw := &jobWait{done: make(chan struct{})}
	w, err := c.send(ctx, &Command{Line: "bgapi " + cmd, Headers: Headers{{"Job-UUID", id}}}, id, jw)
	if err != nil {
		return nil, err
	}
	m, err := c.wait(ctx, w, "bgapi")
	if err == nil {
		err = replyErr(m.ReplyText())
	}
	if err != nil {
		c.mu.Lock()
		for k, v := range c.jobs {
			if v == jw {
				delete(c.jobs, k)
			}
		}
		c.mu.Unlock()
		return nil, err
	}
	if got := m.Get("Job-UUID"); got != "" {
		id = got
	}
	return &Job{UUID: id, w: jw, conn: c}, nil
}

// Done is closed when the job's BACKGROUND_JOB event has arrived.
func (j *Job) Done() <-chan struct{} { return j.w.done }

// Wait waits for the job's BACKGROUND_JOB event. A body starting with
// "-ERR" (e.g. "-ERR USER_BUSY\n") gives the event and a *ReplyError.
// If the connection ends first Wait returns its error.
func (j *Job) Wait(ctx context.Context) (*Event, error) {
	select {
	case <-j.w.done:
	case <-ctx.Done():
		return nil, fmt.Errorf("esl: waiting for job %s: %w", j.UUID, ctx.Err())
	case <-j.conn.done:
		select {
		case <-j.w.done:
		default:
			return nil, fmt.Errorf("esl: waiting for job %s: %w", j.UUID, j.conn.Err())
		}
	}
	return j.w.ev, replyErr(string(j.w.ev.Body))
}

// NewUUID returns a random (version 4) UUID, for a Job-UUID or an
// origination_uuid.
func NewUUID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// checkArg rejects CR and LF and an empty argument.
func checkArg(what, s string) error {
	if strings.TrimSpace(s) == "" {
		return fmt.Errorf("%w: empty %s", ErrInvalidLine, what)
	}
	return checkLine(what, s)
}

// checkWord rejects anything that is not one non-empty word.
func checkWord(what, s string) error {
	if s == "" || strings.ContainsAny(s, " \t\r\n") {
		return fmt.Errorf("%w: %s %.60q is not one word", ErrInvalidLine, what, s)
	}
	return nil
}

// Subscribe asks for events in format (FormatPlain or FormatJSON) by
// name: "event plain CHANNEL_HANGUP CUSTOM spandsp::rxfaxresult". Names
// may be event names, "ALL", "CUSTOM" and custom subclasses.
func (c *Conn) Subscribe(ctx context.Context, format string, names ...string) error {
	cmd, err := SubscribeCommand(format, names...)
	if err != nil {
		return err
	}
	_, err = c.Do(ctx, cmd)
	return err
}

// SubscribeCommand returns the command of Subscribe.
func SubscribeCommand(format string, names ...string) (*Command, error) {
	if format != FormatPlain && format != FormatJSON {
		return nil, fmt.Errorf("%w: %q", ErrUnsupportedFormat, format)
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("%w: no event names", ErrInvalidLine)
	}
	for _, n := range names {
		if err := checkWord("event name", n); err != nil {
			return nil, err
		}
	}
	return &Command{Line: "event " + format + " " + strings.Join(names, " ")}, nil
}

// Filter adds an event filter: only events whose header has value are
// delivered ("filter Unique-ID <uuid>").
func (c *Conn) Filter(ctx context.Context, header, value string) error {
	cmd, err := FilterCommand(header, value)
	if err != nil {
		return err
	}
	_, err = c.Do(ctx, cmd)
	return err
}

// FilterCommand returns the command of Filter.
func FilterCommand(header, value string) (*Command, error) {
	if err := checkWord("filter header", header); err != nil {
		return nil, err
	}
	if err := checkArg("filter value", value); err != nil {
		return nil, err
	}
	return &Command{Line: "filter " + header + " " + value}, nil
}

// Pipeline sends cmds in one write, in order, and waits for their
// replies, which FreeSWITCH sends in the same order: a call that needs a
// dozen commands before its first event waits one round trip instead of
// a dozen. It returns the replies received and the first error: a
// command/reply with "-ERR" gives a *ReplyError, as Do does; the replies
// of the commands after it are still awaited (FreeSWITCH ran them). If
// ctx ends first Pipeline returns its error; later replies are
// discarded when they come.
func (c *Conn) Pipeline(ctx context.Context, cmds ...*Command) ([]*Message, error) {
	var b []byte
	for _, cmd := range cmds {
		var err error
		if b, err = AppendCommand(b, cmd); err != nil {
			return nil, err
		}
	}
	if len(cmds) == 0 {
		return nil, nil
	}
	ws, err := c.sendRaw(ctx, b, len(cmds), firstWord(cmds[0].Line))
	if err != nil {
		return nil, err
	}
	var replies []*Message
	var first error
	for i, w := range ws {
		m, err := c.wait(ctx, w, firstWord(cmds[i].Line))
		if err != nil {
			return replies, err
		}
		replies = append(replies, m)
		if first == nil && m.ContentType() == TypeCommandReply {
			first = replyErr(m.ReplyText())
		}
	}
	return replies, first
}

// SendMsg sends "sendmsg <uuid>" with hdrs, e.g. call-command: execute.
// An empty uuid addresses the channel of an outbound connection.
func (c *Conn) SendMsg(ctx context.Context, uuid string, hdrs ...Header) error {
	line := "sendmsg"
	if uuid != "" {
		if err := checkWord("uuid", uuid); err != nil {
			return err
		}
		line += " " + uuid
	}
	_, err := c.Do(ctx, &Command{Line: line, Headers: hdrs})
	return err
}

// Exit sends "exit", waits for FreeSWITCH to close the connection and
// closes it.
func (c *Conn) Exit(ctx context.Context) error {
	return c.StartExit(ctx)(ctx)
}

// StartExit sends "exit" at once and returns the rest of Exit: finish
// waits for the reply and for FreeSWITCH to close the connection, then
// closes it. A caller with more work sends the exit first, so that
// FreeSWITCH ends the session while the work is done, and finishes
// later. Nothing can follow "exit": the connection's sending side is
// shut down with it, so that FreeSWITCH's end sees the close at once,
// without waiting for this side to read the reply.
func (c *Conn) StartExit(ctx context.Context) (finish func(context.Context) error) {
	c.mu.Lock()
	c.closing = true
	c.mu.Unlock()
	w, err := c.send(ctx, &Command{Line: "exit"}, "", nil)
	if err == nil {
		c.closeWrite()
	}
	return func(ctx context.Context) error {
		if err == nil {
			var m *Message
			if m, err = c.wait(ctx, w, "exit"); err == nil && m.ContentType() == TypeCommandReply {
				err = replyErr(m.ReplyText())
			}
		}
		if err == nil {
			select {
			case <-c.done:
			case <-ctx.Done():
				err = fmt.Errorf("esl: exit: %w", ctx.Err())
			}
		}
		if errors.Is(err, ErrClosed) {
			err = nil
		}
		c.Close()
		return err
	}
}
