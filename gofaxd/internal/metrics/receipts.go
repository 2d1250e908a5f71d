package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/gofaxserver/gofaxserver/gofaxlib"
	"github.com/gofaxserver/gofaxserver/gofaxlib/notify"
)

// Receipts counts receipt deliveries by kind of endpoint and outcome (a
// notify.Metrics) and shows the outbox's pending and dead deliveries.
type Receipts struct {
	outcomes *prometheus.CounterVec
}

var _ notify.Metrics = (*Receipts)(nil)

var (
	pendingDesc = prometheus.NewDesc("gofaxd_receipts_pending",
		"Receipt deliveries waiting for their first or next attempt (or being tried), by kind of endpoint; read every 15 s.",
		[]string{"kind"}, nil)
	deadDesc = prometheus.NewDesc("gofaxd_receipts_dead",
		"Receipt deliveries given up (dead-letter) until re-delivered through the API, by kind of endpoint; read every 15 s.",
		[]string{"kind"}, nil)
)

// WatchReceipts registers the receipt metrics: the outcome counter and
// the gauges of counts (the last counts read, ok false before the first).
// Call it once.
func (m *Metrics) WatchReceipts(counts func() (map[gofaxlib.TargetKind]gofaxlib.OutboxCount, bool)) *Receipts {
	r := &Receipts{outcomes: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "gofaxd_receipts_total",
		Help: "Receipt attempts by kind of endpoint (webhook, email) and outcome (delivered, retried, dead, dropped: not recorded, e.g. cut short by a stop; tried again later).",
	}, []string{"kind", "outcome"})}
	for _, k := range []gofaxlib.TargetKind{gofaxlib.TargetWebhook, gofaxlib.TargetEmail} {
		for _, o := range []notify.Outcome{notify.OutcomeDelivered, notify.OutcomeRetried, notify.OutcomeDead, notify.OutcomeDropped} {
			r.outcomes.WithLabelValues(string(k), string(o))
		}
	}
	m.Registry.MustRegister(r.outcomes, outboxCollector(counts))
	return r
}

// Count implements notify.Metrics.
func (r *Receipts) Count(kind gofaxlib.TargetKind, o notify.Outcome) {
	r.outcomes.WithLabelValues(string(kind), string(o)).Inc()
}

type outboxCollector func() (map[gofaxlib.TargetKind]gofaxlib.OutboxCount, bool)

func (c outboxCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- pendingDesc
	ch <- deadDesc
}

func (c outboxCollector) Collect(ch chan<- prometheus.Metric) {
	counts, ok := c()
	if !ok {
		return
	}
	for _, k := range []gofaxlib.TargetKind{gofaxlib.TargetWebhook, gofaxlib.TargetEmail} {
		n := counts[k]
		ch <- prometheus.MustNewConstMetric(pendingDesc, prometheus.GaugeValue, float64(n.Pending), string(k))
		ch <- prometheus.MustNewConstMetric(deadDesc, prometheus.GaugeValue, float64(n.Dead), string(k))
	}
}

// LogStats are the counts of a log shipper ([loki]).
type LogStats func() (sent, dropped uint64)

var (
	lokiSentDesc = prometheus.NewDesc("gofaxd_loki_lines_sent_total",
		"Log lines Loki accepted.", nil, nil)
	lokiDroppedDesc = prometheus.NewDesc("gofaxd_loki_lines_dropped_total",
		"Log lines not shipped to Loki: its buffer was full (logging never waits for Loki), Loki refused them or the retries ran out.", nil, nil)
)

// WatchLoki registers the counters of the Loki log shipper. Call it once.
func (m *Metrics) WatchLoki(stats LogStats) {
	m.Registry.MustRegister(counterPair{lokiSentDesc, lokiDroppedDesc, stats})
}
