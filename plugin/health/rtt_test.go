package health

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/failover-dns/failover/plugin/probe"
)

func TestRTTFollowsSuccessfulProbes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newTestEngine(t, 0)
		p := newScriptedProber()
		m := e.monitor(steady, p)
		watched := make(chan time.Duration, 16)
		defer m.WatchRTT(func() { watched <- m.RTT() })()

		e.add(m)
		answer := func(r probe.Result) {
			nextCall(t, p, time.Minute).reply <- r
			synctest.Wait()
		}
		ok := func(rtt time.Duration) probe.Result { return probe.Result{Kind: probe.OK, RTT: rtt, Duration: rtt} }

		answer(ok(100 * time.Millisecond))
		if got := <-watched; got != 100*time.Millisecond {
			t.Fatalf("Expected the first round trip to be taken as it is, got %s", got)
		}
		// A failure says nothing about the round trip and wakes no watcher.
		answer(probe.Result{Kind: probe.Timeout, Duration: 2 * time.Second})
		if len(watched) != 0 || m.RTT() != 100*time.Millisecond {
			t.Fatalf("Expected a failed probe to leave the round trip at 100ms, got %s", m.RTT())
		}
		// One slow probe moves it part of the way; a lasting change takes over.
		answer(ok(200 * time.Millisecond))
		if got := <-watched; got <= 100*time.Millisecond || got >= 150*time.Millisecond {
			t.Errorf("Expected one slow probe to move the round trip a little past 100ms, got %s", got)
		}
		for range 10 {
			answer(ok(200 * time.Millisecond))
			<-watched
		}
		if got := m.RTT(); got < 195*time.Millisecond || got > 200*time.Millisecond {
			t.Errorf("Expected ten probes at 200ms to bring it within 5ms of 200ms, got %s", got)
		}
		if got := m.Status().RTT; got != m.RTT() {
			t.Errorf("Expected the status to carry the round trip %s, got %s", m.RTT(), got)
		}
	})
}
