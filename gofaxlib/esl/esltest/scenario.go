package esltest

import "time"

// Outcome is how a simulated far end treats a call.
type Outcome int

// Outcomes. The causes and SIP codes are those of the captures.
const (
	Success  Outcome = iota // answers and exchanges the fax
	Busy                    // SIP 486: USER_BUSY
	NoAnswer                // rings until the originate timeout: NO_ANSWER
	Rejected                // SIP 603: CALL_REJECTED
	NoRoute                 // NO_ROUTE_DESTINATION
	NotFound                // SIP 404: UNALLOCATED_NUMBER
	NoFax                   // answers but never talks T.30: result 2 after T0
)

var outcomeCause = map[Outcome]string{
	Busy: "USER_BUSY", NoAnswer: "NO_ANSWER", Rejected: "CALL_REJECTED",
	NoRoute: "NO_ROUTE_DESTINATION", NotFound: "UNALLOCATED_NUMBER",
}

func (o Outcome) String() string {
	switch o {
	case Success:
		return "success"
	case NoFax:
		return "nofax"
	}
	return outcomeCause[o]
}

// Scenario scripts the simulated far end of a call: the receiver of an
// originate routed with Route, or the sender of a PlaceCall (which uses
// Success or NoFax; the call outcomes are the listener's to decide).
type Scenario struct {
	Outcome Outcome
	// Pages the simulated sender transmits (PlaceCall); 0 means the
	// pages of its document.
	Pages int
	// T38 makes the far end enable and request T.38
	// (fax_enable_t38=true, fax_enable_t38_request=true).
	T38 bool
	// DisableV17 makes the far end set fax_disable_v17: the session
	// runs at V.29's 9600 bit/s.
	DisableV17 bool
	// RingTime is how long the far end rings before answering (or, with
	// NoAnswer, before the caller gives up if no originate_timeout is set).
	RingTime time.Duration
	// HangupAtPage makes the far end hang up while page k (1-based) is
	// transferred: result 49 with k-1 pages.
	HangupAtPage int
	// BadRows reported per page (fax-bad-rows).
	BadRows int
	// Renegotiate fires two negotiate events: first audio, then T.38.
	Renegotiate bool
	// NeverHangup keeps the far end up after the fax (the
	// signalwire/freeswitch#143 pitfall): the local leg stays up until
	// uuid_kill or the application hangs up.
	NeverHangup bool
	// DropESL closes the event socket that started the call after the
	// first page. An originate's call goes on without its inbound
	// client; a PlaceCall's channel loses its outbound socket and is hung
	// up (NORMAL_CLEARING) right after, as FreeSWITCH does.
	DropESL bool
	// OutliveSocket keeps a PlaceCall's channel up when its outbound
	// socket closes before the call ended (the listener died, e.g. kill
	// -9, or with DropESL): the applications already queued (rxfax) run
	// to their end and write the file, then the channel hangs up, its
	// socket application having ended.
	OutliveSocket bool
	// StationID is the far end's fax ident (default "2222").
	StationID string
}

// Real FreeSWITCH/spandsp durations, measured in the captures; the
// simulator multiplies them by the time scale.
const (
	answerDelay    = 20 * time.Millisecond   // INVITE to 200 OK on loopback
	negotiateDelay = 7700 * time.Millisecond // txfax start to phase B
	firstPageTime  = 11900 * time.Millisecond
	nextPageTime   = 9600 * time.Millisecond
	resultDelay    = 2300 * time.Millisecond // last page to rx phase E
	senderTail     = 1000 * time.Millisecond // rx phase E to tx phase E
	farEndBye      = 20 * time.Millisecond   // receiver's BYE after its result
	senderBye      = 2000 * time.Millisecond // remote sender's BYE after phase E
	t0Timeout      = 60 * time.Second        // spandsp T0: no answering fax
	originateLimit = 60 * time.Second        // originate_timeout default
	renegotiateGap = 3 * time.Second
)

// t30Text is spandsp's t30_completion_code_to_str for the codes the
// simulator produces (docs/ecosystem.md §4.7).
var t30Text = map[int]string{
	0:  "OK",
	2:  "Timed out waiting for initial communication",
	41: "TIFF/F file cannot be opened",
	49: "The call dropped prematurely",
}
