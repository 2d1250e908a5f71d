package receive

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/gofaxserver/gofaxserver/gofaxlib/hook"
	"github.com/gofaxserver/gofaxserver/gofaxlib/journal"
)

// ErrInterrupted is returned by RunFaxrcvd when gofaxd stopped the run:
// it is to be run again at the next start.
var ErrInterrupted = errors.New("receive: faxrcvd interrupted by gofaxd's stop")

// FaxrcvdObserver, when the Handler's Observer implements it, is told
// about faxrcvd runs and receptions the Recovery recorded, for metrics.
// Its methods must not block.
type FaxrcvdObserver interface {
	// FaxrcvdStarted is called when faxrcvd starts, with the time since
	// the call's hangup (0 when unknown).
	FaxrcvdStarted(sinceHangup time.Duration)
	// FaxrcvdEnded is called with "ok", "failed" or "interrupted".
	FaxrcvdEnded(result string)
	// Recovered is called for each reception the Recovery recorded, with
	// its class.
	Recovered(class string)
}

// Results of a faxrcvd run, for FaxrcvdObserver.
const (
	FaxrcvdOK          = "ok"
	FaxrcvdFailed      = "failed"
	FaxrcvdInterrupted = "interrupted"
)

// RunFaxrcvd runs FaxRcvdCmd for a recv.done record the way faxgetty
// runs bin/faxrcvd: file, modem, commid, reason, then CallID1 = caller
// number, CallID2 = caller name, CallID3 = recipient, CallID4 = gateway;
// plus GOfax.IP's HANGUPCAUSE and TRANSFER_RATE in the environment. It
// returns ErrInterrupted when ctx ended the run (gofaxd stopping): the
// record stays pending. Any other end (success, failure, its own
// faxrcvdtimeout) is final and returns nil.
func (h *Handler) RunFaxrcvd(ctx context.Context, rec journal.Record) error {
	log := h.logger()
	var r Received
	if err := rec.Decode(&r); err != nil {
		log.Error("faxrcvd not run: unreadable journal record", "err", err, "record", rec.ID)
		return nil
	}
	log = log.With("call_uuid", r.UUID, "commid", r.CommID, "file", r.File, "modem", r.Modem)
	spec := h.FaxRcvdCmd
	if r.FaxRcvdCmd != "" {
		spec = r.FaxRcvdCmd
	}
	if spec == "" || !r.Faxrcvd {
		return nil
	}
	cmd, err := hook.Command(spec, h.Spool,
		r.File, r.Modem, r.CommID, r.Reason, r.CallerNumber, r.CallerName, r.Recipient, r.Gateway)
	if err != nil {
		log.Error("faxrcvd not run", "err", err)
		return nil
	}
	cmd.Env = []string{
		"HANGUPCAUSE=" + r.HangupCause,
		"TRANSFER_RATE=" + strconv.Itoa(r.TransferRate),
	}
	if r.CalledNumber != "" {
		// Routed by the tenant store: scripts (FaxDispatch) can route by
		// tenant.
		cmd.Env = append(cmd.Env, "TENANT_ID="+r.TenantID, "TENANT_NAME="+r.TenantName,
			"CALLED_NUMBER="+r.CalledNumber, "FAX_ID="+r.FaxID)
	}
	cmd.Timeout = h.FaxRcvdTimeout
	obs, _ := h.Observer.(FaxrcvdObserver)
	if obs != nil {
		var since time.Duration
		if !r.Hangup.IsZero() {
			since = time.Since(r.Hangup)
		}
		obs.FaxrcvdStarted(since)
	}
	res, err := hook.Run(ctx, cmd)
	attrs := []any{"cmd", cmd.Path, "exit_code", res.ExitCode, "duration", res.Duration}
	if len(res.Stdout) > 0 {
		attrs = append(attrs, "stdout", output(res.Stdout))
	}
	if len(res.Stderr) > 0 {
		attrs = append(attrs, "stderr", output(res.Stderr))
	}
	if res.OutputOpen {
		attrs = append(attrs, "output_open", true) // a process it left behind holds its output
	}
	result := FaxrcvdOK
	switch {
	case err != nil && ctx.Err() != nil:
		result = FaxrcvdInterrupted
		log.Warn("faxrcvd cut short: gofaxd is stopping; it runs again at the next start", append(attrs, "err", err)...)
		err = fmt.Errorf("%w: %v", ErrInterrupted, err)
	case err != nil:
		result = FaxrcvdFailed
		log.Error("faxrcvd failed", append(attrs, "err", err)...)
		err = nil
	default:
		log.Info("faxrcvd done", attrs...)
	}
	if obs != nil {
		obs.FaxrcvdEnded(result)
	}
	return err
}

// xferTail is how much of the end of xferfaxlog hasRecvRecord reads:
// the records of the last few thousand calls, where a reception recorded
// just before a crash is.
const xferTail = 512 << 10

// hasRecvRecord reports whether the end of the transfer log already has
// the RECV record of commid: a reception recorded just before gofaxd died
// (before it was journaled) is not recorded twice.
func hasRecvRecord(path, commid string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return false
	}
	off := max(fi.Size()-xferTail, 0)
	b, err := io.ReadAll(io.NewSectionReader(f, off, fi.Size()-off))
	if err != nil {
		return false
	}
	return bytes.Contains(b, []byte("\tRECV\t"+commid+"\t"))
}
