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
	m.Registry.MustRegister(loginCollector(stats))
}

type loginCollector LoginStats

func (c loginCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- loginsFailedDesc
	ch <- loginsRefusedDesc
}

func (c loginCollector) Collect(ch chan<- prometheus.Metric) {
	failed, refused := c()
	ch <- prometheus.MustNewConstMetric(loginsFailedDesc, prometheus.CounterValue, float64(failed))
	ch <- prometheus.MustNewConstMetric(loginsRefusedDesc, prometheus.CounterValue, float64(refused))
}
