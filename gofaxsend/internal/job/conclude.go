package job

import (
	"cmp"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/gofaxserver/gofaxserver/gofaxlib"
	"github.com/gofaxserver/gofaxserver/gofaxlib/esl"
	"github.com/gofaxserver/gofaxserver/gofaxlib/freeswitch"
	"github.com/gofaxserver/gofaxserver/gofaxlib/hylafax"
	"github.com/gofaxserver/gofaxserver/gofaxsend/internal/call"
	"github.com/gofaxserver/gofaxserver/gofaxsend/internal/outcome"
)

// conclude decides the attempt's result from the call report and writes
// back counters, session parameters and the documents still to send.
// stop is true when the batch's other jobs would meet the same failure.
func (a *attempt) conclude(ctx context.Context, conn *esl.Conn, set settings, rep call.Report, callErr error) (outcome.Result, bool) {
	q, cfg := a.q, a.b.Config
	r := &rep.Result
	connected, delivered := r.Connected(), r.Delivered()
	o := gofaxlib.Decide(r, gofaxlib.Policy{FailedCauses: failedCauses(cfg.Gofaxsend.FailedResponse), Tries: q.Int("tottries")})
	res := outcome.Call(o, r)
	local := false
	switch {
	case delivered:
	case callErr != nil && errors.Is(callErr, errDial):
		res, local = outcome.Local(outcome.CodeNoLine, "Cannot build the dial string: %v", callErr), true
	case rep.Killed == call.KilledInterrupted || callErr != nil && ctx.Err() != nil:
		res, local = outcome.Result{Status: outcome.Retry, Code: outcome.CodeInterrupted, Text: "Job interrupted by user"}, true
	case callErr != nil:
		res, local = outcome.Local(outcome.CodeNoLine, "FreeSWITCH: %v", callErr), true
	case rep.Killed != "" && rep.Killed != call.KilledHangupGrace:
		// spandsp reports the hang-up as "call dropped"; say why.
		code := outcome.CodePhaseC
		if !connected {
			code = outcome.CodeNoAnswer
		}
		res = outcome.Result{Status: outcome.Retry, Code: code, Text: "Hung up by gofaxsend: " + rep.Killed}
	}

	if callErr == nil && !rep.Complete {
		a.log.Warn("FreeSWITCH did not confirm the end of the call; the channel may still be up")
		a.sess.Printf("End of call not confirmed by FreeSWITCH")
	}

	// Counters as faxsend keeps them: ndials counts failed dials in a
	// row, ntries answered calls in a row that moved no page.
	if !connected {
		q.SetInt("ndials", q.Int("ndials")+1)
	} else if delivered || r.TransferredPages > 0 {
		q.SetInt("ntries", 0)
	} else {
		q.SetInt("ntries", q.Int("ntries")+1)
	}
	if r.TransferRate > 0 {
		q.Set("signalrate", sessionParams(r).SignalRate())
	}
	if r.RemoteID != "" {
		q.Set("csi", r.RemoteID)
	}
	q.SetInt("npages", a.npages+r.TransferredPages)

	// Slower or simpler next time, when spandsp's result asks for it.
	if o.DisableV17 && (q.Int("desiredbr") > 3 || q.String("desiredbr") == "") {
		q.SetInt("desiredbr", 3)
	}
	if o.DisableECM {
		q.SetInt("desiredec", 0)
	}

	if !delivered && r.TransferredPages > 0 {
		a.advance(ctx, r.TransferredPages)
	}
	if res.Status == outcome.Retry && !local {
		res = a.exhausted(res)
	}
	if res.Status == outcome.Retry && !local {
		a.retryAt(r, res)
	}
	if cfg.FreeSWITCH.SoftmodemFallback && set.key != "" && connected && freeswitch.NeedsFallback(r) && conn != nil && conn.Err() == nil {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.FreeSWITCH.Timeout)
		err := a.b.fallback(freeswitch.DB{API: conn}).Add(cctx, freeswitch.Outbound, set.key)
		cancel()
		if err != nil {
			a.log.Warn("cannot record softmodem fallback", "err", err)
		} else {
			a.log.Info("softmodem fallback learned", "key", set.key, "negotiations", r.Negotiations, "bad_rows", r.BadRows)
			a.sess.Printf("Softmodem fallback learned for %s", set.key)
		}
	}
	stop := local && callErr != nil && !errors.Is(callErr, errDial) && ctx.Err() == nil
	if !connected && !local {
		switch gofaxlib.ClassifyCause(r.HangupCause, failedCauses(cfg.Gofaxsend.FailedResponse)) {
		case gofaxlib.CauseDialRetry, gofaxlib.CauseNetwork:
			stop = true
		}
	}
	return res, stop
}

// advance drops the document items sent completely and moves the partly
// sent one on, so the retry starts with the first page not sent; faxq is
// told about each finished document so it can release it.
func (a *attempt) advance(ctx context.Context, sent int) {
	pages := func(it hylafax.Item) (int, error) {
		for i, x := range a.items {
			if x == it {
				return a.doc.Counts[i], nil
			}
		}
		return hylafax.CountTIFFPages(a.b.path(it.Path))
	}
	// The kept source ("!tiff") of each fax item is the item before it.
	before := a.q.Items()
	source := map[hylafax.Item]hylafax.Item{}
	for i, it := range before {
		if it.Op == hylafax.OpFax && i > 0 && strings.HasPrefix(before[i-1].Op, hylafax.SavedPrefix) {
			source[it] = before[i-1]
		}
	}
	removed, err := a.q.AdvanceFax(sent, pages)
	if err != nil {
		a.log.Error("cannot advance the documents after a partial transmission", "err", err)
		return
	}
	a.log.Info("partial transmission", "pages_sent", sent, "documents_done", len(removed))
	a.sess.Printf("%d page(s) sent; the retry starts with the next page", sent)
	for _, it := range removed {
		info := hylafax.SendInfo{Time: a.b.Now().Sub(a.start), Pages: a.npages + sent, CommID: a.commid, File: it.Path}
		a.b.notifyFaxq(ctx, hylafax.JobDocSent, a.jobid, info.String())
		if src, ok := source[it]; ok {
			a.renameSaved(src)
		}
	}
}

// renameSaved does what faxsend does with the kept source of a document
// sent completely (HylaFAX's FaxRequest::renameSaved): this job's name of
// it, "docq/doc5.tif.7", goes back to the shared base name "docq/doc5.tif"
// and the item follows. That drops the job's link to the source, whose
// link count tells faxq when the prepared document is no longer used.
func (a *attempt) renameSaved(src hylafax.Item) {
	dir, file := filepath.Split(src.Path)
	dot := strings.LastIndexByte(file, '.')
	if dot <= 0 {
		return // no job suffix: nothing to go back to
	}
	base := dir + file[:dot]
	if err := os.Rename(a.b.path(src.Path), a.b.path(base)); err != nil {
		a.log.Warn("cannot rename the source of a sent document", "path", src.Path, "err", err)
		return
	}
	// A rename between two links of one file changes nothing.
	if err := os.Remove(a.b.path(src.Path)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		a.log.Warn("cannot remove the job's link to a sent document's source", "path", src.Path, "err", err)
	}
	items := a.q.Items()
	for i, it := range items {
		if it == src {
			items[i].Path = base
			break
		}
	}
	if err := a.q.SetItems(items); err != nil {
		a.log.Error("cannot record the renamed source", "path", base, "err", err)
	}
}

// exhausted fails a retry that used up the job's dials (maxdials) or
// answered calls (maxtries), with faxsend's words, rather than leave it
// to faxq to reject the job when the retry is due.
func (a *attempt) exhausted(res outcome.Result) outcome.Result {
	q := a.q
	switch {
	case q.Int("maxdials") > 0 && q.Int("totdials") >= q.Int("maxdials"):
		res.Text += "; too many attempts to dial"
	case q.Int("maxtries") > 0 && q.Int("tottries") >= q.Int("maxtries"):
		res.Text += "; too many attempts to send"
	default:
		return res
	}
	res.Status = outcome.Failed
	a.sess.Printf("%s", res.Text)
	return res
}

// retryAt writes tts for the retry of a call that failed: the job's
// retrytime or faxsend's delay for the kind of failure (JobReq*). Local
// trouble leaves the choice to faxq.
func (a *attempt) retryAt(r *gofaxlib.Result, res outcome.Result) {
	rq := a.b.conf.requeue
	delay := rq.proto
	switch {
	case a.q.Int("retrytime") > 0:
		delay = time.Duration(a.q.Int("retrytime")) * time.Second
	case res.Code == outcome.CodeBusy:
		delay = rq.busy
	case res.Code == outcome.CodeNoAnswer:
		delay = rq.noAnswer
	case !r.Connected():
		delay = rq.noCarrier
	}
	a.q.SetInt("tts", int(a.b.Now().Add(delay).Unix()))
}

// record appends the SEND record to the xferfaxlog and ends the session
// log with the result.
func (a *attempt) record(ctx context.Context, number string, res outcome.Result, rep *call.Report) {
	cfg := a.b.Config
	now := a.b.Now()
	rec := hylafax.XferRecord{
		Start:   a.start,
		Kind:    hylafax.KindSend,
		CommID:  a.commid,
		Modem:   a.b.Modem,
		JobID:   a.jobid,
		JobTag:  a.q.String("jobtag"),
		Sender:  a.q.String("mailaddr"),
		Dest:    number,
		JobTime: now.Sub(a.start),
		Reason:  res.Text,
		Owner:   a.q.String("owner"),
	}
	if rep != nil {
		r := &rep.Result
		rec.CSI = r.RemoteID
		rec.Pages = r.TransferredPages
		a.sent = r.TransferredPages
		rec.ConnTime = r.Duration()
		if r.Connected() && rec.ConnTime == 0 {
			rec.ConnTime = now.Sub(r.Answered)
		}
		if r.Connected() {
			p := sessionParams(r)
			rec.Params, rec.DCS = p.Encode(), p.DCS()
		}
	}
	if cfg.HylaFAX.XferFaxLog != "" {
		lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), qfileLockWait)
		defer cancel()
		if err := hylafax.AppendXferLog(lctx, a.b.path(cfg.HylaFAX.XferFaxLog), rec); err != nil {
			a.log.Error("cannot append to the xferfaxlog", "err", err)
		}
	}
	what := "SEND FAILED"
	switch res.Status {
	case outcome.Done:
		what = "SEND FAX"
	case outcome.Retry, outcome.NotTried:
		what = "SEND RETRY"
	case outcome.Reformat:
		what = "SEND REFORMAT"
	}
	a.sess.Printf("%s: JOB %s DEST %s: %d page(s) in %s: %s", what, a.jobid, number, rec.Pages,
		hylafax.FormatDuration(rec.JobTime), textOr(res.Text, "OK"))
}

// unspecifiedCSI is what faxsend records for a remote that sent no CSI.
const unspecifiedCSI = "<UNSPECIFIED>"

// machineInfo updates the remote machine's entry info/<digits of the
// number> as faxsend does after each call (HylaFAX's FaxMachineInfo,
// which faxq reads when it prepares the next job's documents): an
// answered call sets calledBefore and clears the dial failures, records
// the CSI once the fax negotiation got that far, notes V.17 trouble, and
// counts send failures (or clears them on success); a call that was not
// answered counts a dial failure with its reason. What spandsp does not
// report (the remote's DIS capabilities and NSF) is left as it was, and
// locked ("&") items are never changed. Nothing is written when no call
// reached FreeSWITCH's far end or the user interrupted it.
func (a *attempt) machineInfo(ctx context.Context, rep *call.Report, res outcome.Result, callErr error) {
	if rep == nil {
		return
	}
	r := &rep.Result
	connected := r.Connected()
	if !connected && (callErr != nil || res.Code == outcome.CodeInterrupted) {
		return
	}
	name := hylafax.MachineInfoFile(a.q.String("number"))
	if name == "" {
		return
	}
	update := func(m *hylafax.MachineInfo) {
		if !connected {
			m.DialFailures++
			m.LastDialFailure = res.Text
			return
		}
		m.CalledBefore = true
		m.DialFailures = 0
		if r.Negotiations > 0 {
			m.RemoteCSI = cmp.Or(r.RemoteID, unspecifiedCSI)
		}
		if r.ResultCode.Class() == gofaxlib.ClassRetryNoV17 {
			m.SetHasV17Trouble(true)
		}
		if res.Status == outcome.Done {
			m.SendFailures = 0
		} else {
			m.SendFailures++
			m.LastSendFailure = res.Text
		}
	}
	ictx, cancel := context.WithTimeout(context.WithoutCancel(ctx), qfileLockWait)
	defer cancel()
	err := hylafax.UpdateMachineInfo(ictx, a.b.path(name), update)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		a.log.Debug("no info directory in the spool; remote machine info not kept", "err", err)
	case err != nil:
		a.log.Warn("cannot update the remote machine info", "file", name, "err", err)
	}
}
