package health

import (
	"container/heap"
	"context"
	"math/bits"
	"sync"
	"sync/atomic"
	"time"

	"github.com/failover-dns/failover/plugin/probe"
)

// defaultConcurrency bounds the probes of the first round, which starts every
// endpoint at once: ten thousand endpoints never open ten thousand sockets
// together. Steady probes are spread over the interval instead.
const defaultConcurrency = 256

// defaultTick is the engine's coarsest clock. Probes are due on its
// multiples so that one wake-up starts a batch of them: woken for each probe
// alone, the process spent more CPU waking than probing.
const defaultTick = 100 * time.Millisecond

// ticks are the clocks an endpoint can be on, coarsest first; each divides
// the ones before it, so finer clocks tick with the coarser ones too.
var ticks = [...]time.Duration{100 * time.Millisecond, 50 * time.Millisecond, 10 * time.Millisecond, 5 * time.Millisecond, time.Millisecond}

// tickFor picks the coarsest clock, up to limit, that is at most a tenth of
// each of the pace's intervals; zero (no clock) for intervals below 10 ms.
func tickFor(limit time.Duration, p Pace) time.Duration {
	shortest := p.Interval
	if p.FastInterval > 0 && p.FastInterval < shortest {
		shortest = p.FastInterval
	}
	for _, t := range ticks {
		if t <= limit && 10*t <= shortest {
			return t
		}
	}
	return 0
}

// engine schedules the probes of every monitor it runs from one timer and a
// heap ordered by due time, instead of a goroutine and a ticker per endpoint:
// idle endpoints cost a heap slot, not a stack.
type engine struct {
	// onResult, if set, hears every probe result and how late the probe
	// started against its schedule. It runs on the probe's goroutine.
	onResult func(m *Monitor, r probe.Result, late time.Duration)

	// clock is the engine's clock: probes are due on its multiples. Zero
	// schedules every probe on its own time. Set before the first add.
	clock time.Duration

	concurrency int // first-round probes at once

	mu      sync.Mutex
	queue   dueQueue
	count   int                      // monitors added and not removed
	running bool                     // the scheduler goroutine is alive
	wakeAt  time.Time                // when the scheduler will next look at the queue; zero if never
	spread  map[time.Duration]uint64 // monitors placed so far, by interval (see phaseOf)
	wake    chan struct{}
	wg      sync.WaitGroup

	jobs chan job      // hands a due probe to a worker waiting for one
	quit chan struct{} // closed when the scheduler exits, and waiting workers with it
}

// workerIdle is how long a worker waits for another probe before it exits:
// longer than the gap between ticks, so that a busy engine keeps its workers,
// and short, so that an idle one holds no goroutines for long.
const workerIdle = time.Second

// job is one scheduled probe.
type job struct {
	m      *Monitor
	ctx    context.Context
	cancel context.CancelFunc
	due    time.Time
	done   chan struct{}
}

// newEngine makes an engine that runs at most concurrency probes at once.
func newEngine(concurrency int) *engine {
	if concurrency < 1 {
		concurrency = defaultConcurrency
	}
	return &engine{
		clock:       defaultTick,
		concurrency: concurrency,
		wake:        make(chan struct{}, 1),
		jobs:        make(chan job),
	}
}

// firstRound probes every monitor once, at most the engine's concurrency at
// a time, and sets each state from that single result. It returns when all
// are done or when within has passed, whichever comes first, so that a fresh
// server answers in about the longest timeout however many endpoints never
// answer. A probe still running then goes on and records its result when it
// ends; a monitor whose probe has not started by then is not probed now: it
// counts as up (Unknown) until the first probe of its steady schedule.
func (e *engine) firstRound(ms []*Monitor, within time.Duration) {
	deadline := time.Now().Add(within)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(e.concurrency, len(ms)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(ms) || !time.Now().Before(deadline) {
					return
				}
				e.firstProbe(ms[i])
			}
		}()
	}
	all := make(chan struct{})
	go func() {
		wg.Wait()
		close(all)
	}()
	timer := time.NewTimer(within)
	defer timer.Stop()
	select {
	case <-all:
	case <-timer.C:
	}
}

// firstProbe runs m's first probe as its in-flight probe, so that remove
// cancels and waits for it as for any other.
func (e *engine) firstProbe(m *Monitor) {
	if !m.probing() {
		return // another replica probes it; its first steady probe slot comes as usual
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	e.mu.Lock()
	if m.stopped || m.inFlight {
		e.mu.Unlock()
		return
	}
	m.inFlight, m.cancel, m.done = true, cancel, make(chan struct{})
	done := m.done
	e.mu.Unlock()
	defer close(done)
	r := m.prober.Probe(ctx)

	e.mu.Lock()
	m.inFlight, m.cancel = false, nil // the context is done with; holding it would keep it for the interval
	if m.stopped {
		e.mu.Unlock()
		return
	}
	o := e.observe(m, r)
	sooner := false
	if m.added { // add came while this probe ran: the schedule starts now
		m.due = e.next(m)
		heap.Push(&e.queue, m)
		sooner = e.sooner(m)
	}
	e.mu.Unlock()
	if sooner {
		e.poke()
	}
	e.after(m, r, 0, o)
}

// add starts steady probing of m, at a phase of its interval that spreads
// the monitors of one interval evenly (see phaseOf). A monitor whose first
// probe is still running joins its schedule when that probe ends.
func (e *engine) add(m *Monitor) {
	now := time.Now()
	e.mu.Lock()
	if m.added || m.stopped {
		e.mu.Unlock()
		return
	}
	m.added = true
	m.tick = tickFor(e.clock, m.pace)
	m.phase = onTick(e.phaseOf(m.pace.Interval, now), m.tick)
	e.count++
	if !e.running {
		e.running = true
		e.quit = make(chan struct{})
		e.wg.Add(1)
		go e.loop()
	}
	sooner := false
	if !m.inFlight {
		m.due = m.phase
		heap.Push(&e.queue, m)
		sooner = e.sooner(m)
	}
	e.mu.Unlock()
	if sooner {
		e.poke()
	}
}

// phaseOf places the next monitor of an interval at the next point of a van
// der Corput sequence (0, 1/2, 1/4, 3/4, 1/8, …) on a grid that all monitors
// of that interval share, so that however many are added, and whenever, they
// are spread as evenly as their count allows; random phases bunch up. e.mu
// is held.
func (e *engine) phaseOf(interval time.Duration, now time.Time) time.Time {
	if interval <= 0 {
		return now
	}
	if e.spread == nil {
		e.spread = make(map[time.Duration]uint64)
	}
	k := e.spread[interval]
	e.spread[interval] = k + 1
	offset := time.Duration(vanDerCorput(k) * float64(interval))
	at := now.Truncate(interval).Add(offset) // Truncate is absolute: every Add shares the grid
	if at.Before(now) {
		at = at.Add(interval)
	}
	return at
}

// vanDerCorput is the k-th point of the base-2 van der Corput sequence in
// [0, 1): k's bits mirrored behind the binary point.
func vanDerCorput(k uint64) float64 {
	return float64(bits.Reverse64(k)) / (1 << 64)
}

// remove stops m and waits for a probe of it that is in flight, which is
// cancelled: after remove returns, m publishes nothing more. A listener must
// therefore not call remove.
func (e *engine) remove(m *Monitor) {
	e.mu.Lock()
	if m.stopped {
		e.mu.Unlock()
		return
	}
	m.stopped = true
	if m.added {
		e.count--
	}
	if m.heapIdx >= 0 {
		heap.Remove(&e.queue, m.heapIdx)
	}
	if m.inFlight {
		m.cancel()
	}
	// A probe that has just finished may still be publishing its result;
	// done closes only after that.
	done := m.done
	last := m.added && e.count == 0
	e.mu.Unlock()
	if last {
		e.poke() // the scheduler exits
	}
	if done != nil {
		<-done
	}
}

// wait blocks until the scheduler goroutine has exited, which it does once
// every monitor is removed.
func (e *engine) wait() { e.wg.Wait() }

func (e *engine) poke() {
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

func (e *engine) loop() {
	defer e.wg.Done()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		e.mu.Lock()
		if e.count == 0 {
			e.running = false
			close(e.quit)
			e.mu.Unlock()
			return
		}
		now := time.Now()
		for len(e.queue) > 0 && !e.queue[0].due.After(now) {
			m := heap.Pop(&e.queue).(*Monitor)
			e.launch(m)
		}
		wait := time.Hour
		e.wakeAt = time.Time{}
		if len(e.queue) > 0 {
			e.wakeAt = e.queue[0].due
			wait = e.wakeAt.Sub(now)
		}
		e.mu.Unlock()

		timer.Reset(wait)
		select {
		case <-timer.C:
		case <-e.wake:
			if !timer.Stop() {
				select {
				case <-timer.C:
				default:
				}
			}
		}
	}
}

// launch hands m's probe to an idle worker, or to a new one; e.mu is held.
// Steady probes have no bound but one in flight per monitor, so that
// endpoints that hang until their timeout never delay healthy ones; workers
// stay for the next probe because a fresh goroutine's stack growth through
// the dial and the HTTP code was a measurable share of a probe's CPU.
func (e *engine) launch(m *Monitor) {
	ctx, cancel := context.WithCancel(context.Background())
	m.inFlight, m.cancel, m.done = true, cancel, make(chan struct{})
	j := job{m: m, ctx: ctx, cancel: cancel, due: m.due, done: m.done}
	select {
	case e.jobs <- j:
	default:
		e.wg.Add(1)
		go e.worker(j, e.quit)
	}
}

func (e *engine) worker(j job, quit <-chan struct{}) {
	defer e.wg.Done()
	idle := time.NewTimer(workerIdle)
	defer idle.Stop()
	for {
		e.run(j)
		idle.Reset(workerIdle)
		select {
		case j = <-e.jobs:
		case <-idle.C:
			return
		case <-quit:
			return
		}
	}
}

func (e *engine) run(j job) {
	defer close(j.done)
	defer j.cancel()
	if !j.m.probing() {
		e.pass(j.m)
		return
	}
	start := time.Now()
	r := j.m.prober.Probe(j.ctx)
	e.finish(j.m, r, start.Sub(j.due))
}

// finish records a scheduled probe's result and puts m back in the queue.
func (e *engine) finish(m *Monitor, r probe.Result, late time.Duration) {
	e.mu.Lock()
	m.inFlight, m.cancel = false, nil // the context is done with; holding it would keep it for the interval
	if m.stopped {
		e.mu.Unlock()
		return
	}
	o := e.observe(m, r)
	m.due = e.next(m)
	heap.Push(&e.queue, m)
	sooner := e.sooner(m)
	e.mu.Unlock()
	if sooner {
		e.poke()
	}
	e.after(m, r, late, o)
}

// pass keeps m's schedule without probing it.
func (e *engine) pass(m *Monitor) {
	e.mu.Lock()
	m.inFlight, m.cancel = false, nil
	if m.stopped {
		e.mu.Unlock()
		return
	}
	m.due = e.next(m)
	heap.Push(&e.queue, m)
	sooner := e.sooner(m)
	e.mu.Unlock()
	if sooner {
		e.poke()
	}
}

// onTick puts t on a clock: t itself, or the end of the tick that t falls in.
func onTick(t time.Time, tick time.Duration) time.Time {
	if tick <= 0 {
		return t
	}
	at := t.Truncate(tick)
	if at.Before(t) {
		at = at.Add(tick)
	}
	return at
}

// sooner reports whether m's next probe must wake the scheduler before it
// planned to wake; e.mu is held. Most probes are due an interval later and
// wake nothing.
func (e *engine) sooner(m *Monitor) bool {
	return e.wakeAt.IsZero() || m.due.Before(e.wakeAt)
}

// outcome is what one probe changed, for after to announce once e.mu is
// released.
type outcome struct {
	t          Transition
	changed    bool // t is a transition
	reweighted bool // the reported weight or its problem changed
}

// observe runs the tracker and publishes the state for queries; e.mu is held.
func (e *engine) observe(m *Monitor, r probe.Result) outcome {
	m.smooth(r)
	o := outcome{reweighted: m.noteWeight(r)}
	from := m.tracker.State()
	if o.changed = m.tracker.Observe(r.OK()); o.changed {
		to := m.tracker.State()
		m.state.Store(uint32(to))
		o.t = Transition{Monitor: m, From: from, To: to, Result: r}
	}
	m.record(r, o.t, o.changed)
	return o
}

func (e *engine) after(m *Monitor, r probe.Result, late time.Duration, o outcome) {
	if e.onResult != nil {
		e.onResult(m, r, late)
	}
	if o.changed {
		m.publish(o.t)
	}
	if r.OK() && r.RTT > 0 {
		m.publishRTT()
	}
	if o.reweighted {
		m.publishWeight()
	}
}

// next picks the time of m's next probe. While the latest results disagree
// with the state, probes come every FastInterval so that a death is confirmed
// quickly; otherwise they return to the steady grid phase + k*Interval, which
// keeps each endpoint's detection time predictable.
func (e *engine) next(m *Monitor) time.Time {
	now := time.Now()
	if m.tracker.Streak() > 0 && m.pace.FastInterval > 0 {
		// From when the probe was due, not when it ran: a multiple of the
		// tick stays on the clock.
		return onTick(laterOf(m.due.Add(m.pace.FastInterval), now), m.tick)
	}
	if m.pace.Interval <= 0 {
		return onTick(now.Add(time.Second), m.tick)
	}
	if now.Before(m.phase) { // a first probe that ended before its schedule began
		return m.phase
	}
	k := now.Sub(m.phase)/m.pace.Interval + 1
	return onTick(m.phase.Add(k*m.pace.Interval), m.tick)
}

func laterOf(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// dueQueue is a min-heap of monitors by due time.
type dueQueue []*Monitor

func (q dueQueue) Len() int           { return len(q) }
func (q dueQueue) Less(i, j int) bool { return q[i].due.Before(q[j].due) }
func (q dueQueue) Swap(i, j int) {
	q[i], q[j] = q[j], q[i]
	q[i].heapIdx = i
	q[j].heapIdx = j
}
func (q *dueQueue) Push(x any) {
	m := x.(*Monitor)
	m.heapIdx = len(*q)
	*q = append(*q, m)
}
func (q *dueQueue) Pop() any {
	old := *q
	m := old[len(old)-1]
	old[len(old)-1] = nil
	m.heapIdx = -1
	*q = old[:len(old)-1]
	return m
}
