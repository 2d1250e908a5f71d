package metrics

import "github.com/prometheus/client_golang/prometheus"

// LoginStats reports the REST API's failed Basic logins and those refused
// unchecked (their address failed too often), both since the start.
type LoginStats func() (failed, refused uint64)

var (
	loginsFailedDesc = prometheus.NewDesc("gofaxd_api_logins_failed_total",
		"REST API Basic logins refused for an unknown user or a wrong password.", nil, nil)
	loginsRefusedDesc = prometheus.NewDesc("gofaxd_api_logins_throttled_total",
		"REST API Basic logins answered 429 without checking the password: their client address failed too often.", nil, nil)
)

// WatchAPI registers the REST API's login counters. Call it once.
func (m *Metrics) WatchAPI(stats LoginStats) {
	m.Registry.MustRegister(counterPair{loginsFailedDesc, loginsRefusedDesc, stats})
}

// counterPair collects two counters that read returns together.
type counterPair struct {
	first, second *prometheus.Desc
	read          func() (uint64, uint64)
}

func (c counterPair) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.first
	ch <- c.second
}

func (c counterPair) Collect(ch chan<- prometheus.Metric) {
	a, b := c.read()
	ch <- prometheus.MustNewConstMetric(c.first, prometheus.CounterValue, float64(a))
	ch <- prometheus.MustNewConstMetric(c.second, prometheus.CounterValue, float64(b))
}
