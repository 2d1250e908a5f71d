package esltest

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/gofaxserver/gofaxserver/gofaxlib/esl"
)

// InboundCall is a call the simulator places onto the socket listener
// (Options.SocketAddr), as FreeSWITCH does for "socket <addr> async full".
type InboundCall struct {
	CallerNumber   string            // Caller-Caller-ID-Number (default "1111")
	CallerName     string            // Caller-Caller-ID-Name (default: the number)
	Destination    string            // Caller-Destination-Number (default "5551236")
	ToUser         string            // variable_sip_to_user (default: Destination)
	Diversion      string            // variable_sip_h_Diversion, e.g. "<sip:5551000@10.0.0.1>;reason=unconditional"
	HistoryInfo    string            // variable_sip_history_info
	PCalledPartyID string            // variable_sip_P-Called-Party-ID
	Gateway        string            // variable_sip_gateway: the gateway the call came from
	Vars           map[string]string // further channel variables
	// Document is the TIFF the simulated sender transmits (default: the
	// captured 2-page G3 fax).
	Document string
	Scenario Scenario
}

// PlaceCall places an inbound fax call onto the socket listener and plays
// the sending fax machine. It returns when the channel is destroyed (or
// ctx ends, which hangs the call up as the caller cancelling).
func (s *Sim) PlaceCall(ctx context.Context, ic InboundCall) (CallRecord, error) {
	if s.opts.SocketAddr == "" {
		return CallRecord{}, errNoSocket
	}
	sc := ic.Scenario
	doc, pages, err := s.document(ic.Document)
	if err != nil {
		return CallRecord{}, err
	}
	if sc.Pages > 0 {
		pages = sc.Pages
	}
	if ic.CallerNumber == "" {
		ic.CallerNumber = "1111"
	}
	if ic.Destination == "" {
		ic.Destination = "5551236"
	}
	link := newFaxLink(sc)
	if sc.DropESL && !sc.OutliveSocket {
		// The channel is hung up once its socket is gone, after the
		// first page: the second never completes, however late the drop
		// runs on a loaded machine.
		link.cutAfter = 1
	}
	ident := sc.StationID
	if ident == "" {
		ident = ic.CallerNumber
	}
	b := s.newInboundLeg(ic)
	x := newExecutor(s, b, link)
	x.outlive = sc.OutliveSocket
	s.mu.Lock()
	s.executors[b.uuid] = x
	s.mu.Unlock()
	// The far end's T.30 engine starts when the call is answered.
	remote := &faxEnd{tx: true, doc: doc, pages: pages, ident: ident, enableT38: sc.T38, requestT38: sc.T38, disableV17: sc.DisableV17}
	if err := s.startSession(ctx, x, nil); err != nil {
		<-b.done
		return s.snapshot(b), err
	}
	s.remoteSender(ctx, x, link, remote, sc)
	select {
	case <-b.done:
	case <-ctx.Done():
		b.hangup("ORIGINATOR_CANCEL", "recv_cancel")
		<-b.done
	}
	r := s.snapshot(b)
	if ctx.Err() != nil {
		return r, ctx.Err()
	}
	return r, nil
}

// remoteSender plays the calling fax machine of a PlaceCall until the
// call ends: it waits for the answer, starts T.30 and hangs up when the
// scenario says.
func (s *Sim) remoteSender(ctx context.Context, x *executor, link *faxLink, remote *faxEnd, sc Scenario) {
	b := x.leg
	patience := sc.RingTime
	if patience <= 0 {
		patience = originateLimit
	}
	if !s.within(ctx, x.answered, patience, b, "ORIGINATOR_CANCEL", "recv_cancel") {
		return
	}
	link.join(s, remote, s.now())
	if !s.within(ctx, link.ready, t0Timeout, b, "NORMAL_CLEARING", "recv_bye") {
		return
	}
	p := link.plan
	rx := link.peer(remote)
	if sc.DropESL && x.conn != nil {
		if !rx.reached(1, b.hungup, s.ctx.Done()) {
			return
		}
		// As mod_event_socket in async mode: the listener thread sees the
		// socket gone and closes it, then the parked channel has no
		// controller and no socket_resume and is hung up. Its
		// CHANNEL_HANGUP and the rest happen on the channel only; the
		// socket is gone, so a listener noticing the drop may still find
		// the channel for a moment (uuid_kill) or not.
		x.conn.abort()
		if !sc.OutliveSocket {
			x.hangup("NORMAL_CLEARING")
		}
	}
	switch {
	case p.stopAt < p.pages:
		if rx.reached(p.stopAt, b.hungup, s.ctx.Done()) && s.sleepUntil(p.start, dropAt(p.stopAt+1), b) {
			b.hangup("NORMAL_CLEARING", "recv_bye")
		}
	case sc.NeverHangup || p.nofax:
	default:
		if rx.reached(-1, b.hungup, s.ctx.Done()) && s.sleep(senderTail+senderBye, b.hungup) {
			b.hangup("NORMAL_CLEARING", "recv_bye")
		}
	}
}

// within waits up to patience(d) for ready and hangs b up with cause and
// reason if it does not come; false unless ready came before that, b's
// hangup, the end of ctx or Close.
func (s *Sim) within(ctx context.Context, ready <-chan struct{}, d time.Duration, b *leg, cause, reason string) bool {
	t := time.NewTimer(s.patience(d))
	defer t.Stop()
	select {
	case <-ready:
		return true
	case <-t.C:
		b.hangup(cause, reason)
	case <-b.hungup:
	case <-ctx.Done():
	case <-s.ctx.Done():
	}
	return false
}

// newInboundLeg creates the receiving channel of a call to the listener.
func (s *Sim) newInboundLeg(ic InboundCall) *leg {
	t, _ := loadTemplates()
	b := newLeg(s, true, false, "sofia/external/"+ic.CallerNumber+"@127.0.0.1")
	now := micros(s.now())
	name := ic.CallerName
	if name == "" {
		name = ic.CallerNumber
	}
	b.prof = profile{
		callerName: name, callerNumber: ic.CallerNumber, origNumber: ic.CallerNumber, ani: ic.CallerNumber,
		destination: ic.Destination,
		username:    ic.CallerNumber, dialplan: "XML", networkAddr: "127.0.0.1",
		source: "mod_sofia", context: "public", created: now,
	}
	b.state, b.stateNum, b.callState = "CS_EXECUTE", 4, "RINGING"
	b.hitDialplan = true
	b.codec = true
	to := ic.ToUser
	if to == "" {
		to = ic.Destination
	}
	b.mergeTemplate(t.bConnect, s.replacerB(b), nil)
	sets := []esl.Header{
		{Name: "uuid", Value: b.uuid}, {Name: "call_uuid", Value: b.uuid},
		{Name: "channel_name", Value: b.name},
		{Name: "sip_from_user", Value: ic.CallerNumber},
		{Name: "sip_from_user_stripped", Value: ic.CallerNumber},
		{Name: "sip_from_uri", Value: ic.CallerNumber + "@127.0.0.1"},
		{Name: "sip_full_from", Value: "<sip:" + ic.CallerNumber + "@127.0.0.1>;tag=" + b.uuid[:8]},
		{Name: "sip_Remote-Party-ID", Value: "<sip:" + ic.CallerNumber + "@127.0.0.1>;party=calling;screen=yes;privacy=off"},
		{Name: "sip_req_user", Value: ic.Destination},
		{Name: "sip_req_uri", Value: ic.Destination + "@127.0.0.1:5090"},
		{Name: "sip_to_user", Value: to},
		{Name: "sip_to_uri", Value: to + "@127.0.0.1:5090"},
		{Name: "sip_full_to", Value: "<sip:" + to + "@127.0.0.1:5090>"},
		{Name: "sip_call_id", Value: newUUID()},
		{Name: "sip_invite_stamp", Value: strconv.FormatInt(now, 10)},
		{Name: "DP_MATCH", Value: "ARRAY::" + ic.Destination + "|:" + ic.Destination},
		{Name: "current_application_data", Value: s.socketArg()},
		{Name: "current_application", Value: "socket"},
	}
	for _, h := range []esl.Header{
		{Name: "sip_h_Diversion", Value: ic.Diversion},
		{Name: "sip_history_info", Value: ic.HistoryInfo},
		{Name: "sip_P-Called-Party-ID", Value: ic.PCalledPartyID},
		{Name: "sip_gateway", Value: ic.Gateway},
	} {
		if h.Value != "" {
			sets = append(sets, h)
		}
	}
	for _, h := range sets {
		b.setVar(h.Name, h.Value)
	}
	for k, v := range ic.Vars {
		b.setVar(k, v)
	}
	s.register(b)
	s.updateRec(b, func(r *CallRecord) {
		r.UUID = b.uuid
		r.Destination = ic.Destination
		r.Gateway = ic.Gateway
	})
	b.fire("CHANNEL_CREATE", "", nil, nil)
	return b
}

// replacerB rewrites the receiving template's UUID and numbers for l.
func (s *Sim) replacerB(l *leg) *strings.Replacer {
	t, _ := loadTemplates()
	return strings.NewReplacer(t.bUUID, l.uuid, t.bDest, l.prof.destination)
}

// replacerA rewrites the sending template's UUID and numbers for l.
func (s *Sim) replacerA(l *leg) *strings.Replacer {
	t, _ := loadTemplates()
	return strings.NewReplacer(t.aUUID, l.uuid, t.aDest, l.prof.destination)
}

// document reads a sender's TIFF (default: the embedded captured fax).
func (s *Sim) document(path string) ([]byte, int, error) {
	if path != "" {
		return readDocument(path)
	}
	data, err := captures.ReadFile("testdata/sent-2page-g3.tif")
	if err != nil {
		return nil, 0, err
	}
	pages, err := documentPages(data)
	return data, pages, err
}

func (s *Sim) snapshot(l *leg) CallRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.snapshotLocked(l)
}
