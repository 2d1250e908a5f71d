// Package metrics exposes gofaxd's Prometheus metrics and health check:
// calls by result class, active calls, pages, faxes gofaxsend sent through
// gofaxd's modems by outcome, modem states, whether faxq reads its FIFO,
// event socket connections lost during calls, calls taken while every
// modem was busy and the delay from a hangup to faxrcvd.
package metrics

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/gofaxserver/gofaxserver/gofaxd/internal/modem"
	"github.com/gofaxserver/gofaxserver/gofaxd/internal/receive"
	"github.com/gofaxserver/gofaxserver/gofaxlib/hylafax"
)

// Metrics holds gofaxd's collectors in their own registry and implements
// receive.Observer.
type Metrics struct {
	Registry *prometheus.Registry

	calls     *prometheus.CounterVec
	active    prometheus.Gauge
	pages     prometheus.Counter
	sent      *prometheus.CounterVec
	pagesSent prometheus.Counter
	lost      prometheus.Counter
	noModem   prometheus.Counter
	faxrcvd   prometheus.Histogram
	runs      *prometheus.CounterVec
	recovered *prometheus.CounterVec
}

// New registers the collectors; WatchPool adds the modem gauges.
func New() *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gofaxd_calls_total",
			Help: "Inbound calls handled, by result class (received, partial, failed, rejected, busy, no_recipient, unknown_number, error, unconfirmed).",
		}, []string{"result"}),
		active: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "gofaxd_active_calls",
			Help: "Inbound calls in progress.",
		}),
		pages: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "gofaxd_pages_received_total",
			Help: "Pages received into recvq.",
		}),
		sent: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gofaxd_faxes_sent_total",
			Help: "Send attempts gofaxsend made on gofaxd's modems, by the outcome it returned to faxq (done, retry, failed, reformat).",
		}, []string{"result"}),
		pagesSent: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "gofaxd_pages_sent_total",
			Help: "Pages gofaxsend transmitted on gofaxd's modems, in every attempt (also those retried or failed later).",
		}),
		lost: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "gofaxd_esl_connections_lost_total",
			Help: "Calls whose event socket connection ended before the call did.",
		}),
		noModem: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "gofaxd_calls_without_modem_total",
			Help: "Calls accepted while every modem was busy (allocateinbounddevices=false); faxstat did not show them.",
		}),
		faxrcvd: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "gofaxd_hangup_to_faxrcvd_seconds",
			Help:    "Time from a call's hangup to the start of faxrcvd.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 14),
		}),
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gofaxd_faxrcvd_runs_total",
			Help: "faxrcvd runs by result (ok, failed, interrupted: cut short by gofaxd's stop, run again at the next start).",
		}, []string{"result"}),
		recovered: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gofaxd_receptions_recovered_total",
			Help: "Receptions recorded after their call was lost (an earlier run died, or the call's end was not confirmed), by result class.",
		}, []string{"result"}),
	}
	for _, class := range []string{receive.ClassReceived, receive.ClassPartial, receive.ClassFailed,
		receive.ClassRejected, receive.ClassBusy, receive.ClassNoRecipient, receive.ClassUnknownNumber, receive.ClassError, receive.ClassUnconfirmed} {
		m.calls.WithLabelValues(class)
	}
	for _, r := range []string{receive.FaxrcvdOK, receive.FaxrcvdFailed, receive.FaxrcvdInterrupted} {
		m.runs.WithLabelValues(r)
	}
	for _, o := range []hylafax.JobOutcome{hylafax.OutcomeDone, hylafax.OutcomeRetry, hylafax.OutcomeFailed, hylafax.OutcomeReformat} {
		m.sent.WithLabelValues(string(o))
	}
	m.Registry.MustRegister(m.calls, m.active, m.pages, m.sent, m.pagesSent, m.lost, m.noModem, m.faxrcvd,
		m.runs, m.recovered,
		// The standard go_* (goroutines, threads, heap, GC) and process_*
		// (CPU seconds, resident memory, open and maximum descriptors)
		// collectors.
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// State is what gofaxd reports at scrape time besides its counters.
type State struct {
	FaxrcvdQueued  int    // faxrcvd runs waiting or running
	Unfinished     int    // receptions waiting for FreeSWITCH to confirm their end
	OrphanFiles    int    // unfinished recvq files no record tells about (start-up check)
	JournalFsyncs  uint64 // fsyncs of the journal's files and directory
	JournalSkipped uint64 // torn or corrupt journal lines skipped
	Connections    int    // event socket connections being served
	MaxConnections int    // the bound on them ([gofaxd] maxconnections)
	Refused        uint64 // connections closed at once over the bound
	// ForeignJobs counts job records ignored: the fax their job's user
	// key names has another owner ([database] only).
	ForeignJobs uint64
}

var (
	queuedDesc     = prometheus.NewDesc("gofaxd_faxrcvd_queued", "faxrcvd runs waiting or running.", nil, nil)
	unfinishedDesc = prometheus.NewDesc("gofaxd_receptions_unfinished", "Receptions kept in recvq unrecorded until FreeSWITCH confirms that their call ended.", nil, nil)
	orphansDesc    = prometheus.NewDesc("gofaxd_recvq_unfinished_files", "Unfinished recvq files that no journal record tells about (found at start).", nil, nil)
	fsyncsDesc     = prometheus.NewDesc("gofaxd_journal_fsyncs_total", "fsyncs of the spool journal's files and directory.", nil, nil)
	skippedDesc    = prometheus.NewDesc("gofaxd_journal_skipped_records_total", "Torn or corrupt journal lines skipped.", nil, nil)
	connsDesc      = prometheus.NewDesc("gofaxd_connections", "Event socket connections being served.", nil, nil)
	maxConnsDesc   = prometheus.NewDesc("gofaxd_connections_max", "Bound on the event socket connections served at once ([gofaxd] maxconnections).", nil, nil)
	refusedDesc    = prometheus.NewDesc("gofaxd_connections_refused_total", "Event socket connections closed at once because maxconnections were being served.", nil, nil)
	foreignDesc    = prometheus.NewDesc("gofaxd_job_records_foreign_total", "HylaFAX job records ignored because the fax their user key (jobtag) names has another owner than the job.", nil, nil)
)

// WatchState adds the gauges read from state at scrape time. Call it
// once.
func (m *Metrics) WatchState(state func() State) {
	m.Registry.MustRegister(stateCollector(state))
}

type stateCollector func() State

func (c stateCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{queuedDesc, unfinishedDesc, orphansDesc, fsyncsDesc, skippedDesc,
		connsDesc, maxConnsDesc, refusedDesc, foreignDesc} {
		ch <- d
	}
}

func (c stateCollector) Collect(ch chan<- prometheus.Metric) {
	s := c()
	ch <- prometheus.MustNewConstMetric(queuedDesc, prometheus.GaugeValue, float64(s.FaxrcvdQueued))
	ch <- prometheus.MustNewConstMetric(unfinishedDesc, prometheus.GaugeValue, float64(s.Unfinished))
	ch <- prometheus.MustNewConstMetric(orphansDesc, prometheus.GaugeValue, float64(s.OrphanFiles))
	ch <- prometheus.MustNewConstMetric(fsyncsDesc, prometheus.CounterValue, float64(s.JournalFsyncs))
	ch <- prometheus.MustNewConstMetric(skippedDesc, prometheus.CounterValue, float64(s.JournalSkipped))
	ch <- prometheus.MustNewConstMetric(connsDesc, prometheus.GaugeValue, float64(s.Connections))
	ch <- prometheus.MustNewConstMetric(maxConnsDesc, prometheus.GaugeValue, float64(s.MaxConnections))
	ch <- prometheus.MustNewConstMetric(refusedDesc, prometheus.CounterValue, float64(s.Refused))
	ch <- prometheus.MustNewConstMetric(foreignDesc, prometheus.CounterValue, float64(s.ForeignJobs))
}

// FaxrcvdStarted implements receive.FaxrcvdObserver.
func (m *Metrics) FaxrcvdStarted(sinceHangup time.Duration) {
	if sinceHangup > 0 {
		m.faxrcvd.Observe(sinceHangup.Seconds())
	}
}

// FaxrcvdEnded implements receive.FaxrcvdObserver.
func (m *Metrics) FaxrcvdEnded(result string) { m.runs.WithLabelValues(result).Inc() }

// Recovered implements receive.FaxrcvdObserver.
func (m *Metrics) Recovered(class string) {
	m.recovered.WithLabelValues(class).Inc()
}

// WatchPool adds the gauges of the pool's modem states and faxq's
// presence. Call it once.
func (m *Metrics) WatchPool(pool *modem.Pool) {
	m.Registry.MustRegister(modemCollector{pool})
}

// JobEnded counts one send attempt that gofaxsend reported (see
// modem.Config.JobResult).
func (m *Metrics) JobEnded(r hylafax.JobResult) {
	m.sent.WithLabelValues(string(r.Outcome)).Inc()
	m.pagesSent.Add(float64(r.Pages))
}

// CallStarted implements receive.Observer.
func (m *Metrics) CallStarted() { m.active.Inc() }

// CallEnded implements receive.Observer.
func (m *Metrics) CallEnded(o receive.Outcome) {
	m.active.Dec()
	m.calls.WithLabelValues(o.Class).Inc()
	m.pages.Add(float64(o.Pages))
	if o.Lost {
		m.lost.Inc()
	}
	if o.WithoutModem {
		m.noModem.Inc()
	}
}

var (
	modemDesc = prometheus.NewDesc("gofaxd_modems", "Virtual modems by state.", []string{"state"}, nil)
	faxqDesc  = prometheus.NewDesc("gofaxd_faxq_reading", "1 if faxq read the last modem announcement, 0 while it is away.", nil, nil)
)

// modemCollector reads the pool's state at scrape time.
type modemCollector struct{ pool *modem.Pool }

func (c modemCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- modemDesc
	ch <- faxqDesc
}

func (c modemCollector) Collect(ch chan<- prometheus.Metric) {
	counts := c.pool.Counts()
	for _, s := range modem.States {
		ch <- prometheus.MustNewConstMetric(modemDesc, prometheus.GaugeValue, float64(counts[s]), s.String())
	}
	reading := 0.0
	if c.pool.FaxqReading() {
		reading = 1
	}
	ch <- prometheus.MustNewConstMetric(faxqDesc, prometheus.GaugeValue, reading)
}

// Timeouts of the metrics listener: scrapes are small and local. An idle
// keep-alive connection is closed after idleTimeout, longer than a
// usual scrape interval. Variables so that tests can shorten them.
var (
	readHeaderTimeout = 5 * time.Second
	writeTimeout      = 30 * time.Second
	idleTimeout       = 2 * time.Minute
)

// Server serves /metrics and /healthz.
type Server struct {
	srv  *http.Server
	ln   net.Listener
	done chan struct{}
}

// Check statuses.
const (
	StatusOK   = "ok"
	StatusFail = "fail"
)

// Check is the state of one thing gofaxd needs.
type Check struct {
	Status string `json:"status"` // StatusOK or StatusFail
	// Own is true for gofaxd's own parts: one that fails makes /healthz
	// answer 503. A dependency (faxq, FreeSWITCH) that fails is reported
	// with 200: gofaxd itself is fine and copes.
	Own    bool   `json:"own"`
	Detail string `json:"detail,omitempty"`
}

// Health is what /healthz reports.
type Health struct {
	// Status is "ok", "degraded" (a dependency fails) or "fail" (one of
	// gofaxd's own checks fails: 503).
	Status string           `json:"status"`
	Checks map[string]Check `json:"checks"`
}

// healthTimeout bounds one /healthz: its checks ask FreeSWITCH and write
// in the spool.
const healthTimeout = 5 * time.Second

// Listen starts serving on addr (e.g. "127.0.0.1:9417"). health reports
// the state of gofaxd's parts and dependencies; /healthz answers it as
// JSON, with 503 when one of gofaxd's own checks fails.
func Listen(addr string, m *Metrics, health func(context.Context) Health) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), healthTimeout)
		defer cancel()
		h := health(ctx)
		h.Status = "ok"
		code := http.StatusOK
		for _, c := range h.Checks {
			switch {
			case c.Status == StatusOK:
			case c.Own:
				h.Status, code = "fail", http.StatusServiceUnavailable
			case h.Status == "ok":
				h.Status = "degraded"
			}
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(code)
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.Encode(h)
	})
	s := &Server{
		srv: &http.Server{Handler: mux, ReadHeaderTimeout: readHeaderTimeout, WriteTimeout: writeTimeout,
			IdleTimeout: idleTimeout},
		ln:   ln,
		done: make(chan struct{}),
	}
	go func() {
		defer close(s.done)
		s.srv.Serve(ln)
	}()
	return s, nil
}

// Addr returns the listening address.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Close stops the server and waits for its goroutine.
func (s *Server) Close(ctx context.Context) error {
	err := s.srv.Shutdown(ctx)
	<-s.done
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}
