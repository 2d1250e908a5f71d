package esltest

import (
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gofaxserver/gofaxserver/gofaxlib/esl"
)

// leg is one simulated FreeSWITCH channel.
type leg struct {
	sim *Sim
	// local legs live on the simulated switch and fire events; the far
	// end of a routed call is remote and only shapes what the local leg sees.
	local bool

	mu          sync.Mutex
	uuid        string
	name        string // Channel-Name
	outbound    bool   // Call-Direction outbound (originated) or inbound
	state       string // CS_*
	stateNum    int
	callState   string // DOWN, RINGING, EARLY, ACTIVE, HANGUP
	answerState string // ringing, early, answered, hangup
	hitDialplan bool
	codec       bool
	hangupCause string
	vars        esl.Headers // names without the variable_ prefix, in set order
	prof        profile

	hungup   chan struct{} // closed by hangup
	hungAt   time.Time     // when hangup was called (guarded by mu)
	fax      *faxEnd       // the running txfax/rxfax, if any (guarded by mu)
	byeWait  *byeWaiter    // an application done with its fax, waiting for the BYE (guarded by mu)
	hangOnce sync.Once
	// peer is the other leg of a loopback call, hung up with this one.
	peer *leg
	// holdPeer, if set, delays telling peer of the hangup until
	// releasePeer (a static socket sends the BYE only after exit).
	holdPeer    chan struct{}
	releaseOnce sync.Once
	// done is closed when the leg is destroyed (all its events fired).
	done  chan struct{}
	rec   CallRecord  // guarded by sim.mu
	final *CallRecord // rec with Vars once ended (guarded by sim.mu)
}

// profile is the caller profile (Caller-* headers).
type profile struct {
	callerName, callerNumber string
	origNumber, ani          string // the caller's number before any flip
	calleeName, calleeNumber string
	destination              string
	source, context          string
	username, dialplan       string
	networkAddr              string
	created, answered        int64 // µs since epoch
	progress, hangup         int64
}

func newLeg(s *Sim, local, outbound bool, name string) *leg {
	return &leg{
		sim: s, local: local, uuid: newUUID(), name: name, outbound: outbound,
		state: "CS_INIT", stateNum: 2, callState: "DOWN", answerState: "ringing",
		hungup: make(chan struct{}), done: make(chan struct{}),
	}
}

func micros(t time.Time) int64 { return t.UnixMicro() }

// setVar sets a channel variable, keeping its position if it exists.
func (l *leg) setVar(name, value string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.setVarLocked(name, value)
}

func (l *leg) setVarLocked(name, value string) {
	for i := range l.vars {
		if l.vars[i].Name == name {
			l.vars[i].Value = value
			return
		}
	}
	l.vars = append(l.vars, esl.Header{Name: name, Value: value})
}

func (l *leg) getVar(name string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, h := range l.vars {
		if h.Name == name {
			return h.Value
		}
	}
	return ""
}

// varsCopy returns the variables as a map.
func (l *leg) varsCopy() map[string]string {
	l.mu.Lock()
	defer l.mu.Unlock()
	m := make(map[string]string, len(l.vars))
	for _, h := range l.vars {
		m[h.Name] = h.Value
	}
	return m
}

// engineVar reports whether a variable is set by the simulation itself, so
// a template's value for it (from another call) must not be copied.
func engineVar(name string) bool {
	for _, p := range []string{
		"fax_", "has_t38", "t38_", "hangup_cause", "sip_term_", "sip_hangup_", "sip_reason",
		"proto_specific_hangup_cause", "sip_invite_failure_", "current_application",
		"playback_", "last_app", "last_arg", "origination_", "originate_", "ignore_early_media",
		"sip_h_", "sip_gateway", "sip_history_info", "sip_i_",
	} {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// mergeTemplate adds the template's variables the leg does not have yet,
// with the template's UUID and numbers replaced. If insert is given it is
// placed where the template's first engine variable stood.
func (l *leg) mergeTemplate(tpl esl.Headers, repl *strings.Replacer, insert esl.Headers) {
	l.mu.Lock()
	defer l.mu.Unlock()
	have := make(map[string]bool, len(l.vars))
	for _, h := range l.vars {
		have[h.Name] = true
	}
	for _, h := range tpl {
		if engineVar(h.Name) {
			for _, x := range insert {
				l.setVarLocked(x.Name, x.Value)
				have[x.Name] = true
			}
			insert = nil
			continue
		}
		if !have[h.Name] {
			l.vars = append(l.vars, esl.Header{Name: h.Name, Value: repl.Replace(h.Value)})
			have[h.Name] = true
		}
	}
	for _, x := range insert {
		l.setVarLocked(x.Name, x.Value)
	}
}

// channelHeaders renders the channel and caller-profile headers (and the
// variables if vars) the way switch_channel_event_set_data orders them.
// prefix is "Caller-" except in the first block of CHANNEL_DATA.
func (l *leg) channelHeaders(hs esl.Headers, vars bool) esl.Headers {
	add := func(n, v string) { hs = append(hs, esl.Header{Name: n, Value: v}) }
	dir := l.direction()
	add("Channel-State", l.state)
	add("Channel-Call-State", l.callState)
	add("Channel-State-Number", strconv.Itoa(l.stateNum))
	add("Channel-Name", l.name)
	add("Unique-ID", l.uuid)
	add("Call-Direction", dir)
	add("Presence-Call-Direction", dir)
	add("Channel-HIT-Dialplan", strconv.FormatBool(l.hitDialplan))
	add("Channel-Call-UUID", l.uuid)
	add("Answer-State", l.answerState)
	if l.hangupCause != "" {
		add("Hangup-Cause", l.hangupCause)
	}
	if l.codec {
		add("Channel-Read-Codec-Name", "PCMU")
		add("Channel-Read-Codec-Rate", "8000")
		add("Channel-Read-Codec-Bit-Rate", "64000")
		add("Channel-Write-Codec-Name", "PCMU")
		add("Channel-Write-Codec-Rate", "8000")
		add("Channel-Write-Codec-Bit-Rate", "64000")
	}
	hs = l.profileHeaders(hs, "Caller-")
	if vars {
		for _, h := range l.vars {
			add("variable_"+h.Name, h.Value)
		}
	}
	return hs
}

// direction is the Call-Direction of the leg.
func (l *leg) direction() string {
	if l.outbound {
		return "outbound"
	}
	return "inbound"
}

// profileHeaders renders the caller profile with the given prefix.
func (l *leg) profileHeaders(hs esl.Headers, prefix string) esl.Headers {
	p := &l.prof
	add := func(n, v string) { hs = append(hs, esl.Header{Name: prefix + n, Value: v}) }
	addSet := func(n, v string) { // only if set, as FreeSWITCH leaves out empty fields
		if v != "" {
			add(n, v)
		}
	}
	dir := l.direction()
	add("Direction", dir)
	add("Logical-Direction", dir)
	addSet("Username", p.username)
	addSet("Dialplan", p.dialplan)
	addSet("Caller-ID-Name", p.callerName)
	add("Caller-ID-Number", p.callerNumber)
	if !l.outbound {
		addSet("Orig-Caller-ID-Name", p.callerName)
	}
	add("Orig-Caller-ID-Number", p.origNumber)
	addSet("Callee-ID-Name", p.calleeName)
	addSet("Callee-ID-Number", p.calleeNumber)
	addSet("Network-Addr", p.networkAddr)
	add("ANI", p.ani)
	add("Destination-Number", p.destination)
	add("Unique-ID", l.uuid)
	add("Source", p.source)
	add("Context", p.context)
	add("Channel-Name", l.name)
	add("Profile-Index", "1")
	add("Profile-Created-Time", strconv.FormatInt(p.created, 10))
	add("Channel-Created-Time", strconv.FormatInt(p.created, 10))
	add("Channel-Answered-Time", strconv.FormatInt(p.answered, 10))
	add("Channel-Progress-Time", strconv.FormatInt(p.progress, 10))
	add("Channel-Progress-Media-Time", "0")
	add("Channel-Hangup-Time", strconv.FormatInt(p.hangup, 10))
	for _, n := range []string{"Transfer-Time", "Resurrect-Time", "Bridged-Time", "Last-Hold", "Hold-Accum"} {
		add("Channel-"+n, "0")
	}
	add("Screen-Bit", "true")
	add("Privacy-Hide-Name", "false")
	add("Privacy-Hide-Number", "false")
	return hs
}

// fire publishes a channel event on this leg: pre goes right after the
// Event-* headers, post after the channel data.
func (l *leg) fire(name, subclass string, pre, post esl.Headers) {
	if !l.local {
		return
	}
	l.sim.publish(name, subclass, func(hs esl.Headers) esl.Headers {
		l.mu.Lock()
		defer l.mu.Unlock()
		hs = append(hs, pre...)
		hs = l.channelHeaders(hs, withVariables[name])
		return append(hs, post...)
	}, "")
}

// setState moves the channel state machine and fires CHANNEL_STATE.
func (l *leg) setState(state string, num int) {
	l.mu.Lock()
	l.state, l.stateNum = state, num
	l.mu.Unlock()
	l.fire("CHANNEL_STATE", "", nil, nil)
}

// setCallState changes the call state and fires CHANNEL_CALLSTATE.
func (l *leg) setCallState(cs string) {
	l.mu.Lock()
	orig := l.callState
	l.callState = cs
	l.mu.Unlock()
	if orig == cs {
		return
	}
	l.fire("CHANNEL_CALLSTATE", "", esl.Headers{
		{Name: "Original-Channel-Call-State", Value: orig},
		{Name: "Channel-Call-State-Number", Value: strconv.Itoa(callStateNumber[orig])},
	}, nil)
}

// callStateNumber is switch_channel_callstate_t.
var callStateNumber = map[string]int{
	"DOWN": 0, "DIALING": 1, "RINGING": 2, "EARLY": 3, "ACTIVE": 4, "HELD": 5,
	"RING_WAIT": 6, "HANGUP": 7, "UNHELD": 8,
}

// flipCallerID does what sofia does to an answered outbound leg once it
// runs its application: the profile shows the callee as the caller
// (channel_cid_flipped in the captures).
func (l *leg) flipCallerID() {
	l.mu.Lock()
	defer l.mu.Unlock()
	p := &l.prof
	p.calleeNumber = p.callerNumber
	p.callerName, p.callerNumber = p.destination, p.destination
	p.calleeName = ""
}

// ringReady marks the leg ringing: CHANNEL_PROGRESS and CALLSTATE RINGING.
func (l *leg) ringReady() {
	l.mu.Lock()
	if l.prof.progress != 0 || l.answerState == "hangup" {
		l.mu.Unlock()
		return
	}
	l.prof.progress = micros(l.sim.now())
	l.prof.networkAddr = "127.0.0.1"
	l.mu.Unlock()
	if l.outbound {
		l.fire("CHANNEL_PROGRESS", "", nil, nil)
	}
	l.setCallState("RINGING")
}

// answer marks the leg answered: CHANNEL_ANSWER and CALLSTATE ACTIVE.
func (l *leg) answer() bool {
	l.mu.Lock()
	if l.answerState == "answered" || l.answerState == "hangup" {
		l.mu.Unlock()
		return false
	}
	l.answerState = "answered"
	l.prof.answered = micros(l.sim.now())
	l.codec = true
	l.prof.networkAddr = "127.0.0.1"
	if l.outbound {
		l.prof.calleeName = l.prof.destination
	}
	l.mu.Unlock()
	l.fire("CHANNEL_ANSWER", "", nil, nil)
	l.setCallState("ACTIVE")
	return true
}

func (l *leg) answered() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.prof.answered != 0
}

// byeWaiter is a txfax that reached phase E and waits for the far end's
// BYE: the BYE ends it first, then the channel hangs up (capture
// sync-mode-t38_A: EXECUTE_COMPLETE txfax before CHANNEL_HANGUP).
type byeWaiter struct {
	armed     bool          // phase E was reported (guarded by the leg's mu)
	bye       chan struct{} // closed by the BYE
	completed chan struct{} // closed after the application's EXECUTE_COMPLETE
}

// hangupTime is when the leg was hung up.
func (l *leg) hangupTime() time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.hungAt
}

// isHungup reports whether hangup was called.
func (l *leg) isHungup() bool {
	select {
	case <-l.hungup:
		return true
	default:
		return false
	}
}

// hangup ends the channel with cause: it sets the hangup variables, fires
// CHANNEL_HANGUP and wakes the running applications, whose owner then
// completes them and calls finish. disposition is sip_hangup_disposition
// (send_bye, recv_bye, recv_refuse, send_refuse, send_cancel,
// recv_cancel). It reports whether this call hung the leg up.
func (l *leg) hangup(cause, disposition string) bool {
	first := false
	l.hangOnce.Do(func() {
		first = true
		l.mu.Lock()
		w := l.byeWait
		l.byeWait = nil
		l.mu.Unlock()
		if w != nil && w.armed && disposition == "recv_bye" {
			close(w.bye)
			select {
			case <-w.completed:
			case <-l.sim.ctx.Done():
			}
		}
		l.mu.Lock()
		l.hungAt = time.Now()
		l.hangupCause = cause
		l.answerState = "hangup"
		l.stateNum = 10
		q850 := strconv.Itoa(causeQ850[cause])
		if disposition == "recv_refuse" {
			l.prof.networkAddr = "127.0.0.1" // the far end answered the INVITE
		}
		switch disposition {
		case "recv_refuse", "send_refuse":
			code := causeSIP[cause]
			if code == 0 {
				code = 480 // sofia's answer for any other cause (capture outbound-socket-connect-only_A)
			}
			st := strconv.Itoa(code)
			l.setVarLocked("sip_hangup_disposition", disposition)
			l.setVarLocked("sip_invite_failure_status", st)
			l.setVarLocked("sip_invite_failure_phrase", sipPhrase[code])
			l.setVarLocked("sip_term_status", st)
			l.setVarLocked("proto_specific_hangup_cause", "sip:"+st)
			l.setVarLocked("sip_term_cause", q850)
		case "recv_bye":
			l.setVarLocked("sip_reason", "Q.850;cause="+q850+";text=\""+cause+"\"")
			l.setVarLocked("sip_term_status", "200")
			l.setVarLocked("proto_specific_hangup_cause", "sip:200")
			l.setVarLocked("sip_term_cause", q850)
			l.setVarLocked("sip_hangup_disposition", disposition)
		case "recv_cancel":
			l.setVarLocked("sip_hangup_disposition", disposition)
			l.setVarLocked("sip_term_status", "487")
			l.setVarLocked("proto_specific_hangup_cause", "sip:487")
		}
		l.setVarLocked("hangup_cause", cause)
		l.setVarLocked("hangup_cause_q850", q850)
		switch disposition {
		case "send_bye":
			l.setVarLocked("sip_hangup_disposition", disposition)
		case "send_cancel":
			l.setVarLocked("sip_hangup_disposition", disposition)
			l.setVarLocked("sip_invite_failure_status", "487")
			l.setVarLocked("sip_invite_failure_phrase", "CANCEL")
		}
		l.mu.Unlock()
		l.fire("CHANNEL_HANGUP", "", nil, nil)
		l.sim.updateRec(l, func(r *CallRecord) { r.HangupCause = cause })
		close(l.hungup)
	})
	if first && l.peer != nil {
		if l.holdPeer != nil {
			l.sim.spawn(func() {
				select {
				case <-l.holdPeer:
				case <-l.sim.ctx.Done():
				}
				l.tellPeer(cause, disposition)
			})
			return first
		}
		l.tellPeer(cause, disposition)
	}
	return first
}

// releasePeer lets a held hangup reach the other leg.
func (l *leg) releasePeer() {
	if l.holdPeer != nil {
		l.releaseOnce.Do(func() { close(l.holdPeer) })
	}
}

// tellPeer hangs up the other leg of a loopback call as SIP would.
func (l *leg) tellPeer(cause, disposition string) {
	// The other leg learns of it by SIP, after the fax events it had due
	// by now.
	l.peer.mu.Lock()
	pe := l.peer.fax
	l.peer.mu.Unlock()
	if pe != nil {
		pe.catchUp(time.Now(), l.sim.ctx.Done())
	}
	switch disposition {
	case "send_refuse":
		l.peer.hangup(cause, "recv_refuse")
	case "send_cancel":
		l.peer.hangup("ORIGINATOR_CANCEL", "recv_cancel")
	case "send_bye":
		l.peer.hangup(cause, "recv_bye")
	}
}

// finish fires the events that end a hung-up channel, after its
// applications completed: CALLSTATE HANGUP, HANGUP_COMPLETE, DESTROY.
// onComplete, if set, runs between HANGUP_COMPLETE and DESTROY (where
// FreeSWITCH fires a failed originate's BACKGROUND_JOB).
func (l *leg) finish(tpl esl.Headers, repl *strings.Replacer, onComplete func()) {
	select {
	case <-l.done:
		return // already torn down
	default:
	}
	l.mu.Lock()
	l.prof.hangup = micros(l.sim.now())
	l.mu.Unlock()
	l.setState("CS_HANGUP", 10)
	l.setCallState("HANGUP")
	l.mergeTemplate(tpl, repl, nil)
	l.setState("CS_REPORTING", 11)
	l.mu.Lock()
	cause := l.hangupCause
	l.mu.Unlock()
	l.fire("CHANNEL_HANGUP_COMPLETE", "", esl.Headers{{Name: "Hangup-Cause", Value: cause}}, nil)
	if onComplete != nil {
		onComplete()
	}
	l.sim.forget(l) // the session is gone before its CHANNEL_DESTROY arrives
	l.fire("CHANNEL_DESTROY", "", nil, nil)
	l.setState("CS_DESTROY", 12)
	l.sim.updateRec(l, func(r *CallRecord) { r.Ended = true })
	close(l.done)
}

// causeQ850 maps the hangup causes the simulator produces to Q.850 numbers
// (switch_types.h).
var causeQ850 = map[string]int{
	"UNALLOCATED_NUMBER": 1, "NO_ROUTE_DESTINATION": 3, "NORMAL_CLEARING": 16,
	"USER_BUSY": 17, "NO_USER_RESPONSE": 18, "NO_ANSWER": 19, "CALL_REJECTED": 21,
	"NUMBER_CHANGED": 22, "DESTINATION_OUT_OF_ORDER": 27, "INVALID_NUMBER_FORMAT": 28,
	"NORMAL_TEMPORARY_FAILURE": 41, "SERVICE_UNAVAILABLE": 63, "INCOMPATIBLE_DESTINATION": 88,
	"RECOVERY_ON_TIMER_EXPIRE": 102, "ORIGINATOR_CANCEL": 487, "MEDIA_TIMEOUT": 604,
	"GATEWAY_DOWN": 609, "SUBSCRIBER_ABSENT": 20, "NORMAL_UNSPECIFIED": 31,
}

// sipPhrase is the reason phrase sofia records for a refused INVITE.
var sipPhrase = map[int]string{
	404: "Not Found", 408: "Request Timeout", 480: "Temporarily Unavailable", 486: "Busy Here",
	487: "Request Terminated", 503: "Service Unavailable", 603: "Decline",
}

// causeSIP maps a hangup cause to the SIP status sofia sends for it.
var causeSIP = map[string]int{
	"USER_BUSY": 486, "CALL_REJECTED": 603, "UNALLOCATED_NUMBER": 404, "NO_ROUTE_DESTINATION": 404,
	"ORIGINATOR_CANCEL": 487, "NO_USER_RESPONSE": 408,
	"NORMAL_TEMPORARY_FAILURE": 503,
}
