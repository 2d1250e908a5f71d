package gofaxlib

import "time"

// Result is the outcome of one fax call in either direction, as reported by
// mod_spandsp (events or fax_* channel variables) and the call's hangup.
type Result struct {
	// Final is true once spandsp's phase E result (fax-success,
	// fax-result-code, fax-result-text) was seen. Without it Success,
	// ResultCode and ResultText carry no information.
	Final bool
	// Success is spandsp's own success flag (fax-success: 1). It alone is not
	// proof of delivery; see Delivered.
	Success    bool
	ResultCode T30Code
	ResultText string

	// HangupCause is FreeSWITCH's hangup cause name (Q.850 style, e.g.
	// NORMAL_CLEARING, USER_BUSY), or the cause of a failed originate.
	HangupCause string
	// AppResponse is the Application-Response of a failed rxfax/txfax that
	// never started (e.g. "Cannot send non-existant fax file").
	AppResponse string

	TotalPages       int // pages announced (sender: document size; receiver: pages seen)
	TransferredPages int
	TransferRate     int    // bit/s of the last negotiation
	ECM              bool   // error correction mode used
	T38Status        string // off, negotiated, requested, refused
	RemoteID         string // remote station identifier (CSI/TSI)
	LocalID          string // our station identifier
	Negotiations     int    // phase B negotiations seen (more than one: T.38 switch or retrain)
	BadRows          int    // sum of bad rows over all pages
	Pages            []PageResult

	Answered time.Time // call became active (zero if never)
	Hangup   time.Time // call hung up (zero if not seen)
}

// PageResult describes one transferred page (spandsp phase D).
type PageResult struct {
	Number           int    // 1-based page number within this call
	BadRows          int    // rows received with errors
	LongestBadRowRun int    // longest run of consecutive bad rows
	Encoding         int    // spandsp compression code
	EncodingName     string // e.g. "T.4 2-D", "T.6"
	Resolution       string // "XxY" in pixels per metre as spandsp reports, line image
	FileResolution   string // "XxY" of the file image
	PixelSize        string // "WxH" of the line image
	FilePixelSize    string // "WxH" of the file image
	ImageSize        int    // compressed size in bytes
}

// Delivered reports whether the fax really arrived: spandsp's success flag
// is set and every announced page was transferred. GOfax.IP trusted the flag
// alone and reported jobs with zero pages as done (gonicus/gofaxip#34).
func (r *Result) Delivered() bool {
	return r.Final && r.Success && r.TotalPages > 0 && r.TransferredPages == r.TotalPages
}

// Connected reports whether the call was answered.
func (r *Result) Connected() bool { return !r.Answered.IsZero() }

// Duration is the connected time of the call (answer to hangup), or zero if
// either end is unknown or they are out of order.
func (r *Result) Duration() time.Duration {
	if r.Answered.IsZero() || r.Hangup.IsZero() || r.Hangup.Before(r.Answered) {
		return 0
	}
	return r.Hangup.Sub(r.Answered)
}
