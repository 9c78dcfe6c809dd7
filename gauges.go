package failover

import (
	"time"

	"github.com/coredns/coredns/plugin"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/failover-dns/failover/plugin/control"
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
	endpointOverrideDesc = prometheus.NewDesc(prometheus.BuildFQName(plugin.Namespace, pluginName, "endpoint_override"),
		"1 while an operator's override (state up, down or drain) holds for an endpoint of a managed name.",
		[]string{"name", "endpoint", "state"}, nil)
	endpointSignalDesc = prometheus.NewDesc(prometheus.BuildFQName(plugin.Namespace, pluginName, "endpoint_signal"),
		"Firing Alertmanager alerts that hold an endpoint of a managed name down.",
		[]string{"name", "endpoint"}, nil)
	drainSafeDesc = prometheus.NewDesc(prometheus.BuildFQName(plugin.Namespace, pluginName, "drain_safe_seconds"),
		"Seconds until no resolver can still hold a record naming a drained endpoint; 0 once it is safe to stop.",
		[]string{"name", "endpoint"}, nil)
	endpointRTTDesc = prometheus.NewDesc(prometheus.BuildFQName(plugin.Namespace, pluginName, "endpoint_rtt_seconds"),
		"The smoothed round trip of an endpoint's successful probes from this server (dial to status line), which policy fastest ranks by.",
		[]string{"name", "endpoint"}, nil)
	clusterConnectedDesc = prometheus.NewDesc(prometheus.BuildFQName(plugin.Namespace, pluginName, "cluster_connected"),
		"1 while this replica's lease in etcd is renewed and its votes count; 0 when it is cut off and decides alone.",
		[]string{"node"}, nil)
	clusterMembersDesc = prometheus.NewDesc(prometheus.BuildFQName(plugin.Namespace, pluginName, "cluster_members"),
		"The live replicas this replica sees in etcd, itself included.",
		[]string{"node"}, nil)
)

func init() { prometheus.DefaultRegisterer.MustRegister(endpointGauges{}) }

func (endpointGauges) Describe(ch chan<- *prometheus.Desc) {
	ch <- endpointUpDesc
	ch <- endpointWeightDesc
	ch <- endpointOverrideDesc
	ch <- endpointSignalDesc
	ch <- drainSafeDesc
	ch <- endpointRTTDesc
	ch <- clusterConnectedDesc
	ch <- clusterMembersDesc
}

// Collect reports each name and endpoint once, from the newest configuration
// that has it: during a reload the old and the new one both do.
func (endpointGauges) Collect(ch chan<- prometheus.Metric) {
	collectReplicas(ch)
	series.Lock()
	defer series.Unlock()
	now := time.Now()
	for k, hs := range series.holders {
		ep := hs[len(hs)-1]
		up := 0.0
		if ep.up() {
			up = 1
		}
		ch <- prometheus.MustNewConstMetric(endpointUpDesc, prometheus.GaugeValue, up, k[0], k[1])
		ch <- prometheus.MustNewConstMetric(endpointWeightDesc, prometheus.GaugeValue, float64(ep.cfg.Weight), k[0], k[1])
		if rtt := ep.rtt(); rtt > 0 {
			ch <- prometheus.MustNewConstMetric(endpointRTTDesc, prometheus.GaugeValue, rtt.Seconds(), k[0], k[1])
		}
		if snap := ep.owner.controls(); snap != nil {
			collectControls(ch, snap, ep, k, now)
		}
	}
}

// collectReplicas reports each running cluster view once.
func collectReplicas(ch chan<- prometheus.Metric) {
	views.Lock()
	defer views.Unlock()
	for _, sv := range views.m {
		st := sv.v.Status()
		connected := 0.0
		if st.Connected {
			connected = 1
		}
		ch <- prometheus.MustNewConstMetric(clusterConnectedDesc, prometheus.GaugeValue, connected, st.Node)
		ch <- prometheus.MustNewConstMetric(clusterMembersDesc, prometheus.GaugeValue, float64(len(st.Members)), st.Node)
	}
}

func collectControls(ch chan<- prometheus.Metric, snap *control.Snapshot, ep *endpoint, k [2]string, now time.Time) {
	if o, _, ok := snap.Override(k[0], k[1]); ok {
		ch <- prometheus.MustNewConstMetric(endpointOverrideDesc, prometheus.GaugeValue, 1, k[0], k[1], o.State.String())
		if o.State == control.Drain {
			left := max(ep.safeAt(o, now).Sub(now).Seconds(), 0)
			ch <- prometheus.MustNewConstMetric(drainSafeDesc, prometheus.GaugeValue, left, k[0], k[1])
		}
	}
	if n := len(snap.Signals(k[0], k[1])); n > 0 {
		ch <- prometheus.MustNewConstMetric(endpointSignalDesc, prometheus.GaugeValue, float64(n), k[0], k[1])
	}
}
