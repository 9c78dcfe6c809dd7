package failover

import (
	"github.com/coredns/coredns/plugin"

	"github.com/prometheus/client_golang/prometheus"
)

// endpointGauges makes endpoint_up and endpoint_weight at scrape time from
// the running configurations' endpoints. Kept as series, the two gauges of
// ten thousand endpoints held more memory than the rest of the plugin.
type endpointGauges struct{}

var (
	endpointUpDesc = prometheus.NewDesc(prometheus.BuildFQName(plugin.Namespace, pluginName, "endpoint_up"),
		"Whether an endpoint of a managed name is up (1) or down (0), as its health check last decided.",
		[]string{"name", "endpoint"}, nil)
	endpointWeightDesc = prometheus.NewDesc(prometheus.BuildFQName(plugin.Namespace, pluginName, "endpoint_weight"),
		"The configured weight of an endpoint of a managed name; 0 means drained.",
		[]string{"name", "endpoint"}, nil)
)

func init() { prometheus.DefaultRegisterer.MustRegister(endpointGauges{}) }

func (endpointGauges) Describe(ch chan<- *prometheus.Desc) {
	ch <- endpointUpDesc
	ch <- endpointWeightDesc
}

// Collect reports each name and endpoint once, from the newest configuration
// that has it: during a reload the old and the new one both do.
func (endpointGauges) Collect(ch chan<- prometheus.Metric) {
	series.Lock()
	defer series.Unlock()
	for k, hs := range series.holders {
		ep := hs[len(hs)-1]
		up := 0.0
		if ep.up() {
			up = 1
		}
		ch <- prometheus.MustNewConstMetric(endpointUpDesc, prometheus.GaugeValue, up, k[0], k[1])
		ch <- prometheus.MustNewConstMetric(endpointWeightDesc, prometheus.GaugeValue, float64(ep.cfg.Weight), k[0], k[1])
	}
}
