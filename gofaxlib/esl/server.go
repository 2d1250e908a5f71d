package esl

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// ErrServerClosed is returned by Serve after Shutdown.
var ErrServerClosed = errors.New("esl: server closed")

// Server accepts the connections FreeSWITCH's "socket <addr> async full"
// dialplan application opens, one per call. For each it sends "connect",
// reads the channel data and runs Handler with an OutboundConn.
type Server struct {
	// Addr is the TCP address to listen on, e.g. "127.0.0.1:8084", used
	// if Listener is nil.
	Addr string
	// Listener, if set, is used instead of listening on Addr (for
	// instance a systemd-activated socket). Shutdown closes it.
	Listener net.Listener
	// Handler runs the call. Its context is cancelled when a Shutdown's
	// context expires. The connection is closed when Handler returns.
	Handler func(ctx context.Context, c *OutboundConn)
	// Logger receives accept and handshake errors and handler panics.
	// Nil discards.
	Logger *slog.Logger
	// ConnectTimeout bounds the "connect" exchange; 0 means
	// DefaultHandshakeTimeout.
	ConnectTimeout time.Duration
	// Options apply to every connection (event queue, write timeout).
	// Logger, if set, is passed on with WithLogger first.
	Options []Option
	// MaxConns bounds the connections served at once; 0 means no bound.
	// A connection over the bound is closed at once: FreeSWITCH's socket
	// application then fails and the dialplan continues. Refusals are
	// counted (Refused) and logged at most once per refusalLogInterval.
	MaxConns int
	// MaxSetups bounds the connections in their setup phase at once: from
	// the end of the connect exchange until the Handler calls
	// OutboundConn.SetupDone or returns. Later connections wait in turn
	// (first come, first served) before their Handler runs. Under CPU saturation this
	// keeps the runnable work short, so that the calls already running
	// (their teardown above all) are not queued behind a crowd of
	// newcomers. A connection holds its place at most SetupHold: one that
	// waits for something other than the CPU (a slow DynamicConfig, a
	// FreeSWITCH slow to reply) lets the next one in, so the bound orders
	// the work but never throttles calls waiting elsewhere. 0 means no
	// bound.
	MaxSetups int
	// SetupHold is how long a connection holds its place among MaxSetups
	// at most; 0 means DefaultSetupHold.
	SetupHold time.Duration

	mu       sync.Mutex
	ln       net.Listener
	closed   bool
	serving  chan struct{} // closed when Serve returns; nil before Serve
	ctx      context.Context
	cancel   context.CancelFunc
	handlers sync.WaitGroup
	active   int                   // connections being served
	conns    map[net.Conn]struct{} // connections still in the handshake

	setups   chan struct{} // MaxSetups places; nil without a bound
	stopping chan struct{} // closed by Shutdown
	waiting  atomic.Int32  // connections waiting for a place among MaxSetups

	refused   atomic.Uint64 // connections closed over MaxConns
	lastWarn  time.Time     // when a refusal was last logged; guarded by mu
	sinceWarn uint64        // refusals not logged since; guarded by mu
}

// DefaultSetupHold is how long a connection holds its place among
// Server.MaxSetups at most when Server.SetupHold is zero. A call's setup
// takes a few milliseconds of CPU and two round trips to FreeSWITCH.
const DefaultSetupHold = 200 * time.Millisecond

// refusalLogInterval bounds the refusal warnings: a flood beyond
// MaxConns must not turn into a flood of log records.
const refusalLogInterval = 10 * time.Second

// Refused returns how many connections were closed at once because
// MaxConns were being served.
func (s *Server) Refused() uint64 { return s.refused.Load() }

// Active returns how many connections are being served.
func (s *Server) Active() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.active
}

// Open binds the listener (or adopts Listener) so that Address reports
// the real address before Serve runs.
func (s *Server) Open() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrServerClosed
	}
	if s.ln != nil {
		return nil
	}
	if s.Handler == nil {
		return errors.New("esl: server has no Handler")
	}
	ln := s.Listener
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", s.Addr); err != nil {
			return fmt.Errorf("esl: listen: %w", err)
		}
	}
	s.ln = ln
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.conns = map[net.Conn]struct{}{}
	s.stopping = make(chan struct{})
	if s.MaxSetups > 0 {
		s.setups = make(chan struct{}, s.MaxSetups)
	}
	return nil
}

// Address returns the address the server listens on, or nil before Open.
func (s *Server) Address() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return nil
	}
	return s.ln.Addr()
}

func (s *Server) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.New(slog.DiscardHandler)
}

// Serve accepts connections until Shutdown, opening the server first if
// needed. It returns ErrServerClosed after Shutdown, or the error that
// stopped accepting.
func (s *Server) Serve() error {
	if err := s.Open(); err != nil {
		return err
	}
	s.mu.Lock()
	if s.serving != nil {
		s.mu.Unlock()
		return errors.New("esl: Serve called twice")
	}
	s.serving = make(chan struct{})
	defer close(s.serving)
	ln := s.ln
	s.mu.Unlock()

	var backoff time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			s.mu.Lock()
			closed := s.closed
			s.mu.Unlock()
			if closed {
				return ErrServerClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || isTemporary(err) {
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				s.logger().Warn("esl: accept failed, retrying", "err", err, "retry_in", backoff)
				time.Sleep(backoff)
				continue
			}
			return fmt.Errorf("esl: accept: %w", err)
		}
		backoff = 0
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			nc.Close()
			return ErrServerClosed
		}
		if s.MaxConns > 0 && s.active >= s.MaxConns {
			s.refused.Add(1)
			s.sinceWarn++
			now := time.Now()
			logIt := now.Sub(s.lastWarn) >= refusalLogInterval
			n := s.sinceWarn
			if logIt {
				s.lastWarn, s.sinceWarn = now, 0
			}
			s.mu.Unlock()
			nc.Close()
			if logIt {
				s.logger().Warn("esl: too many connections, refusing", "refused", n, "max_conns", s.MaxConns,
					"remote", nc.RemoteAddr().String())
			}
			continue
		}
		s.active++
		s.conns[nc] = struct{}{}
		s.handlers.Add(1)
		s.mu.Unlock()
		go s.serveConn(nc)
	}
}

// isTemporary reports accept errors worth retrying, such as running out
// of file descriptors.
func isTemporary(err error) bool {
	var t interface{ Temporary() bool }
	return errors.As(err, &t) && t.Temporary()
}

// serveConn runs the connect exchange and the Handler for one connection.
// It keeps a small frame: a held call's goroutine waits below it.
func (s *Server) serveConn(nc net.Conn) {
	defer s.handlers.Done()
	defer s.leave()
	oc, setup := s.open(nc)
	if oc == nil {
		return
	}
	defer setup.end()
	defer oc.Close()
	defer s.recoverHandler(oc)
	s.Handler(s.ctx, oc)
}

// leave counts a connection's end.
func (s *Server) leave() {
	s.mu.Lock()
	s.active--
	s.mu.Unlock()
}

// open runs the connect exchange and takes a place among MaxSetups; nil
// when the connection is closed instead.
func (s *Server) open(nc net.Conn) (*OutboundConn, *setupPlace) {
	timeout := s.ConnectTimeout
	if timeout <= 0 {
		timeout = DefaultHandshakeTimeout
	}
	hctx, cancel := context.WithTimeout(s.ctx, timeout)
	opts := s.Options
	if s.Logger != nil {
		opts = append([]Option{WithLogger(s.Logger)}, opts...)
	}
	oc, err := Connect(hctx, nc, opts...)
	cancel()
	s.mu.Lock()
	delete(s.conns, nc)
	s.mu.Unlock()
	if err != nil {
		s.logger().Warn("esl: outbound connection failed", "err", err, "remote", nc.RemoteAddr().String())
		return nil, nil
	}
	// The place among MaxSetups is taken after the connect exchange: a
	// call waiting for one holds its socket and channel data, nothing
	// else, and FreeSWITCH's reply time does not count against it.
	setup := s.enterSetup()
	if setup == nil {
		oc.Close()
		return nil, nil
	}
	oc.setup = setup
	return oc, setup
}

// recoverHandler logs a Handler's panic; the connection is closed after.
func (s *Server) recoverHandler(oc *OutboundConn) {
	if p := recover(); p != nil {
		s.logger().Error("esl: handler panicked", "remote", oc.RemoteAddr().String(), "call_uuid", oc.UUID(), "panic", p, "stack", string(debug.Stack()))
	}
}

// setupPlace is a connection's place among Server.MaxSetups.
type setupPlace struct {
	once  sync.Once
	free  func()      // gives the place back; nil without a bound
	timer *time.Timer // gives it back after SetupHold; used by end only
}

// done gives the place back; calling it again does nothing.
func (p *setupPlace) done() {
	p.once.Do(func() {
		if p.free != nil {
			p.free()
		}
	})
}

// end gives the place back when the connection's handler has returned.
func (p *setupPlace) end() {
	if p.timer != nil {
		p.timer.Stop()
	}
	p.done()
}

// enterSetup waits, in turn, for a place among MaxSetups. It returns nil
// when the server shut down first.
func (s *Server) enterSetup() *setupPlace {
	p := &setupPlace{}
	if s.setups == nil {
		return p
	}
	s.waiting.Add(1)
	defer s.waiting.Add(-1)
	// Blocked senders on a channel are served in the order they came.
	select {
	case s.setups <- struct{}{}:
	case <-s.stopping:
		return nil
	}
	p.free = func() { <-s.setups }
	hold := s.SetupHold
	if hold <= 0 {
		hold = DefaultSetupHold
	}
	p.timer = time.AfterFunc(hold, p.done)
	return p
}

// Shutdown stops accepting and waits for the running handlers. If ctx
// ends first it cancels the handlers' contexts, still waits for them to
// return, and returns ctx's error.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	if !s.closed && s.stopping != nil {
		close(s.stopping)
	}
	s.closed = true
	ln, serving := s.ln, s.serving
	var err error
	if ln != nil {
		err = ln.Close()
		// Connections still in the connect exchange have no handler yet.
		for nc := range s.conns {
			nc.Close()
		}
	}
	s.mu.Unlock()
	if ln == nil {
		return nil
	}
	if errors.Is(err, net.ErrClosed) {
		err = nil
	}
	if serving != nil {
		<-serving
	}
	done := make(chan struct{})
	go func() {
		s.handlers.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		s.cancel()
		<-done
		return ctx.Err()
	}
	s.cancel()
	return err
}

// OutboundConn is one outbound-socket connection: a Conn to the channel
// that connected, plus the channel data and call-control shortcuts.
type OutboundConn struct {
	*Conn
	data  *Event
	uuid  string
	setup *setupPlace // nil when not served by a Server
}

// SetupDone tells the Server that the call's setup is over (its
// reception runs): the next connection waiting for a place among
// Server.MaxSetups may go on. Calling it again, or without a Server,
// does nothing.
func (c *OutboundConn) SetupDone() {
	if c.setup != nil {
		c.setup.done()
	}
}

// Connect runs the outbound-socket handshake on nc, which FreeSWITCH
// opened: it sends "connect" and reads the channel data. The context
// bounds the exchange. Server uses it; it is exported for servers that
// accept connections themselves.
func Connect(ctx context.Context, nc net.Conn, opts ...Option) (*OutboundConn, error) {
	var data *Event
	c, err := handshake(ctx, nc, func(rd *Reader) error {
		if err := WriteCommand(nc, &Command{Line: "connect"}); err != nil {
			return fmt.Errorf("esl: sending connect: %w", err)
		}
		var err error
		if data, err = readChannelData(rd); err != nil {
			return fmt.Errorf("esl: reading channel data: %w", err)
		}
		if ct := data.Get("Content-Type"); ct != TypeCommandReply {
			return fmt.Errorf("esl: connect reply is %q, want %s", ct, TypeCommandReply)
		}
		if text := data.Get("Reply-Text"); !strings.HasPrefix(text, "+OK") {
			return fmt.Errorf("esl: connect refused: %w", &ReplyError{Text: strings.TrimSpace(text)})
		}
		if data.UUID() == "" {
			return fmt.Errorf("%w: channel data without Unique-ID", ErrMalformed)
		}
		return nil
	}, opts)
	if err != nil {
		return nil, err
	}
	return &OutboundConn{Conn: c, data: data, uuid: data.UUID()}, nil
}

// readChannelData reads the connect reply as ReadMessage would and
// returns it as a lazy event: its 150 and more headers are decoded when
// asked for.
func readChannelData(rd *Reader) (*Event, error) {
	blk, err := rd.readRawBlock()
	if err == nil {
		var data *Event
		if data, err = parseBlockLazy(blk); err == nil {
			if cl, ok := data.Lookup("Content-Length"); ok {
				data.Body, err = rd.readBody(Headers{{Name: "Content-Length", Value: cl}})
			}
			if err == nil {
				return data, nil
			}
		}
	}
	return nil, rd.fail(err)
}

// ChannelData returns the channel data of the connect reply, values
// decoded: Unique-ID, Caller-*, variable_* and, at the end, the reply's
// Content-Type, Reply-Text, Socket-Mode and Control.
func (c *OutboundConn) ChannelData() *Event { return c.data }

// UUID returns the channel's Unique-ID.
func (c *OutboundConn) UUID() string { return c.uuid }

// ReleaseChannelData lets the channel data go: ChannelData returns an
// event without headers afterwards (UUID still answers). A handler that
// took what it needs of it calls it, so that thousands of calls held at
// once do not keep theirs (6 to 20 KB each).
func (c *OutboundConn) ReleaseChannelData() { c.data = &Event{Format: FormatPlain} }

// Linger asks FreeSWITCH to keep the socket open after the channel hangs
// up, so that the hangup events arrive; a text/disconnect-notice with
// Content-Disposition: linger follows them.
func (c *OutboundConn) Linger(ctx context.Context) error {
	_, err := c.Do(ctx, LingerCommand())
	return err
}

// LingerCommand returns the command of Linger.
func LingerCommand() *Command { return &Command{Line: "linger"} }

// MyEvents subscribes to the plain events of this channel. It does not
// include CUSTOM events such as spandsp's: Subscribe to those.
func (c *OutboundConn) MyEvents(ctx context.Context) error {
	_, err := c.Do(ctx, &Command{Line: "myevents"})
	return err
}

// Execute runs a dialplan application on the channel with event-lock, so
// applications run strictly in turn. In async mode FreeSWITCH replies at
// once; the application's end is its CHANNEL_EXECUTE_COMPLETE event.
func (c *OutboundConn) Execute(ctx context.Context, app, arg string) error {
	cmd, err := ExecuteCommand(app, arg)
	if err != nil {
		return err
	}
	_, err = c.Do(ctx, cmd)
	return err
}

// ExecuteCommand returns the command of OutboundConn.Execute: sendmsg to
// the connection's channel, with event-lock.
func ExecuteCommand(app, arg string) (*Command, error) {
	if err := checkWord("application", app); err != nil {
		return nil, err
	}
	h := Headers{{"call-command", "execute"}, {"execute-app-name", app}}
	if arg != "" {
		h = append(h, Header{"execute-app-arg", arg})
	}
	h = append(h, Header{"event-lock", "true"})
	return &Command{Line: "sendmsg", Headers: h}, nil
}

// Hangup hangs the channel up with cause, e.g. "NORMAL_CLEARING".
func (c *OutboundConn) Hangup(ctx context.Context, cause string) error {
	if err := checkWord("hangup cause", cause); err != nil {
		return err
	}
	return c.SendMsg(ctx, "", Header{"call-command", "hangup"}, Header{"hangup-cause", cause})
}
