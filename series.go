package failover

import (
	"slices"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/failover-dns/failover/plugin/probe"
	"github.com/failover-dns/failover/plugin/stanza"
)

// series counts the running configurations that use each name and endpoint,
// so that a reload deletes the metric series of what it removed (an
// endpoint_up gauge left at 0 would page someone forever) and keeps those of
// what it kept, whose counters must not reset. It also holds the endpoints
// that the gauges are read from at scrape time (see gauges.go).
var series = struct {
	sync.Mutex
	refs    map[[2]string]int         // {name, ""}: the name's own series
	holders map[[2]string][]*endpoint // {name, endpoint}: the configurations' endpoints, newest last
}{refs: make(map[[2]string]int), holders: make(map[[2]string][]*endpoint)}

func holdSeries(m *managed) {
	series.Lock()
	defer series.Unlock()
	for _, n := range m.cfg.Names {
		series.refs[[2]string{n, ""}]++
		for _, ep := range m.endpoints {
			k := [2]string{n, ep.cfg.Address}
			series.holders[k] = append(series.holders[k], ep)
		}
	}
}

func dropSeries(m *managed) {
	series.Lock()
	defer series.Unlock()
	for _, n := range m.cfg.Names {
		for _, ep := range m.endpoints {
			k := [2]string{n, ep.cfg.Address}
			hs := slices.DeleteFunc(series.holders[k], func(h *endpoint) bool { return h == ep })
			series.holders[k] = hs
			if len(hs) == 0 {
				delete(series.holders, k)
				labels := prometheus.Labels{"name": n, "endpoint": ep.cfg.Address}
				answers.Delete(labels)
				wouldAnswers.Delete(labels)
				// Exact deletes: a partial match scans every series, which
				// makes a reload of ten thousand names quadratic.
				for _, to := range []string{"up", "down"} {
					transitions.DeleteLabelValues(n, ep.cfg.Address, to)
				}
			}
		}
		k := [2]string{n, ""}
		if series.refs[k]--; series.refs[k] <= 0 {
			delete(series.refs, k)
			for _, d := range []string{"away", "back"} {
				failovers.DeleteLabelValues(n, d)
			}
			for a := stanza.ReturnAll; a <= stanza.NoData; a++ {
				allDownAnswers.DeleteLabelValues(n, a.String())
			}
			for _, t := range queryTypes {
				queries.DeleteLabelValues(n, t)
			}
		}
	}
}

// probeSeries counts the monitors behind each probe series: monitors that
// differ only in what the label does not show (host, headers, timeout,
// pace) share one series, which must outlive all but the last of them.
var probeSeries = struct {
	sync.Mutex
	refs map[[2]string]int // {endpoint, check}
}{refs: make(map[[2]string]int)}

func holdProbeSeries(address, check string) {
	probeSeries.Lock()
	probeSeries.refs[[2]string{address, check}]++
	probeSeries.Unlock()
}

// dropProbeSeries deletes the probe series once no monitor uses them.
func dropProbeSeries(address, check string) {
	k := [2]string{address, check}
	probeSeries.Lock()
	defer probeSeries.Unlock()
	if probeSeries.refs[k]--; probeSeries.refs[k] > 0 {
		return
	}
	delete(probeSeries.refs, k)
	for _, kind := range probe.Kinds() {
		probes.DeleteLabelValues(address, check, kind.String())
	}
}
