// Package call follows one outbound fax call on FreeSWITCH's inbound event
// socket: "bgapi originate ... &txfax(...)" with a chosen origination_uuid,
// the channel's events picked out by that uuid, and explicit deadlines for
// ringing, for each stretch without fax progress and for the whole call.
// When a deadline passes or the caller cancels, gofaxsend hangs the call up
// with uuid_kill. A call is over when FreeSWITCH reports the hangup
// complete: the spandsp result and the hangup arrive in either order, and
// after a T.38 txfax the channel may stay up until killed
// (signalwire/freeswitch#143).
package call

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/gofaxserver/gofaxserver/gofaxlib"
	"github.com/gofaxserver/gofaxserver/gofaxlib/esl"
	"github.com/gofaxserver/gofaxserver/gofaxlib/freeswitch"
)

// Events the sender subscribes to. CUSTOM events are not part of
// "myevents" and must be named (README fact 5 of the captures).
var Events = []string{
	"BACKGROUND_JOB", "CHANNEL_ANSWER", "CHANNEL_HANGUP", "CHANNEL_HANGUP_COMPLETE",
	"CHANNEL_EXECUTE_COMPLETE",
	"CUSTOM", "spandsp::txfaxnegociateresult", "spandsp::txfaxpageresult", "spandsp::txfaxresult",
}

// Subscribe subscribes conn to the events of outbound fax calls. Run does
// it for the first call on a connection (Params.Subscribe), after adding
// that call's filters: subscribed before any filter, a connection is sent
// every such event of the whole switch, which on a busy FreeSWITCH fills
// its queue.
func Subscribe(ctx context.Context, conn *esl.Conn) error {
	if err := conn.Subscribe(ctx, esl.FormatPlain, Events...); err != nil {
		return fmt.Errorf("call: subscribe: %w", err)
	}
	return nil
}

// Params describe one call.
type Params struct {
	UUID string // the origination_uuid set in the dial string
	// Command is the originate command (freeswitch.Dial.TxFax):
	// "originate {...}sofia/gateway/gw/123 &txfax(/f.tif)".
	Command string

	RingTimeout time.Duration // from originate until answered
	PageTimeout time.Duration // longest stretch without fax progress once answered
	MaxCallTime time.Duration // the whole call
	// HangupGrace is how long the far end may keep the call up after the
	// fax result before gofaxsend hangs up.
	HangupGrace time.Duration
	// KillGrace bounds the wait for the hangup after uuid_kill, and the
	// kill command itself.
	KillGrace time.Duration
	// ReplyTimeout bounds the reply to each other command (filters, the
	// bgapi originate): [freeswitch] timeout. Zero means no bound.
	ReplyTimeout time.Duration
	// Subscribe makes Run subscribe the connection to Events once its
	// filters are in place: set it for the first call on a connection.
	Subscribe bool
}

// Progress is told about the call as it goes, from Run's goroutine. Any
// field may be nil.
type Progress struct {
	Answered   func()
	Negotiated func(r *gofaxlib.Result)
	Page       func(r *gofaxlib.Result)
}

// Why gofaxsend hung a call up itself (Report.Killed).
const (
	KilledRing        = "no answer within the ring timeout"
	KilledPage        = "no fax progress within the page timeout"
	KilledMaxCall     = "call longer than the maximum call time"
	KilledHangupGrace = "far end did not hang up after the fax result"
	KilledInterrupted = "interrupted"
)

// Report is what Run learned about the call.
type Report struct {
	Result gofaxlib.Result
	// Killed says why gofaxsend hung up ("" when it did not).
	Killed string
	// Complete is true when FreeSWITCH reported the end of the channel
	// (or of the failed originate); false when Run gave up waiting.
	Complete bool
	// UUID is the channel followed (the origination_uuid, unless
	// FreeSWITCH named another).
	UUID string
	// Subscribed is true when the connection is subscribed to Events
	// (by this Run, with Params.Subscribe, or before).
	Subscribed bool
}

// ErrLost means the event socket connection ended during the call; the
// channel may still be up in FreeSWITCH.
var ErrLost = errors.New("call: event socket connection lost")

// Run places the call and follows it to its end. It returns an error only
// for trouble on our side (the originate could not be sent, the event
// socket went away); the report then holds what was learned before.
// Cancelling ctx hangs the call up and returns within KillGrace.
func Run(ctx context.Context, conn *esl.Conn, p Params, prog Progress, log *slog.Logger) (rep Report, err error) {
	tr := freeswitch.Tracker{UUID: p.UUID}
	var answeredAt time.Time // when we learned of the answer
	uuid := p.UUID           // the channel followed
	defer func() {
		rep.UUID = uuid
		cause := rep.Result.HangupCause
		rep.Result = tr.Result()
		if rep.Result.HangupCause == "" {
			rep.Result.HangupCause = cause // from a failed originate
		}
		if rep.Result.Answered.IsZero() {
			rep.Result.Answered = answeredAt // known from BACKGROUND_JOB only
		}
	}()
	// The BACKGROUND_JOB event carries no channel uuid: let it through
	// by its Job-UUID, chosen here.
	jobUUID := esl.NewUUID()
	// command runs one command whose reply must come within ReplyTimeout.
	command := func(do func(ctx context.Context) error) error {
		cctx, cancel := ctx, context.CancelFunc(func() {})
		if p.ReplyTimeout > 0 {
			cctx, cancel = context.WithTimeout(ctx, p.ReplyTimeout)
		}
		defer cancel()
		return do(cctx)
	}
	filter := func(header, value string) error {
		return command(func(ctx context.Context) error { return conn.Filter(ctx, header, value) })
	}
	for _, f := range [][2]string{{"Unique-ID", p.UUID}, {"Job-UUID", jobUUID}} {
		if err := filter(f[0], f[1]); err != nil {
			return rep, fmt.Errorf("call: filter: %w", err)
		}
	}
	rep.Subscribed = !p.Subscribe
	if p.Subscribe {
		if err := command(func(ctx context.Context) error { return Subscribe(ctx, conn) }); err != nil {
			return rep, err
		}
		rep.Subscribed = true
	}
	start := time.Now()
	var job *esl.Job
	err = command(func(ctx context.Context) (err error) {
		job, err = conn.BgAPIJob(ctx, jobUUID, p.Command)
		return err
	})
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
			// No reply in time, yet FreeSWITCH may go ahead with the
			// originate: make sure no call goes on unseen.
			kctx, cancel := context.WithTimeout(context.Background(), p.KillGrace)
			if kerr := freeswitch.Kill(kctx, conn, uuid, ""); kerr != nil && !errors.Is(kerr, freeswitch.ErrNoChannel) {
				log.Warn("uuid_kill after an unanswered originate failed", "err", kerr)
			}
			cancel()
		}
		return rep, fmt.Errorf("call: originate: %w", err)
	}
	log.Info("originate sent", "job_uuid", job.UUID)

	var (
		answered, killed bool
		lastProgress     time.Time
		finalAt          time.Time
		killedAt         time.Time
		jobDone          = job.Done()
		ctxDone          = ctx.Done()
	)
	answer := func() {
		if answered {
			return
		}
		answered = true
		lastProgress = time.Now()
		answeredAt = lastProgress
		if prog.Answered != nil {
			prog.Answered()
		}
	}
	kill := func(why string) {
		if killed {
			return
		}
		killed, killedAt, rep.Killed = true, time.Now(), why
		log.Warn("hanging up", "reason", why)
		kctx, cancel := context.WithTimeout(context.Background(), p.KillGrace)
		defer cancel()
		if err := freeswitch.Kill(kctx, conn, uuid, ""); err != nil && !errors.Is(err, freeswitch.ErrNoChannel) {
			log.Warn("uuid_kill failed", "err", err)
		}
	}
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		// The earliest deadline that applies now.
		var next time.Time
		var why string
		consider := func(t time.Time, w string) {
			if next.IsZero() || t.Before(next) {
				next, why = t, w
			}
		}
		switch {
		case killed:
			consider(killedAt.Add(p.KillGrace), "")
		default:
			consider(start.Add(p.MaxCallTime), KilledMaxCall)
			if !answered {
				consider(start.Add(p.RingTimeout), KilledRing)
			} else if !tr.Final() {
				consider(lastProgress.Add(p.PageTimeout), KilledPage)
			} else {
				consider(finalAt.Add(p.HangupGrace), KilledHangupGrace)
			}
		}
		timer.Reset(time.Until(next))

		select {
		case <-ctxDone:
			ctxDone = nil
			kill(KilledInterrupted)
		case <-timer.C:
			if killed {
				log.Warn("no hangup after uuid_kill; giving up on the channel")
				return rep, nil
			}
			kill(why)
		case <-jobDone:
			jobDone = nil
			ev, err := job.Wait(ctx)
			var re *esl.ReplyError
			switch {
			case errors.As(err, &re):
				// The originate failed: the channel is gone.
				rep.Result.HangupCause = re.Reason()
				rep.Complete = true
				log.Info("originate failed", "cause", re.Reason())
				return rep, nil
			case err == nil && strings.HasPrefix(string(ev.Body), "+OK"):
				// "+OK <channel uuid>": FreeSWITCH honours
				// origination_uuid; should it not, follow the
				// channel it names from now on.
				if got := strings.TrimSpace(strings.TrimPrefix(string(ev.Body), "+OK")); got != "" && got != uuid {
					log.Warn("channel uuid differs from origination_uuid; following it", "channel_uuid", got)
					if err := filter("Unique-ID", got); err != nil {
						return rep, fmt.Errorf("call: filter: %w", err)
					}
					uuid, tr.UUID = got, got
				}
				answer()
			}
		case ev, ok := <-conn.Events():
			if !ok {
				return rep, fmt.Errorf("%w: %v", ErrLost, conn.Err())
			}
			if ev.UUID() != uuid {
				continue
			}
			before := tr.Result()
			c := tr.Add(ev)
			if c&freeswitch.ChangeAnswer != 0 {
				answer()
			}
			r := tr.Result()
			if c&freeswitch.ChangeNegotiation != 0 {
				answer()
				lastProgress = time.Now()
				if prog.Negotiated != nil {
					prog.Negotiated(&r)
				}
			}
			if c&freeswitch.ChangePage != 0 {
				lastProgress = time.Now()
			}
			if r.TransferredPages > before.TransferredPages && prog.Page != nil {
				prog.Page(&r)
			}
			if c&freeswitch.ChangeResult != 0 && !before.Final {
				finalAt = time.Now()
			}
			if tr.Complete() {
				rep.Complete = true
				log.Info("call ended", "cause", r.HangupCause, "answered", answered)
				return rep, nil
			}
		}
	}
}
