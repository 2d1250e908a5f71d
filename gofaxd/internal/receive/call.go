// Package receive runs one inbound fax call on FreeSWITCH's outbound event
// socket, the way faxgetty receives a fax for HylaFAX: pick the recipient,
// take a virtual modem, ask DynamicConfig, answer, run rxfax into a recvq
// file, wait for both the spandsp result and the hangup under deadlines,
// then tag the TIFF, write the xferfaxlog RECV record and the session log,
// and hand the fax to faxrcvd (RunFaxrcvd, through a queue).
//
// Each reception is journaled (recv.start, recv.done; see journal.go), so
// that the Recovery (Handler.Recover) records the receptions a call could
// not: an earlier run's (crash, kill -9, power loss) and those whose end
// FreeSWITCH did not confirm. Before faxrcvd runs, a reception is made
// durable together with those ending at the same time (durable.go).
//
// Handler.Serve owns the whole call in the goroutine that calls it; the
// one goroutine it starts (ending the socket session while the reception
// is journaled) is waited for before Serve returns, so nothing outlives
// the call.
package receive

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gofaxserver/gofaxserver/gofaxd/internal/modem"
	"github.com/gofaxserver/gofaxserver/gofaxlib"
	"github.com/gofaxserver/gofaxserver/gofaxlib/esl"
	"github.com/gofaxserver/gofaxserver/gofaxlib/freeswitch"
	"github.com/gofaxserver/gofaxserver/gofaxlib/hylafax"
)

// Channel is what a call needs of its event socket connection.
// *esl.OutboundConn implements it.
type Channel interface {
	ChannelData() *esl.Event
	Linger(ctx context.Context) error
	Filter(ctx context.Context, header, value string) error
	Subscribe(ctx context.Context, format string, names ...string) error
	Execute(ctx context.Context, app, arg string) error
	Hangup(ctx context.Context, cause string) error
	API(ctx context.Context, cmd string) (string, error)
	Events() <-chan *esl.Event
	Err() error
	Exit(ctx context.Context) error
}

// Settings configure every reception. Paths are absolute.
type Settings struct {
	Spool         string
	RecipientFrom []string // sources in order, see FindRecipient
	Ident         string   // default CSI (fax_ident)
	EnableT38     bool
	RequestT38    bool
	AnswerAfter   time.Duration // ring this long before answering (0: answer at once)
	WaitTime      time.Duration // silence after answering

	DynamicConfig        string // command (hook.Command), relative to Spool; "" for none
	DynamicConfigTimeout time.Duration
	FaxRcvdCmd           string // command (hook.Command), relative to Spool; "" for none
	FaxRcvdTimeout       time.Duration

	RejectResponse int // SIP code when no modem is free
	ScreenResponse int // SIP code when DynamicConfig rejects the call or no recipient is found

	PageTimeout time.Duration // longest time without fax progress (0: none)
	MaxCallTime time.Duration // longest call (0: DefaultMaxCallTime)
	// CommandTimeout bounds the reply to one event socket command
	// ([freeswitch] timeout; 0: DefaultCommandTimeout).
	CommandTimeout time.Duration

	XferFaxLog   string // "" disables the RECV records
	RecvFileMode fs.FileMode
	// ReceivingMode is the file's mode while FreeSWITCH writes it (0:
	// its final mode): 0660 when FreeSWITCH runs as another user of the
	// spool's group.
	ReceivingMode fs.FileMode
	// Owner, if set, owns the received files (gofaxd running as root in
	// a spool that belongs to uucp).
	Owner       *hylafax.FileOwner
	LogFileMode fs.FileMode

	// SoftmodemFallback receives callers on the fallback list (keys made
	// by Numbering) without T.38, and puts callers whose T.38 reception
	// failed on its inbound realm (see freeswitch.Fallback).
	SoftmodemFallback bool
	Numbering         freeswitch.Numbering
	FallbackTTL       time.Duration
	FallbackMax       int // entries kept in the inbound realm; 0 = no bound

	// Dial opens an inbound event socket connection to FreeSWITCH. It is
	// used to end a call whose outbound socket was lost, so that spandsp
	// closes the file with the pages that arrived. Nil leaves such a call
	// alone.
	Dial func(ctx context.Context) (Control, error)
}

// pipeliner is a Channel that sends several commands in one write and
// waits for their replies together (*esl.OutboundConn): the commands
// that start a reception take one round trip instead of a dozen.
type pipeliner interface {
	Pipeline(ctx context.Context, cmds ...*esl.Command) ([]*esl.Message, error)
}

// send sends cmds in order, bounded by cctx: pipelined when the channel
// can, else one after the other (seq holds the same commands as Channel
// calls). An error means a command failed or was not sent.
func (c *call) send(cctx context.Context, cmds func() ([]*esl.Command, error), seq []func(context.Context) error) error {
	if p, ok := c.ch.(pipeliner); ok {
		list, err := cmds()
		if err != nil {
			return err
		}
		_, err = p.Pipeline(cctx, list...)
		return err
	}
	for _, cmd := range seq {
		if err := cmd(cctx); err != nil {
			return err
		}
	}
	return nil
}

// Control is an inbound event socket connection (*esl.Conn).
type Control interface {
	API(ctx context.Context, cmd string) (string, error)
	Filter(ctx context.Context, header, value string) error
	Subscribe(ctx context.Context, format string, names ...string) error
	Events() <-chan *esl.Event
	Close() error
}

// localErrorResponse refuses calls when the spool is broken: the caller
// should try again later.
const localErrorResponse = 503

// DefaultCommandTimeout bounds one event socket command when
// Settings.CommandTimeout is zero; FreeSWITCH answers sendmsg and api
// within milliseconds.
const DefaultCommandTimeout = 10 * time.Second

// sessionFlush is how often a call's session log reaches the file while
// the call runs: the lines are kept in memory in between, so that a held
// call holds no descriptor for it (only its socket and its recvq file).
const sessionFlush = time.Second

// DefaultMaxCallTime bounds a call when Settings.MaxCallTime is zero: no
// wait is without a deadline. A 100-page fax at 2400 bit/s takes about
// an hour.
const DefaultMaxCallTime = 2 * time.Hour

// Timing of the call's end game.
const (
	// resultGrace is how long to wait for spandsp's result after the
	// hangup completed. In the captures it comes before
	// CHANNEL_HANGUP_COMPLETE; this is for event orders never seen.
	resultGrace = 5 * time.Second
	// KillGrace bounds each of the two attempts to end a call:
	// uuid_kill on the call's socket and the wait for its hangup, then
	// uuid_kill over a new connection and the wait until the channel is
	// gone. FreeSWITCH hangs up within milliseconds of uuid_kill. A
	// killed call is recorded within 2 × KillGrace.
	KillGrace = 5 * time.Second
)

// Outcome classes reported to the Observer.
const (
	ClassReceived      = "received"       // every page, spandsp success
	ClassPartial       = "partial"        // some pages arrived
	ClassFailed        = "failed"         // reached fax, no page
	ClassRejected      = "rejected"       // DynamicConfig said no
	ClassBusy          = "busy"           // no modem free
	ClassNoRecipient   = "no_recipient"   // no usable called number
	ClassUnknownNumber = "unknown_number" // refused by the Router: a number no tenant has, or a suspended one
	ClassError         = "error"          // local trouble (spool), or a connection without a valid UUID
	// ClassUnconfirmed: the call's end could not be confirmed (its socket
	// was lost and FreeSWITCH could not be asked, or gofaxd stopped
	// waiting); the Recovery records it once FreeSWITCH confirms.
	ClassUnconfirmed = "unconfirmed"
)

// Router decides by the called number whether a call is taken, and for
// whom. Route is called once per call, before answering; it must not
// block (an in-memory lookup).
type Router interface {
	Route(recipient string) Route
}

// Route is what a Router decided for a call.
type Route struct {
	// Refuse, when not empty, says why the call is refused: with
	// ScreenResponse, or with 503 (try again later) when Temporary.
	Refuse    string
	Temporary bool
	// FaxID is the id of the fax the call becomes; CalledNumber the
	// called number as E.164 (as found when it is none).
	FaxID        string
	CalledNumber string
	// The number's tenant ("" when no tenant has it) and the number.
	TenantID, TenantName, NumberID string
	// Ident is the number's CSI ("": the default); DynamicConfig's
	// LocalIdentifier still wins.
	Ident string
}

// Outcome is what a finished call reports to the Observer.
type Outcome struct {
	Class string
	Pages int
	// Lost is true when the event socket ended before the call did.
	Lost bool
	// WithoutModem is true for a call accepted while every modem was busy
	// (allocateinbounddevices=false): it held no modem, faxstat did not
	// show it.
	WithoutModem bool
}

// Observer is told about calls, for metrics. Its methods must not block.
type Observer interface {
	CallStarted()
	CallEnded(Outcome)
}

// uuidRe is the form of the UUIDs FreeSWITCH gives its channels.
var uuidRe = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// Handler receives faxes. Its fields must be set before Serve is called
// and not changed afterwards.
type Handler struct {
	Settings
	Pool     *modem.Pool
	Log      *slog.Logger
	Observer Observer
	// Abort, if set, ends when gofaxd can wait no longer for its calls:
	// what a call still waits for then (FreeSWITCH ending it) is cut
	// short, and the call recorded as it is. Serve's ctx ends before, at
	// the end of the shutdown grace, and kills the call.
	Abort context.Context
	// Journal, if set, keeps each reception from its start (recv.start)
	// until it is recorded, and each recorded one (recv.done) until
	// faxrcvd ran: nothing is lost to a crash (see Recover).
	Journal Journal
	// Faxrcvd, if set, runs faxrcvd for recorded receptions; without
	// it, faxrcvd runs in the call once its connection is closed.
	Faxrcvd Queue
	// Router, if set, routes each call by its called number (tenants)
	// before a modem is taken or anything is answered.
	Router Router
	// Syncer makes receptions durable (see durable.go); nil is
	// hylafax.OSSyncer (fsync, fdatasync). A hylafax.FileSystemSyncer
	// makes each round durable with syncfs.
	Syncer hylafax.Syncer

	active   active // recv.start records of running calls
	recovery recovery
	seq      sequences
	commits  committer
	noModem  rateLog
}

// noModemEvery bounds the warnings about calls received without a modem:
// with allocateinbounddevices=false every call beyond the modems is one,
// and gofaxd_calls_without_modem_total counts each.
const noModemEvery = time.Minute

// rateLog counts events that are logged at most once an interval.
type rateLog struct {
	mu   sync.Mutex
	last time.Time
	n    int
}

// due counts one event and reports whether to log now, with the events
// since the last time.
func (r *rateLog) due(every time.Duration) (int, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.n++
	now := time.Now()
	if !r.last.IsZero() && now.Sub(r.last) < every {
		return 0, false
	}
	n := r.n
	r.last, r.n = now, 0
	return n, true
}

// warnNoModem notes a call received without a modem: the first is
// logged, the following ones once every noModemEvery with their count.
func (h *Handler) warnNoModem(log *slog.Logger) {
	if n, ok := h.noModem.due(noModemEvery); ok {
		log.Warn("no modem free: call accepted without occupying one; faxstat does not show it (counted in gofaxd_calls_without_modem_total; logged at most once a minute)",
			"calls", n)
	}
}

func (h *Handler) logger() *slog.Logger {
	if h.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return h.Log
}

type nopObserver struct{}

func (nopObserver) CallStarted()      {}
func (nopObserver) CallEnded(Outcome) {}

// Serve runs one call to its end. ctx is cancelled when the daemon stops
// waiting for calls: the call is then killed and still recorded.
func (h *Handler) Serve(ctx context.Context, ch Channel) {
	// Serve, run and wait keep small frames: a held call waits on a stack
	// that the runtime shrinks to 4 KiB (setUp's big frame is gone by then).
	c, ok, stop := h.newCall(ctx, ch)
	defer stop()
	obs := h.Observer
	if obs == nil {
		obs = nopObserver{}
	}
	obs.CallStarted()
	if ok {
		c.run(ctx)
	} else {
		c.exit()
	}
	obs.CallEnded(c.out)
}

// newCall takes in a connection: its call's identity and contexts. ok is
// false for a channel whose Unique-ID is not a UUID: it goes into filter,
// uuid_kill and uuid_exists commands, so the connection is refused
// (ClassError) and nothing of it is used. stop ends the call's contexts.
func (h *Handler) newCall(ctx context.Context, ch Channel) (c *call, ok bool, stop func()) {
	log := h.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c = &call{h: h, ch: ch, start: time.Now()}
	data := ch.ChannelData()
	c.uuid = data.UUID()
	fin, cancel := context.WithCancel(context.WithoutCancel(ctx))
	stop = cancel
	if h.Abort != nil {
		unhook := context.AfterFunc(h.Abort, cancel)
		stop = func() { unhook(); cancel() }
	}
	c.fin = fin
	if !uuidRe.MatchString(c.uuid) {
		log.Error("connection refused: its Unique-ID is not a UUID", "unique_id", strconv.QuoteToASCII(c.uuid))
		c.log = log
		c.out.Class = ClassError
		return c, false, stop
	}
	c.cidnum, _ = freeswitch.CallerNumber(firstOf(data.Get("Caller-Caller-ID-Number"), data.Get("Channel-Caller-ID-Number")))
	c.cidname = CleanName(firstOf(data.Get("Caller-Caller-ID-Name"), data.Get("Channel-Caller-ID-Name")))
	c.gateway, _ = freeswitch.CallerNumber(data.Var("sip_gateway"))
	c.log = log.With("call_uuid", c.uuid, "caller", c.cidnum)
	return c, true, stop
}

func firstOf(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

// call is the state of one reception.
type call struct {
	h     *Handler
	ch    Channel
	log   *slog.Logger
	start time.Time
	out   Outcome
	// fin is the context for FreeSWITCH commands and faxrcvd: unlike
	// Serve's ctx it outlives the shutdown grace (the call is killed and
	// recorded then) and ends only with Handler.Abort.
	fin context.Context

	uuid, cidnum, cidname, recipient, gateway string

	lease   *modem.Lease
	cfg     CallConfig
	session *hylafax.SessionLog
	commid  string
	file    *hylafax.RecvFile
	startID string // the recv.start journal record, "" without one
	route   Route  // the Router's decision
	t38     bool

	tr     freeswitch.Tracker // the call's events; in the call, not on wait's stack
	res    gofaxlib.Result
	killed string    // why the call was killed, "" if it was not
	lost   error     // why the socket ended early, nil if it did not
	hungUp time.Time // when CHANNEL_HANGUP_COMPLETE arrived
	// ended is true once rxfax has closed the file: its
	// CHANNEL_EXECUTE_COMPLETE arrived, or the channel's end is confirmed
	// (CHANNEL_HANGUP_COMPLETE, or uuid_exists false). Only then may the
	// file be tagged or removed.
	ended  bool
	exited bool

	pageStart time.Time             // when the page being received began: negotiation or the previous page
	pageTimes map[int]time.Duration // time each page took, by page number (one entry per page event at most)
}

func (c *call) run(ctx context.Context) {
	defer c.exit()
	defer c.close()
	ok, startErr := c.setUp(ctx)
	if !ok {
		return
	}
	c.wait(ctx, startErr)
	c.finish(ctx)
}

// close gives back what setUp took; each is a no-op once finish or
// handOver gave it back.
func (c *call) close() {
	if c.file != nil {
		c.file.Close()
	}
	if c.session != nil {
		c.session.Close()
	}
	if c.lease != nil {
		c.lease.Release(c.recvInfo(0))
	}
}

// setUp routes the call, takes a modem, creates the session log and the
// recvq file and answers. ok is false when the call was refused;
// startErr is set when rxfax could not be started.
func (c *call) setUp(ctx context.Context) (ok bool, startErr error) {
	h := c.h
	rcpt, src, ok := FindRecipient(c.ch.ChannelData().Var, h.RecipientFrom)
	if !ok {
		c.log.Warn("call refused: no usable called number", "sources", h.RecipientFrom)
		c.refuse(h.ScreenResponse, ClassNoRecipient)
		return false, nil
	}
	c.recipient = rcpt
	if r, ok := c.ch.(interface{ ReleaseChannelData() }); ok {
		// Everything the call needs of it is taken: thousands of held
		// calls do not keep theirs.
		r.ReleaseChannelData()
	}
	c.log = c.log.With("recipient", rcpt)
	if h.Router != nil && !c.routed() {
		return false, nil
	}
	base := c.log

	lease, err := h.Pool.Acquire()
	switch {
	case errors.Is(err, modem.ErrClosed):
		c.log.Warn("call refused: gofaxd is stopping", "sip_response", h.RejectResponse)
		c.refuse(h.RejectResponse, ClassBusy)
		return false, nil
	case err != nil:
		c.log.Warn("call refused: no modem free", "err", err, "sip_response", h.RejectResponse)
		c.refuse(h.RejectResponse, ClassBusy)
		return false, nil
	}
	c.lease = lease
	c.log = base.With("modem", lease.Modem())
	if !lease.Owned() {
		// allocateinbounddevices=false: GOfax.IP never refused a call for
		// want of a modem, neither do we.
		c.out.WithoutModem = true
		h.warnNoModem(c.log)
	}

	c.dynamicConfig(ctx)
	if c.cfg.Reject {
		c.log.Info("call rejected by DynamicConfig", "sip_response", h.ScreenResponse)
		c.refuse(h.ScreenResponse, ClassRejected)
		return false, nil
	}

	seq := h.seqs()
	sess, err := hylafax.NewSession(ctx, h.Spool, c.cidnum, hylafax.SessionOptions{Mode: h.LogFileMode,
		CommID: seq.log.Next, FlushInterval: sessionFlush})
	if err != nil {
		c.log.Error("call refused: cannot create session log", "err", err)
		c.refuse(localErrorResponse, ClassError)
		return false, nil
	}
	c.session, c.commid = sess, sess.CommID()
	if !lease.Owned() {
		sess.Printf("No modem free: reception recorded under %s, whose state is left alone", lease.Modem())
	}
	mode := h.RecvFileMode
	if c.cfg.FileMode != 0 {
		mode = c.cfg.FileMode
	}
	file, err := hylafax.CreateRecvFile(ctx, h.Spool, hylafax.RecvFileConfig{Mode: mode, ReceivingMode: h.ReceivingMode,
		Owner: h.Owner, Number: seq.recv.Next})
	if err != nil {
		c.log.Error("call refused: cannot create file in recvq", "err", err, "commid", c.commid)
		sess.Printf("Cannot create file in recvq: %v", err)
		c.refuse(localErrorResponse, ClassError)
		return false, nil
	}
	c.file = file
	c.log = base.With("modem", lease.Modem(), "commid", c.commid, "file", file.Name)
	lease.Begin(c.commid)
	c.startID = h.started(c.reception())

	c.log.Info("accepting call", "recipient_source", src, "caller_name", c.cidname, "gateway", c.gateway)
	sess.Printf("Inbound call %s from %s <%s> to %s via gateway %q", c.uuid, c.cidname, c.cidnum, c.recipient, c.gateway)
	err = c.answer()
	if s, ok := c.ch.(interface{ SetupDone() }); ok {
		// The reception runs: the next call waiting to be set up may
		// go on (esl.Server.MaxSetups).
		s.SetupDone()
	}
	return true, err
}

// routed asks the Router about the call and refuses it when it says so.
func (c *call) routed() bool {
	h := c.h
	c.route = h.Router.Route(c.recipient)
	r := &c.route
	if r.Refuse != "" {
		code, class := h.ScreenResponse, ClassUnknownNumber
		if r.Temporary {
			code, class = localErrorResponse, ClassError
		}
		c.log.Warn("call refused: "+r.Refuse, "called_number", r.CalledNumber, "sip_response", code)
		c.refuse(code, class)
		return false
	}
	c.log = c.log.With("fax_id", r.FaxID, "called_number", r.CalledNumber, "tenant", r.TenantName)
	return true
}

// command returns the context for one event socket command: it ends at
// the command timeout or when gofaxd can wait no longer.
func (c *call) command() (context.Context, context.CancelFunc) {
	d := c.h.CommandTimeout
	if d <= 0 {
		d = DefaultCommandTimeout
	}
	return context.WithTimeout(c.fin, d)
}

// refuse answers the unanswered call with a SIP response code and waits
// (at most one command timeout in all) until FreeSWITCH ran it: an "exit"
// sent earlier would end the socket application before the queued respond.
func (c *call) refuse(code int, class string) {
	c.out.Class = class
	names := []string{"CHANNEL_EXECUTE_COMPLETE", "CHANNEL_HANGUP"}
	resp := strconv.Itoa(code)
	cctx, cancel := c.command()
	defer cancel()
	err := c.send(cctx, func() ([]*esl.Command, error) {
		return commands(
			func() (*esl.Command, error) { return esl.FilterCommand("Unique-ID", c.uuid) },
			func() (*esl.Command, error) { return esl.SubscribeCommand("plain", names...) },
			func() (*esl.Command, error) { return esl.ExecuteCommand("respond", resp) })
	}, []func(context.Context) error{
		func(ctx context.Context) error { return c.ch.Filter(ctx, "Unique-ID", c.uuid) },
		func(ctx context.Context) error { return c.ch.Subscribe(ctx, "plain", names...) },
		func(ctx context.Context) error { return c.ch.Execute(ctx, "respond", resp) },
	})
	if err != nil {
		c.log.Warn("cannot refuse call", "err", err)
		return
	}
	for {
		select {
		case ev, ok := <-c.ch.Events():
			if !ok || ev.Name() == "CHANNEL_HANGUP" ||
				ev.Name() == "CHANNEL_EXECUTE_COMPLETE" && ev.Get("Application") == "respond" {
				return
			}
		case <-cctx.Done():
			c.log.Warn("refused call still up", "err", cctx.Err())
			return
		}
	}
}

// exit ends the socket session; FreeSWITCH then closes the connection.
// Calling it again does nothing.
func (c *call) exit() { c.startExit()() }

// startExit sends "exit" now and returns what waits until FreeSWITCH
// closed the connection (see exit): the session of a call that is
// ending ends while the call does the rest of its work.
func (c *call) startExit() (wait func()) {
	if c.exited || c.ch.Err() != nil {
		return func() {}
	}
	c.exited = true
	cctx, cancel := c.command()
	finish := c.ch.Exit
	if s, ok := c.ch.(interface {
		StartExit(context.Context) func(context.Context) error
	}); ok {
		finish = s.StartExit(cctx)
	}
	return func() {
		defer cancel()
		if err := finish(cctx); err != nil {
			c.log.Debug("exit", "err", err)
		}
	}
}

// answer subscribes to the call's events and queues the applications
// that answer it and run rxfax. With event-lock FreeSWITCH runs them in
// turn; their completion shows up as events. An error means rxfax was
// not queued: the call must be ended.
func (c *call) answer() error {
	h := c.h
	enable, request := h.EnableT38, h.RequestT38
	if c.cfg.EnableT38 != nil {
		enable = *c.cfg.EnableT38
	}
	if c.cfg.RequestT38 != nil {
		request = *c.cfg.RequestT38
	}
	if fb, key, ok := c.fallback(); ok && (enable || request) {
		cctx, cancel := c.command()
		active, err := fb.Active(cctx, freeswitch.Inbound, key)
		cancel()
		switch {
		case err != nil:
			c.log.Warn("softmodem fallback lookup failed", "err", err)
		case active:
			c.log.Info("softmodem fallback active for caller: T.38 off", "fallback_key", key)
			c.session.Printf("Softmodem fallback active for %s: T.38 disabled", c.cidnum)
			enable, request = false, false
		}
	}
	c.t38 = enable
	ident := h.Ident
	if c.route.Ident != "" {
		ident = c.route.Ident
	}
	if c.cfg.Ident != "" {
		ident = c.cfg.Ident
	}
	// Every value passed to "set" goes through safeIdent/SafeValue:
	// FreeSWITCH expands ${...} in it.
	ident = safeIdent(ident)
	type app struct{ name, arg string }
	apps := []app{}
	if h.AnswerAfter > 0 {
		apps = append(apps, app{"ring_ready", ""}, app{"sleep", ms(h.AnswerAfter)})
	}
	apps = append(apps, app{"answer", ""})
	if h.WaitTime > 0 {
		apps = append(apps, app{"playback", "silence_stream://" + ms(h.WaitTime)})
	}
	apps = append(apps,
		app{"set", "fax_enable_t38=" + strconv.FormatBool(enable)},
		app{"set", "fax_enable_t38_request=" + strconv.FormatBool(request)},
		app{"set", "fax_ident=" + ident},
		app{"rxfax", c.file.Path},
	)
	seq := []func(context.Context) error{
		c.ch.Linger,
		func(ctx context.Context) error { return c.ch.Filter(ctx, "Unique-ID", c.uuid) },
		func(ctx context.Context) error { return c.ch.Subscribe(ctx, "plain", subscription...) },
	}
	for _, a := range apps {
		seq = append(seq, func(ctx context.Context) error { return c.ch.Execute(ctx, a.name, a.arg) })
	}
	cctx, cancel := c.command()
	defer cancel()
	err := c.send(cctx, func() ([]*esl.Command, error) {
		cmds := []*esl.Command{esl.LingerCommand()}
		more, err := commands(
			func() (*esl.Command, error) { return esl.FilterCommand("Unique-ID", c.uuid) },
			func() (*esl.Command, error) { return esl.SubscribeCommand("plain", subscription...) })
		if err != nil {
			return nil, err
		}
		cmds = append(cmds, more...)
		for _, a := range apps {
			cmd, err := esl.ExecuteCommand(a.name, a.arg)
			if err != nil {
				return nil, err
			}
			cmds = append(cmds, cmd)
		}
		return cmds, nil
	}, seq)
	if err != nil {
		c.log.Error("cannot start the reception", "err", err)
	}
	return err
}

// commands builds commands, stopping at the first that cannot be built.
func commands(builders ...func() (*esl.Command, error)) ([]*esl.Command, error) {
	cmds := make([]*esl.Command, 0, len(builders))
	for _, b := range builders {
		cmd, err := b()
		if err != nil {
			return nil, err
		}
		cmds = append(cmds, cmd)
	}
	return cmds, nil
}

// fallback returns the softmodem fallback list and the caller's key, if
// the feature is on and the caller has a usable number.
func (c *call) fallback() (freeswitch.Fallback, string, bool) {
	if !c.h.SoftmodemFallback || c.cidnum == "" {
		return freeswitch.Fallback{}, "", false
	}
	key, err := c.h.Numbering.Key(c.cidnum)
	if err != nil {
		return freeswitch.Fallback{}, "", false
	}
	return freeswitch.Fallback{DB: freeswitch.DB{API: c.ch}, TTL: c.h.FallbackTTL, Max: c.h.FallbackMax}, key, true
}

func ms(d time.Duration) string { return strconv.FormatInt(d.Milliseconds(), 10) }

// wait follows the call until both the spandsp result and the hangup are
// in (either order), the socket ends, or a deadline kills the call. A
// call whose reception could not be started (startErr) is killed at once:
// with the socket still up, nothing else would end it before a deadline.
// Its deadlines are kept in a waiting on the heap, so that a held call
// waits on a small stack.
func (c *call) wait(ctx context.Context, startErr error) {
	w := c.startWaiting(ctx)
	defer c.endWaiting(w)
	if startErr != nil {
		c.kill(w, fmt.Sprintf("cannot start the reception (%v)", startErr))
	}
	events := c.ch.Events()
	for !(c.tr.Complete() && c.tr.Final()) {
		select {
		case ev, ok := <-events:
			if !c.onEvent(w, ev, ok) {
				return
			}
		case <-w.progress:
			c.kill(w, fmt.Sprintf("no fax progress for %v", c.h.PageTimeout))
		case <-w.maxCall:
			c.kill(w, fmt.Sprintf("call longer than %v", w.maxCallTime))
		case <-w.done:
			c.kill(w, "gofaxd is shutting down")
		case <-w.grace:
			return
		case <-w.killWait:
			c.lost = errors.New("the call did not end after uuid_kill")
			c.ended = c.endOrphan() || c.appDone(&c.tr)
			return
		case <-w.abort:
			c.aborted()
			return
		}
	}
}

// waiting is what wait waits for besides events: deadlines, stops.
type waiting struct {
	maxCallTime                        time.Duration
	maxCall, progress, grace, killWait <-chan time.Time
	stopMax, stopProgress              func()
	done, abort                        <-chan struct{}
	hangupSent                         bool
}

// startWaiting starts the call's deadlines: its longest time, and the
// longest time without fax progress.
func (c *call) startWaiting(ctx context.Context) *waiting {
	h := c.h
	c.tr.UUID = c.uuid
	never := make(<-chan time.Time)
	w := &waiting{maxCallTime: h.MaxCallTime, grace: never, killWait: never,
		done: ctx.Done(), abort: c.fin.Done()}
	if w.maxCallTime <= 0 {
		w.maxCallTime = DefaultMaxCallTime
	}
	w.maxCall, w.stopMax = timer(max(w.maxCallTime-time.Since(c.start), time.Millisecond))
	w.progress, w.stopProgress = timer(h.PageTimeout)
	return w
}

// endWaiting stops w's timers and keeps what the events told.
func (c *call) endWaiting(w *waiting) {
	w.stopMax()
	w.stopProgress()
	c.res = c.tr.Result()
}

// kill ends the call through uuid_kill and waits KillGrace for its end.
func (c *call) kill(w *waiting, why string) {
	if c.killed != "" {
		return
	}
	c.killed = why
	c.log.Warn("killing call", "reason", why)
	c.session.Printf("Killing call: %s", why)
	deadline := time.Now().Add(KillGrace)
	cctx, cancel := c.command()
	defer cancel()
	cctx, cancelKill := context.WithDeadline(cctx, deadline)
	defer cancelKill()
	if err := freeswitch.Kill(cctx, c.ch, c.uuid, ""); err != nil {
		c.log.Warn("uuid_kill failed", "err", err)
	}
	never := make(<-chan time.Time)
	w.maxCall, w.progress, w.done = never, never, nil
	w.killWait = time.After(time.Until(deadline))
}

// aborted records that the stop deadline ended the wait.
func (c *call) aborted() {
	if c.killed == "" {
		c.killed = "gofaxd is shutting down"
	}
	c.lost = errors.New("gofaxd stopped waiting for the call to end")
	c.log.Error("stop deadline reached: recording the call as it is")
	c.ended = c.appDone(&c.tr)
}

// onEvent takes in one event (ok false: the socket ended); false when
// the wait is over.
func (c *call) onEvent(w *waiting, ev *esl.Event, ok bool) bool {
	tr := &c.tr
	if !ok {
		if !tr.Complete() {
			c.lost = c.ch.Err()
			if c.lost == nil {
				c.lost = errors.New("connection closed")
			}
			c.log.Error("event socket lost during the call", "err", c.lost)
			c.ended = c.endOrphan() || c.appDone(tr)
		}
		return false
	}
	if ev.Format == esl.FormatNotice {
		// After the hangup events FreeSWITCH sends the linger
		// notice: nothing more will come for this channel.
		if tr.Complete() {
			return false
		}
		if ev.Get("Content-Disposition") != "linger" {
			// The session ends without the hangup seen here:
			// make sure the channel is gone.
			c.ended = c.endOrphan() || c.appDone(tr)
			return false
		}
		return true
	}
	change := tr.Add(ev)
	ev.Release() // the tracker keeps copies of what it needs
	if change&(freeswitch.ChangeNegotiation|freeswitch.ChangePage|freeswitch.ChangeResult) != 0 {
		if c.killed == "" {
			w.stopProgress()
			w.progress, w.stopProgress = timer(c.h.PageTimeout)
		}
		c.report(tr, change)
	}
	if change&freeswitch.ChangeHangup != 0 {
		w.hangupSent = true
	}
	if change&freeswitch.ChangeHangupComplete != 0 {
		c.hungUp = time.Now()
		c.ended = true
	}
	if change&freeswitch.ChangeAppDone != 0 && !w.hangupSent {
		// In "async full" mode the channel stays in the socket
		// application after rxfax: hang it up ourselves.
		w.hangupSent = true
		cctx, cancel := c.command()
		if err := c.ch.Hangup(cctx, "NORMAL_CLEARING"); err != nil {
			c.log.Debug("hangup", "err", err)
		}
		cancel()
	}
	if change&freeswitch.ChangeHangupComplete != 0 && !tr.Final() {
		w.grace = time.After(resultGrace)
	}
	return true
}

// appDone reports whether rxfax has returned (its
// CHANNEL_EXECUTE_COMPLETE arrived): spandsp closed the file before, so
// it is final even when FreeSWITCH cannot confirm the channel's end.
func (c *call) appDone(tr *freeswitch.Tracker) bool {
	if tr.AppDone() {
		c.log.Info("rxfax had returned: the received file is final")
		return true
	}
	return false
}

// timer returns a channel that fires after d, or never when d <= 0 (a
// zero setting means no deadline).
func timer(d time.Duration) (<-chan time.Time, func()) {
	if d <= 0 {
		return make(<-chan time.Time), func() {}
	}
	t := time.NewTimer(d)
	return t.C, func() { t.Stop() }
}

// orphanPoll is how often endOrphan asks whether the call is gone.
const orphanPoll = 50 * time.Millisecond

// endOrphan ends a call this handler can no longer follow, through a new
// inbound connection: uuid_kill, then wait (at most KillGrace in all) until the
// channel is gone, so that rxfax has closed the file. It reports whether
// FreeSWITCH confirmed that the channel is gone (uuid_exists false).
func (c *call) endOrphan() bool {
	if c.h.Dial == nil {
		return false
	}
	dctx, cancel := context.WithTimeout(c.fin, KillGrace)
	defer cancel()
	conn, err := c.h.Dial(dctx)
	if err != nil {
		c.log.Error("cannot reach FreeSWITCH to end the call", "err", err)
		return false
	}
	defer conn.Close()
	if err := freeswitch.Kill(dctx, conn, c.uuid, ""); err != nil {
		c.log.Debug("uuid_kill", "err", err)
	}
	for {
		out, err := conn.API(dctx, "uuid_exists "+c.uuid)
		switch out = strings.TrimSpace(out); {
		case err != nil:
			c.log.Error("cannot ask FreeSWITCH whether the call ended", "err", err)
			return false
		case out == "false":
			return true
		case out != "true":
			c.log.Error("cannot ask FreeSWITCH whether the call ended", "answer", out)
			return false
		}
		select {
		case <-dctx.Done():
			c.log.Error("call still up after uuid_kill", "err", dctx.Err())
			return false
		case <-time.After(orphanPoll):
		}
	}
}

// report passes fax progress on to faxq and the session log, and times
// the pages.
func (c *call) report(tr *freeswitch.Tracker, change freeswitch.Change) {
	c.res = tr.Result()
	r := &c.res
	now := time.Now()
	if change&freeswitch.ChangePage != 0 && !c.pageStart.IsZero() {
		// The page reported is the last one so far; a page received
		// again (after a retrain) took both times.
		if c.pageTimes == nil {
			c.pageTimes = make(map[int]time.Duration)
		}
		c.pageTimes[r.TransferredPages] += now.Sub(c.pageStart)
	}
	if change&(freeswitch.ChangePage|freeswitch.ChangeNegotiation) != 0 {
		c.pageStart = now
	}
	switch {
	case change&freeswitch.ChangeResult != 0:
		c.session.Printf("RECV result: success %v, code %d (%s), %d of %d pages",
			r.Success, r.ResultCode, r.ResultText, r.TransferredPages, r.TotalPages)
	case change&freeswitch.ChangePage != 0:
		c.lease.Page(c.recvInfo(r.TransferredPages))
		if n := len(r.Pages); n > 0 {
			p := r.Pages[n-1]
			c.session.Printf("RECV page %d: %s, %s, %d bad rows", p.Number, p.EncodingName, p.PixelSize, p.BadRows)
		}
	case change&freeswitch.ChangeNegotiation != 0:
		c.lease.Started(c.recvInfo(r.TransferredPages))
		c.session.Printf("Remote station %q, %d bit/s, ECM %v, T.38 %s", r.RemoteID, r.TransferRate, r.ECM, r.T38Status)
	}
}

// recvInfo describes the reception for faxq's receive records.
func (c *call) recvInfo(pages int) hylafax.RecvInfo {
	i := hylafax.RecvInfo{
		Time:   time.Since(c.start).Truncate(time.Second),
		Pages:  pages,
		Params: recvParams(&c.res).Encode(),
		CommID: c.commid,
		Sender: c.res.RemoteID,
	}
	if c.file != nil {
		i.File = c.file.Name
	}
	return i
}

// recvParams are the session parameters of a reception in HylaFAX's
// terms, from the last page received.
func recvParams(res *gofaxlib.Result) hylafax.Class2Params {
	var pg hylafax.SpandspPage
	if n := len(res.Pages); n > 0 {
		last := res.Pages[n-1]
		pg = hylafax.SpandspPage{Encoding: last.EncodingName, Resolution: last.Resolution, PixelSize: last.PixelSize}
	}
	return hylafax.SpandspParams(res.TransferRate, res.ECM, pg)
}
