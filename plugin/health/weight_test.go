package health

import (
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/failover-dns/failover/plugin/probe"
)

// weightSeen is what a weight watcher saw when it was called.
type weightSeen struct {
	weight  uint32
	ok      bool
	problem string
	last    probe.Result // the status's latest probe: recorded before the call
}

func TestWeightFollowsSuccessfulProbes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newTestEngine(t, 0)
		p := newScriptedProber()
		m := e.monitor(steady, p)
		watched := make(chan weightSeen, 16)
		stop := m.WatchWeight(func() {
			w, ok := m.Weight()
			watched <- weightSeen{w, ok, m.WeightProblem(), m.Status().Last}
		})
		if w, ok := m.Weight(); ok || w != 0 || m.WeightProblem() != "" {
			t.Fatalf("Expected no weight before the first probe, got %d (ok %v, problem %q)", w, ok, m.WeightProblem())
		}

		e.add(m)
		answer := func(r probe.Result) {
			nextCall(t, p, time.Minute).reply <- r
			synctest.Wait()
		}
		weighed := func(w uint32) probe.Result { return probe.Result{Kind: probe.OK, Weight: w, WeightOK: true} }
		const garbage = `header X-Weight holds "abc", not a whole number from 0 to 65535`
		bad := probe.Result{Kind: probe.OK, WeightProblem: garbage}

		expect := func(what string, want *weightSeen, r probe.Result) {
			t.Helper()
			answer(r)
			select {
			case got := <-watched:
				switch {
				case want == nil:
					t.Errorf("%s: expected no call, got one with %+v", what, got)
				case got.weight != want.weight || got.ok != want.ok || got.problem != want.problem:
					t.Errorf("%s: expected %d (ok %v, problem %q), got %d (ok %v, problem %q)",
						what, want.weight, want.ok, want.problem, got.weight, got.ok, got.problem)
				case got.last != r:
					t.Errorf("%s: expected the call after the probe was recorded, got the status's latest %+v", what, got.last)
				}
			default:
				if want != nil {
					t.Errorf("%s: expected a call with %+v, got none", what, *want)
				}
			}
		}
		expect("a check without weight_from", nil, pass)
		expect("the first weight", &weightSeen{weight: 5, ok: true}, weighed(5))
		expect("the same weight", nil, weighed(5))
		// Down says nothing about the weight, and the endpoint gets no
		// traffic anyway: the last one stays.
		for range steady.Fall {
			expect("a failed probe", nil, fail)
		}
		if w, ok := m.Weight(); !ok || w != 5 {
			t.Errorf("Expected failed probes to keep weight 5, got %d (ok %v)", w, ok)
		}
		expect("a drain", &weightSeen{weight: 0, ok: true}, weighed(0))
		expect("garbage", &weightSeen{problem: garbage}, bad)
		expect("the same garbage", nil, bad)
		expect("garbage gone, no weight", &weightSeen{}, pass)
		expect("a weight again", &weightSeen{weight: 65535, ok: true}, weighed(65535))

		st := m.Status()
		if st.Weight != 65535 || !st.WeightOK || st.WeightProblem != "" {
			t.Errorf("Expected the status to carry weight 65535, got %d (ok %v, problem %q)", st.Weight, st.WeightOK, st.WeightProblem)
		}
		stop()
		expect("after unsubscribing", nil, weighed(1))
		if w, _ := m.Weight(); w != 1 {
			t.Errorf("Expected weight 1 without a watcher, got %d", w)
		}
	})
}

// A weight that is not reported is no weight: a prober that fills in the
// number with WeightOK false changes nothing.
func TestWeightIgnoresNumberNotReported(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newTestEngine(t, 0)
		p := &constProber{r: probe.Result{Kind: probe.OK, Weight: 7}}
		m := e.monitor(steady, p)
		var calls atomic.Int32
		defer m.WatchWeight(func() { calls.Add(1) })()
		e.add(m)
		time.Sleep(3 * steady.Interval)
		synctest.Wait()
		if w, ok := m.Weight(); ok || w != 0 || calls.Load() != 0 || p.n.Load() < 3 {
			t.Errorf("Expected no weight and no call after %d probes, got %d (ok %v) and %d calls", p.n.Load(), w, ok, calls.Load())
		}
	})
}
