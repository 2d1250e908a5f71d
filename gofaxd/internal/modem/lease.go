package modem

import (
	"fmt"
	"strings"
	"sync"

	"github.com/gofaxserver/gofaxserver/gofaxlib/hylafax"
)

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
	begun bool // Begin was called; guarded by pool.mu
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
	l.begun = true
	l.m.commid = clean(commid)
	p.ann.send(msg(hylafax.ModemCommID, l.m.name, l.m.commid))
	p.ann.send(msg(hylafax.RecvBegin, l.m.name, ""))
}

// Started reports the negotiated session (@m:S) and shows the sender in
// the modem's status, as faxgetty does.
func (l *Lease) Started(info hylafax.RecvInfo) {
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
	p.ann.send(msg(hylafax.RecvStart, l.m.name, info.String()))
}

// Page reports one received page (@m:P).
func (l *Lease) Page(info hylafax.RecvInfo) { l.record(hylafax.RecvPage, info) }

// Document reports the received document (@m:D).
func (l *Lease) Document(info hylafax.RecvInfo) { l.record(hylafax.RecvDoc, info) }

func (l *Lease) record(kind hylafax.Kind, info hylafax.RecvInfo) {
	if !l.owned {
		return
	}
	p := l.pool
	p.mu.Lock()
	defer p.mu.Unlock()
	p.ann.send(msg(kind, l.m.name, info.String()))
}

// Release ends the reception (@m:E, empty +m:I, if it began) and frees
// the modem: it
// becomes ready, or stays busy if an outbound job locked it meanwhile, or
// goes down if the pool is draining. Calling Release again does nothing.
func (l *Lease) Release(info hylafax.RecvInfo) {
	l.once.Do(func() {
		if !l.owned {
			return
		}
		p := l.pool
		p.mu.Lock()
		defer p.mu.Unlock()
		if l.begun {
			p.ann.send(msg(hylafax.RecvEnd, l.m.name, info.String()))
			p.ann.send(msg(hylafax.ModemCommID, l.m.name, ""))
		}
		l.m.receiving = false
		l.m.commid = ""
		p.announceLocked(l.m, false)
	})
}
