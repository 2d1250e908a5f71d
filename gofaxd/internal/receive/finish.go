package receive

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

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

// unconfirmedNote ends the reason of a reception whose end FreeSWITCH
// did not confirm.
const unconfirmedNote = "reception end not confirmed, file kept as written"

// finish records the reception as faxgetty does: the file is tagged (or
// removed without pages), the modem released, the RECV record and the
// session log written, and faxrcvd run for a file that has pages. When
// the channel's end was not confirmed, rxfax may still write the file:
// it is kept as it is (neither tagged nor removed), and faxrcvd does not
// run; the call is still recorded.
func (c *call) finish(ctx context.Context) {
	h := c.h
	res := &c.res

	var (
		written []hylafax.PageInfo
		pages   int
		ferr    error
	)
	params := c.params()
	if c.ended {
		// What spandsp wrote; nil when the file cannot be read (then
		// Finish cannot tag it either, and says why).
		written, _ = hylafax.TIFFPages(c.file.Path)
		pages, ferr = c.file.Finish(hylafax.FaxTags{
			Sender:    res.RemoteID,
			CallIDs:   c.callIDs(),
			Params:    ptr(params),
			PageTimes: pageSeconds(c.pageTimes, recvTimes(written)),
		})
	} else {
		c.file.Close()
		pages = res.TransferredPages
		c.log.Error("reception end not confirmed; file kept as written", "pages_reported", pages)
		c.session.Printf("RECV: reception end not confirmed; %s kept as written", c.file.Name)
	}
	switch {
	case !c.ended:
	case ferr != nil:
		// The file is kept as it is; count pages from the events.
		c.log.Error("received file kept untagged", "err", ferr)
		pages = res.TransferredPages
	case pages == 0:
		c.log.Info("received file without pages removed")
		c.session.Printf("RECV: no pages, %s removed", c.file.Name)
	}
	delivered := res.Delivered() && (ferr != nil || pages == res.TransferredPages)
	reason := c.reason(delivered, pages)
	if !c.ended {
		delivered = false
		reason = strings.TrimPrefix(reason+"; "+unconfirmedNote, "; ")
	}
	c.out.Pages = pages
	c.out.Lost = c.lost != nil
	switch {
	case delivered:
		c.out.Class = ClassReceived
	case pages > 0:
		c.out.Class = ClassPartial
	default:
		c.out.Class = ClassFailed
	}

	end := time.Now()
	connected := res.Duration()
	if connected == 0 && !res.Answered.IsZero() {
		connected = end.Sub(res.Answered)
	}
	attrs := []any{"pages", pages, "delivered", delivered, "reason", reason, "hangup_cause", res.HangupCause,
		"remote_id", res.RemoteID, "rate", res.TransferRate, "ecm", res.ECM, "t38", res.T38Status}
	if delivered {
		c.log.Info("fax received", attrs...)
	} else {
		c.log.Warn("fax reception failed", attrs...)
	}
	c.session.Printf("RECV FAX: %d pages, %s, hangup cause %s", pages, orOK(reason), res.HangupCause)

	if h.XferFaxLog != "" {
		// A local record: written even when gofaxd is out of time.
		lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), recordWait)
		err := hylafax.AppendXferLog(lctx, h.XferFaxLog, hylafax.XferRecord{
			Start:    c.start,
			Kind:     "RECV",
			CommID:   c.commid,
			Modem:    c.lease.Modem(),
			JobID:    c.file.Name,
			Sender:   "fax",
			Dest:     c.recipient,
			CSI:      res.RemoteID,
			Params:   params.Encode(),
			DCS:      recvDCS(written, params),
			Pages:    pages,
			JobTime:  end.Sub(c.start),
			ConnTime: connected,
			Reason:   reason,
			CallIDs:  c.callIDs(),
		})
		cancel()
		if err != nil {
			c.log.Error("cannot write xferfaxlog", "err", err)
		}
	}

	info := c.recvInfo(pages)
	info.Reason = reason
	if pages > 0 && c.ended {
		c.lease.Document(info)
	}
	c.lease.Release(info)

	if fb, key, ok := c.fallback(); ok && c.t38 && !delivered && freeswitch.NeedsFallback(res) && c.ch.Err() == nil {
		fctx, cancel := c.command()
		if err := fb.Add(fctx, freeswitch.Inbound, key); err != nil {
			c.log.Warn("cannot add caller to the softmodem fallback list", "err", err)
		} else {
			c.log.Info("caller added to the softmodem fallback list", "fallback_key", key)
		}
		cancel()
	}
	// Close writes SESSION END.
	if err := c.session.Close(); err != nil {
		c.log.Error("session log", "err", err)
	}
	// Ending the socket session waits for FreeSWITCH to close it; that
	// need not delay faxrcvd.
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		c.exit()
	}()
	if pages > 0 && c.ended {
		c.faxrcvd(c.fin, reason)
	}
	<-exited
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
func (c *call) callIDs() []string {
	ids := []string{c.cidnum, c.cidname, c.recipient, c.gateway}
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
	res := &c.res
	var r string
	switch {
	case delivered:
		return ""
	case c.killed != "":
		r = "Call killed: " + c.killed
		if res.Final && res.ResultText != "" {
			r += " (" + res.ResultText + ")"
		}
	case c.lost != nil && !res.Final:
		r = fmt.Sprintf("Event socket connection lost during the reception (%v)", c.lost)
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

// faxrcvd runs FaxRcvdCmd the way faxgetty runs bin/faxrcvd: file, modem,
// commid, reason, then CallID1 = caller number, CallID2 = caller name,
// CallID3 = recipient, CallID4 = gateway; plus GOfax.IP's HANGUPCAUSE and
// TRANSFER_RATE in the environment.
func (c *call) faxrcvd(ctx context.Context, reason string) {
	spec := c.h.FaxRcvdCmd
	if c.cfg.FaxRcvdCmd != "" {
		spec = c.cfg.FaxRcvdCmd
	}
	if spec == "" {
		return
	}
	cmd, err := hook.Command(spec, c.h.Spool,
		c.file.Name, c.lease.Modem(), c.commid, reason, c.cidnum, c.cidname, c.recipient, c.gateway)
	if err != nil {
		c.log.Error("faxrcvd not run", "err", err)
		return
	}
	cmd.Env = []string{
		"HANGUPCAUSE=" + c.res.HangupCause,
		"TRANSFER_RATE=" + strconv.Itoa(c.res.TransferRate),
	}
	cmd.Timeout = c.h.FaxRcvdTimeout
	if !c.hungUp.IsZero() {
		c.out.HangupToFaxrcvd = time.Since(c.hungUp)
	}
	res, err := hook.Run(ctx, cmd)
	attrs := []any{"cmd", cmd.Path, "exit_code", res.ExitCode, "duration", res.Duration}
	if len(res.Stdout) > 0 {
		attrs = append(attrs, "stdout", output(res.Stdout))
	}
	if len(res.Stderr) > 0 {
		attrs = append(attrs, "stderr", output(res.Stderr))
	}
	switch {
	case err != nil && ctx.Err() != nil:
		c.log.Error("faxrcvd cut short: gofaxd is stopping; the fax stays in recvq", append(attrs, "err", err)...)
		return
	case err != nil:
		c.log.Error("faxrcvd failed", append(attrs, "err", err)...)
		return
	}
	c.log.Info("faxrcvd done", attrs...)
}
