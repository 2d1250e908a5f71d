package receive

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gofaxserver/gofaxserver/gofaxlib"
	"github.com/gofaxserver/gofaxserver/gofaxlib/freeswitch"
	"github.com/gofaxserver/gofaxserver/gofaxlib/hook"
	"github.com/gofaxserver/gofaxserver/gofaxlib/hylafax"
)

// recordWait bounds waiting for the xferfaxlog lock; HylaFAX's writers
// hold it for one write.
const recordWait = 5 * time.Second

// maxLoggedOutput bounds how much of a script's output goes into one log
// record: enough for an error message, not for a runaway script.
const maxLoggedOutput = 2048

// dynamicConfig runs the DynamicConfig script with GOfax.IP's arguments:
// modem, caller number, caller name, recipient, gateway. As with faxgetty,
// a script exiting non-zero still has the lines it printed applied. One
// killed at its deadline may have been cut off mid-way: its output is
// ignored and the call accepted with the defaults (a fax is never lost to
// a hanging script).
func (c *call) dynamicConfig(ctx context.Context) {
	h := c.h
	if h.DynamicConfig == "" {
		return
	}
	cmd, err := hook.Command(h.DynamicConfig, h.Spool, c.lease.Modem(), c.cidnum, c.cidname, c.recipient, c.gateway)
	if err != nil {
		c.log.Error("DynamicConfig not run", "err", err)
		return
	}
	cmd.Timeout = h.DynamicConfigTimeout
	res, err := hook.Run(ctx, cmd)
	switch {
	case errors.Is(err, hook.ErrTimeout) || ctx.Err() != nil:
		c.log.Error("DynamicConfig killed; call accepted with the defaults", "err", err,
			"stderr", output(res.Stderr), "duration", res.Duration)
		return
	case err != nil:
		c.log.Error("DynamicConfig failed; using what it printed", "err", err,
			"stderr", output(res.Stderr), "duration", res.Duration)
	}
	c.cfg = ParseCallConfig(res.Stdout)
	if len(c.cfg.Ignored) > 0 {
		c.log.Warn("DynamicConfig tags ignored", "tags", c.cfg.Ignored)
	}
}

// output renders script output for a log record as text.
func output(b []byte) string {
	s := strings.TrimSpace(strings.ToValidUTF8(string(b), "?"))
	if len(s) > maxLoggedOutput {
		s = s[:maxLoggedOutput] + "…"
	}
	return s
}

// finish records the reception as faxgetty does: the file is tagged (or
// removed without pages), the modem released, the RECV record and the
// session log written, the reception journaled and handed to faxrcvd
// once the call's connection is closed. When rxfax may still write the
// file (its end was not confirmed), nothing is recorded yet: the
// reception is handed over to the Recovery, which finishes it once
// FreeSWITCH confirms the call's end.
func (c *call) finish(ctx context.Context) {
	if !c.ended {
		c.handOver()
		return
	}
	h := c.h
	res := &c.res
	// The socket session ends while the reception is recorded and
	// journaled, unless FreeSWITCH is still to be asked to add the caller
	// to the softmodem fallback list; faxrcvd starts after both, outside
	// the call.
	fb, key, fbOK := c.fallback()
	mayFallback := fbOK && c.t38 && freeswitch.NeedsFallback(res)
	exited := make(chan struct{})
	exit := func() {
		// "exit" goes out before the reception is recorded; waiting
		// for FreeSWITCH to close runs beside it.
		wait := c.startExit()
		go func() {
			defer close(exited)
			wait()
		}()
	}
	if !mayFallback {
		exit()
	}
	r, xfer := h.record(ctx, c.file, c.ending(), c.session, c.log)
	c.out.Pages = r.Pages
	c.out.Lost = c.lost != nil
	c.out.Class = r.Class

	info := c.recvInfo(r.Pages)
	info.Reason = r.Reason
	if r.Faxrcvd {
		c.lease.Document(info)
	}
	c.lease.Release(info)

	if mayFallback {
		if r.Reason != "" && c.ch.Err() == nil {
			fctx, cancel := c.command()
			if err := fb.Add(fctx, freeswitch.Inbound, key); err != nil {
				c.log.Warn("cannot add caller to the softmodem fallback list", "err", err)
			} else {
				c.log.Info("caller added to the softmodem fallback list", "fallback_key", key)
			}
			cancel()
		}
		exit()
	}
	// Close writes SESSION END.
	if err := c.session.Close(); err != nil {
		c.log.Error("session log", "err", err)
	}
	done := h.commit(ctx, c.startID, r, c.file, xfer)
	<-exited
	h.enqueue(c.fin, done, r)
}

// handOver leaves a reception whose end FreeSWITCH did not confirm to the
// Recovery: the file is kept exactly as written (rxfax may still write
// it), the modem released, the session log left open for the Recovery to
// finish, and the call counted as unconfirmed.
func (c *call) handOver() {
	res := &c.res
	c.file.Close()
	c.out.Pages = res.TransferredPages
	c.out.Lost = true
	c.out.Class = ClassUnconfirmed
	why := c.reason(false, res.TransferredPages)
	c.log.Error("reception end not confirmed: the file is kept as written and finished once FreeSWITCH confirms the call's end",
		"pages_reported", res.TransferredPages, "reason", why)
	c.session.Printf("RECV: %s; end of the reception not confirmed: %s kept as written, recorded once FreeSWITCH confirms that the call ended",
		orOK(why), c.file.Name)
	info := c.recvInfo(res.TransferredPages)
	info.Reason = why
	c.lease.Release(info)
	if err := c.session.Detach(); err != nil {
		c.log.Error("session log", "err", err)
	}
	c.exit()
	if c.startID == "" {
		c.log.Error("reception not journaled: it stays in recvq unfinished")
		return
	}
	c.h.active.remove(c.startID)
	c.h.wakeRecovery()
}

// reception is the journal's view of this call.
func (c *call) reception() Reception {
	r := Reception{
		Host:         hostname(),
		UUID:         c.uuid,
		CommID:       c.commid,
		Start:        c.start.UTC(),
		CallerNumber: c.cidnum,
		CallerName:   c.cidname,
		Recipient:    c.recipient,
		Gateway:      c.gateway,
		FaxRcvdCmd:   c.cfg.FaxRcvdCmd,
		FaxID:        c.route.FaxID,
		CalledNumber: c.route.CalledNumber,
		TenantID:     c.route.TenantID,
		TenantName:   c.route.TenantName,
		NumberID:     c.route.NumberID,
	}
	if c.lease != nil {
		r.Modem, r.WithoutModem = c.lease.Modem(), !c.lease.Owned()
	}
	if c.file != nil {
		r.File = c.file.Name
	}
	r.FileMode = uint32(c.h.RecvFileMode.Perm())
	if c.cfg.FileMode != 0 {
		r.FileMode = uint32(c.cfg.FileMode.Perm())
	}
	return r
}

// ending is what the call knows when it is recorded.
func (c *call) ending() *ending {
	return &ending{rcpt: c.reception(), res: c.res, pageTimes: c.pageTimes, killed: c.killed, lost: c.lost, hungUp: c.hungUp}
}

// ending is what is known of a reception when it is recorded: by its
// call, or by the Recovery.
type ending struct {
	rcpt      Reception
	res       gofaxlib.Result
	pageTimes map[int]time.Duration // time each page took, by page number; nil when unknown
	killed    string                // why the call was killed, "" if it was not
	lost      error                 // why the socket ended early, nil if it did not
	hungUp    time.Time             // when the hangup completed, zero if unknown
	recovered bool                  // recorded by the Recovery
}

// record records a reception as faxgetty does: the file (nil when it is
// gone) is tagged, or removed without pages, and the session log's
// result is written. It returns what the journal keeps of it and the
// RECV record (nil for none); commit makes the file durable and writes
// the record.
func (h *Handler) record(ctx context.Context, file *hylafax.RecvFile, e *ending, sess *hylafax.SessionLog, log *slog.Logger) (Received, *hylafax.XferRecord) {
	res := &e.res
	var (
		written []hylafax.PageInfo
		pages   int
		ferr    error
	)
	if file != nil {
		// What spandsp wrote; nil when the file cannot be read (then
		// Tag cannot tag it either, and says why).
		written, _ = file.Pages()
		if res.RemoteID == "" && len(written) > 0 {
			// spandsp writes the sender's TSI as the description.
			res.RemoteID, _, _ = strings.Cut(written[0].ImageDescription, "\n")
		}
	}
	params := recvParams(res)
	if file != nil {
		pages, ferr = file.Tag(hylafax.FaxTags{
			Sender:    res.RemoteID,
			CallIDs:   e.callIDs(),
			Params:    ptr(params),
			PageTimes: pageSeconds(e.pageTimes, recvTimes(written)),
		})
	}
	switch {
	case ferr != nil:
		// The file is kept as it is; count pages from the events.
		log.Error("received file kept untagged", "err", ferr)
		pages = max(res.TransferredPages, len(written))
	case pages == 0 && file != nil:
		log.Info("received file without pages removed")
		sess.Printf("RECV: no pages, %s removed", file.Name)
	}
	delivered := res.Delivered() && (ferr != nil || pages == res.TransferredPages)
	reason := e.reason(delivered, pages)
	r := Received{
		Reception:    e.rcpt,
		End:          time.Now().UTC(),
		Hangup:       e.hungUp.UTC(),
		Pages:        pages,
		Reason:       reason,
		RemoteID:     res.RemoteID,
		HangupCause:  res.HangupCause,
		TransferRate: res.TransferRate,
		ECM:          res.ECM,
		T38:          res.T38Status,
		Faxrcvd:      pages > 0,
		Recovered:    e.recovered,
		Answered:     res.Answered.UTC(),
		TotalPages:   res.TotalPages,
	}
	if res.Final {
		r.ResultCode, r.ResultText = res.ResultCode, res.ResultText
	}
	switch {
	case delivered:
		r.Class = ClassReceived
	case pages > 0:
		r.Class = ClassPartial
	default:
		r.Class = ClassFailed
	}

	connected := res.Duration()
	if connected == 0 && !res.Answered.IsZero() {
		connected = r.End.Sub(res.Answered)
	}
	attrs := []any{"pages", pages, "delivered", delivered, "reason", reason, "hangup_cause", res.HangupCause,
		"remote_id", res.RemoteID, "rate", res.TransferRate, "ecm", res.ECM, "t38", res.T38Status}
	if delivered {
		log.Info("fax received", attrs...)
	} else {
		log.Warn("fax reception failed", attrs...)
	}
	sess.Printf("RECV FAX: %d pages, %s, hangup cause %s", pages, orOK(reason), res.HangupCause)

	if h.XferFaxLog == "" || e.recovered && hasRecvRecord(h.XferFaxLog, e.rcpt.CommID) {
		return r, nil
	}
	return r, &hylafax.XferRecord{
		Start:    e.rcpt.Start.Local(),
		Kind:     "RECV",
		CommID:   e.rcpt.CommID,
		Modem:    e.rcpt.Modem,
		JobID:    e.rcpt.File,
		Sender:   "fax",
		Dest:     e.rcpt.Recipient,
		CSI:      res.RemoteID,
		Params:   params.Encode(),
		DCS:      recvDCS(written, params),
		Pages:    pages,
		JobTime:  r.End.Sub(e.rcpt.Start),
		ConnTime: connected,
		Reason:   reason,
		CallIDs:  e.callIDs(),
	}
}

func ptr[T any](v T) *T { return &v }

// recvTimes returns the FaxRecvTime spandsp wrote on each page.
func recvTimes(pages []hylafax.PageInfo) []uint32 {
	secs := make([]uint32, len(pages))
	for i, p := range pages {
		secs[i] = p.FaxRecvTime
	}
	return secs
}

// recvDCS is field 19 of the RECV record, from which HylaFAX's tools
// read the data format: the DCS spandsp wrote on the last page that has
// one (the frame the sender last used, already in HylaFAX's bit order),
// else the DCS HylaFAX derives from the session parameters p. Both come
// in HylaFAX's form, upper-case hex bytes separated by a blank.
func recvDCS(pages []hylafax.PageInfo, p hylafax.Class2Params) string {
	for _, pg := range slices.Backward(pages) {
		if dcs, ok := hexDCS(pg.FaxDcs); ok {
			return dcs
		}
	}
	return p.DCS()
}

// A T.30 DCS has at least minDCSBytes bytes; HylaFAX keeps at most
// maxDCSBytes (its FaxParams hold 16).
const (
	minDCSBytes = 3
	maxDCSBytes = 16
)

// hexDCS normalises a DCS in hex, such as "00 46 1f 21", to HylaFAX's
// form. ok is false when s is not minDCSBytes to maxDCSBytes hex bytes.
func hexDCS(s string) (dcs string, ok bool) {
	f := strings.Fields(s)
	if len(f) < minDCSBytes || len(f) > maxDCSBytes {
		return "", false
	}
	for i, b := range f {
		v, err := strconv.ParseUint(b, 16, 8)
		if err != nil {
			return "", false
		}
		f[i] = fmt.Sprintf("%02X", v)
	}
	return strings.Join(f, " "), true
}

// pageSeconds returns the FaxRecvTime of each page: the time measured
// between the page's event and the one before it, rounded up to whole
// seconds, or what spandsp wrote when that is more or the page was not
// timed, and at least 1 s. spandsp truncates, so its pages under a second
// have 0, and faxinfo shows "TimeToRecv: <unknown>" for a fax whose pages
// sum to 0. measured is by page number, written by page index, one for
// each page of the file.
func pageSeconds(measured map[int]time.Duration, written []uint32) []uint32 {
	secs := make([]uint32, len(written))
	for i := range secs {
		s := max(1, written[i])
		if d := measured[i+1]; d > 0 {
			up := d / time.Second
			if d%time.Second != 0 {
				up++
			}
			s = max(s, uint32(min(up, math.MaxUint32)))
		}
		secs[i] = s
	}
	return secs
}

// callIDs are faxgetty's CallID1..4 for the TIFF and xferfaxlog: caller
// number, caller name, recipient, gateway, without empty trailing ones
// (faxrcvd gets all four, by position).
func (e *ending) callIDs() []string {
	ids := []string{e.rcpt.CallerNumber, e.rcpt.CallerName, e.rcpt.Recipient, e.rcpt.Gateway}
	for len(ids) > 0 && ids[len(ids)-1] == "" {
		ids = ids[:len(ids)-1]
	}
	return ids
}

func orOK(reason string) string {
	if reason == "" {
		return "OK"
	}
	return reason
}

// reason is the text HylaFAX shows for a reception, empty only when the
// fax arrived whole.
func (c *call) reason(delivered bool, pages int) string {
	return (&ending{res: c.res, killed: c.killed, lost: c.lost}).reason(delivered, pages)
}

// reason is the text HylaFAX shows for a reception, empty only when the
// fax arrived whole.
func (e *ending) reason(delivered bool, pages int) string {
	res := &e.res
	var r string
	switch {
	case delivered:
		return ""
	case e.recovered && !res.Final:
		r = fmt.Sprintf("Call lost by gofaxd; recorded once FreeSWITCH confirmed its end; fax result unknown (%d pages in the file)", pages)
	case e.killed != "":
		r = "Call killed: " + e.killed
		if res.Final && res.ResultText != "" {
			r += " (" + res.ResultText + ")"
		}
	case e.lost != nil && !res.Final:
		r = fmt.Sprintf("Event socket connection lost during the reception (%v)", e.lost)
	case res.Final && !res.Success:
		r = res.ResultText
		if r == "" {
			r = "Fax error " + strconv.Itoa(int(res.ResultCode))
		}
	case res.Final:
		r = fmt.Sprintf("Only %d of %d pages received", pages, res.TotalPages)
	case res.AppResponse != "":
		r = "rxfax failed: " + res.AppResponse
	case res.HangupCause != "":
		r = "Call ended (" + res.HangupCause + ") without a fax result"
	default:
		r = "Call ended without a fax result"
	}
	return strings.Join(strings.Fields(r), " ")
}
