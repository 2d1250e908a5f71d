// Package modem runs the virtual modems gofaxd shows to HylaFAX.
//
// HylaFAX's scheduler faxq believes it owns N modems named <prefix>0 …
// <prefix>N-1. For each one the pool keeps the files faxq, hfaxd and faxstat
// look for (FIFO.<modem>, status/<modem>, etc/config.<modem>), reads the
// commands faxq and gofaxsend write to FIFO.<modem> (HELLO, L, SB, SR, and
// gofaxsend's job results, passed on to Config.JobResult) and
// tells faxq about every state change through the spool's FIFO (+m:N, +m:R,
// +m:B, +m:U, +m:D, +m:I and the @m: receive records).
//
// A modem is busy while an inbound call holds it (Acquire) or while an
// outbound job uses it: from faxq's L until faxq removes its UUCP lock
// (as faxgetty waits in LOCKWAIT), and from gofaxsend's SB until its SR.
// These are tracked separately, so no side can declare a modem ready that
// another still uses. Nobody waits for faxq: its messages are written by
// one goroutine of the pool, retried while faxq does not read for up to
// Config.FIFOTimeout; after that they are dropped and the whole state is
// announced again, with backoff, once it reads.
package modem

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/gofaxserver/gofaxserver/gofaxlib/hylafax"
)

// State is the state of one virtual modem as faxq should see it.
type State int

// Modem states, in increasing precedence: a modem that is receiving and
// also locked for sending reports Receiving.
const (
	Ready State = iota
	Sending
	Receiving
	Down
)

func (s State) String() string {
	switch s {
	case Ready:
		return "ready"
	case Sending:
		return "sending"
	case Receiving:
		return "receiving"
	case Down:
		return "down"
	}
	return fmt.Sprintf("State(%d)", int(s))
}

// States lists every State, for callers that report counts per state.
var States = []State{Ready, Sending, Receiving, Down}

// Status texts written to status/<modem>, as faxgetty words them, so
// faxstat and the HylaFAX clients show familiar lines.
const (
	StatusIdle      = "Running and idle"
	StatusAnswering = "Answering the phone"
	StatusReceiving = "Receiving facsimile"
	StatusSending   = "Sending facsimile"
	StatusDown      = "Down"
)

// Errors callers branch on.
var (
	// ErrNoModem means every modem is busy or down.
	ErrNoModem = errors.New("modem: no modem free")
	// ErrClosed means the pool is draining or closed.
	ErrClosed = errors.New("modem: pool closed")
)

// Config describes the pool. Spool is the HylaFAX spool directory; all
// other paths are relative to it.
type Config struct {
	Spool  string
	Prefix string // modem name prefix, e.g. "freeswitch"
	Count  int    // number of modems
	// Number is announced as the modems' phone number (+m:N).
	Number string
	// Ready is the argument announced with +m:R: capabilities and
	// priority. The zero value means hylafax.FreeSWITCHCapabilities at
	// faxgetty's default priority.
	Ready hylafax.Ready
	// Exclusive makes Acquire refuse a call when no modem is free
	// (allocateinbounddevices=true). Otherwise such a call proceeds with
	// a Lease that lends a modem's name (round-robin) and changes no
	// state. Either way a call that finds a free modem occupies it.
	Exclusive bool
	// SendHold bounds how long gofaxsend's SB without the matching SR
	// keeps a modem busy, in case gofaxsend died. Zero means
	// DefaultSendHold.
	SendHold time.Duration
	// LockDir is where faxq puts its UUCP lock LCK..<modem> while an
	// outbound job runs ("" means DefaultLockDir).
	LockDir string
	// Sender writes messages to faxq; nil means a FIFOSender on
	// Spool/FIFO.
	Sender Sender
	// FIFOTimeout bounds how long a message is retried while faxq does
	// not read its FIFO ([hylafax] fifotimeout; 0 means
	// DefaultFIFOTimeout). A faxq restarting within it misses nothing;
	// after it, faxq is taken as away: messages are dropped and the whole
	// state is announced again, with backoff, once faxq reads.
	FIFOTimeout time.Duration
	// JobResult, if set, is told how each send attempt on a modem ended,
	// as gofaxsend reports it on FIFO.<modem> (R<jobid>:<outcome>:<pages>)
	// before its SR. It is called by the FIFO's reader and must not block.
	JobResult func(hylafax.JobResult)
	Logger    *slog.Logger
}

// DefaultLockDir is Debian's UUCP lock directory, the one faxq uses.
const DefaultLockDir = "/var/lock"

// lockPoll is how often a modem locked by faxq's L is checked for the
// end of the lock: faxq removes it when the send program has exited.
const lockPoll = time.Second

// DefaultFIFOTimeout is the default Config.FIFOTimeout, the default of
// [hylafax] fifotimeout.
const DefaultFIFOTimeout = 10 * time.Second

// DefaultSendHold is the default Config.SendHold: far longer than any
// single fax attempt, short enough that a crashed sender does not take a
// modem away for the day.
const DefaultSendHold = 2 * time.Hour

// modem is one virtual modem; every field but name is guarded by Pool.mu.
type modem struct {
	name       string
	receiving  bool
	locked     bool      // faxq's L, until its UUCP lock is gone
	sendingAt  time.Time // gofaxsend's SB, zero after SR
	commid     string
	statusText string
}

func (m *modem) state(draining bool, hold time.Duration, now time.Time) State {
	switch {
	case m.receiving:
		return Receiving
	case m.locked, !m.sendingAt.IsZero() && now.Sub(m.sendingAt) < hold:
		return Sending
	case draining:
		return Down
	}
	return Ready
}

// Pool is the set of virtual modems. Create it with Open and stop it with
// Close; every method is safe for concurrent use.
type Pool struct {
	cfg    Config
	log    *slog.Logger
	modems []*modem
	ann    *announcer

	mu       sync.Mutex
	draining bool
	next     int // round-robin cursor for unaccounted calls

	readers sync.WaitGroup // FIFO readers and the lock watcher
	// stopped names a reader that ended before Close, with why; nil
	// while every one runs.
	stoppedMu sync.Mutex
	stopped   error
	fifos     []*hylafax.FIFOReader
	stop      chan struct{}
}

// Open creates the modem files in the spool, starts reading the modem
// FIFOs and announces every modem to faxq. It fails if a FIFO.<modem> path
// exists and is not a FIFO, or if the spool is not writable.
func Open(cfg Config) (*Pool, error) {
	if cfg.Count < 1 {
		return nil, fmt.Errorf("modem: %d modems configured, need at least 1", cfg.Count)
	}
	if cfg.Prefix == "" {
		return nil, errors.New("modem: empty modem name prefix")
	}
	if cfg.Ready == (hylafax.Ready{}) {
		cfg.Ready = hylafax.Ready{Caps: hylafax.FreeSWITCHCapabilities, Priority: hylafax.DefaultModemPriority}
	}
	if cfg.SendHold <= 0 {
		cfg.SendHold = DefaultSendHold
	}
	if cfg.FIFOTimeout <= 0 {
		cfg.FIFOTimeout = DefaultFIFOTimeout
	}
	if cfg.LockDir == "" {
		cfg.LockDir = DefaultLockDir
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Sender == nil {
		cfg.Sender = FIFOSender(filepath.Join(cfg.Spool, hylafax.FaxqFIFO))
	}
	p := &Pool{cfg: cfg, log: cfg.Logger, stop: make(chan struct{})}
	for i := range cfg.Count {
		p.modems = append(p.modems, &modem{name: fmt.Sprintf("%s%d", cfg.Prefix, i)})
	}
	if err := os.MkdirAll(filepath.Join(cfg.Spool, "status"), 0o755); err != nil {
		return nil, fmt.Errorf("modem: %w", err)
	}
	for _, m := range p.modems {
		f, err := openFIFO(filepath.Join(cfg.Spool, "FIFO."+m.name))
		if err != nil {
			p.closeFIFOs()
			return nil, err
		}
		p.fifos = append(p.fifos, f)
		p.ensureConfigFile(m.name)
	}
	p.ann = startAnnouncer(p)
	for i, m := range p.modems {
		p.readers.Add(1)
		go p.readFIFO(m, p.fifos[i])
	}
	p.readers.Add(1)
	go p.watchLocks()
	p.mu.Lock()
	for _, m := range p.modems {
		p.announceLocked(m, true)
	}
	p.mu.Unlock()
	return p, nil
}

// ensureConfigFile creates etc/config.<modem> when none exists: faxq only
// greets modems that have one at start-up, and faxstat only lists those
// (showing its FAXNumber). The file holds just "FAXNumber: <Number>"; no
// other HylaFAX program reads it for a virtual modem. On Debian the
// spool's etc/ is /etc/hylafax, often mounted read-only for gofaxd; then
// the operator has to create the file.
func (p *Pool) ensureConfigFile(name string) {
	path := filepath.Join(p.cfg.Spool, "etc", "config."+name)
	if _, err := os.Stat(path); err == nil {
		return
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		if !errors.Is(err, os.ErrExist) {
			p.log.Warn("cannot create modem config file; faxstat will not list the modem until it exists",
				"modem", name, "file", path, "err", err)
		}
		return
	}
	if n := clean(p.cfg.Number); n != "" {
		fmt.Fprintf(f, "FAXNumber: %s\n", n)
	}
	f.Close()
	p.log.Info("created modem config file", "modem", name, "file", path)
}

// Alive reports whether the pool's own goroutines run and its state can
// be read: nil, or which one ended. It blocks while the pool's lock is
// held: a caller bounds it.
func (p *Pool) Alive() error {
	p.stoppedMu.Lock()
	err := p.stopped
	p.stoppedMu.Unlock()
	if err != nil {
		return err
	}
	select {
	case <-p.ann.exit:
		return errors.New("modem: the faxq announcer ended")
	default:
	}
	p.mu.Lock()
	p.mu.Unlock() // only shows that the lock is not stuck
	return nil
}

// ended records that a reader ended before Close.
func (p *Pool) ended(err error) {
	select {
	case <-p.stop:
		return // Close ended it
	default:
	}
	p.stoppedMu.Lock()
	defer p.stoppedMu.Unlock()
	if p.stopped == nil {
		p.stopped = err
	}
}

// Names returns the modem names in index order.
func (p *Pool) Names() []string {
	names := make([]string, len(p.modems))
	for i, m := range p.modems {
		names[i] = m.name
	}
	return names
}

// Counts returns how many modems are in each state.
func (p *Pool) Counts() map[State]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	c := make(map[State]int, len(States))
	for _, m := range p.modems {
		c[m.state(p.draining, p.cfg.SendHold, now)]++
	}
	return c
}

// FaxqReading reports whether faxq read the last announcement; false while
// it is away (the announcements are then repeated with backoff).
func (p *Pool) FaxqReading() bool {
	p.ann.mu.Lock()
	defer p.ann.mu.Unlock()
	return !p.ann.absent
}

// State returns the state of the named modem.
func (p *Pool) State(name string) (State, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, m := range p.modems {
		if m.name == name {
			return m.state(p.draining, p.cfg.SendHold, time.Now()), true
		}
	}
	return Down, false
}

// Acquire takes a free modem for an inbound call, atomically, and shows
// it busy (+m:B, "Answering the phone") until the Lease is released. When
// every modem is busy it returns ErrNoModem if the pool is Exclusive;
// otherwise a Lease that only lends a modem's name and changes no state.
// After Drain it returns ErrClosed.
func (p *Pool) Acquire() (*Lease, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.draining {
		return nil, ErrClosed
	}
	now := time.Now()
	n := len(p.modems)
	for k := range n {
		m := p.modems[(p.next+k)%n]
		if m.state(false, p.cfg.SendHold, now) != Ready {
			continue
		}
		p.next = (p.next + k + 1) % n
		m.receiving = true
		m.commid = ""
		p.setStatusLocked(m, StatusAnswering)
		p.ann.send(msg(hylafax.ModemBusy, m.name, ""))
		return &Lease{pool: p, m: m, owned: true}, nil
	}
	if p.cfg.Exclusive {
		return nil, ErrNoModem
	}
	m := p.modems[p.next%n]
	p.next = (p.next + 1) % n
	return &Lease{pool: p, m: m}, nil
}

// Drain stops handing out modems: idle modems go down at once and busy
// ones when they are released.
func (p *Pool) Drain() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.draining {
		return
	}
	p.draining = true
	now := time.Now()
	for _, m := range p.modems {
		if m.state(true, p.cfg.SendHold, now) == Down {
			p.announceLocked(m, false)
		}
	}
}

// Close drains the pool, announces every modem down (+m:D), stops the FIFO
// readers and flushes what is left for faxq. Receptions still holding a
// lease should be finished first.
func (p *Pool) Close() error {
	p.Drain()
	p.mu.Lock()
	now := time.Now()
	for _, m := range p.modems {
		if m.state(true, p.cfg.SendHold, now) != Down {
			p.setStatusLocked(m, StatusDown)
			p.ann.send(msg(hylafax.ModemDown, m.name, ""))
		}
	}
	p.mu.Unlock()
	close(p.stop)
	p.closeFIFOs()
	p.readers.Wait()
	return p.ann.close()
}

func (p *Pool) closeFIFOs() {
	for _, f := range p.fifos {
		f.Close()
	}
}

// announceLocked tells faxq the modem's current state; withNumber adds the
// +m:N line faxgetty sends first. Callers hold p.mu.
func (p *Pool) announceLocked(m *modem, withNumber bool) {
	if withNumber {
		p.ann.send(msg(hylafax.ModemNumber, m.name, p.cfg.Number))
	}
	switch m.state(p.draining, p.cfg.SendHold, time.Now()) {
	case Ready:
		p.setStatusLocked(m, StatusIdle)
		p.ann.send(hylafax.NewReadyMessage(m.name, p.cfg.Ready))
	case Receiving:
		p.ann.send(msg(hylafax.ModemBusy, m.name, ""))
		if withNumber && m.commid != "" {
			p.ann.send(msg(hylafax.ModemCommID, m.name, m.commid))
		}
	case Sending:
		p.setStatusLocked(m, StatusSending)
		p.ann.send(msg(hylafax.ModemInUse, m.name, ""))
	case Down:
		p.setStatusLocked(m, StatusDown)
		p.ann.send(msg(hylafax.ModemDown, m.name, ""))
	}
}

// snapshot returns the messages announcing every modem's state, used to
// resynchronise faxq after it was away.
func (p *Pool) snapshot() []hylafax.Message {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []hylafax.Message
	now := time.Now()
	for _, m := range p.modems {
		out = append(out, msg(hylafax.ModemNumber, m.name, p.cfg.Number))
		switch m.state(p.draining, p.cfg.SendHold, now) {
		case Ready:
			out = append(out, hylafax.NewReadyMessage(m.name, p.cfg.Ready))
		case Receiving:
			out = append(out, msg(hylafax.ModemBusy, m.name, ""))
			if m.commid != "" {
				out = append(out, msg(hylafax.ModemCommID, m.name, m.commid))
			}
		case Sending:
			out = append(out, msg(hylafax.ModemInUse, m.name, ""))
		case Down:
			out = append(out, msg(hylafax.ModemDown, m.name, ""))
		}
	}
	return out
}

func msg(k hylafax.Kind, id, arg string) hylafax.Message {
	return hylafax.Message{Kind: k, ID: id, Arg: arg}
}

func (p *Pool) setStatusLocked(m *modem, text string) {
	if m.statusText == text {
		return
	}
	m.statusText = text
	p.ann.status(m.name, text)
}

// command applies one message read from FIFO.<modem>.
func (p *Pool) command(m *modem, cmd hylafax.Message) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	switch {
	case cmd.Kind == hylafax.GettyHello:
		// faxq (re)started: it knows the modem as DOWN. Tell it the
		// truth, whatever that is; never claim ready while busy.
		p.ann.resync()
		p.announceLocked(m, true)
	case cmd.Kind == hylafax.GettyLock:
		// faxq assigned the modem to an outbound job and holds its UUCP
		// lock until the send program has exited.
		m.locked = true
		p.announceLocked(m, false)
	case cmd.Kind == hylafax.GettyState && cmd.Arg == "B":
		// gofaxsend started using the modem.
		m.sendingAt = now
		p.announceLocked(m, false)
	case cmd.Kind == hylafax.GettyState && cmd.Arg == "R":
		// gofaxsend finished with the modem. If a reception holds it,
		// it stays busy.
		if m.sendingAt.IsZero() {
			return
		}
		m.sendingAt = time.Time{}
		p.announceLocked(m, false)
	default:
		p.log.Warn("unhandled modem FIFO command", "modem", m.name, "kind", cmd.Kind, "arg", cmd.Arg)
	}
}

// jobResult passes on how a send attempt on m ended. The record names the
// job only for the log: the modem's state follows SB and SR alone.
func (p *Pool) jobResult(m *modem, cmd hylafax.Message) {
	r, err := hylafax.ParseJobResult(cmd)
	if err != nil {
		p.log.Warn("bad modem FIFO record", "modem", m.name, "err", err)
		return
	}
	p.log.Info("send attempt ended", "modem", m.name, "job", r.JobID, "outcome", string(r.Outcome), "pages", r.Pages)
	if p.cfg.JobResult != nil {
		p.cfg.JobResult(r)
	}
}

// watchLocks clears the lock of modems whose UUCP lock faxq removed.
func (p *Pool) watchLocks() {
	defer p.readers.Done()
	t := time.NewTicker(lockPoll)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-t.C:
		}
		p.mu.Lock()
		var locked []*modem
		for _, m := range p.modems {
			if m.locked {
				locked = append(locked, m)
			}
		}
		p.mu.Unlock()
		for _, m := range locked {
			if _, err := os.Stat(filepath.Join(p.cfg.LockDir, "LCK.."+m.name)); err == nil {
				continue
			}
			p.mu.Lock()
			if m.locked {
				m.locked = false
				p.announceLocked(m, false)
			}
			p.mu.Unlock()
		}
	}
}
