package esltest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gofaxserver/gofaxserver/gofaxlib/esl"
)

// dialTimeout bounds connecting to the outbound-socket listener.
const dialTimeout = 5 * time.Second

// maxQueuedApps bounds the applications a socket client may queue.
const maxQueuedApps = 1000

// app is one queued application (sendmsg call-command: execute).
type app struct {
	name, arg string
	lock      bool          // event-lock: true
	uuid      string        // Application-UUID
	done      chan struct{} // closed after CHANNEL_EXECUTE_COMPLETE (sync mode)
}

// executor runs a channel's applications, as the channel thread of an
// "async full" socket session does. It owns the leg's teardown.
type executor struct {
	sim  *Sim
	leg  *leg
	link *faxLink
	conn *conn // nil until the listener connected

	mu      sync.Mutex
	queue   []app
	wake    chan struct{}
	parked  bool
	lastRes string // current_application_response of the last app

	socketApp string // Application-UUID of the socket application

	// sync is "socket <addr> full" without async (Socket-Mode: static):
	// sendmsg replies when the application is done, and after a hangup
	// the channel waits for the client's exit before it is torn down.
	sync        bool
	sessionDone chan struct{} // closed when the socket session ends
	lingerSent  bool          // guarded by mu
	outlive     bool          // Scenario.OutliveSocket

	answered chan struct{} // closed on answer
	ringing  chan struct{} // closed on ring_ready
	ansOnce  sync.Once
	ringOnce sync.Once
}

func newExecutor(s *Sim, l *leg, link *faxLink) *executor {
	if s.opts.SyncSocket {
		l.holdPeer = make(chan struct{})
	}
	return &executor{sync: s.opts.SyncSocket, sim: s, leg: l, link: link, wake: make(chan struct{}, 1),
		answered: make(chan struct{}), ringing: make(chan struct{}), lastRes: "_none_", socketApp: newUUID(),
		sessionDone: make(chan struct{})}
}

func (x *executor) enqueue(a app) bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	if len(x.queue) >= maxQueuedApps {
		return false
	}
	x.queue = append(x.queue, a)
	select {
	case x.wake <- struct{}{}:
	default:
	}
	return true
}

// next pops the next queued app; if nestable only a non-event-locked one.
func (x *executor) next(nestable bool) (app, bool) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if len(x.queue) == 0 || (nestable && x.queue[0].lock) {
		return app{}, false
	}
	a := x.queue[0]
	x.queue = x.queue[1:]
	return a, true
}

// run is the channel thread: it runs apps until hangup, then completes
// the socket application and tears the channel down.
func (x *executor) run(onComplete func()) {
	l := x.leg
	var socketGone <-chan struct{}
	if x.outlive {
		socketGone = x.sessionDone
	}
	for !l.isHungup() {
		a, ok := x.next(false)
		if !ok {
			select {
			case <-x.wake:
			case <-l.hungup:
			case <-socketGone:
				// Nothing queued is left and the socket application
				// has ended: the dialplan is over.
				x.hangup("NORMAL_CLEARING")
			case <-x.sim.ctx.Done():
				x.hangup("NORMAL_CLEARING")
			}
			continue
		}
		if !x.parked {
			x.parked = true
			l.fire("CHANNEL_PARK", "", nil, nil)
		}
		x.exec(a)
	}
	if x.sync && x.conn != nil {
		// The static socket holds the channel until the client exits
		// (capture sync-mode-t38: no HANGUP_COMPLETE, no BYE before exit).
		x.mu.Lock()
		sent := x.lingerSent
		x.lingerSent = true
		x.mu.Unlock()
		if !sent {
			x.afterHangup()
		}
		select {
		case <-x.sessionDone:
		case <-x.sim.ctx.Done():
		}
	}
	l.releasePeer()
	if x.parked {
		l.fire("CHANNEL_UNPARK", "", nil, nil)
	}
	x.mu.Lock()
	res := x.lastRes
	x.mu.Unlock()
	l.fire("CHANNEL_EXECUTE_COMPLETE", "", nil, esl.Headers{
		{Name: "Application", Value: "socket"},
		{Name: "Application-Data", Value: x.sim.socketArg()},
		{Name: "Application-Response", Value: res},
		{Name: "Application-UUID", Value: x.socketApp},
	})
	t, _ := loadTemplates()
	l.finish(t.bComplete, x.sim.replacerB(l), onComplete)
}

// exec runs one application with its EXECUTE/EXECUTE_COMPLETE events.
func (x *executor) exec(a app) {
	l := x.leg
	if a.uuid == "" {
		a.uuid = newUUID()
	}
	l.mu.Lock()
	l.setVarLocked("current_application", a.name)
	if a.arg != "" {
		l.setVarLocked("current_application_data", a.arg)
	}
	l.mu.Unlock()
	x.sim.updateRec(l, func(r *CallRecord) { r.Apps = append(r.Apps, strings.TrimSpace(a.name+" "+a.arg)) })
	execHeaders := esl.Headers{{Name: "Application", Value: a.name}}
	if a.arg != "" {
		execHeaders = append(execHeaders, esl.Header{Name: "Application-Data", Value: a.arg})
	}
	l.fire("CHANNEL_EXECUTE", "", nil, append(execHeaders, esl.Header{Name: "Application-UUID", Value: a.uuid}))
	res := x.body(a)
	if res == "" {
		res = "_none_"
	}
	if res != "_none_" {
		l.setVar("current_application_response", res)
	}
	x.mu.Lock()
	x.lastRes = res
	x.mu.Unlock()
	l.fire("CHANNEL_EXECUTE_COMPLETE", "", nil, append(execHeaders,
		esl.Header{Name: "Application-Response", Value: res},
		esl.Header{Name: "Application-UUID", Value: a.uuid}))
	if a.done != nil {
		close(a.done)
	}
}

// body does what the application does and returns its response.
func (x *executor) body(a app) string {
	l, s := x.leg, x.sim
	switch a.name {
	case "answer", "pre_answer":
		if l.answer() {
			x.ansOnce.Do(func() { close(x.answered) })
			s.updateRec(l, func(r *CallRecord) { r.Answered = true })
		}
		t, _ := loadTemplates()
		l.mergeTemplate(t.bAnswer, s.replacerB(l), nil)
	case "ring_ready":
		l.ringReady()
		x.ringOnce.Do(func() { close(x.ringing) })
	case "set", "export":
		k, v, _ := strings.Cut(a.arg, "=")
		if k != "" {
			l.setVar(k, v)
		}
	case "unset":
		l.setVar(a.arg, "")
	case "sleep":
		ms, _ := strconv.Atoi(a.arg)
		return x.media(time.Duration(ms)*time.Millisecond, "")
	case "playback":
		d := time.Second
		if ms, ok := strings.CutPrefix(a.arg, "silence_stream://"); ok {
			n, _ := strconv.Atoi(strings.Split(ms, ",")[0])
			d = time.Duration(n) * time.Millisecond
		}
		return x.media(d, "FILE PLAYED")
	case "respond":
		code, _ := strconv.Atoi(strings.Fields(a.arg + " 0")[0])
		if !l.answered() {
			l.hangup(sipCause(code), "send_refuse")
		}
	case "hangup":
		cause := strings.TrimSpace(a.arg)
		if cause == "" {
			cause = "NORMAL_CLEARING"
		}
		x.hangup(cause)
	case "rxfax", "txfax":
		return x.fax(a)
	default:
		s.log.Warn("esltest: unknown application", "app", a.name, "uuid", l.uuid)
	}
	return ""
}

// hangup ends the channel from this side.
func (x *executor) hangup(cause string) {
	if x.leg.answered() {
		x.leg.hangup(cause, "send_bye")
	} else {
		x.leg.hangup(cause, "send_refuse")
	}
}

// media runs a media application for d. Without media (before answer) it
// just waits; once answered, queued non-event-locked applications run
// nested inside it, and then it completes only at hangup (captures
// noeventlock-async-t38 and outbound-rx-t38).
func (x *executor) media(d time.Duration, res string) string {
	l, s := x.leg, x.sim
	t := time.NewTimer(s.scaled(d))
	defer t.Stop()
	nested := false
	for {
		if l.answered() {
			for {
				a, ok := x.next(true)
				if !ok {
					break
				}
				x.exec(a)
				nested = true
			}
		}
		select {
		case <-t.C:
			if !nested {
				return res
			}
		case <-x.wake:
		case <-l.hungup:
			return res
		case <-s.ctx.Done():
			return res
		}
	}
}

// fax runs rxfax/txfax on the socket's channel.
func (x *executor) fax(a app) string {
	l, s := x.leg, x.sim
	e := &faxEnd{leg: l, tx: a.name == "txfax", file: a.arg, ident: l.getVar("fax_ident"),
		enableT38: l.getVar("fax_enable_t38") == "true", requestT38: l.getVar("fax_enable_t38_request") == "true",
		disableV17: isTrue(l.getVar("fax_disable_v17"))}
	s.updateRec(l, func(r *CallRecord) { r.File = a.arg })
	if e.tx {
		if res, ok := s.openDocument(e); !ok {
			return res
		}
	}
	s.runFax(x.link, e)
	return ""
}

// sipCause maps a "respond" SIP status to the hangup cause sofia reports.
func sipCause(code int) string {
	switch code {
	case 486:
		return "USER_BUSY"
	case 603:
		return "CALL_REJECTED"
	case 404:
		return "UNALLOCATED_NUMBER"
	case 480:
		return "NO_USER_RESPONSE"
	case 503:
		return "NORMAL_TEMPORARY_FAILURE"
	}
	return "NORMAL_CLEARING"
}

// startSession dials the socket listener for leg l, whose executor x
// owns the leg. It returns once the TCP connection is up.
func (s *Sim) startSession(ctx context.Context, x *executor, onComplete func()) error {
	l := x.leg
	l.mu.Lock()
	l.state, l.stateNum, l.hitDialplan = "CS_EXECUTE", 4, true
	l.mu.Unlock()
	l.fire("CHANNEL_EXECUTE", "", nil, esl.Headers{
		{Name: "Application", Value: "socket"},
		{Name: "Application-Data", Value: s.socketArg()},
		{Name: "Application-UUID", Value: x.socketApp},
	})
	var d net.Dialer
	dctx, cancel := context.WithTimeout(ctx, dialTimeout)
	defer cancel()
	nc, err := d.DialContext(dctx, "tcp", s.opts.SocketAddr)
	if err == nil {
		if x.conn = s.newConn(nc, true); x.conn == nil {
			nc.Close()
			err = ErrClosed
		}
	}
	s.log.Debug("esltest: outbound socket", "uuid", l.uuid, "addr", s.opts.SocketAddr, "err", err)
	if err != nil {
		// The socket application fails and the dialplan ends: hangup.
		l.hangup("NORMAL_CLEARING", "send_refuse")
	} else {
		x.conn.session = l
	}
	run := func() {
		x.run(func() {
			if onComplete != nil {
				onComplete()
			}
			if x.conn != nil && !x.sync {
				x.afterHangup()
			}
		})
	}
	if !s.spawn(run) {
		run() // closing: the channel hangs up at once
	}
	if err != nil {
		return fmt.Errorf("esltest: outbound socket %s: %w", s.opts.SocketAddr, err)
	}
	if !s.spawn(func() { s.serveSession(x) }) {
		x.conn.abort()
	}
	return nil
}

// afterHangup sends the linger notice, or the final notice and closes if
// the client did not ask to linger.
func (x *executor) afterHangup() {
	c := x.conn
	if c.lingering() {
		c.send(x.lingerNotice())
		c.unsubscribe() // the session is over: no CHANNEL_DESTROY on this socket
		return
	}
	c.send([]byte(finalNotice(x.leg.uuid)))
	c.closeAfterFlush()
}

func (x *executor) lingerNotice() []byte {
	return []byte("Content-Type: text/disconnect-notice\nControlled-Session-UUID: " + x.leg.uuid +
		"\nContent-Disposition: linger\nChannel-Name: " + x.leg.name + "\nLinger-Time: -1\nContent-Length: 0\n\n")
}

func finalNotice(uuid string) string {
	return "Content-Type: text/disconnect-notice\nControlled-Session-UUID: " + uuid +
		"\nContent-Disposition: disconnect\nContent-Length: 67\n\n" + goodbyeText
}

// serveSession reads the listener's commands on an outbound socket.
func (s *Sim) serveSession(x *executor) {
	c, l := x.conn, x.leg
	r := esl.NewReader(c.nc)
	connected := false
	defer func() {
		s.connClosed(c)
		close(x.sessionDone)
		// The socket application ends with the connection: the channel
		// hangs up, unless the scenario lets what is queued run on.
		if !x.outlive {
			x.hangup("NORMAL_CLEARING")
		}
	}()
	for {
		cmd, err := r.ReadCommand()
		if err != nil {
			if !errors.Is(err, net.ErrClosed) {
				s.log.Debug("esltest: outbound session ended", "uuid", l.uuid, "err", err)
			}
			c.abort()
			return
		}
		s.recordCommand(c, cmd)
		if !connected {
			if cmd.Line != "connect" {
				c.send(reply("-ERR command not found"))
				continue
			}
			connected = true
			c.send(s.channelData(l))
			continue
		}
		word, arg, _ := strings.Cut(cmd.Line, " ")
		switch word {
		case "exit":
			c.send(reply("+OK bye"))
			c.send([]byte(finalNotice(l.uuid)))
			c.closeAfterFlush()
			return
		case "nolinger":
			c.lingerMu.Lock()
			c.linger = false
			c.lingerMu.Unlock()
			c.send(reply("+OK will not linger"))
		case "sendmsg":
			s.sendmsgSession(x, arg, cmd)
		default:
			s.command(c, cmd)
		}
	}
}

// sendmsg on an inbound connection: "sendmsg <uuid>".
func (s *Sim) sendmsg(c *conn, arg string, cmd *esl.Command) {
	uuid := strings.TrimSpace(arg)
	if uuid == "" && c.session != nil {
		uuid = c.session.uuid
	}
	l := s.lookup(uuid)
	if l == nil {
		c.send(reply("-ERR invalid session id [" + uuid + "]"))
		return
	}
	s.deliverMsg(c, l, cmd)
}

func (s *Sim) sendmsgSession(x *executor, arg string, cmd *esl.Command) {
	if uuid := strings.TrimSpace(arg); uuid != "" && uuid != x.leg.uuid {
		s.sendmsg(x.conn, arg, cmd)
		return
	}
	s.deliverMsg(x.conn, x.leg, cmd)
}

// deliverMsg runs a sendmsg's call-command on leg l.
func (s *Sim) deliverMsg(c *conn, l *leg, cmd *esl.Command) {
	h := cmd.Headers
	switch strings.ToLower(h.Get("call-command")) {
	case "execute":
		x := s.executorOf(l)
		if x == nil {
			c.send(reply("-ERR no executor for this channel"))
			return
		}
		a := app{name: h.Get("execute-app-name"), arg: h.Get("execute-app-arg"),
			lock: strings.EqualFold(h.Get("event-lock"), "true"), uuid: h.Get("Event-UUID")}
		if a.arg == "" && len(cmd.Body) > 0 {
			a.arg = string(cmd.Body)
		}
		if x.sync {
			a.done = make(chan struct{})
		}
		if !x.enqueue(a) {
			c.send(reply("-ERR too many queued applications"))
			return
		}
		if x.sync {
			select { // a static socket answers when the application is done
			case <-a.done:
			case <-l.hungup:
			case <-s.ctx.Done():
			}
		}
		c.send(reply("+OK"))
	case "hangup":
		cause := h.Get("hangup-cause")
		if cause == "" {
			cause = "NORMAL_CLEARING"
		}
		// FreeSWITCH acknowledges before the hangup events; for a channel
		// already hanging up the +OK comes after its teardown (SCENARIOS.md,
		// "The sender hanging up mid-fax").
		if l.isHungup() {
			select {
			case <-l.done:
			case <-s.ctx.Done():
			}
			c.send(reply("+OK"))
			return
		}
		c.send(reply("+OK"))
		if x := s.executorOf(l); x != nil {
			if x.sync && x.conn == c && c.lingering() {
				// A static socket says "linger" before CHANNEL_HANGUP.
				x.mu.Lock()
				x.lingerSent = true
				x.mu.Unlock()
				c.send(x.lingerNotice())
			}
			x.hangup(cause)
		} else if l.answered() {
			l.hangup(cause, "send_bye")
		} else {
			l.hangup(cause, "send_refuse")
		}
		return
	default:
		c.send(reply("+OK"))
	}
}

func (s *Sim) executorOf(l *leg) *executor {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.executors[l.uuid]
}

// channelData renders the outbound "connect" reply: the channel data as
// one header block ending in the command/reply headers (README fact 4).
func (s *Sim) channelData(l *leg) []byte {
	hs := s.eventHeaders("CHANNEL_DATA", "")
	l.mu.Lock()
	hs = l.profileHeaders(hs, "Channel-")
	hs = l.channelHeaders(hs, true)
	l.mu.Unlock()
	var b strings.Builder
	for _, h := range hs {
		b.WriteString(h.Name + ": " + esl.URLEncode(h.Value) + "\n")
	}
	mode := "async"
	if x := s.executorOf(l); x != nil && x.sync {
		mode = "static"
	}
	b.WriteString("Content-Type: command/reply\nReply-Text: %2BOK%0A\nSocket-Mode: " + mode + "\nControl: full\n\n")
	return []byte(b.String())
}
