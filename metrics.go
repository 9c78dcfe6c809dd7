package failover

import (
	"sync/atomic"

	"github.com/coredns/coredns/plugin"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// Label sets are bounded by the configuration: names and endpoints come from
// the Corefile, results and types from fixed lists. Nothing a client sends
// becomes a label value.
var (
	healthChecks = promauto.NewGauge(prometheus.GaugeOpts{
		Namespace: plugin.Namespace, Subsystem: pluginName, Name: "health_checks",
		Help: "Health checks running: one per endpoint and check, however many names and server blocks share it.",
	})

	probes = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: plugin.Namespace, Subsystem: pluginName, Name: "probes_total",
		Help: "Health probes run, by endpoint, check and result (success or the failure kind).",
	}, []string{"endpoint", "check", "result"})

	// One histogram for all probes: per endpoint, its buckets would cost
	// more than everything else the plugin keeps for an endpoint.
	probeDuration = promauto.NewHistogram(prometheus.HistogramOpts{
		Namespace: plugin.Namespace, Subsystem: pluginName, Name: "probe_duration_seconds",
		Help:    "Duration of health probes.",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
	})

	probeLateness = promauto.NewHistogram(prometheus.HistogramOpts{
		Namespace: plugin.Namespace, Subsystem: pluginName, Name: "probe_lateness_seconds",
		Help:    "How long after its scheduled time each health probe started.",
		Buckets: []float64{.001, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
	})

	transitions = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: plugin.Namespace, Subsystem: pluginName, Name: "transitions_total",
		Help: "Endpoint state transitions, by managed name, endpoint and new state.",
	}, []string{"name", "endpoint", "to"})

	failovers = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: plugin.Namespace, Subsystem: pluginName, Name: "failovers_total",
		Help: "Failover events: a managed name's answer moved off its first choice (direction away) or back to it (direction back).",
	}, []string{"name", "direction"})

	answers = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: plugin.Namespace, Subsystem: pluginName, Name: "answers_total",
		Help: "Records answered, by managed name and endpoint.",
	}, []string{"name", "endpoint"})

	allDownAnswers = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: plugin.Namespace, Subsystem: pluginName, Name: "all_down_answers_total",
		Help: "Queries answered while no endpoint the policy may use was up, by managed name and all_down action.",
	}, []string{"name", "action"})

	wouldAnswers = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: plugin.Namespace, Subsystem: pluginName, Name: "would_answer_total",
		Help: "For observe_only names: records that would have been answered had health counted, by managed name and endpoint.",
	}, []string{"name", "endpoint"})

	queries = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: plugin.Namespace, Subsystem: pluginName, Name: "queries_total",
		Help: "Queries for managed names, by name and query type (A, AAAA, CNAME or other).",
	}, []string{"name", "type"})
)

// Query type label values; anything else counts as "other".
var queryTypes = [...]string{"A", "AAAA", "CNAME", "other"}

// lazyCounter is a series of a two-label counter made on its first count: a
// configuration of ten thousand names should not hold the series of every
// name, type and endpoint before anything asked for them. After the first
// count it costs one atomic load.
type lazyCounter struct {
	c      atomic.Pointer[prometheus.Counter]
	vec    *prometheus.CounterVec
	labels [2]string
}

func (l *lazyCounter) Inc() {
	c := l.c.Load()
	if c == nil {
		made := l.vec.WithLabelValues(l.labels[0], l.labels[1]) // the same series however many goroutines race here
		c = &made
		l.c.Store(c)
	}
	(*c).Inc()
}
