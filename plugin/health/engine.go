package health

import (
	"container/heap"
	"context"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/failover-dns/failover/plugin/probe"
)

// DefaultConcurrency bounds the probes of the first round, which starts every
// endpoint at once: ten thousand endpoints never open ten thousand sockets
// together. Steady probes are spread over the interval instead.
const DefaultConcurrency = 256

// Engine schedules the probes of every monitor it runs from one timer and a
// heap ordered by due time, instead of a goroutine and a ticker per endpoint:
// idle endpoints cost a heap slot, not a stack.
type Engine struct {
	// OnResult, if set, hears every probe result and how late the probe
	// started against its schedule. It runs on the probe's goroutine.
	OnResult func(m *Monitor, r probe.Result, late time.Duration)

	sem chan struct{}

	mu      sync.Mutex
	queue   dueQueue
	count   int  // monitors added and not removed
	running bool // the scheduler goroutine is alive
	wake    chan struct{}
	wg      sync.WaitGroup
}

// NewEngine makes an engine that runs at most concurrency probes at once.
func NewEngine(concurrency int) *Engine {
	if concurrency < 1 {
		concurrency = DefaultConcurrency
	}
	return &Engine{sem: make(chan struct{}, concurrency), wake: make(chan struct{}, 1)}
}

// FirstRound probes every monitor once, in parallel within the engine's
// bound, and sets each state from that single result. It returns when all are
// done; each probe is bounded by its own timeout.
func (e *Engine) FirstRound(ms []*Monitor) {
	var wg sync.WaitGroup
	for _, m := range ms {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e.sem <- struct{}{}
			start := time.Now()
			r := m.prober.Probe(context.Background())
			<-e.sem
			e.record(m, r, 0, start)
		}()
	}
	wg.Wait()
}

// Add starts steady probing of m. Its phase is drawn at random across one
// interval, once, so that endpoints added together do not probe together.
func (e *Engine) Add(m *Monitor) {
	now := time.Now()
	offset := time.Duration(0)
	if m.pace.Interval > 0 {
		offset = time.Duration(rand.Int64N(int64(m.pace.Interval)))
	}
	e.mu.Lock()
	if m.added {
		e.mu.Unlock()
		return
	}
	m.added = true
	m.phase = now.Add(offset)
	m.due = m.phase
	heap.Push(&e.queue, m)
	e.count++
	if !e.running {
		e.running = true
		e.wg.Add(1)
		go e.loop()
	}
	e.mu.Unlock()
	e.poke()
}

// Remove stops m and waits for a probe of it that is in flight, which is
// cancelled: after Remove returns, m publishes nothing more. A listener must
// therefore not call Remove.
func (e *Engine) Remove(m *Monitor) {
	e.mu.Lock()
	if !m.added || m.stopped {
		e.mu.Unlock()
		return
	}
	m.stopped = true
	e.count--
	if m.heapIdx >= 0 {
		heap.Remove(&e.queue, m.heapIdx)
	}
	if m.inFlight {
		m.cancel()
	}
	// A probe that has just finished may still be publishing its result;
	// done closes only after that.
	done := m.done
	e.mu.Unlock()
	e.poke()
	if done != nil {
		<-done
	}
}

// Wait blocks until the scheduler goroutine has exited, which it does once
// every monitor is removed.
func (e *Engine) Wait() { e.wg.Wait() }

func (e *Engine) poke() {
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

func (e *Engine) loop() {
	defer e.wg.Done()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		e.mu.Lock()
		if e.count == 0 {
			e.running = false
			e.mu.Unlock()
			return
		}
		now := time.Now()
		for len(e.queue) > 0 && !e.queue[0].due.After(now) {
			m := heap.Pop(&e.queue).(*Monitor)
			e.launch(m)
		}
		wait := time.Hour
		if len(e.queue) > 0 {
			wait = e.queue[0].due.Sub(now)
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

// launch starts m's probe; e.mu is held. Steady probes are not bounded by
// the first round's limit: each monitor has at most one probe in flight, so
// their number is bounded by the monitors, and a bound below that would let
// endpoints that hang until their timeout delay the probes of healthy ones.
func (e *Engine) launch(m *Monitor) {
	ctx, cancel := context.WithCancel(context.Background())
	m.inFlight, m.cancel, m.done = true, cancel, make(chan struct{})
	due, done := m.due, m.done
	go func() {
		defer close(done)
		defer cancel()
		start := time.Now()
		r := m.prober.Probe(ctx)
		e.finish(m, r, start.Sub(due), start)
	}()
}

// finish records a scheduled probe's result and puts m back in the queue.
func (e *Engine) finish(m *Monitor, r probe.Result, late time.Duration, start time.Time) {
	e.mu.Lock()
	m.inFlight = false
	if m.stopped {
		e.mu.Unlock()
		return
	}
	t, changed := e.observe(m, r)
	m.due = e.next(m, start)
	heap.Push(&e.queue, m)
	e.mu.Unlock()
	e.poke()
	e.after(m, r, late, t, changed)
}

// record applies a first-round result.
func (e *Engine) record(m *Monitor, r probe.Result, late time.Duration, _ time.Time) {
	e.mu.Lock()
	t, changed := e.observe(m, r)
	e.mu.Unlock()
	e.after(m, r, late, t, changed)
}

// observe runs the tracker and publishes the state for queries; e.mu is held.
func (e *Engine) observe(m *Monitor, r probe.Result) (Transition, bool) {
	from := m.tracker.State()
	if !m.tracker.Observe(r.OK()) {
		return Transition{}, false
	}
	to := m.tracker.State()
	m.state.Store(uint32(to))
	return Transition{Monitor: m, From: from, To: to, Result: r}, true
}

func (e *Engine) after(m *Monitor, r probe.Result, late time.Duration, t Transition, changed bool) {
	if e.OnResult != nil {
		e.OnResult(m, r, late)
	}
	if changed {
		m.publish(t)
	}
}

// next picks the time of m's next probe. While the latest results disagree
// with the state, probes come every FastInterval so that a death is confirmed
// quickly; otherwise they return to the steady grid phase + k*Interval, which
// keeps each endpoint's detection time predictable.
func (e *Engine) next(m *Monitor, start time.Time) time.Time {
	now := time.Now()
	if m.tracker.Streak() > 0 && m.pace.FastInterval > 0 {
		return laterOf(start.Add(m.pace.FastInterval), now)
	}
	if m.pace.Interval <= 0 {
		return now.Add(time.Second)
	}
	k := now.Sub(m.phase)/m.pace.Interval + 1
	return m.phase.Add(k * m.pace.Interval)
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
