package health

import (
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

func TestStatusTellsTheLatestProbeStreakAndTransitions(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newTestEngine(t, 0)
		p := newScriptedProber()
		m := e.monitor(steady, p)
		if st := m.Status(); st.Probed || st.Since != (time.Time{}) || len(st.History) != 0 {
			t.Fatalf("Expected an empty status before the first probe, got %+v", st)
		}
		e.add(m)
		results := []bool{true, true, false, false, false, false, true, true}
		for _, ok := range results {
			c := nextCall(t, p, time.Minute)
			if ok {
				c.reply <- pass
			} else {
				c.reply <- fail
			}
		}
		nextCall(t, p, time.Minute).reply <- pass
		synctest.Wait() // until the result is recorded
		st := m.Status()
		if !st.Probed || !st.StreakOK || st.Streak != 3 || st.Last.Kind != pass.Kind {
			t.Errorf("Expected a streak of 3 successes, got ok=%v n=%d", st.StreakOK, st.Streak)
		}
		// Unknown -> up at the first probe, up -> down after fall failures,
		// down -> up after rise successes.
		if len(st.History) != 3 || st.History[0].To != Up || st.History[1].To != Down || st.History[1].Reason != fail.Detail || st.History[2].To != Up {
			t.Errorf("Expected three transitions, got %+v", st.History)
		}
		if !st.Since.Equal(st.History[2].At) {
			t.Errorf("Expected since to be the last transition, got %s", st.Since)
		}
	})
}

func TestStatusHistoryIsBounded(t *testing.T) {
	m := NewMonitor("k", "192.0.2.1", steady, nil)
	for range 3 * historyLen {
		m.record(fail, Transition{From: Up, To: Down}, true)
	}
	if st := m.Status(); len(st.History) != historyLen || st.Streak != 3*historyLen || st.StreakOK {
		t.Errorf("Expected %d transitions kept and a failure streak of %d, got %d and %d", historyLen, 3*historyLen, len(st.History), st.Streak)
	}
}

func TestGateSkipsProbesAndKeepsTheSchedule(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newTestEngine(t, 0)
		var mu sync.Mutex
		var at []time.Time
		m := e.monitor(steady, stampProber{mu: &mu, at: &at})
		var open atomic.Bool
		m.SetGate(open.Load)
		e.add(m)
		time.Sleep(3 * steady.Interval) // virtual time: three slots pass
		synctest.Wait()
		mu.Lock()
		skipped := len(at)
		mu.Unlock()
		if skipped != 0 {
			t.Fatalf("Expected no probe while the gate is shut, got %d", skipped)
		}
		open.Store(true)
		time.Sleep(3 * steady.Interval)
		synctest.Wait()
		mu.Lock()
		defer mu.Unlock()
		if len(at) != 3 {
			t.Fatalf("Expected a probe per slot once the gate opens, got %d", len(at))
		}
		if d := at[1].Sub(at[0]); d != steady.Interval {
			t.Errorf("Expected the schedule kept, probes %s apart, got %s", steady.Interval, d)
		}
	})
}
