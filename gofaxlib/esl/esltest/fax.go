package esltest

import (
	"context"
	"errors"
	"io/fs"
	"strconv"
	"sync"
	"time"

	"github.com/gofaxserver/gofaxserver/gofaxlib/esl"
)

// faxEnd is one side of a T.30 session: a local leg running txfax/rxfax or
// the simulated remote fax machine.
type faxEnd struct {
	leg        *leg // nil for the remote end
	tx         bool
	file       string
	doc        []byte // sender's document (TIFF)
	pages      int    // pages the sender transmits
	ident      string
	enableT38  bool
	requestT38 bool
	disableV17 bool // fax_disable_v17: V.29 at most

	// Progress of a local end, for the drivers of the far end: they act
	// only once the events due before their action were fired.
	mu       sync.Mutex
	emitted  int       // pages reported
	finished bool      // phase E reported
	nextDue  time.Time // when the next event is due; zero if none is
	changed  chan struct{}
}

// update changes the end's progress under its lock and wakes waiters.
func (e *faxEnd) update(change func()) {
	e.mu.Lock()
	defer e.mu.Unlock()
	change()
	if e.changed != nil {
		close(e.changed)
	}
	e.changed = make(chan struct{})
}

// await waits until cond, evaluated under the end's lock on every change,
// holds; false if stop or done is closed first.
func (e *faxEnd) await(cond func() bool, stop, done <-chan struct{}) bool {
	for {
		e.mu.Lock()
		if e.changed == nil {
			e.changed = make(chan struct{})
		}
		ok := cond()
		ch := e.changed
		e.mu.Unlock()
		if ok {
			return true
		}
		select {
		case <-ch:
		case <-stop:
			return false
		case <-done:
			return false
		}
	}
}

// setDue records when the end's next event is due (zero: none pending).
func (e *faxEnd) setDue(t time.Time) { e.update(func() { e.nextDue = t }) }

// catchUpBound bounds how long a hangup waits for the other leg's events.
const catchUpBound = time.Second

// catchUp waits until the end fired every event due by t, so that a
// hangup propagated to its leg comes after them, as it would on a switch
// that is not busy.
func (e *faxEnd) catchUp(t time.Time, done <-chan struct{}) {
	bound, cancel := context.WithTimeout(context.Background(), catchUpBound)
	defer cancel()
	e.await(func() bool { return e.finished || e.nextDue.IsZero() || e.nextDue.After(t) }, bound.Done(), done)
}

// advance records the local end's progress.
func (e *faxEnd) advance(pages int, finished bool) {
	e.update(func() {
		e.emitted = max(e.emitted, pages)
		e.finished = e.finished || finished
	})
}

// reached waits until the end reported pages pages or phase E (pages < 0:
// phase E only); false if stop or done is closed first.
func (e *faxEnd) reached(pages int, stop, done <-chan struct{}) bool {
	return e.await(func() bool { return e.finished || (pages >= 0 && e.emitted >= pages) }, stop, done)
}

// faxLink pairs the sender and the receiver of one call.
type faxLink struct {
	sc    Scenario // fault knobs
	mu    sync.Mutex
	ends  [2]*faxEnd // sender, receiver
	ready chan struct{}
	plan  faxPlan
	drop  time.Time // when the simulated far end will hang up, if planned
	// cutAfter, if positive, ends the transfer after this many pages:
	// the call is hung up before the next can complete (a PlaceCall's
	// DropESL, whose channel is hung up when its socket is gone).
	cutAfter int
}

func (f *faxLink) plannedDrop() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.drop
}

// faxPlan is the shared timeline, fixed when both ends are present.
type faxPlan struct {
	start   time.Time
	pages   int // pages the sender will transmit
	t38     bool
	stopAt  int // pages transferred before the far end drops (HangupAtPage) or the call is cut (cutAfter), or pages
	nofax   bool
	badRows int
	renegot bool
}

func newFaxLink(sc Scenario) *faxLink { return &faxLink{sc: sc, ready: make(chan struct{})} }

// join registers an end; the second one fixes the plan and starts the clock.
func (f *faxLink) join(s *Sim, e *faxEnd, now time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	i := 1
	if e.tx {
		i = 0
	}
	if f.ends[i] != nil {
		return
	}
	f.ends[i] = e
	if f.ends[0] == nil || f.ends[1] == nil {
		return
	}
	tx, rx := f.ends[0], f.ends[1]
	p := faxPlan{start: now, pages: tx.pages, badRows: f.sc.BadRows, renegot: f.sc.Renegotiate}
	p.t38 = (tx.requestT38 && rx.enableT38) || (rx.requestT38 && tx.enableT38) || f.sc.Renegotiate
	p.stopAt = p.pages
	if k := f.sc.HangupAtPage; k > 0 && k <= p.pages {
		p.stopAt = k - 1
	}
	if f.cutAfter > 0 && f.cutAfter < p.stopAt {
		p.stopAt = f.cutAfter
	}
	p.nofax = f.sc.Outcome == NoFax
	f.plan = p
	if rx.leg == nil && !p.nofax && !f.sc.NeverHangup && p.stopAt == p.pages {
		// A simulated receiver hangs up right after its phase E, before
		// the sender's (captures t38_A, g711_A).
		f.drop = now.Add(s.scaled(rxResultAt(p.pages) + farEndBye))
	}
	close(f.ready)
}

func (f *faxLink) peer(e *faxEnd) *faxEnd {
	f.mu.Lock()
	defer f.mu.Unlock()
	if e.tx {
		return f.ends[1]
	}
	return f.ends[0]
}

// page i (1-based) completes at this offset from the start.
func pageAt(i int) time.Duration {
	return negotiateDelay + firstPageTime + time.Duration(i-1)*nextPageTime
}

// rxResultAt is when the receiver reaches phase E after n pages.
func rxResultAt(n int) time.Duration { return pageAt(n) + resultDelay }

// dropAt is when a far end that hangs up during page k does so.
func dropAt(k int) time.Duration { return pageAt(k) - nextPageTime/2 }

// runFax runs the spandsp side of a txfax/rxfax on e.leg and returns when
// phase E was reported (or never will be). It fires the spandsp events and
// sets the fax_* variables.
func (s *Sim) runFax(link *faxLink, e *faxEnd) {
	l := e.leg
	dir := "rx"
	if e.tx {
		dir = "tx"
	}
	v17 := "0"
	if e.disableV17 {
		v17 = "1"
	}
	l.setVar("fax_v17_disabled", v17)
	l.setVar("fax_ecm_requested", "1")
	l.setVar("fax_filename", e.file)
	if l.isHungup() {
		return
	}
	l.mu.Lock()
	l.fax = e
	l.mu.Unlock()
	link.join(s, e, s.now())

	t0 := time.NewTimer(s.patience(t0Timeout))
	defer t0.Stop()
	select {
	case <-link.ready:
	case <-t0.C:
		s.faxResult(l, dir, e, nil, 2, 0, 0, false)
		return
	case <-l.hungup:
		s.faxResult(l, dir, e, nil, 49, 0, 0, false)
		return
	case <-s.ctx.Done():
		return
	}
	p := link.plan
	peer := link.peer(e)
	if p.nofax {
		if !s.faxSleep(e, p.start, t0Timeout) {
			s.faxResult(l, dir, e, peer, 49, 0, 0, false)
			return
		}
		s.faxResult(l, dir, e, peer, 2, 0, 0, false)
		return
	}
	// Phase B.
	if p.renegot {
		if !s.faxSleep(e, p.start, negotiateDelay-renegotiateGap) {
			s.faxResult(l, dir, e, peer, 49, 0, p.pages, false)
			return
		}
		s.negotiate(l, dir, e, peer, p, false)
	}
	if !s.faxSleep(e, p.start, negotiateDelay) {
		s.faxResult(l, dir, e, peer, 49, 0, p.pages, false)
		return
	}
	s.negotiate(l, dir, e, peer, p, p.t38)
	// Phase C/D, page by page.
	for i := 1; i <= p.stopAt; i++ {
		if !s.faxSleep(e, p.start, pageAt(i)) {
			s.faxResult(l, dir, e, peer, 49, i-1, p.pages, p.t38)
			return
		}
		s.pageResult(l, dir, e, peer, p, i)
		e.advance(i, false)
	}
	if p.stopAt < p.pages {
		// The far end drops during the next page; our leg sees its hangup.
		<-l.hungup
		s.faxResult(l, dir, e, peer, 49, p.stopAt, p.pages, p.t38)
		return
	}
	// Phase E.
	if !e.tx && peer.leg != nil && !peer.reached(p.pages, l.hungup, s.ctx.Done()) {
		// A local sender (loopback) reports its last page first.
		s.faxResult(l, dir, e, peer, 49, p.pages, p.pages, p.t38)
		return
	}
	at := rxResultAt(p.pages)
	rxDue := p.start.Add(s.scaled(at))
	if e.tx {
		at += senderTail
	}
	if drop := link.plannedDrop(); e.tx && !drop.IsZero() && drop.Before(p.start.Add(s.scaled(at))) {
		// The far end hangs up before our phase E: its BYE comes first.
		select {
		case <-l.hungup:
		case <-s.ctx.Done():
		}
		s.faxResult(l, dir, e, peer, 0, p.pages, p.pages, p.t38)
		return
	}
	if !s.faxSleep(e, p.start, at) && (!e.tx || l.hangupTime().Before(rxDue)) {
		s.faxResult(l, dir, e, peer, 49, p.pages, p.pages, p.t38)
		return
	}
	s.faxResult(l, dir, e, peer, 0, p.pages, p.pages, p.t38)
}

// faxSleep sleeps until the end's next event at start+scaled(d) is due;
// false if its leg hung up first.
func (s *Sim) faxSleep(e *faxEnd, start time.Time, d time.Duration) bool {
	e.setDue(start.Add(s.scaled(d)))
	if s.sleepUntil(start, d, e.leg) {
		return true // the caller fires the event, then clears the due time
	}
	e.setDue(time.Time{})
	return false
}

// sleepUntil sleeps until start+scaled(d); false if leg l hung up first.
func (s *Sim) sleepUntil(start time.Time, d time.Duration, l *leg) bool {
	t := time.NewTimer(max(time.Until(start.Add(s.scaled(d))), 0))
	defer t.Stop()
	select {
	case <-t.C:
		return !l.isHungup() // a hangup that raced the timer wins
	case <-l.hungup:
		return false
	case <-s.ctx.Done():
		return false
	}
}

func t38Status(t38 bool) string {
	if t38 {
		return "negotiated"
	}
	return "off"
}

func remoteIdent(peer *faxEnd) string {
	if peer == nil {
		return ""
	}
	return peer.ident
}

func (s *Sim) negotiate(l *leg, dir string, e, peer *faxEnd, p faxPlan, t38 bool) {
	post := esl.Headers{
		{Name: "uuid", Value: l.uuid},
		{Name: "fax-transfer-rate", Value: strconv.Itoa(transferRate(e, peer))},
		{Name: "fax-ecm-used", Value: "on"},
		{Name: "fax-t38-status", Value: t38Status(t38)},
		{Name: "fax-local-station-id", Value: e.ident},
		{Name: "fax-remote-station-id", Value: remoteIdent(peer)},
	}
	if e.tx {
		post = append(post, esl.Header{Name: "fax-document-total-pages", Value: "0"})
	}
	s.updateRec(l, func(r *CallRecord) {
		if r.Result == nil {
			r.Result = &FaxResult{}
		}
		r.Result.Negotiations++
		r.Result.T38 = t38
	})
	l.fire("CUSTOM", "spandsp::"+dir+"faxnegociateresult", nil, post)
	e.setDue(time.Time{})
}

func (s *Sim) pageResult(l *leg, dir string, e, peer *faxEnd, p faxPlan, i int) {
	c, _ := sentPage(e, peer, i)
	fileRes := c.lineRes // the receiver writes what the line carries
	if e.tx {
		fileRes = c.fileRes
	}
	post := esl.Headers{
		{Name: "uuid", Value: l.uuid},
		{Name: "fax-document-transferred-pages", Value: strconv.Itoa(i)},
	}
	if e.tx {
		post = append(post, esl.Header{Name: "fax-document-total-pages", Value: strconv.Itoa(p.pages)})
	}
	post = append(post,
		esl.Header{Name: "fax-image-resolution", Value: c.lineRes},
		esl.Header{Name: "fax-file-image-resolution", Value: fileRes},
		esl.Header{Name: "fax-image-size", Value: strconv.Itoa(3074 * i)},
		esl.Header{Name: "fax-image-pixel-size", Value: c.pixelSize},
		esl.Header{Name: "fax-file-image-pixel-size", Value: c.pixelSize},
		esl.Header{Name: "fax-bad-rows", Value: strconv.Itoa(p.badRows)},
		esl.Header{Name: "fax-longest-bad-row-run", Value: strconv.Itoa(min(p.badRows, 1))},
		esl.Header{Name: "fax-encoding", Value: c.encoding},
		esl.Header{Name: "fax-encoding-name", Value: c.encodingName},
	)
	l.mu.Lock()
	for _, h := range post[2:] {
		if h.Name == "fax-document-total-pages" {
			continue
		}
		l.setVarLocked(faxVar(h.Name), h.Value)
	}
	l.mu.Unlock()
	l.fire("CUSTOM", "spandsp::"+dir+"faxpageresult", nil, post)
	e.setDue(time.Time{})
}

// faxVar turns a fax-* event header into its channel variable name.
func faxVar(h string) string {
	b := []byte(h)
	for i := range b {
		if b[i] == '-' {
			b[i] = '_'
		}
	}
	return string(b)
}

// faxResult fires phase E: the result event and the fax_* variables. For
// a receiver with pages it writes the received TIFF.
func (s *Sim) faxResult(l *leg, dir string, e, peer *faxEnd, code, pages, total int, t38 bool) {
	rate := transferRate(e, peer)
	if !e.tx {
		total = pages
		if pages > 0 && peer != nil {
			if err := writeReceived(e.file, peer.doc, pages, peer.ident, rate); err != nil {
				s.log.Warn("esltest: rxfax cannot write the received file", "file", e.file, "err", err)
				code = 41
			}
		}
	}
	text := t30Text[code]
	success := "0"
	if code == 0 {
		success = "1"
	}
	ecm := "on"
	if code == 2 {
		ecm = "off"
	}
	// Before the first page there is no page to describe and no capture
	// shows what spandsp reports then: the captures' resolution stands.
	lineRes := "8040x7700"
	if c, ok := sentPage(e, peer, pages); ok {
		lineRes = c.lineRes
	}
	badRows := 0
	if pages > 0 {
		badRows = s.faxBadRows(l)
	}
	post := esl.Headers{
		{Name: "fax-success", Value: success},
		{Name: "fax-result-code", Value: strconv.Itoa(code)},
		{Name: "fax-result-text", Value: text},
		{Name: "fax-document-transferred-pages", Value: strconv.Itoa(pages)},
		{Name: "fax-document-total-pages", Value: strconv.Itoa(total)},
		{Name: "fax-image-resolution", Value: lineRes},
		{Name: "fax-image-size", Value: strconv.Itoa(3074 * pages)},
		{Name: "fax-bad-rows", Value: strconv.Itoa(badRows)},
		{Name: "fax-transfer-rate", Value: strconv.Itoa(rate)},
		{Name: "fax-ecm-used", Value: ecm},
		{Name: "fax-t38-status", Value: t38Status(t38)},
		{Name: "fax-local-station-id", Value: e.ident},
		{Name: "fax-remote-station-id", Value: remoteIdent(peer)},
	}
	l.mu.Lock()
	for _, h := range post {
		l.setVarLocked(faxVar(h.Name), h.Value)
	}
	if w := l.byeWait; w != nil && e.tx && t38 && code == 0 {
		w.armed = true // from now on a BYE first ends the txfax
	}
	l.mu.Unlock()
	s.updateRec(l, func(r *CallRecord) {
		if r.Result == nil {
			r.Result = &FaxResult{}
		}
		r.Result.Success = code == 0
		r.Result.Code = code
		r.Result.Text = text
		r.Result.Pages = pages
		r.Result.TotalPages = total
		r.Result.T38 = t38
		r.Result.BadRows = badRows
		r.Result.RemoteStation = remoteIdent(peer)
	})
	l.fire("CUSTOM", "spandsp::"+dir+"faxresult", nil, post)
	e.advance(pages, true)
}

// faxBadRows is the bad-row count last reported on the leg.
func (s *Sim) faxBadRows(l *leg) int {
	n, _ := strconv.Atoi(l.getVar("fax_bad_rows"))
	return n
}

// openDocument loads a txfax document. ok false means txfax ends at once
// with response: mod_spandsp's answer for a missing file, or, for a file
// spandsp cannot read, no spandsp event at all (docs/ecosystem.md §4.4).
func (s *Sim) openDocument(e *faxEnd) (response string, ok bool) {
	doc, pages, err := readDocument(e.file)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "Cannot send non-existant fax file", false
	case err != nil:
		s.log.Warn("esltest: txfax cannot read the document", "file", e.file, "err", err)
		return "_none_", false
	}
	e.doc, e.pages = doc, pages
	return "", true
}
