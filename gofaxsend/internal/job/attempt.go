package job

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/gofaxserver/gofaxserver/gofaxlib"
	"github.com/gofaxserver/gofaxserver/gofaxlib/esl"
	"github.com/gofaxserver/gofaxserver/gofaxlib/freeswitch"
	"github.com/gofaxserver/gofaxserver/gofaxlib/hylafax"
	"github.com/gofaxserver/gofaxserver/gofaxsend/internal/call"
	"github.com/gofaxserver/gofaxserver/gofaxsend/internal/doc"
	"github.com/gofaxserver/gofaxserver/gofaxsend/internal/outcome"
)

// timing holds the call deadlines that are not configurable (tests
// shorten them). FreeSWITCH's own originate_timeout (ringtimeout) ends
// ringing first; ringGrace is the backstop. A far end hangs up within
// milliseconds of the fax result in every capture, and a killed channel
// is gone within milliseconds too.
var timing = struct{ ringGrace, hangupGrace, killGrace time.Duration }{
	ringGrace:   5 * time.Second,
	hangupGrace: 10 * time.Second,
	killGrace:   3 * time.Second,
}

// errDial marks a dial string that could not be built from the settings.
var errDial = errors.New("job: cannot build the dial string")

// attempt is one job's attempt: the qfile and what was learned so far.
type attempt struct {
	b      *batch
	q      *hylafax.Qfile
	log    *slog.Logger
	jobid  string
	commid string
	sess   *hylafax.SessionLog
	start  time.Time

	doc    doc.Document
	items  []hylafax.Item
	npages int // npages before this attempt
	sent   int // pages transmitted in this attempt
}

// send runs the attempt for the qfile qf and writes its result. stop is
// true when the failure would hit the batch's other jobs too.
func (b *batch) send(ctx context.Context, qf string) (res outcome.Result, stop bool) {
	lctx, cancel := context.WithTimeout(ctx, qfileLockWait)
	q, err := hylafax.OpenQfile(lctx, b.path(qf))
	cancel()
	if err != nil {
		// Nothing can be written into a qfile we cannot open; the exit
		// status reports the retry for the first job.
		b.Log.Error("cannot open qfile", "qfile", qf, "err", err)
		return outcome.Local(outcome.CodeInvalidJob, "gofaxsend: %v", err), false
	}
	defer q.Close()
	a := &attempt{b: b, q: q, start: b.Now(), jobid: q.String("jobid"), npages: q.Int("npages")}
	a.log = b.Log.With("job_id", a.jobid, "qfile", qf)
	res, stop = a.run(ctx)
	setResult(q, res)
	if err := q.Save(); err != nil {
		a.log.Error("cannot write the result into the qfile", "err", err)
	}
	a.log.Info("attempt finished", "result", res.Status.String(), "statuscode", res.Code, "status", res.Text)
	if validJobID(a.jobid) {
		b.notifyModem(hylafax.JobResultMessage(hylafax.JobResult{JobID: a.jobid, Outcome: jobOutcome(res.Status), Pages: a.sent}))
	}
	return res, stop
}

// jobOutcome names a send status for gofaxd; a job not tried is retried.
func jobOutcome(s outcome.Status) hylafax.JobOutcome {
	switch s {
	case outcome.Done:
		return hylafax.OutcomeDone
	case outcome.Failed:
		return hylafax.OutcomeFailed
	case outcome.Reformat:
		return hylafax.OutcomeReformat
	}
	return hylafax.OutcomeRetry
}

// run does the work of send up to the result.
func (a *attempt) run(ctx context.Context) (outcome.Result, bool) {
	q, cfg := a.q, a.b.Config
	if !validJobID(a.jobid) {
		return outcome.Result{Status: outcome.Failed, Code: outcome.CodeInvalidJob, Text: fmt.Sprintf("Invalid job description: bad jobid %q", a.jobid)}, false
	}
	number := q.String("external")
	if number == "" {
		number = q.String("number")
	}

	sess, err := hylafax.NewSession(ctx, a.b.spool, number, hylafax.SessionOptions{Mode: cfg.HylaFAX.LogFileMode})
	if err != nil {
		return outcome.Local(outcome.CodeUnknown, "Cannot start the session log: %v", err), false
	}
	a.sess, a.commid = sess, sess.CommID()
	a.log = a.log.With("commid", a.commid)
	q.Set("commid", a.commid)
	defer func() {
		if err := sess.Close(); err != nil {
			a.log.Warn("session log", "err", err)
		}
	}()
	sess.Printf("SEND FAX: JOB %s DEST %s COMMID %s DEVICE '%s' FROM '%s' USER %s",
		a.jobid, number, a.commid, a.b.Modem, q.String("mailaddr"), q.String("owner"))

	res, stop, rep := a.attempt(ctx, number)
	a.record(ctx, number, res, rep)
	return res, stop
}

// attempt prepares and makes the call; rep is nil when no call was made.
func (a *attempt) attempt(ctx context.Context, number string) (outcome.Result, bool, *call.Report) {
	q, cfg := a.q, a.b.Config
	set, res, ok := a.settings(ctx, number)
	if !ok {
		return res, false, nil
	}

	a.items = q.FaxItems()
	if len(a.items) == 0 {
		if len(q.Items()) > 0 {
			return outcome.Result{Status: outcome.Reformat, Code: outcome.CodeNoDocuments, Text: "No prepared documents to send"}, false, nil
		}
		return outcome.Result{Status: outcome.Failed, Code: outcome.CodeNoDocuments, Text: "Job contains no documents"}, false, nil
	}
	var ditems []doc.Item
	for _, it := range a.items {
		ditems = append(ditems, doc.Item{Dirnum: it.DirNum, Path: it.Path})
	}
	// A document FreeSWITCH can be handed as it is goes directly; names
	// txfax cannot take (faxq's "doc1.tif;00") are copied, like merges.
	direct := func(p string) bool { return freeswitch.CheckPath(p) == nil }
	d, err := doc.Prepare(a.b.spool, a.b.path("tmp"), fmt.Sprintf("gofaxsend-%s-%s-*.tif", a.jobid, a.commid), ditems, direct)
	if err != nil {
		if errors.Is(err, doc.ErrFormat) {
			// faxq prepares the documents again from their sources.
			return outcome.Result{Status: outcome.Reformat, Code: outcome.CodeDocument, Text: err.Error()}, false, nil
		}
		return outcome.Local(outcome.CodeDocument, "Cannot prepare the documents: %v", err), false, nil
	}
	a.doc = d
	defer func() {
		if err := d.Remove(); err != nil {
			a.log.Warn("cannot remove merged document", "path", d.Path, "err", err)
		}
	}()

	conn, err := a.b.connection(ctx)
	if err != nil {
		a.sess.Printf("Cannot reach FreeSWITCH: %v", err)
		return outcome.Local(outcome.CodeNoLine, "Cannot reach FreeSWITCH at %s: %v", cfg.FreeSWITCH.Socket, err), true, nil
	}
	// mod_db first: the connection is not subscribed to events yet, and
	// when it is, its filters let only this batch's calls through.
	a.modDB(ctx, conn, &set)

	// The dial counts from here, even if gofaxsend dies during the call.
	q.Set("status", "Dialing")
	q.SetInt("totdials", q.Int("totdials")+1)
	a.save()
	a.b.notifyFaxq(ctx, hylafax.JobCalling, a.jobid, "")
	a.sess.Printf("DIAL %s", set.number)

	// The gateways in order, stopping at the first call that was
	// answered: the next one only when this one failed in the gateway or
	// network (gofaxlib.Decide's NextGateway), never after busy, no
	// answer or a fax failure, which another route would not change.
	var rep call.Report
	var callErr error
	for i, rt := range set.routes {
		started := a.b.Now()
		rep, callErr = a.call(ctx, conn, set, rt)
		a.recordAttempt(ctx, set, rt, started, &rep, callErr)
		if callErr != nil || rep.Result.Connected() || ctx.Err() != nil || i+1 == len(set.routes) {
			break
		}
		o := gofaxlib.Decide(&rep.Result, gofaxlib.Policy{FailedCauses: failedCauses(cfg.Gofaxsend.FailedResponse)})
		if !o.NextGateway {
			break
		}
		next := set.routes[i+1]
		a.log.Info("gateway failed, trying the next", "gateway", rt.gateway, "cause", rep.Result.HangupCause, "next", next.gateway)
		a.sess.Printf("Gateway %s: %s, trying %s (DIAL %s)", rt.gateway, rep.Result.HangupCause, next.gateway, next.number)
	}
	if errors.Is(callErr, call.ErrLost) && !rep.Complete && rep.UUID != "" {
		a.hangUpLost(ctx, rep.UUID)
	}
	res, stop := a.conclude(ctx, conn, set, rep, callErr)
	a.machineInfo(ctx, &rep, res, callErr)
	return res, stop, &rep
}

// hangUpLost hangs up a call whose event socket went away, over a new
// connection: otherwise it might go on unseen while the job is retried.
func (a *attempt) hangUpLost(ctx context.Context, uuid string) {
	kctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), a.b.Config.FreeSWITCH.Timeout)
	defer cancel()
	conn, err := a.b.connection(kctx)
	if err == nil {
		err = freeswitch.Kill(kctx, conn, uuid, "")
	}
	if err != nil && !errors.Is(err, freeswitch.ErrNoChannel) {
		a.log.Warn("cannot hang up the call after losing its event socket", "call_uuid", uuid, "err", err)
		a.sess.Printf("Call %s may still be up: %v", uuid, err)
		return
	}
	a.log.Info("hung up the call after losing its event socket", "call_uuid", uuid)
}

// call makes one call along rt.
func (a *attempt) call(ctx context.Context, conn *esl.Conn, set settings, rt route) (call.Report, error) {
	uuid := esl.NewUUID()
	d := freeswitch.Dial{Vars: set.vars(uuid, a.b.Config.Gofaxsend.RingTimeout, rt), Gateways: []string{rt.gateway}, Number: rt.number}
	cmd, err := d.TxFax(a.doc.Path)
	if err != nil {
		return call.Report{}, fmt.Errorf("%w: %w", errDial, err)
	}
	log := a.log.With("call_uuid", uuid, "gateway", rt.gateway)
	cfg := a.b.Config.Gofaxsend
	p := call.Params{
		UUID:        uuid,
		Command:     cmd,
		RingTimeout: cfg.RingTimeout + timing.ringGrace,
		PageTimeout: cfg.PageTimeout,
		MaxCallTime: cfg.MaxCallTime,
		HangupGrace: timing.hangupGrace,
		KillGrace:   timing.killGrace,
		// Every other command's reply: [freeswitch] timeout.
		ReplyTimeout: a.b.Config.FreeSWITCH.Timeout,
		Subscribe:    a.b.subscribed != conn,
	}
	rep, err := call.Run(ctx, conn, p, a.progress(ctx), log)
	if rep.Subscribed {
		a.b.subscribed = conn
	}
	return rep, err
}

// progress writes the call's progress into the qfile and to faxq as it
// happens, so faxstat shows it and a crash keeps the counters right.
func (a *attempt) progress(ctx context.Context) call.Progress {
	q := a.q
	return call.Progress{
		Answered: func() {
			q.SetInt("tottries", q.Int("tottries")+1)
			q.SetInt("ndials", 0)
			q.Set("status", "Sending")
			a.save()
			a.b.notifyFaxq(ctx, hylafax.JobConnected, a.jobid, "")
			a.sess.Printf("CONNECT")
		},
		Negotiated: func(r *gofaxlib.Result) {
			p := sessionParams(r)
			status := "Sending " + p.SignalRate()
			if r.ECM {
				status += ", ECM"
			}
			q.Set("signalrate", p.SignalRate())
			q.Set("csi", r.RemoteID)
			q.Set("status", status)
			a.save()
			// The far end chooses its CSI: quoted, it cannot add log lines.
			a.sess.Printf("REMOTE CSI %q; %s, ECM %v, T.38 %s", r.RemoteID, p.SignalRate(), r.ECM, textOr(r.T38Status, "off"))
		},
		Page: func(r *gofaxlib.Result) {
			p := sessionParams(r)
			q.SetInt("npages", a.npages+r.TransferredPages)
			if df := p.DataFormat(); df != "" && len(r.Pages) > 0 && r.Pages[len(r.Pages)-1].EncodingName != "" {
				q.Set("dataformat", df)
			}
			a.save()
			info := hylafax.SendInfo{Time: a.b.Now().Sub(a.start), Pages: a.npages + r.TransferredPages, Params: p.Encode(), CommID: a.commid, File: a.fileOfPage(r.TransferredPages)}
			a.b.notifyFaxq(ctx, hylafax.JobPageSent, a.jobid, info.String())
			a.sess.Printf("SEND page %d of %d", r.TransferredPages, a.doc.Pages)
		},
	}
}

// fileOfPage returns the document item holding page n (1-based) of the
// document sent.
func (a *attempt) fileOfPage(n int) string {
	for i, it := range a.items {
		left := a.doc.Counts[i] - it.DirNum
		if n <= left {
			return it.Path
		}
		n -= left
	}
	if len(a.items) > 0 {
		return a.items[len(a.items)-1].Path
	}
	return ""
}

// save writes the qfile; a failure is logged and the call goes on (the
// final write reports the result, or the exit status does).
func (a *attempt) save() {
	if err := a.q.Save(); err != nil {
		a.log.Error("cannot update the qfile", "err", err)
	}
}

func validJobID(s string) bool {
	if s == "" || len(s) > 20 {
		return false
	}
	_, err := strconv.ParseUint(s, 10, 64)
	return err == nil
}

func textOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// failedCauses is the effective failedresponse list.
func failedCauses(conf []string) []string {
	if len(conf) == 0 {
		return gofaxlib.DefaultFailedCauses
	}
	return conf
}

// sessionParams converts what spandsp reported into HylaFAX Class2Params,
// from the last page sent.
func sessionParams(r *gofaxlib.Result) hylafax.Class2Params {
	var pg hylafax.SpandspPage
	if n := len(r.Pages); n > 0 {
		last := r.Pages[n-1]
		pg = hylafax.SpandspPage{Encoding: last.EncodingName, Resolution: last.Resolution, PixelSize: last.PixelSize}
	}
	return hylafax.SpandspParams(r.TransferRate, r.ECM, pg)
}
