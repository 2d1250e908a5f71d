package esltest

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/gofaxserver/gofaxserver/gofaxlib/esl"
)

// DefaultTimeScale is the time scale used when Options.TimeScale is 0: a
// two-page fax that takes 30 s on a real switch takes 30 ms.
const DefaultTimeScale = 0.001

// ErrClosed is returned by calls on a closed Sim.
var ErrClosed = errors.New("esltest: simulator closed")

// Options configure a Sim.
type Options struct {
	// Addr is the inbound event socket address; "" means 127.0.0.1:0.
	Addr string
	// Password for "auth"; "" means ClueCon, FreeSWITCH's default.
	Password string
	// TimeScale multiplies every real FreeSWITCH duration (0: DefaultTimeScale).
	TimeScale float64
	// SocketAddr is the outbound-socket listener ("socket <addr> async
	// full") that PlaceCall and loopback originates connect to.
	SocketAddr string
	// SyncSocket makes the dialplan "socket <addr> full" (static mode)
	// instead of "socket <addr> async full": each sendmsg is answered when
	// its application is done, and a hung-up channel is held until the
	// client exits (capture sync-mode-t38).
	SyncSocket bool
	// Logger receives debug logs; nil discards them.
	Logger *slog.Logger
	// KeepRecords bounds how many ended calls and closed connections
	// Calls and Conns remember (the oldest go first); 0 keeps them all.
	// Long load runs set it.
	KeepRecords int
	// Default is the far end of an originate to a destination without a
	// Route when SocketAddr is empty, and the fault knobs (BadRows,
	// Renegotiate, HangupAtPage, DropESL) of loopback calls.
	Default Scenario
}

// Sim is a simulated FreeSWITCH. Create it with Start or New.
type Sim struct {
	opts  Options
	log   *slog.Logger
	ln    net.Listener
	core  string // Core-UUID
	scale float64

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	busMu sync.Mutex // orders events: sequence numbers and delivery
	seq   int
	subs  map[*conn]bool

	mu         sync.Mutex
	routes     map[string]Scenario
	legs       []*leg
	live       map[string]*leg
	conns      map[*conn]bool
	executors  map[string]*executor
	connRecs   []*ConnRecord
	nextConnID int
	db         *database
	kills      []string
	changed    chan struct{}
	closed     bool
}

// Start listens on 127.0.0.1 (Options.Addr) and serves until Close.
func Start(opts Options) (*Sim, error) {
	if _, err := loadTemplates(); err != nil {
		return nil, err
	}
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:0"
	}
	if opts.Password == "" {
		opts.Password = "ClueCon"
	}
	if opts.TimeScale <= 0 {
		opts.TimeScale = DefaultTimeScale
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if host, _, err := net.SplitHostPort(opts.Addr); err != nil || !net.ParseIP(host).IsLoopback() {
		return nil, fmt.Errorf("esltest: %q: the simulator listens on loopback addresses only", opts.Addr)
	}
	ln, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		return nil, fmt.Errorf("esltest: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Sim{
		opts: opts, log: log, ln: ln, core: newUUID(), scale: opts.TimeScale,
		ctx: ctx, cancel: cancel, subs: map[*conn]bool{},
		routes: map[string]Scenario{}, live: map[string]*leg{}, executors: map[string]*executor{},
		conns: map[*conn]bool{},
		db:    newDatabase(), changed: make(chan struct{}),
	}
	s.wg.Add(1)
	go s.accept()
	return s, nil
}

// New starts a Sim for a test and closes it when the test ends.
func New(t testing.TB, opts Options) *Sim {
	t.Helper()
	s, err := Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s
}

// Addr returns the inbound event socket address (host:port).
func (s *Sim) Addr() string { return s.ln.Addr().String() }

// Password returns the password "auth" expects.
func (s *Sim) Password() string { return s.opts.Password }

// Route sets the simulated far end for calls originated to destination
// (the number part of the dial string).
func (s *Sim) Route(destination string, sc Scenario) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.routes[destination] = sc
}

// Unroute removes destination's Route: its calls go to the default far
// end again (the outbound socket in loopback).
func (s *Sim) Unroute(destination string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.routes, destination)
}

// Close stops listening, drops every connection, ends every call and waits
// for all goroutines.
func (s *Sim) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	conns := slices.Collect(maps.Keys(s.conns))
	s.mu.Unlock()
	s.cancel()
	err := s.ln.Close()
	for _, c := range conns {
		c.abort()
	}
	s.wg.Wait()
	if errors.Is(err, net.ErrClosed) {
		err = nil
	}
	return err
}

func (s *Sim) accept() {
	defer s.wg.Done()
	for {
		nc, err := s.ln.Accept()
		if err != nil {
			return
		}
		c := s.newConn(nc, false)
		if c == nil || !s.spawn(func() { s.serveInbound(c) }) {
			nc.Close()
			return
		}
	}
}

// socketArg is the socket application's argument in the dialplan.
func (s *Sim) socketArg() string {
	if s.opts.SyncSocket {
		return s.opts.SocketAddr + " full"
	}
	return s.opts.SocketAddr + " async full"
}

// spawn runs f in a goroutine Close waits for; false (f not run) once
// Close has begun.
func (s *Sim) spawn(f func()) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		f()
	}()
	return true
}

// now is the simulated clock (wall time; only durations are scaled).
func (s *Sim) now() time.Time { return time.Now() }

// scaled converts a real FreeSWITCH duration to simulated time.
func (s *Sim) scaled(d time.Duration) time.Duration {
	return time.Duration(float64(d) * s.scale)
}

// minPatience is the least time the simulator waits for a real program
// (the socket listener answering, its rxfax starting): scaled protocol
// timeouts of milliseconds would fail calls on a busy test machine.
const minPatience = 3 * time.Second

// patience scales a timeout that waits for a real program.
func (s *Sim) patience(d time.Duration) time.Duration {
	return max(s.scaled(d), minPatience)
}

// sleep waits a real duration scaled; false if ctx or done ended first.
func (s *Sim) sleep(d time.Duration, done <-chan struct{}) bool {
	t := time.NewTimer(s.scaled(d))
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-done:
		return false
	case <-s.ctx.Done():
		return false
	}
}

// eventHeaders returns the Event-* headers of a new event; it takes the
// next sequence number.
func (s *Sim) eventHeaders(name, subclass string) esl.Headers {
	s.busMu.Lock()
	defer s.busMu.Unlock()
	return s.eventHeadersLocked(name, subclass)
}

func (s *Sim) eventHeadersLocked(name, subclass string) esl.Headers {
	s.seq++
	now := s.now()
	src := sources[name]
	if subclass != "" {
		src = sources[subclass]
	}
	hs := make(esl.Headers, 0, 256)
	if subclass != "" {
		hs = append(hs, esl.Header{Name: "Event-Subclass", Value: subclass})
	}
	return append(hs,
		esl.Header{Name: "Event-Name", Value: name},
		esl.Header{Name: "Core-UUID", Value: s.core},
		esl.Header{Name: "FreeSWITCH-Hostname", Value: "fssim"},
		esl.Header{Name: "FreeSWITCH-Switchname", Value: "fssim"},
		esl.Header{Name: "FreeSWITCH-IPv4", Value: "127.0.0.1"},
		esl.Header{Name: "FreeSWITCH-IPv6", Value: "::1"},
		esl.Header{Name: "Event-Date-Local", Value: now.Format("2006-01-02 15:04:05")},
		esl.Header{Name: "Event-Date-GMT", Value: now.UTC().Format("Mon, 02 Jan 2006 15:04:05 GMT")},
		esl.Header{Name: "Event-Date-Timestamp", Value: strconv.FormatInt(now.UnixMicro(), 10)},
		esl.Header{Name: "Event-Calling-File", Value: src.file},
		esl.Header{Name: "Event-Calling-Function", Value: src.function},
		esl.Header{Name: "Event-Calling-Line-Number", Value: src.line},
		esl.Header{Name: "Event-Sequence", Value: strconv.Itoa(s.seq)},
	)
}

// Fire publishes an event of another channel of the switch, as a busy
// FreeSWITCH keeps doing: name (a CUSTOM event when subclass is set) with
// the Event-* headers and then headers. Tests use it to show that a client
// sees only the events it asked for.
func (s *Sim) Fire(name, subclass string, headers ...esl.Header) {
	s.publish(name, subclass, func(hs esl.Headers) esl.Headers { return append(hs, headers...) }, "")
}

// publish builds an event (Event-* headers, then build's) and delivers it
// to every subscriber that wants it, in one global order.
func (s *Sim) publish(name, subclass string, build func(esl.Headers) esl.Headers, body string) {
	s.busMu.Lock()
	defer s.busMu.Unlock()
	hs := s.eventHeadersLocked(name, subclass)
	ev := &event{name: name, subclass: subclass, headers: build(hs), body: body}
	for c := range s.subs {
		if c.sub.wants(ev) {
			c.sendEvent(ev)
		}
	}
}

// register adds a leg to the live set and the record.
func (s *Sim) register(l *leg) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.legs = append(s.legs, l)
	s.live[l.uuid] = l
	s.notifyLocked()
}

// forget removes a destroyed leg from the live set.
func (s *Sim) forget(l *leg) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.live, l.uuid)
	delete(s.executors, l.uuid)
	if k := s.opts.KeepRecords; k > 0 {
		s.legs = dropOldest(s.legs, len(s.legs)-len(s.live)-k, func(x *leg) bool { return s.live[x.uuid] == nil })
	}
	s.notifyLocked()
}

func (s *Sim) lookup(uuid string) *leg {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.live[uuid]
}

// notifyLocked wakes the Wait helpers.
func (s *Sim) notifyLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// newUUID returns a random version-4 UUID as FreeSWITCH prints them.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
