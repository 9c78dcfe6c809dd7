package failover

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// series counts the running configurations that use each name and endpoint,
// so that a reload deletes the metric series of what it removed (an
// endpoint_up gauge left at 0 would page someone forever) and keeps those of
// what it kept, whose counters must not reset.
var series = struct {
	sync.Mutex
	refs map[[2]string]int // {name, endpoint}; endpoint "" holds the name's own series
}{refs: make(map[[2]string]int)}

func holdSeries(m *managed) {
	series.Lock()
	defer series.Unlock()
	for _, n := range m.cfg.Names {
		series.refs[[2]string{n, ""}]++
		for _, ep := range m.endpoints {
			series.refs[[2]string{n, ep.cfg.Address}]++
			endpointWeight.WithLabelValues(n, ep.cfg.Address).Set(float64(ep.cfg.Weight))
		}
	}
}

func dropSeries(m *managed) {
	series.Lock()
	defer series.Unlock()
	for _, n := range m.cfg.Names {
		for _, ep := range m.endpoints {
			k := [2]string{n, ep.cfg.Address}
			if series.refs[k]--; series.refs[k] <= 0 {
				delete(series.refs, k)
				labels := prometheus.Labels{"name": n, "endpoint": ep.cfg.Address}
				endpointUp.Delete(labels)
				endpointWeight.Delete(labels)
				answers.Delete(labels)
				transitions.DeletePartialMatch(labels)
			}
		}
		k := [2]string{n, ""}
		if series.refs[k]--; series.refs[k] <= 0 {
			delete(series.refs, k)
			labels := prometheus.Labels{"name": n}
			failovers.DeletePartialMatch(labels)
			allDownAnswers.DeletePartialMatch(labels)
			queries.DeletePartialMatch(labels)
		}
	}
}

// dropProbeSeries deletes the probe series of a monitor nobody uses any more.
func dropProbeSeries(address, check string) {
	probes.DeletePartialMatch(prometheus.Labels{"endpoint": address, "check": check})
}
