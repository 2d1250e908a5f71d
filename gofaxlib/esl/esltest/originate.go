package esltest

import (
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/gofaxserver/gofaxserver/gofaxlib/esl"
)

var errNoSocket = errors.New("esltest: Options.SocketAddr is not set")

// originate runs "originate <args>" for connection c; job is the bgapi
// Job-UUID ("" for api). It returns the api response and fires the
// BACKGROUND_JOB at the point FreeSWITCH does.
func (s *Sim) originate(c *conn, args, job string) string {
	o, err := ParseOriginate(args)
	if err != nil {
		l := newLeg(s, false, true, "")
		s.register(l)
		s.updateRec(l, func(r *CallRecord) {
			r.UUID, r.Outbound, r.JobUUID, r.Command, r.Error, r.Ended = l.uuid, true, job, args, err.Error(), true
		})
		s.forget(l)
		body := "-ERR INVALID_NUMBER_FORMAT\n"
		if job != "" {
			s.backgroundJob(job, "originate "+args, body)
		}
		return body
	}
	var legs []DialLeg
	for _, g := range o.Legs {
		legs = append(legs, g...) // simultaneous legs are dialled in turn
	}
	body := ""
	for i, dl := range legs {
		body = s.dialLeg(c, o, dl, args, job, i == len(legs)-1)
		s.log.Debug("esltest: originate", "dial", dl.DialString, "result", strings.TrimSpace(body))
		if strings.HasPrefix(body, "+OK") {
			break
		}
	}
	return body
}

// dialLeg originates one leg. On success it returns "+OK <uuid>\n" at
// answer and leaves the application running; on failure "-ERR <cause>\n"
// after the leg is torn down. Only the last attempt fires BACKGROUND_JOB.
func (s *Sim) dialLeg(c *conn, o *Originate, dl DialLeg, args, job string, last bool) string {
	t, _ := loadTemplates()
	vars := append(append(esl.Headers{}, o.Vars...), dl.Vars...)
	get := func(k string) string {
		v := ""
		for _, h := range vars {
			if h.Name == k {
				v = h.Value
			}
		}
		return v
	}
	a := newLeg(s, true, true, dl.DialString)
	if u := get("origination_uuid"); u != "" && s.lookup(u) == nil {
		a.uuid = u // the caller chose the channel's UUID, as gofaxsend does
	}
	cid := get("origination_caller_id_number")
	if cid == "" {
		cid = "0000000000"
	}
	a.prof = profile{
		callerName: get("origination_caller_id_name"), callerNumber: cid, origNumber: cid, ani: cid,
		calleeName: "Outbound Call", calleeNumber: dl.Destination, destination: dl.Destination,
		source: "src/switch_ivr_originate.c", context: "default", created: micros(s.now()),
	}
	a.state, a.stateNum = "CS_INIT", 2
	a.mergeTemplate(t.aCreate, s.replacerA(a), vars)
	for _, h := range []esl.Header{
		{Name: "uuid", Value: a.uuid}, {Name: "call_uuid", Value: a.uuid},
		{Name: "channel_name", Value: a.name},
		{Name: "sip_destination_url", Value: "sip:" + dl.Destination + "@127.0.0.1"},
	} {
		a.setVar(h.Name, h.Value)
	}
	s.register(a)
	s.updateRec(a, func(r *CallRecord) {
		r.UUID, r.Outbound, r.JobUUID, r.Command = a.uuid, true, job, args
		r.DialString, r.Destination, r.Gateway = dl.DialString, dl.Destination, dl.Gateway
	})
	a.fire("CHANNEL_OUTGOING", "", nil, nil)
	a.fire("CHANNEL_STATE", "", nil, nil)
	a.fire("CHANNEL_CREATE", "", nil, nil)
	a.fire("CHANNEL_ORIGINATE", "", nil, nil)

	bg := func(body string) {
		if job != "" && (last || strings.HasPrefix(body, "+OK")) {
			s.backgroundJob(job, "originate "+args, body)
		}
	}
	fail := func() string {
		body := "-ERR " + a.hangupCauseOf() + "\n"
		a.finish(t.aComplete, s.replacerA(a), func() { bg(body) })
		return body
	}
	// An unanswered call's job reports before the hangup completes
	// (capture no-answer_A).
	unanswered := func() string {
		body := "-ERR " + a.hangupCauseOf() + "\n"
		bg(body)
		a.finish(t.aComplete, s.replacerA(a), nil)
		return body
	}
	timeout := originateLimit
	if n, err := strconv.Atoi(get("originate_timeout")); err == nil && n > 0 {
		timeout = time.Duration(n) * time.Second
	}

	sc, routed := s.route(dl.Destination)
	if cause, ok := strings.CutPrefix(dl.DialString, "error/"); ok {
		a.hangup(cause, "send_refuse")
		return fail()
	}
	var link *faxLink
	if !routed && s.opts.SocketAddr != "" {
		var ok bool
		if link, ok = s.dialLoopback(a, c, timeout); !ok {
			if a.hangupCauseOf() == "NO_ANSWER" {
				return unanswered()
			}
			return fail()
		}
	} else {
		if !s.sleep(answerDelay, a.hungup) {
			a.hangup("NORMAL_CLEARING", "send_cancel")
			return fail()
		}
		switch sc.Outcome {
		case Busy, Rejected, NotFound, NoRoute:
			a.hangup(outcomeCause[sc.Outcome], "recv_refuse")
			return fail()
		case NoAnswer:
			a.ringReady()
			ring := timeout
			if sc.RingTime > 0 && sc.RingTime < ring {
				ring = sc.RingTime
			}
			s.sleep(ring, a.hungup)
			a.hangup("NO_ANSWER", "send_cancel")
			return unanswered()
		}
		if sc.RingTime > 0 {
			a.ringReady()
			if !s.sleep(min(sc.RingTime, timeout), a.hungup) || sc.RingTime > timeout {
				a.hangup("NO_ANSWER", "send_cancel")
				return unanswered()
			}
		}
		a.answer()
		link = newFaxLink(sc)
		ident := sc.StationID
		if ident == "" {
			ident = "2222"
		}
		link.join(s, &faxEnd{ident: ident, enableT38: sc.T38, requestT38: sc.T38, disableV17: sc.DisableV17}, s.now())
		s.spawn(func() { s.remoteReceiver(a, c, link, sc) })
	}
	a.mergeTemplate(t.aAnswer, s.replacerA(a), nil)
	s.updateRec(a, func(r *CallRecord) { r.Answered = true })
	body := "+OK " + a.uuid + "\n"
	bg(body)
	if !s.spawn(func() { s.runOriginateApp(a, o, link) }) {
		a.hangup("NORMAL_CLEARING", "send_bye")
		a.finish(t.aComplete, s.replacerA(a), nil)
	}
	return body
}

func (l *leg) hangupCauseOf() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.hangupCause
}

// route returns the scenario routed to destination.
func (s *Sim) route(dest string) (Scenario, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sc, ok := s.routes[dest]
	if !ok {
		sc = s.opts.Default
	}
	return sc, ok
}

// dialLoopback delivers leg a's call to the socket listener as a new
// inbound channel and waits for it to be answered or to fail.
func (s *Sim) dialLoopback(a *leg, c *conn, timeout time.Duration) (*faxLink, bool) {
	a.mu.Lock()
	cid, dest := a.prof.callerNumber, a.prof.destination
	cname := a.prof.callerName
	a.mu.Unlock()
	b := s.newInboundLeg(InboundCall{CallerNumber: cid, CallerName: cname, Destination: dest})
	a.peer, b.peer = b, a
	s.updateRec(a, func(r *CallRecord) { r.PeerUUID = b.uuid })
	s.updateRec(b, func(r *CallRecord) { r.PeerUUID = a.uuid })
	link := newFaxLink(s.opts.Default)
	x := newExecutor(s, b, link)
	s.mu.Lock()
	s.executors[b.uuid] = x
	s.mu.Unlock()
	if err := s.startSession(s.ctx, x, nil); err != nil {
		s.log.Warn("esltest: loopback call cannot reach the socket listener", "err", err)
	}
	t := time.NewTimer(s.patience(timeout))
	defer t.Stop()
	ringing := x.ringing
	for {
		select {
		case <-ringing:
			a.ringReady()
			ringing = nil
		case <-x.answered:
			a.answer()
			if s.opts.Default.HangupAtPage > 0 || s.opts.Default.DropESL {
				s.spawn(func() { s.loopbackFaults(a, b, c, link) })
			}
			return link, true
		case <-a.hungup:
			return nil, false
		case <-t.C:
			a.hangup("NO_ANSWER", "send_cancel")
			return nil, false
		case <-s.ctx.Done():
			a.hangup("NORMAL_CLEARING", "send_cancel")
			return nil, false
		}
	}
}

// loopbackFaults applies Options.Default's HangupAtPage (the receiving
// leg hangs up) and DropESL (the originating client is dropped).
func (s *Sim) loopbackFaults(a, b *leg, c *conn, link *faxLink) {
	if !s.faxStarted(a, c, link, s.opts.Default.DropESL) {
		return
	}
	p := link.plan
	tx, rx := link.ends[0], link.ends[1]
	if p.stopAt < p.pages && tx.reached(p.stopAt, a.hungup, s.ctx.Done()) &&
		rx.reached(p.stopAt, b.hungup, s.ctx.Done()) && s.sleepUntil(p.start, dropAt(p.stopAt+1), a) {
		b.hangup("NORMAL_CLEARING", "send_bye")
	}
}

// faxStarted waits until both ends of link are present and, with
// dropESL, drops the originating client c once the first page is sent;
// false if the sending leg a hung up or the simulator closed first.
func (s *Sim) faxStarted(a *leg, c *conn, link *faxLink, dropESL bool) bool {
	select {
	case <-link.ready:
	case <-a.hungup:
		return false
	case <-s.ctx.Done():
		return false
	}
	if dropESL && c != nil {
		if !link.ends[0].reached(1, a.hungup, s.ctx.Done()) {
			return false
		}
		c.abort()
	}
	return true
}

// remoteReceiver plays the answering fax machine of a routed originate.
func (s *Sim) remoteReceiver(a *leg, c *conn, link *faxLink, sc Scenario) {
	if !s.faxStarted(a, c, link, sc.DropESL) {
		return
	}
	p := link.plan
	tx := link.ends[0]
	switch {
	case p.stopAt < p.pages:
		if tx.reached(p.stopAt, a.hungup, s.ctx.Done()) && s.sleepUntil(p.start, dropAt(p.stopAt+1), a) {
			a.hangup("NORMAL_CLEARING", "recv_bye")
		}
	case sc.NeverHangup || p.nofax:
	default:
		if tx.reached(p.pages, a.hungup, s.ctx.Done()) && s.sleepUntil(p.start, rxResultAt(p.pages)+farEndBye, a) {
			a.hangup("NORMAL_CLEARING", "recv_bye")
		}
	}
}

// runOriginateApp runs the originate's application on the answered leg a
// and tears the leg down.
func (s *Sim) runOriginateApp(a *leg, o *Originate, link *faxLink) {
	t, _ := loadTemplates()
	name, arg := o.App, o.AppArg
	if name == "" {
		name, arg = "park", ""
	}
	a.flipCallerID()
	a.mu.Lock()
	a.state, a.stateNum, a.hitDialplan = "CS_EXECUTE", 4, true
	a.setVarLocked("current_application", name)
	if arg != "" {
		a.setVarLocked("current_application_data", arg)
	}
	a.mu.Unlock()
	s.updateRec(a, func(r *CallRecord) { r.Apps = append(r.Apps, strings.TrimSpace(name+" "+arg)) })
	auuid := newUUID()
	hs := esl.Headers{{Name: "Application", Value: name}}
	if arg != "" {
		hs = append(hs, esl.Header{Name: "Application-Data", Value: arg})
	}
	a.fire("CHANNEL_EXECUTE", "", nil, append(hs, esl.Header{Name: "Application-UUID", Value: auuid}))
	res := "_none_"
	var bye *byeWaiter
	switch name {
	case "txfax", "rxfax":
		s.updateRec(a, func(r *CallRecord) { r.File = arg })
		e := &faxEnd{leg: a, tx: name == "txfax", file: arg, ident: a.getVar("fax_ident"),
			enableT38: a.getVar("fax_enable_t38") == "true", requestT38: a.getVar("fax_enable_t38_request") == "true",
			disableV17: isTrue(a.getVar("fax_disable_v17"))}
		ok := true
		if e.tx {
			if r, opened := s.openDocument(e); !opened {
				ok, res = false, r
			}
		}
		if ok {
			if e.tx {
				// Armed at phase E of a T.38 send, before its result event.
				bye = &byeWaiter{bye: make(chan struct{}), completed: make(chan struct{})}
				a.mu.Lock()
				a.byeWait = bye
				a.mu.Unlock()
			}
			s.runFax(link, e)
			// After a T.38 fax the channel stays until the far end hangs up
			// (README fact 7).
			if r, _ := s.Call(a.uuid); r.Result != nil && r.Result.T38 {
				select {
				case <-bye.bye:
				case <-a.hungup:
				case <-s.ctx.Done():
				}
			}
		}
	default:
		select {
		case <-a.hungup:
		case <-s.ctx.Done():
		}
	}
	if res != "_none_" {
		a.setVar("current_application_response", res)
	}
	a.fire("CHANNEL_EXECUTE_COMPLETE", "", nil, append(hs,
		esl.Header{Name: "Application-Response", Value: res},
		esl.Header{Name: "Application-UUID", Value: auuid}))
	if bye != nil {
		close(bye.completed)
	}
	a.hangup("NORMAL_CLEARING", "send_bye")
	a.finish(t.aComplete, s.replacerA(a), nil)
}
