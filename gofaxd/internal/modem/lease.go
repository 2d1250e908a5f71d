package modem

import (
	"fmt"
	"strings"
	"sync"
)

// RecvInfo describes a reception for the @m: records faxq passes to its
// triggers, encoded as HylaFAX's FaxRecvInfo:
// time,npages,params (hex), file, commid, "sender","subaddr","reason".
type RecvInfo struct {
	Seconds uint   // time on the phone so far
	Pages   uint   // pages received so far
	Params  uint32 // Class2Params.encode() of the session
	File    string // recvq/faxNNNNNNNNN.tif
	Commid  string
	Sender  string // remote TSI
	SubAddr string
	Reason  string // empty on success
}

// Encode returns the record argument HylaFAX's faxgetty writes after
// @m:S, P, D and E. Values are cleaned so that nothing a caller sent can
// end the record or a quoted field early.
func (r RecvInfo) Encode() string {
	return fmt.Sprintf("%x,%x,%x,%s,%s,\"%s\",\"%s\",\"%s\"",
		r.Seconds, r.Pages, r.Params, clean(r.File), clean(r.Commid),
		clean(r.Sender), clean(r.SubAddr), clean(r.Reason))
}

// clean replaces control characters, quotes and backslashes by blanks.
func clean(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == '"' || r == '\\' {
			return ' '
		}
		return r
	}, s)
}

// Lease is one inbound call's hold on a modem. Its methods report the
// reception's progress to faxq; Release gives the modem back. A lease that
// does not own its modem (see Config.Exclusive) only lends the name and
// reports nothing.
type Lease struct {
	pool  *Pool
	m     *modem
	owned bool
	once  sync.Once
}

// Modem returns the modem's name, e.g. "freeswitch3".
func (l *Lease) Modem() string { return l.m.name }

// Owned reports whether the call holds the modem (it shows busy in faxq).
func (l *Lease) Owned() bool { return l.owned }

// Begin announces the session's commid (+m:I) and the start of a
// reception (@m:B).
func (l *Lease) Begin(commid string) {
	if !l.owned {
		return
	}
	p := l.pool
	p.mu.Lock()
	defer p.mu.Unlock()
	l.m.commid = clean(commid)
	p.ann.send("+" + l.m.name + ":I" + l.m.commid)
	p.ann.send("@" + l.m.name + ":B")
}

// Started reports the negotiated session (@m:S) and shows the sender in
// the modem's status, as faxgetty does.
func (l *Lease) Started(info RecvInfo) {
	if !l.owned {
		return
	}
	p := l.pool
	p.mu.Lock()
	defer p.mu.Unlock()
	text := StatusReceiving
	if tsi := strings.TrimSpace(clean(info.Sender)); tsi != "" {
		text = fmt.Sprintf("Receiving from \"%s\"", tsi)
	}
	p.setStatusLocked(l.m, text)
	p.ann.send("@" + l.m.name + ":S" + info.Encode())
}

// Page reports one received page (@m:P).
func (l *Lease) Page(info RecvInfo) { l.record("P", info) }

// Document reports the received document (@m:D).
func (l *Lease) Document(info RecvInfo) { l.record("D", info) }

func (l *Lease) record(kind string, info RecvInfo) {
	if !l.owned {
		return
	}
	p := l.pool
	p.mu.Lock()
	defer p.mu.Unlock()
	p.ann.send("@" + l.m.name + ":" + kind + info.Encode())
}

// Release ends the reception (@m:E, empty +m:I) and frees the modem: it
// becomes ready, or stays busy if an outbound job locked it meanwhile, or
// goes down if the pool is draining. Calling Release again does nothing.
func (l *Lease) Release(info RecvInfo) {
	l.once.Do(func() {
		if !l.owned {
			return
		}
		p := l.pool
		p.mu.Lock()
		defer p.mu.Unlock()
		p.ann.send("@" + l.m.name + ":E" + info.Encode())
		p.ann.send("+" + l.m.name + ":I")
		l.m.receiving = false
		l.m.commid = ""
		p.announceLocked(l.m, false)
	})
}
