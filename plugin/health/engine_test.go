package health

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/failover-dns/failover/plugin/probe"
)

var (
	pass = probe.Result{Kind: probe.OK, Status: 200}
	fail = probe.Result{Kind: probe.Timeout, Detail: "timeout after 2s"}
)

// probeCall is one probe as the scripted prober sees it; the test answers it.
type probeCall struct {
	at    time.Time
	ctx   context.Context
	reply chan probe.Result
}

// scriptedProber hands every probe to the test, which decides its result and
// when it returns. Unanswered, a probe blocks until its context ends.
type scriptedProber struct {
	calls chan probeCall
	// onCancel is what a cancelled probe returns, after lingering a while so
	// that a caller not waiting for it would be caught.
	onCancel probe.Result
	linger   time.Duration

	active, peak, returned atomic.Int32
}

func newScriptedProber() *scriptedProber {
	return &scriptedProber{calls: make(chan probeCall), onCancel: fail}
}

func (p *scriptedProber) Probe(ctx context.Context) probe.Result {
	n := p.active.Add(1)
	for {
		old := p.peak.Load()
		if n <= old || p.peak.CompareAndSwap(old, n) {
			break
		}
	}
	defer p.returned.Add(1)
	defer p.active.Add(-1)

	c := probeCall{at: time.Now(), ctx: ctx, reply: make(chan probe.Result, 1)}
	select {
	case p.calls <- c:
	case <-ctx.Done():
		return p.cancelled()
	}
	select {
	case r := <-c.reply:
		return r
	case <-ctx.Done():
		return p.cancelled()
	}
}

func (p *scriptedProber) cancelled() probe.Result {
	time.Sleep(p.linger)
	return p.onCancel
}

// nextCall waits for the next probe; limit is virtual time inside a bubble.
func nextCall(t *testing.T, p *scriptedProber, limit time.Duration) probeCall {
	t.Helper()
	select {
	case c := <-p.calls:
		return c
	case <-time.After(limit):
		t.Fatalf("Expected a probe within %s, got none", limit)
	}
	return probeCall{}
}

// noCall fails if a probe starts within d.
func noCall(t *testing.T, p *scriptedProber, d time.Duration) {
	t.Helper()
	select {
	case c := <-p.calls:
		c.reply <- pass
		t.Errorf("Expected no probe, got one at %s", c.at.Format(time.TimeOnly))
	case <-time.After(d):
	}
}

// pending drains the probes that have started and are waiting for an answer.
func pending(p *scriptedProber) []probeCall {
	var cs []probeCall
	for {
		select {
		case c := <-p.calls:
			cs = append(cs, c)
		default:
			return cs
		}
	}
}

// constProber always gives the same result at once.
type constProber struct {
	r probe.Result
	n atomic.Int32
}

func (p *constProber) Probe(context.Context) probe.Result {
	p.n.Add(1)
	return p.r
}

// transitionLog records what listeners hear, with the (virtual) time.
type transitionLog struct {
	mu  sync.Mutex
	log []heard
}

type heard struct {
	at time.Time
	Transition
}

func (l *transitionLog) listen(t Transition) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.log = append(l.log, heard{time.Now(), t})
}

func (l *transitionLog) all() []heard {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]heard(nil), l.log...)
}

var steady = Pace{Interval: 10 * time.Second, FastInterval: time.Second, Fall: 3, Rise: 2}

// testEngine is an engine whose monitors the test's end removes, so that no
// goroutine outlives the bubble even when the test fails half-way.
type testEngine struct {
	*engine
	ms []*Monitor
}

func newTestEngine(t *testing.T, concurrency int) *testEngine {
	e := &testEngine{engine: newEngine(concurrency)}
	t.Cleanup(func() {
		for _, m := range e.ms {
			e.remove(m)
		}
		e.wait()
	})
	return e
}

func (e *testEngine) monitor(pace Pace, p probe.Prober) *Monitor {
	m := NewMonitor(fmt.Sprintf("check%d", len(e.ms)), "192.0.2.1", pace, p)
	e.ms = append(e.ms, m)
	return m
}

func TestEngineSteadyPace(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newTestEngine(t, 0)
		p := newScriptedProber()
		m := e.monitor(steady, p)

		start := time.Now()
		e.add(m)
		first := nextCall(t, p, time.Minute)
		if first.at.Before(start) || !first.at.Before(start.Add(steady.Interval)) {
			t.Errorf("Expected the first probe within [0, %s) of Add, got %s", steady.Interval, first.at.Sub(start))
		}
		first.reply <- pass
		for i := 1; i <= 5; i++ {
			c := nextCall(t, p, time.Minute)
			if want := first.at.Add(time.Duration(i) * steady.Interval); !c.at.Equal(want) {
				t.Errorf("Expected probe %d at %s after the first, got %s", i, want.Sub(first.at), c.at.Sub(first.at))
			}
			c.reply <- pass
		}
		if m.State() != Up {
			t.Errorf("Expected %s, got %s", Up, m.State())
		}
	})
}

// stampProber passes at once and notes when each of its probes ran.
type stampProber struct {
	mu *sync.Mutex
	at *[]time.Time
}

func (p stampProber) Probe(context.Context) probe.Result {
	p.mu.Lock()
	*p.at = append(*p.at, time.Now())
	p.mu.Unlock()
	return pass
}

func TestEnginePhasesSpreadEvenly(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newTestEngine(t, 0)
		// 100 ticks in the interval and 1,000 monitors, added in two batches
		// a third of an interval apart: ten first probes on every tick.
		const n = 1000
		perTick := int(steady.Interval / e.clock)
		var mu sync.Mutex
		stamps := make([][]time.Time, n)
		for i := range n {
			if i == n/2 {
				time.Sleep(steady.Interval / 3)
			}
			e.add(e.monitor(steady, stampProber{&mu, &stamps[i]}))
		}
		time.Sleep(2*steady.Interval + e.clock)
		synctest.Wait()
		mu.Lock()
		defer mu.Unlock()
		byTick := make(map[time.Duration]int)
		for i, at := range stamps {
			if len(at) < 2 {
				t.Fatalf("Expected monitor %d to be probed every interval, got %d probes", i, len(at))
			}
			if !at[0].Equal(at[0].Truncate(e.clock)) {
				t.Errorf("Expected every probe on the engine's %s clock, got one at %s", e.clock, at[0].Format(time.StampMicro))
			}
			if got := at[1].Sub(at[0]); got != steady.Interval {
				t.Errorf("Expected monitor %d probed every %s, got %s", i, steady.Interval, got)
			}
			byTick[at[0].Sub(at[0].Truncate(steady.Interval))]++
		}
		if len(byTick) != perTick {
			t.Errorf("Expected first probes on all %d ticks of the interval, got %d", perTick, len(byTick))
		}
		for at, k := range byTick {
			if k < n/perTick-1 || k > n/perTick+1 {
				t.Errorf("Expected %d±1 first probes on every tick, got %d at +%s", n/perTick, k, at)
			}
		}
	})
}

func TestVanDerCorput(t *testing.T) {
	want := []float64{0, 0.5, 0.25, 0.75, 0.125, 0.625, 0.375, 0.875}
	for k, w := range want {
		if got := vanDerCorput(uint64(k)); got != w {
			t.Errorf("Expected point %d to be %g, got %g", k, w, got)
		}
	}
}

// TestTickFor: an endpoint's clock is coarse enough to batch its probes with
// others' and fine enough that its phase has ten slots or more and its
// intervals stay what the Corefile says.
func TestTickFor(t *testing.T) {
	for _, tc := range []struct {
		interval, fast, limit, want time.Duration
	}{
		{10 * time.Second, time.Second, defaultTick, 100 * time.Millisecond},
		{10 * time.Second, 0, defaultTick, 100 * time.Millisecond},
		{time.Second, 500 * time.Millisecond, defaultTick, 50 * time.Millisecond},
		{time.Second, 200 * time.Millisecond, defaultTick, 10 * time.Millisecond},
		{100 * time.Millisecond, 100 * time.Millisecond, defaultTick, 10 * time.Millisecond},
		{60 * time.Millisecond, 60 * time.Millisecond, defaultTick, 5 * time.Millisecond},
		{20 * time.Millisecond, 10 * time.Millisecond, defaultTick, time.Millisecond},
		{5 * time.Millisecond, 5 * time.Millisecond, defaultTick, 0},
		{10 * time.Second, time.Second, 10 * time.Millisecond, 10 * time.Millisecond},
		{10 * time.Second, time.Second, 0, 0},
	} {
		if got := tickFor(tc.limit, Pace{Interval: tc.interval, FastInterval: tc.fast}); got != tc.want {
			t.Errorf("Expected interval %s, fast_interval %s (limit %s) on a %s clock, got %s", tc.interval, tc.fast, tc.limit, tc.want, got)
		}
	}
}

// TestEngineWorkersWindDown: the goroutine that ran a probe waits for the
// next one for a while, then exits; an engine that probes rarely holds no
// goroutine between its probes.
func TestEngineWorkersWindDown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newTestEngine(t, 0)
		p := newScriptedProber()
		e.add(e.monitor(steady, p))
		nextCall(t, p, time.Minute).reply <- pass
		synctest.Wait()
		waiting := runtime.NumGoroutine()
		time.Sleep(workerIdle + time.Millisecond)
		synctest.Wait()
		if got := runtime.NumGoroutine(); got != waiting-1 {
			t.Errorf("Expected the worker to exit after %s without a probe (%d goroutines), got %d", workerIdle, waiting-1, got)
		}
		// And the next probe still runs.
		nextCall(t, p, time.Minute).reply <- pass
	})
}

func TestEngineFastPaceConfirmsFailure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newTestEngine(t, 0)
		p := newScriptedProber()
		m := e.monitor(steady, p)
		var tl transitionLog
		m.Subscribe(tl.listen)

		e.add(m)
		c := nextCall(t, p, time.Minute)
		last := c.at // the endpoint dies just after its last healthy probe
		c.reply <- pass

		// Fall 3: the steady probe that first fails, then two fast ones.
		for i, after := range []time.Duration{10 * time.Second, 11 * time.Second, 12 * time.Second} {
			c = nextCall(t, p, time.Minute)
			if got := c.at.Sub(last); got != after {
				t.Errorf("Expected failing probe %d at +%s, got +%s", i+1, after, got)
			}
			if m.State() != Up {
				t.Errorf("Expected %s before failing probe %d, got %s", Up, i+1, m.State())
			}
			c.reply <- fail
			synctest.Wait()
		}
		if m.State() != Down {
			t.Fatalf("Expected %s after %d failures, got %s", Down, steady.Fall, m.State())
		}
		hs := tl.all()
		if len(hs) != 2 {
			t.Fatalf("Expected 2 transitions, got %d", len(hs))
		}
		down := hs[1]
		if down.From != Up || down.To != Down || down.Result.Kind != probe.Timeout {
			t.Errorf("Expected up -> down on a timeout, got %s -> %s on %s", down.From, down.To, down.Result.Kind)
		}
		limit := steady.Interval + time.Duration(steady.Fall-1)*steady.FastInterval
		if got := down.at.Sub(last); got != limit {
			t.Errorf("Expected the endpoint down %s after its last healthy probe, got %s", limit, got)
		}

		// Down now agrees with the failures: back to the steady grid.
		for _, after := range []time.Duration{20 * time.Second, 30 * time.Second} {
			c = nextCall(t, p, time.Minute)
			if got := c.at.Sub(last); got != after {
				t.Errorf("Expected the next probe at +%s, got +%s", after, got)
			}
			c.reply <- fail
		}
		synctest.Wait()
		if n := len(tl.all()); n != 2 {
			t.Errorf("Expected no further transition, got %d transitions", n)
		}
	})
}

func TestEngineFastPaceConfirmsRecovery(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newTestEngine(t, 0)
		p := newScriptedProber()
		m := e.monitor(steady, p)
		var tl transitionLog
		m.Subscribe(tl.listen)

		e.add(m)
		c := nextCall(t, p, time.Minute)
		first := c.at
		c.reply <- fail
		for _, after := range []time.Duration{10 * time.Second, 11 * time.Second} {
			c = nextCall(t, p, time.Minute)
			if got := c.at.Sub(first); got != after {
				t.Errorf("Expected a probe at +%s, got +%s", after, got)
			}
			c.reply <- pass
			synctest.Wait()
		}
		if m.State() != Up {
			t.Fatalf("Expected %s after %d successes, got %s", Up, steady.Rise, m.State())
		}
		hs := tl.all()
		if len(hs) != 2 || hs[1].From != Down || hs[1].To != Up {
			t.Fatalf("Expected unknown -> down -> up, got %v", hs)
		}
		if got := hs[1].at.Sub(first); got != 11*time.Second {
			t.Errorf("Expected the endpoint up at +11s, got +%s", got)
		}
		c = nextCall(t, p, time.Minute)
		if got := c.at.Sub(first); got != 20*time.Second {
			t.Errorf("Expected the next probe on the steady grid at +20s, got +%s", got)
		}
		c.reply <- pass
	})
}

func TestEngineStreakBreakReturnsToSteadyPace(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newTestEngine(t, 0)
		p := newScriptedProber()
		m := e.monitor(steady, p)
		var tl transitionLog
		m.Subscribe(tl.listen)

		e.add(m)
		c := nextCall(t, p, time.Minute)
		first := c.at
		c.reply <- pass
		script := []struct {
			after time.Duration
			r     probe.Result
		}{
			{10 * time.Second, fail},
			{11 * time.Second, fail},
			{12 * time.Second, pass}, // breaks the streak one short of fall
			{20 * time.Second, fail},
			{21 * time.Second, pass},
			{30 * time.Second, pass},
			{40 * time.Second, pass},
		}
		for _, s := range script {
			c = nextCall(t, p, time.Minute)
			if got := c.at.Sub(first); got != s.after {
				t.Errorf("Expected a probe at +%s, got +%s", s.after, got)
			}
			c.reply <- s.r
			synctest.Wait()
			if m.State() != Up {
				t.Errorf("Expected %s at +%s, got %s", Up, s.after, m.State())
			}
		}
		if n := len(tl.all()); n != 1 {
			t.Errorf("Expected only the first transition, got %d", n)
		}
	})
}

func TestEngineFirstRound(t *testing.T) {
	e := newEngine(0)
	good := &constProber{r: pass}
	bad := &constProber{r: probe.Result{Kind: probe.Refused, Detail: "connection refused"}}
	up := NewMonitor("up", "192.0.2.1", steady, good)
	down := NewMonitor("down", "192.0.2.2", steady, bad)
	var tl transitionLog
	up.Subscribe(tl.listen)
	down.Subscribe(tl.listen)
	var results atomic.Int32
	e.onResult = func(*Monitor, probe.Result, time.Duration) { results.Add(1) }

	e.firstRound([]*Monitor{up, down}, time.Minute)

	if up.State() != Up {
		t.Errorf("Expected %s after one success, got %s", Up, up.State())
	}
	if down.State() != Down {
		t.Errorf("Expected %s after one failure, got %s", Down, down.State())
	}
	if n := good.n.Load() + bad.n.Load(); n != 2 {
		t.Errorf("Expected 2 probes, got %d", n)
	}
	if n := results.Load(); n != 2 {
		t.Errorf("Expected OnResult to hear 2 results, got %d", n)
	}
	got := map[*Monitor]Transition{}
	for _, h := range tl.all() {
		got[h.Monitor] = h.Transition
	}
	if len(tl.all()) != 2 {
		t.Fatalf("Expected 2 transitions, got %d", len(tl.all()))
	}
	if tr := got[up]; tr.From != Unknown || tr.To != Up {
		t.Errorf("Expected unknown -> up, got %s -> %s", tr.From, tr.To)
	}
	if tr := got[down]; tr.From != Unknown || tr.To != Down || tr.Result.Kind != probe.Refused {
		t.Errorf("Expected unknown -> down on refused, got %s -> %s on %s", tr.From, tr.To, tr.Result.Kind)
	}
}

func TestEngineRemoveCancelsInFlightProbe(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newTestEngine(t, 0)
		p := newScriptedProber()
		p.linger = time.Second
		m := e.monitor(Pace{Interval: 10 * time.Second, FastInterval: time.Second, Fall: 1, Rise: 1}, p)
		var tl transitionLog
		m.Subscribe(tl.listen)
		e.add(m)
		c := nextCall(t, p, time.Minute)
		c.reply <- pass

		c = nextCall(t, p, time.Minute)
		start := time.Now()
		e.remove(m)
		if c.ctx.Err() == nil {
			t.Errorf("Expected the in-flight probe's context to be cancelled")
		}
		if n := p.returned.Load(); n != 2 {
			t.Errorf("Expected Remove to return after the in-flight probe, got %d of 2 probes returned", n)
		}
		if got := time.Since(start); got != p.linger {
			t.Errorf("Expected Remove to wait %s for the probe, got %s", p.linger, got)
		}
		synctest.Wait()
		// The cancelled probe failed and fall is 1, yet it must not count.
		if m.State() != Up {
			t.Errorf("Expected %s after Remove, got %s", Up, m.State())
		}
		if n := len(tl.all()); n != 1 {
			t.Errorf("Expected nothing published after Remove, got %d transitions", n)
		}
		noCall(t, p, time.Minute)
	})
}

func TestEngineRemoveWaitsForPublication(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newTestEngine(t, 0)
		p := newScriptedProber()
		m := e.monitor(Pace{Interval: 10 * time.Second, FastInterval: time.Second, Fall: 1, Rise: 1}, p)
		release := make(chan struct{})
		var published atomic.Bool
		m.Subscribe(func(t Transition) {
			if t.To == Down {
				<-release
				published.Store(true)
			}
		})
		e.add(m)
		nextCall(t, p, time.Minute).reply <- pass
		nextCall(t, p, time.Minute).reply <- fail
		synctest.Wait() // the listener now holds the transition

		removed := make(chan struct{})
		go func() {
			e.remove(m)
			close(removed)
		}()
		synctest.Wait()
		select {
		case <-removed:
			t.Errorf("Expected Remove to wait for the transition being published")
		default:
		}
		close(release)
		synctest.Wait()
		select {
		case <-removed:
		default:
			t.Fatalf("Expected Remove to return once the transition was published")
		}
		if !published.Load() {
			t.Errorf("Expected the transition to be published")
		}
	})
}

func TestEngineRemoveQueuedProbe(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newTestEngine(t, 1)
		pa, pb := newScriptedProber(), newScriptedProber()
		a, b := e.monitor(steady, pa), e.monitor(steady, pb)
		e.add(a)
		e.add(b)

		// Whichever comes first never answers.
		var held probeCall
		var queued *Monitor
		select {
		case held = <-pa.calls:
			queued = b
		case held = <-pb.calls:
			queued = a
		case <-time.After(time.Minute):
			t.Fatalf("Expected a probe within a minute, got none")
		}
		time.Sleep(steady.Interval) // the other is due and starts too

		removed := make(chan struct{})
		go func() {
			e.remove(queued)
			close(removed)
		}()
		synctest.Wait()
		select {
		case <-removed:
		default:
			t.Errorf("Expected Remove not to wait for another endpoint's probe")
		}
		held.reply <- pass
		<-removed
	})
}

func TestEngineWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newTestEngine(t, 0)
		ps := make([]*constProber, 3)
		ms := make([]*Monitor, 3)
		for i := range ms {
			ps[i] = &constProber{r: pass}
			ms[i] = e.monitor(steady, ps[i])
			e.add(ms[i])
		}
		time.Sleep(3 * steady.Interval)

		waited := make(chan struct{})
		go func() {
			e.wait()
			close(waited)
		}()
		e.remove(ms[0])
		e.remove(ms[1])
		synctest.Wait()
		select {
		case <-waited:
			t.Fatalf("Expected Wait to block while a monitor runs")
		default:
		}
		e.remove(ms[2])
		synctest.Wait()
		select {
		case <-waited:
		default:
			t.Fatalf("Expected Wait to return once every monitor is removed")
		}
		n := ps[0].n.Load() + ps[1].n.Load() + ps[2].n.Load()
		time.Sleep(3 * steady.Interval)
		if got := ps[0].n.Load() + ps[1].n.Load() + ps[2].n.Load(); got != n {
			t.Errorf("Expected no probe after Remove, got %d more", got-n)
		}

		// An idle engine starts again with the next monitor.
		p := newScriptedProber()
		e.add(e.monitor(steady, p))
		nextCall(t, p, time.Minute).reply <- pass
	})
}

// TestEngineHangingProbesDoNotHoldOthersBack: the first round's bound does
// not apply to steady probes, so endpoints that hang until their timeout
// never delay the probes of the others.
func TestEngineHangingProbesDoNotHoldOthersBack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const limit, n = 2, 10
		e := newTestEngine(t, limit)
		p := newScriptedProber()
		for range n {
			e.add(e.monitor(steady, p))
		}
		time.Sleep(steady.Interval) // every monitor is due
		synctest.Wait()
		running := pending(p)
		if len(running) != n {
			t.Fatalf("Expected all %d due probes to run at once, got %d", n, len(running))
		}
		for _, c := range running {
			c.reply <- pass
		}
	})
}

func TestFirstRoundConcurrencyBound(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const limit, n = 2, 10
		e := newTestEngine(t, limit)
		p := newScriptedProber()
		ms := make([]*Monitor, n)
		for i := range ms {
			ms[i] = NewMonitor("check", "192.0.2.1", steady, p)
		}
		done := make(chan struct{})
		go func() {
			e.firstRound(ms, time.Minute)
			close(done)
		}()
		answerAll(t, p, limit, n)
		<-done
		for i, m := range ms {
			if m.State() != Up {
				t.Errorf("Expected monitor %d %s, got %s", i, Up, m.State())
			}
		}
	})
}

// answerAll answers n blocked probes one at a time and checks that no more
// than limit ever run together, and that the bound is reached.
func answerAll(t *testing.T, p *scriptedProber, limit, n int) {
	t.Helper()
	var running []probeCall
	for answered := 0; answered < n; answered++ {
		synctest.Wait()
		running = append(running, pending(p)...)
		if want := min(limit, n-answered); len(running) != want {
			t.Fatalf("Expected %d probes running after %d answered, got %d", want, answered, len(running))
		}
		running[0].reply <- pass
		running = running[1:]
	}
	synctest.Wait()
	if got := p.peak.Load(); got != int32(limit) {
		t.Errorf("Expected at most %d probes at once, got %d", limit, got)
	}
}

// hangProber accepts and never answers: each probe ends at its timeout. It
// counts how many of its probes run at once.
type hangProber struct {
	timeout      time.Duration
	active, peak atomic.Int32
	probes       atomic.Int32
}

func (p *hangProber) Probe(ctx context.Context) probe.Result {
	n := p.active.Add(1)
	defer p.active.Add(-1)
	if n > p.peak.Load() {
		p.peak.Store(n)
	}
	p.probes.Add(1)
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	<-ctx.Done()
	return fail
}

// The first round ends after within, however many endpoints hang: those
// probed at once are down by then, those whose probe is still running or
// never started count as up (Unknown), and every one of them is down one
// interval and one timeout later, probed by its schedule, never twice at once.
func TestFirstRoundIsBoundedAsAWhole(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const limit, n, timeout = 256, 1000, 2 * time.Second
		e := newTestEngine(t, limit)
		ms := make([]*Monitor, n)
		probers := make([]*hangProber, n)
		for i := range ms {
			probers[i] = &hangProber{timeout: timeout}
			ms[i] = e.monitor(steady, probers[i])
		}
		start := time.Now()
		e.firstRound(ms, timeout+100*time.Millisecond)
		if took := time.Since(start); took != timeout+100*time.Millisecond {
			t.Errorf("Expected the first round to end after %s, got %s", timeout+100*time.Millisecond, took)
		}
		states := map[State]int{}
		for _, m := range ms {
			states[m.State()]++
		}
		if states[Down] != limit || states[Unknown] != n-limit {
			t.Errorf("Expected %d down and %d not yet known after the round, got %v", limit, n-limit, states)
		}
		for _, m := range ms {
			e.add(m)
		}
		time.Sleep(steady.Interval + 2*timeout)
		synctest.Wait()
		states = map[State]int{}
		for i, m := range ms {
			states[m.State()]++
			if got := probers[i].peak.Load(); got > 1 {
				t.Errorf("Expected at most one probe of monitor %d at once, got %d", i, got)
			}
		}
		if states[Down] != n {
			t.Errorf("Expected all %d down once their schedule probed them, got %v", n, states)
		}
	})
}

// With endpoints that answer, the first round ends as soon as they have.
func TestFirstRoundEndsWhenAllAnswered(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newTestEngine(t, 4)
		p := &constProber{r: pass}
		ms := make([]*Monitor, 100)
		for i := range ms {
			ms[i] = e.monitor(steady, p)
		}
		start := time.Now()
		e.firstRound(ms, time.Minute)
		if took := time.Since(start); took != 0 {
			t.Errorf("Expected the first round to end once every probe answered, got %s", took)
		}
		if got := p.n.Load(); got != 100 {
			t.Errorf("Expected 100 first probes, got %d", got)
		}
	})
}
