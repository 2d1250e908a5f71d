package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"time"

	"github.com/gofaxserver/gofaxserver/gofaxlib"
)

// DefaultSchedule is the wait before each retry: 8 tries over about 27.6
// hours (the schedule Standard Webhooks recommends), before jitter.
var DefaultSchedule = []time.Duration{
	5 * time.Second,
	5 * time.Minute,
	30 * time.Minute,
	2 * time.Hour,
	5 * time.Hour,
	10 * time.Hour,
	10 * time.Hour,
}

// Defaults of DispatcherConfig.
const (
	DefaultJitter         = 0.2 // up to 20% added to each wait
	DefaultWorkers        = 16
	DefaultPerTarget      = 2
	DefaultAttemptTimeout = 2 * time.Minute
	DefaultPollInterval   = 5 * time.Second
	DefaultMaxRetryAfter  = time.Hour
	DefaultShutdownGrace  = 10 * time.Second
)

// recordTimeout bounds writing one outcome to the outbox, also while
// stopping (the database may be slow; the lease makes a lost write safe).
const recordTimeout = 15 * time.Second

// DispatcherConfig configures a Dispatcher. Zero values take the defaults.
type DispatcherConfig struct {
	Outbox  gofaxlib.Outbox                // required
	Senders map[gofaxlib.TargetKind]Sender // a delivery of a kind without a sender is dead
	Docs    Documents                      // nil: deliveries that attach a file are dead
	Metrics Metrics                        // nil: not counted
	Logger  *slog.Logger                   // nil: slog.Default()
	Now     func() time.Time               // nil: time.Now
	Rand    func() float64                 // nil: math/rand/v2; [0,1), for jitter
	// Schedule holds the wait before retry 1, 2, …: a delivery is tried
	// len(Schedule)+1 times, then dead. nil = DefaultSchedule.
	Schedule []time.Duration
	// Jitter adds up to this fraction of each wait at random, so that
	// receipts failed together do not retry together; waits only grow, so
	// the schedule's total is a lower bound. 0 = DefaultJitter, < 0 = none.
	Jitter         float64
	Workers        int           // deliveries at once, overall
	PerTarget      int           // deliveries at once to one endpoint
	AttemptTimeout time.Duration // one attempt, documents included
	// Lease hides a claimed delivery from other claims; it must outlast an
	// attempt and its recording. 0 = 2×AttemptTimeout + recordTimeout.
	Lease         time.Duration
	PollInterval  time.Duration // how often the outbox is asked when idle
	MaxRetryAfter time.Duration // longest Retry-After honoured
	// ShutdownGrace lets attempts running when Run's context ends finish
	// this long; then they are cut short and released for the next start.
	ShutdownGrace time.Duration
}

// Dispatcher delivers the receipts of an Outbox. Its goroutines are owned
// by Run; Wake is the only method for other goroutines and never blocks.
type Dispatcher struct {
	cfg  DispatcherConfig
	log  *slog.Logger
	wake chan struct{}
}

// NewDispatcher checks cfg and fills in the defaults.
func NewDispatcher(cfg DispatcherConfig) (*Dispatcher, error) {
	if cfg.Outbox == nil {
		return nil, errors.New("notify: dispatcher without outbox")
	}
	if cfg.Schedule == nil {
		cfg.Schedule = DefaultSchedule
	}
	for _, s := range cfg.Schedule {
		if s <= 0 {
			return nil, fmt.Errorf("notify: retry wait %v is not positive", s)
		}
	}
	switch {
	case cfg.Jitter == 0:
		cfg.Jitter = DefaultJitter
	case cfg.Jitter < 0:
		cfg.Jitter = 0
	case cfg.Jitter > 1:
		return nil, fmt.Errorf("notify: jitter %v is more than 1", cfg.Jitter)
	}
	def := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	if cfg.Workers <= 0 {
		cfg.Workers = DefaultWorkers
	}
	if cfg.PerTarget <= 0 {
		cfg.PerTarget = DefaultPerTarget
	}
	def(&cfg.AttemptTimeout, DefaultAttemptTimeout)
	def(&cfg.Lease, 2*cfg.AttemptTimeout+recordTimeout)
	def(&cfg.PollInterval, DefaultPollInterval)
	def(&cfg.MaxRetryAfter, DefaultMaxRetryAfter)
	def(&cfg.ShutdownGrace, DefaultShutdownGrace)
	if cfg.Lease <= cfg.AttemptTimeout {
		return nil, fmt.Errorf("notify: lease %v does not outlast an attempt (%v)", cfg.Lease, cfg.AttemptTimeout)
	}
	if cfg.Metrics == nil {
		cfg.Metrics = nopMetrics{}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Float64
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	return &Dispatcher{cfg: cfg, log: log, wake: make(chan struct{}, 1)}, nil
}

// Wake makes Run ask the outbox at once (new events were written). It never
// blocks.
func (d *Dispatcher) Wake() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// result reports a finished delivery goroutine to Run.
type result struct{ endpoint string }

// Run delivers until ctx ends, then lets running attempts finish for
// ShutdownGrace, cuts the rest short (they are released, and claimed again
// after the next start) and returns when every goroutine it started has
// ended. A stop takes at most ShutdownGrace + 15 s. Run is called once.
func (d *Dispatcher) Run(ctx context.Context) error {
	cfg := d.cfg
	// Attempts run under their own context, cancelled ShutdownGrace after
	// ctx ends, so a stop does not cut every attempt short at once.
	attemptCtx, cutShort := context.WithCancel(context.WithoutCancel(ctx))
	defer cutShort()

	done := make(chan result, cfg.Workers) // each goroutine sends once; never blocks
	busy := map[string]int{}
	inflight := 0
	more := true // the last claim was full: more may be due
	poll := time.NewTimer(0)
	defer poll.Stop()

	finish := func(r result) {
		inflight--
		if busy[r.endpoint]--; busy[r.endpoint] <= 0 {
			delete(busy, r.endpoint)
		}
	}

	for ctx.Err() == nil {
		if more && inflight < cfg.Workers {
			more = false
			limit := cfg.Workers - inflight
			cctx, cancel := context.WithTimeout(ctx, recordTimeout)
			ds, err := cfg.Outbox.Claim(cctx, gofaxlib.ClaimRequest{
				Now: cfg.Now(), Limit: limit, Lease: cfg.Lease,
				PerTarget: cfg.PerTarget, Busy: maps.Clone(busy),
			})
			cancel()
			if err != nil && ctx.Err() == nil {
				d.log.Warn("receipts: outbox claim failed", "error", err)
			}
			if len(ds) > limit {
				// An outbox that returns more than asked breaks the bound;
				// the surplus is released.
				for _, dl := range ds[limit:] {
					d.release(dl)
				}
				ds = ds[:limit]
			}
			for _, dl := range ds {
				inflight++
				busy[dl.Target.EndpointID]++
				go func() {
					d.deliver(attemptCtx, dl)
					done <- result{dl.Target.EndpointID}
				}()
			}
			if err == nil && len(ds) == limit {
				more = true
				continue
			}
			resetTimer(poll, cfg.PollInterval)
		}
		select {
		case <-ctx.Done():
		case <-d.wake:
			more = true
		case <-poll.C:
			more = true
		case r := <-done:
			finish(r)
		}
	}

	grace := time.NewTimer(cfg.ShutdownGrace)
	defer grace.Stop()
	for inflight > 0 {
		select {
		case r := <-done:
			finish(r)
		case <-grace.C:
			cutShort()
		}
	}
	return nil
}

func resetTimer(t *time.Timer, d time.Duration) {
	t.Stop()
	select {
	case <-t.C:
	default:
	}
	t.Reset(d)
}

// deliver makes one attempt and records its outcome.
func (d *Dispatcher) deliver(ctx context.Context, dl gofaxlib.Delivery) {
	cfg := d.cfg
	kind := dl.Target.Kind
	log := d.log.With("event_id", dl.Event.ID, "delivery_id", dl.ID, "endpoint", dl.Target.EndpointID,
		"kind", string(kind), "tenant", dl.Event.TenantID, "attempt", dl.Attempts+1)

	actx, cancel := context.WithTimeout(ctx, cfg.AttemptTimeout)
	err := d.attempt(actx, dl)
	cancel()
	if err != nil && ctx.Err() != nil {
		// Cut short by the stop: not an attempt the endpoint can be blamed
		// for. Given back, it is due again at the next start.
		log.Info("receipt attempt cut short by stop, released", "error", err)
		d.release(dl)
		return
	}

	rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), recordTimeout)
	defer rcancel()
	var outcome Outcome
	var rerr error
	switch n := dl.Attempts + 1; {
	case err == nil:
		outcome, rerr = OutcomeDelivered, cfg.Outbox.Delivered(rctx, dl)
		log.Debug("receipt delivered")
	case errors.Is(err, ErrGone):
		reason := err.Error()
		if rerr = cfg.Outbox.DisableEndpoint(rctx, dl.Target.EndpointID, reason); rerr == nil {
			rerr = cfg.Outbox.Dead(rctx, dl, reason)
		}
		outcome = OutcomeDead
		log.Warn("receipt endpoint gone, disabled", "error", err)
	case !Retryable(err):
		outcome, rerr = OutcomeDead, cfg.Outbox.Dead(rctx, dl, err.Error())
		log.Error("receipt failed for good", "error", err)
	case n > len(cfg.Schedule):
		reason := fmt.Sprintf("%v (attempt %d, the last)", err, n)
		outcome, rerr = OutcomeDead, cfg.Outbox.Dead(rctx, dl, reason)
		log.Error("receipt failed, no try left", "error", err)
	default:
		wait := d.backoff(n, err)
		outcome, rerr = OutcomeRetried, cfg.Outbox.Retry(rctx, dl, cfg.Now().Add(wait), err.Error())
		log.Warn("receipt failed, retrying", "error", err, "retry_in", wait.Round(time.Millisecond))
	}
	if rerr != nil {
		// Not recorded: the delivery is claimed again when its lease ends.
		log.Warn("receipt outcome not recorded", "outcome", string(outcome), "error", rerr)
		outcome = OutcomeDropped
	}
	cfg.Metrics.Count(kind, outcome)
}

// attempt fetches the delivery's documents and sends it.
func (d *Dispatcher) attempt(ctx context.Context, dl gofaxlib.Delivery) error {
	s := d.cfg.Senders[dl.Target.Kind]
	if s == nil {
		return Permanent(fmt.Errorf("notify: no sender for %q receipts configured", dl.Target.Kind))
	}
	var want []Document
	switch dl.Target.Attach {
	case "", gofaxlib.AttachNone:
	case gofaxlib.AttachFirstPage:
		want = append(want, DocFirstPage)
	case gofaxlib.AttachPDF:
		want = append(want, DocFax)
	default:
		return Permanent(fmt.Errorf("notify: unknown attachment %q", dl.Target.Attach))
	}
	if dl.Target.Report {
		want = append(want, DocReport)
	}
	var files []Attachment
	for _, w := range want {
		if d.cfg.Docs == nil {
			return Permanent(fmt.Errorf("notify: no document source for the %v", w))
		}
		a, err := d.cfg.Docs.Document(ctx, dl.Event, w)
		if errors.Is(err, ErrNoDocument) {
			d.log.Info("receipt sent without its attachment", "event_id", dl.Event.ID, "fax_id", dl.Event.FaxID,
				"document", w.String(), "reason", err)
			continue
		}
		if err != nil {
			return fmt.Errorf("notify: %v of fax %s: %w", w, dl.Event.FaxID, err)
		}
		if len(a.Data) > MaxAttachment {
			return Permanent(fmt.Errorf("notify: %v of fax %s has %d bytes, more than %d", w, dl.Event.FaxID, len(a.Data), MaxAttachment))
		}
		if a.Name == "" {
			a.Name = defaultName(w, dl.Event.FaxID)
		}
		files = append(files, a)
	}
	return s.Send(ctx, dl, files)
}

func defaultName(w Document, faxID string) string {
	switch w {
	case DocReport:
		return "report-" + faxID + ".pdf"
	case DocFirstPage:
		return "fax-" + faxID + "-page1.pdf"
	}
	return "fax-" + faxID + ".pdf"
}

// backoff returns the wait after failed attempt n (1-based): the
// schedule's step plus jitter, or what the peer asked for (Retry-After)
// within one second and MaxRetryAfter.
func (d *Dispatcher) backoff(n int, err error) time.Duration {
	if ra := retryAfter(err); ra > 0 {
		return min(max(ra, time.Second), d.cfg.MaxRetryAfter)
	}
	step := d.cfg.Schedule[n-1]
	return step + time.Duration(float64(step)*d.cfg.Jitter*d.cfg.Rand())
}

// release gives a delivery back unattempted.
func (d *Dispatcher) release(dl gofaxlib.Delivery) {
	ctx, cancel := context.WithTimeout(context.Background(), recordTimeout)
	defer cancel()
	if err := d.cfg.Outbox.Release(ctx, dl); err != nil {
		d.log.Warn("receipt not released; claimed again when its lease ends",
			"delivery_id", dl.ID, "error", err)
	}
	d.cfg.Metrics.Count(dl.Target.Kind, OutcomeDropped)
}
