package freeswitch

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gofaxserver/gofaxserver/gofaxlib"
)

// Event is what Tracker reads from an event: header values by name.
// *esl.Event satisfies it.
type Event interface {
	Get(name string) string
}

// Change tells what an event changed in the tracked call; several bits can
// be set at once.
type Change uint

// Changes reported by Tracker.Add.
const (
	ChangeAnswer         Change = 1 << iota // the call was answered
	ChangeNegotiation                       // spandsp negotiated (phase B)
	ChangePage                              // a page was transferred (phase D)
	ChangeResult                            // spandsp's final result arrived (phase E)
	ChangeAppDone                           // rxfax/txfax returned
	ChangeHangup                            // the call hung up
	ChangeHangupComplete                    // CHANNEL_HANGUP_COMPLETE: nothing more will come
)

// Tracker accumulates the events of one fax call, in either direction, into
// a gofaxlib.Result. The spandsp result and the hangup arrive in either
// order; when the result event is lost, the fax_* channel variables on
// CHANNEL_EXECUTE_COMPLETE or CHANNEL_HANGUP_COMPLETE stand in for it. A
// Tracker is not safe for concurrent use; feed it from the goroutine that
// reads the events and hand out copies from Result.
type Tracker struct {
	// UUID, if set, is the channel to follow; events naming another
	// channel in Unique-ID are ignored.
	UUID string

	r        gofaxlib.Result
	appDone  bool
	hungUp   bool
	complete bool
}

// Result returns a copy of what is known so far.
func (t *Tracker) Result() gofaxlib.Result {
	r := t.r
	r.Pages = slices.Clone(t.r.Pages)
	return r
}

// Final reports whether spandsp's result is known.
func (t *Tracker) Final() bool { return t.r.Final }

// AppDone reports whether rxfax/txfax has returned.
func (t *Tracker) AppDone() bool { return t.appDone }

// HungUp reports whether the call hung up.
func (t *Tracker) HungUp() bool { return t.hungUp }

// Complete reports whether CHANNEL_HANGUP_COMPLETE was seen: no further
// event about this call will come.
func (t *Tracker) Complete() bool { return t.complete }

// Add merges one event and reports what changed.
func (t *Tracker) Add(e Event) Change {
	if t.UUID != "" {
		if id := e.Get("Unique-ID"); id != "" && id != t.UUID {
			return 0
		}
	}
	var c Change
	name := e.Get("Event-Name")
	switch name {
	case "CUSTOM":
		c |= t.spandsp(e)
	case "CHANNEL_ANSWER":
		c |= t.answered(e, true)
	case "CHANNEL_CALLSTATE":
		switch e.Get("Channel-Call-State") {
		case "ACTIVE":
			c |= t.answered(e, true)
		case "HANGUP":
			c |= t.hangup(e)
		}
	case "CHANNEL_EXECUTE_COMPLETE":
		switch e.Get("Application") {
		case "rxfax", "txfax":
			if !t.appDone {
				t.appDone = true
				c |= ChangeAppDone
			}
			switch {
			case t.r.Final:
			case t.fromVars(e):
				c |= ChangeResult
			default:
				if resp := e.Get("Application-Response"); resp != "" && resp != "_none_" {
					t.r.AppResponse = resp
				}
			}
		}
	case "CHANNEL_HANGUP":
		c |= t.hangup(e)
	case "CHANNEL_HANGUP_COMPLETE":
		c |= t.hangup(e)
		if !t.r.Final && t.fromVars(e) {
			c |= ChangeResult
		}
		if !t.complete {
			t.complete = true
			c |= ChangeHangupComplete
		}
	}
	if name != "CUSTOM" && name != "" {
		c |= t.answered(e, false)
	}
	if c&ChangeResult != 0 && t.r.AppResponse != "" {
		t.r.AppResponse = ""
	}
	return c
}

// spandsp handles the CUSTOM spandsp::{rx,tx}fax* events.
func (t *Tracker) spandsp(e Event) Change {
	sub, ok := strings.CutPrefix(e.Get("Event-Subclass"), "spandsp::")
	if !ok || len(sub) < 5 || (sub[:5] != "rxfax" && sub[:5] != "txfax") {
		return 0
	}
	switch sub[5:] {
	case "negociateresult": // sic
		t.r.Negotiations++
		t.station(e.Get)
		return ChangeNegotiation
	case "pageresult":
		p := page(e.Get)
		t.setPages(p.Number, atoi(e.Get("fax-document-total-pages")))
		if i := slices.IndexFunc(t.r.Pages, func(x gofaxlib.PageResult) bool { return x.Number == p.Number }); i >= 0 {
			t.r.Pages[i] = p
		} else {
			t.r.Pages = append(t.r.Pages, p)
		}
		t.sumBadRows()
		return ChangePage
	case "result":
		if t.r.Final {
			return 0
		}
		t.final(e.Get)
		return ChangeResult
	}
	return 0
}

// fromVars fills the final result from the fax_* channel variables if
// spandsp set them (variable_fax_result_code present).
func (t *Tracker) fromVars(e Event) bool {
	if e.Get("variable_fax_result_code") == "" {
		return false
	}
	t.final(func(n string) string { return e.Get("variable_" + strings.ReplaceAll(n, "-", "_")) })
	return true
}

// final reads a phase E result through get, which takes spandsp's header
// names (fax-success, ...).
func (t *Tracker) final(get func(string) string) {
	t.r.Final = true
	t.r.Success = get("fax-success") == "1"
	t.r.ResultCode = gofaxlib.T30Code(atoi(get("fax-result-code")))
	t.r.ResultText = get("fax-result-text")
	t.setPages(atoi(get("fax-document-transferred-pages")), atoi(get("fax-document-total-pages")))
	t.station(get)
}

// station reads the phase B values present in negotiation and result events.
func (t *Tracker) station(get func(string) string) {
	if v := atoi(get("fax-transfer-rate")); v > 0 {
		t.r.TransferRate = v
	}
	if v := get("fax-ecm-used"); v != "" {
		t.r.ECM = v == "on"
	}
	if v := get("fax-t38-status"); v != "" {
		t.r.T38Status = v
	}
	if v := get("fax-local-station-id"); v != "" {
		t.r.LocalID = v
	}
	if v := get("fax-remote-station-id"); v != "" {
		t.r.RemoteID = v
	}
	// The sender's negotiation event reports 0 total pages; never let that
	// overwrite a known count.
	t.setPages(-1, atoi(get("fax-document-total-pages")))
}

func (t *Tracker) setPages(transferred, total int) {
	if transferred >= 0 && transferred >= t.r.TransferredPages {
		t.r.TransferredPages = transferred
	}
	if total > 0 {
		t.r.TotalPages = total
	}
}

func (t *Tracker) sumBadRows() {
	t.r.BadRows = 0
	for _, p := range t.r.Pages {
		t.r.BadRows += p.BadRows
	}
}

func page(get func(string) string) gofaxlib.PageResult {
	return gofaxlib.PageResult{
		Number:           atoi(get("fax-document-transferred-pages")),
		BadRows:          atoi(get("fax-bad-rows")),
		LongestBadRowRun: atoi(get("fax-longest-bad-row-run")),
		Encoding:         atoi(get("fax-encoding")),
		EncodingName:     get("fax-encoding-name"),
		Resolution:       get("fax-image-resolution"),
		FileResolution:   get("fax-file-image-resolution"),
		PixelSize:        get("fax-image-pixel-size"),
		FilePixelSize:    get("fax-file-image-pixel-size"),
		ImageSize:        atoi(get("fax-image-size")),
	}
}

// answered records the answer time: from Caller-Channel-Answered-Time when
// an event carries it, else (for an answer event) the event's own time.
func (t *Tracker) answered(e Event, isAnswer bool) Change {
	if !t.r.Answered.IsZero() {
		return 0
	}
	ts := micros(e.Get("Caller-Channel-Answered-Time"))
	if ts.IsZero() && isAnswer {
		ts = eventTime(e)
	}
	if ts.IsZero() {
		return 0
	}
	t.r.Answered = ts
	return ChangeAnswer
}

func (t *Tracker) hangup(e Event) Change {
	if v := e.Get("Hangup-Cause"); v != "" && t.r.HangupCause == "" {
		t.r.HangupCause = v
	}
	if ts := micros(e.Get("Caller-Channel-Hangup-Time")); !ts.IsZero() {
		t.r.Hangup = ts
	} else if t.r.Hangup.IsZero() {
		t.r.Hangup = eventTime(e)
	}
	if t.hungUp {
		return 0
	}
	t.hungUp = true
	return ChangeHangup
}

// eventTime is the event's Event-Date-Timestamp, or now if it has none.
func eventTime(e Event) time.Time {
	if ts := micros(e.Get("Event-Date-Timestamp")); !ts.IsZero() {
		return ts
	}
	return time.Now()
}

// micros parses FreeSWITCH's microseconds since the epoch; "0" or garbage is
// the zero time.
func micros(s string) time.Time {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return time.Time{}
	}
	return time.UnixMicro(n)
}

func atoi(s string) int {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return 0
	}
	return n
}

// OriginateCause returns the cause of a failed originate from the body of
// its BACKGROUND_JOB event or api reply ("-ERR USER_BUSY\n" → "USER_BUSY"),
// and false if the body is not an error.
func OriginateCause(body string) (string, bool) {
	rest, ok := strings.CutPrefix(strings.TrimSpace(body), "-ERR")
	if !ok {
		return "", false
	}
	return strings.TrimSpace(rest), true
}
