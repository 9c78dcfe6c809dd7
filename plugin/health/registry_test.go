package health

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/failover-dns/failover/plugin/probe"
)

// newTestRegistry is a registry whose monitors a scripted prober answers.
func newTestRegistry() (*Registry, *scriptedProber, *builder) {
	p := newScriptedProber()
	return NewRegistry(0, nil), p, &builder{p: p}
}

// acquireFirst acquires key "a" for the first time; the test's end stops it.
func acquireFirst(t *testing.T, r *Registry, b *builder) *Monitor {
	t.Helper()
	m, fresh := r.Acquire("a", b.build("a"))
	if !fresh {
		t.Fatalf("Expected the first Acquire to be fresh")
	}
	t.Cleanup(func() { r.engine.remove(m); r.engine.wait() })
	return m
}

// builder counts how often the registry makes a monitor.
type builder struct {
	p     probe.Prober
	built int
}

func (b *builder) build(key string) func() *Monitor {
	return func() *Monitor {
		b.built++
		return NewMonitor(key, "192.0.2.1", steady, b.p)
	}
}

func TestRegistryAcquireShares(t *testing.T) {
	r := NewRegistry(0, nil)
	b := &builder{p: &constProber{r: pass}}

	m1, fresh1 := r.Acquire("a", b.build("a"))
	m2, fresh2 := r.Acquire("a", b.build("a"))
	if m1 != m2 {
		t.Errorf("Expected the same monitor for the same key")
	}
	if !fresh1 || fresh2 {
		t.Errorf("Expected fresh only on the first Acquire, got %t and %t", fresh1, fresh2)
	}
	if b.built != 1 {
		t.Errorf("Expected 1 monitor built, got %d", b.built)
	}
	m3, fresh3 := r.Acquire("b", b.build("b"))
	if m3 == m1 || !fresh3 {
		t.Errorf("Expected a fresh monitor for another key")
	}
	if r.count() != 2 {
		t.Errorf("Expected 2 monitors, got %d", r.count())
	}
}

func TestRegistryReleaseStopsLastUse(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r, p, b := newTestRegistry()
		e := r.engine

		m := acquireFirst(t, r, b)
		r.Acquire("a", b.build("a"))
		e.add(m)
		nextCall(t, p, time.Minute).reply <- pass

		r.Release(m)
		if r.count() != 1 {
			t.Errorf("Expected the monitor to stay while one user holds it, got %d monitors", r.count())
		}
		nextCall(t, p, time.Minute).reply <- pass

		r.Release(m)
		if r.count() != 0 {
			t.Errorf("Expected no monitor after the last Release, got %d", r.count())
		}
		noCall(t, p, time.Minute)
		waited := make(chan struct{})
		go func() {
			e.wait()
			close(waited)
		}()
		synctest.Wait()
		select {
		case <-waited:
		default:
			t.Fatalf("Expected the engine to stop once its last monitor was released")
		}

		m2, fresh := r.Acquire("a", b.build("a"))
		if m2 == m || !fresh {
			t.Errorf("Expected a fresh monitor after the last Release")
		}
		if m2.State() != Unknown {
			t.Errorf("Expected a fresh monitor to be %s, got %s", Unknown, m2.State())
		}
	})
}

func TestRegistryReloadKeepsMonitor(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r, p, b := newTestRegistry()
		e := r.engine

		// The old configuration starts: first round, then steady probing.
		old := acquireFirst(t, r, b)
		var tl transitionLog
		unsubscribe := old.Subscribe(tl.listen)
		go e.firstRound([]*Monitor{old}, time.Minute)
		nextCall(t, p, time.Minute).reply <- fail
		synctest.Wait()
		e.add(old)
		c := nextCall(t, p, time.Minute)
		c.reply <- pass // one success of rise 2: still down, fast pace
		synctest.Wait()

		// Reload: the new configuration acquires before the old releases.
		cur, fresh := r.Acquire("a", b.build("a"))
		if cur != old || fresh {
			t.Fatalf("Expected the new configuration to get the running monitor")
		}
		if cur.State() != Down {
			t.Errorf("Expected the state to survive the reload, got %s", cur.State())
		}
		unsubscribe()
		cur.Subscribe(tl.listen)
		r.Release(old)
		if b.built != 1 {
			t.Errorf("Expected 1 monitor built, got %d", b.built)
		}

		// The streak survives too: the next success, at the fast pace, is the second.
		next := nextCall(t, p, time.Minute)
		if got := next.at.Sub(c.at); got != steady.FastInterval {
			t.Errorf("Expected the next probe %s later, got %s", steady.FastInterval, got)
		}
		next.reply <- pass
		synctest.Wait()
		if cur.State() != Up {
			t.Errorf("Expected %s after %d successes across the reload, got %s", Up, steady.Rise, cur.State())
		}
		hs := tl.all()
		if len(hs) != 2 || hs[0].To != Down || hs[1].From != Down || hs[1].To != Up {
			t.Errorf("Expected unknown -> down -> up, got %v", hs)
		}

		r.Release(cur)
		noCall(t, p, time.Minute)
	})
}

// Stanzas that share a probe each subscribe to it; every one of them must hear
// every transition, however many there are.
func TestMonitorEverySubscriberHears(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r, p, b := newTestRegistry()
		e := r.engine

		m := acquireFirst(t, r, b)
		logs := make([]transitionLog, 3)
		for i := range logs {
			m.Subscribe(logs[i].listen)
		}
		go e.firstRound([]*Monitor{m}, time.Minute)
		nextCall(t, p, time.Minute).reply <- pass
		synctest.Wait()
		e.add(m)
		for range steady.Fall {
			nextCall(t, p, time.Minute).reply <- fail
			synctest.Wait()
		}
		for range steady.Rise {
			nextCall(t, p, time.Minute).reply <- pass
			synctest.Wait()
		}
		for i := range logs {
			hs := logs[i].all()
			if len(hs) != 3 || hs[0].To != Up || hs[1].To != Down || hs[2].To != Up {
				t.Errorf("Expected subscriber %d of 3 to hear unknown -> up -> down -> up, got %v", i+1, hs)
			}
		}
	})
}

// A reload subscribes the new configuration before the old one unsubscribes,
// as caddy starts the new instance before it stops the old: the kept monitor
// must go on publishing to the new configuration.
func TestRegistryReloadPublishesToTheNewConfiguration(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r, p, b := newTestRegistry()
		e := r.engine

		old := acquireFirst(t, r, b)
		var before, after transitionLog
		unsubscribe := old.Subscribe(before.listen)
		go e.firstRound([]*Monitor{old}, time.Minute)
		nextCall(t, p, time.Minute).reply <- fail
		synctest.Wait()
		e.add(old)

		cur, _ := r.Acquire("a", b.build("a"))
		cur.Subscribe(after.listen)
		unsubscribe()
		r.Release(old)

		for range steady.Rise {
			nextCall(t, p, time.Minute).reply <- pass
			synctest.Wait()
		}
		if hs := after.all(); len(hs) != 1 || hs[0].From != Down || hs[0].To != Up {
			t.Errorf("Expected the new configuration to hear down -> up after the reload, got %v", hs)
		}
		if hs := before.all(); len(hs) != 1 || hs[0].To != Down {
			t.Errorf("Expected the old configuration to hear only its first probe, got %v", hs)
		}
	})
}
