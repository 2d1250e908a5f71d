// Package metrics exposes gofaxd's Prometheus metrics and health check:
// calls by result class, active calls, pages, faxes gofaxsend sent through
// gofaxd's modems by outcome, modem states, whether faxq reads its FIFO,
// event socket connections lost during calls, calls taken while every
// modem was busy and the delay from a hangup to faxrcvd.
package metrics

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
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
}

// New registers the collectors; WatchPool adds the modem gauges.
func New() *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gofaxd_calls_total",
			Help: "Inbound calls handled, by result class (received, partial, failed, rejected, busy, no_recipient, error).",
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
	}
	for _, class := range []string{receive.ClassReceived, receive.ClassPartial, receive.ClassFailed,
		receive.ClassRejected, receive.ClassBusy, receive.ClassNoRecipient, receive.ClassError} {
		m.calls.WithLabelValues(class)
	}
	for _, o := range []hylafax.JobOutcome{hylafax.OutcomeDone, hylafax.OutcomeRetry, hylafax.OutcomeFailed, hylafax.OutcomeReformat} {
		m.sent.WithLabelValues(string(o))
	}
	m.Registry.MustRegister(m.calls, m.active, m.pages, m.sent, m.pagesSent, m.lost, m.noModem, m.faxrcvd)
	return m
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
	if o.HangupToFaxrcvd > 0 {
		m.faxrcvd.Observe(o.HangupToFaxrcvd.Seconds())
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
// usual scrape interval.
const (
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

// Listen starts serving on addr (e.g. "127.0.0.1:9417"). healthy reports
// whether gofaxd can take calls; /healthz answers 503 with the reason
// otherwise.
func Listen(addr string, m *Metrics, healthy func() error) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if err := healthy(); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintln(w, err)
			return
		}
		fmt.Fprintln(w, "ok")
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
