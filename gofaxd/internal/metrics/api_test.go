package metrics

import "testing"

// TestLoginCounters: the REST API's failed and throttled logins are
// counters in /metrics.
func TestLoginCounters(t *testing.T) {
	m := New()
	m.WatchAPI(func() (uint64, uint64) { return 12, 3 })
	mfs, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{"gofaxd_api_logins_failed_total": 12, "gofaxd_api_logins_throttled_total": 3}
	for _, mf := range mfs {
		if w, ok := want[mf.GetName()]; ok {
			if got := mf.GetMetric()[0].GetCounter().GetValue(); got != w {
				t.Errorf("%s = %v, want %v", mf.GetName(), got, w)
			}
			delete(want, mf.GetName())
		}
	}
	if len(want) != 0 {
		t.Errorf("missing: %v", want)
	}
}
