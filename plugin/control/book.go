package control

import (
	"sync"
	"sync/atomic"
	"time"
)

// Book holds the overrides, temporary TTLs, failback holds and signals of
// the server blocks that share it. Every change is on disk (when the book
// has a state file) before it is published, and published before the call
// returns.
type Book struct {
	mu     sync.Mutex // serialises changes and writes of the state file
	snap   atomic.Pointer[Snapshot]
	file   *stateFile // nil without a state file
	timer  *time.Timer
	closed bool

	subsMu sync.Mutex
	subs   map[*subscriber]struct{}

	// Logf reports what the book did on its own: a state file edited by
	// hand, a temporary TTL that ran out. Set before use.
	Logf func(format string, args ...any)
}

// subscriber holds its function so that it is never of zero size (see
// health.subscription).
type subscriber struct{ changed func() }

// NewBook makes a book, loading path when it is not "". Lines that cannot be
// read are reported in bad and kept in the file.
func NewBook(path string) (b *Book, bad []error, err error) {
	b = &Book{subs: map[*subscriber]struct{}{}, Logf: func(string, ...any) {}}
	s := &Snapshot{overrides: map[Key]Override{}, ttls: map[string]TTL{}, holds: map[string]Hold{}, signals: map[Key]map[string]Signal{}}
	if path != "" {
		b.file = &stateFile{path: path}
		loaded, bad, err := b.file.load(time.Now())
		if err != nil {
			return nil, nil, err
		}
		s.overrides, s.ttls, s.holds, s.invalid = loaded.overrides, loaded.ttls, loaded.holds, loaded.invalid
		b.snap.Store(s)
		b.armTimer()
		return b, bad, nil
	}
	b.snap.Store(s)
	return b, nil, nil
}

// Snapshot is the book now.
func (b *Book) Snapshot() *Snapshot { return b.snap.Load() }

// Path is the state file, or "".
func (b *Book) Path() string {
	if b.file == nil {
		return ""
	}
	return b.file.path
}

// Subscribe calls changed after every published change, on the goroutine
// that made it. changed must not change the book.
func (b *Book) Subscribe(changed func()) (unsubscribe func()) {
	s := &subscriber{changed: changed}
	b.subsMu.Lock()
	b.subs[s] = struct{}{}
	b.subsMu.Unlock()
	return func() {
		b.subsMu.Lock()
		delete(b.subs, s)
		b.subsMu.Unlock()
	}
}

func (b *Book) notify() {
	b.subsMu.Lock()
	subs := make([]*subscriber, 0, len(b.subs))
	for s := range b.subs {
		subs = append(subs, s)
	}
	b.subsMu.Unlock()
	for _, s := range subs {
		s.changed()
	}
}

// change applies edit to a copy of the snapshot, writes it when persist is
// set, then publishes it and tells the subscribers. Nothing is published
// when the write fails.
func (b *Book) change(persist bool, edit func(*Snapshot) bool) (bool, error) {
	b.mu.Lock()
	next := b.snap.Load().clone()
	if !edit(next) {
		b.mu.Unlock()
		return false, nil
	}
	if persist && b.file != nil {
		if err := b.file.save(next); err != nil {
			b.mu.Unlock()
			return false, err
		}
	}
	b.snap.Store(next)
	b.armTimer()
	b.mu.Unlock()
	b.notify()
	return true, nil
}

// SetOverride puts o on k.
func (b *Book) SetOverride(k Key, o Override) error {
	_, err := b.change(true, func(s *Snapshot) bool {
		s.overrides[k] = o
		return true
	})
	return err
}

// ClearOverride removes k's override, reporting whether there was one.
func (b *Book) ClearOverride(k Key) (bool, error) {
	return b.change(true, func(s *Snapshot) bool {
		if _, ok := s.overrides[k]; !ok {
			return false
		}
		delete(s.overrides, k)
		return true
	})
}

// SetTTL puts a temporary TTL on name.
func (b *Book) SetTTL(name string, t TTL) error {
	_, err := b.change(true, func(s *Snapshot) bool {
		s.ttls[name] = t
		return true
	})
	return err
}

// ClearTTL ends name's temporary TTL, reporting whether there was one.
func (b *Book) ClearTTL(name string) (bool, error) {
	return b.change(true, func(s *Snapshot) bool {
		if _, ok := s.ttls[name]; !ok {
			return false
		}
		delete(s.ttls, name)
		return true
	})
}

// SetHold keeps name on its backup until ClearHold, across restarts when
// the book has a state file. Setting the hold it has already writes and
// publishes nothing, so that a caller may set it on every failover it sees.
func (b *Book) SetHold(name string, h Hold) error {
	_, err := b.change(true, func(s *Snapshot) bool {
		if prev, ok := s.holds[name]; ok && prev.Since.Equal(h.Since) && prev.Reason == h.Reason {
			return false
		}
		s.holds[name] = h
		return true
	})
	return err
}

// ClearHold lets name fail back, reporting whether it was held.
func (b *Book) ClearHold(name string) (bool, error) {
	return b.change(true, func(s *Snapshot) bool {
		if _, ok := s.holds[name]; !ok {
			return false
		}
		delete(s.holds, name)
		return true
	})
}

// Fire records a firing alert about k; Resolve clears it. Signals live in
// memory only: Alertmanager repeats what still fires.
func (b *Book) Fire(k Key, sig Signal) {
	b.change(false, func(s *Snapshot) bool {
		old := s.signals[k]
		if prev, ok := old[sig.Key]; ok {
			if prev.Alert == sig.Alert {
				return false
			}
			sig.Since = prev.Since
		}
		m := make(map[string]Signal, len(old)+1)
		for kk, v := range old {
			m[kk] = v
		}
		m[sig.Key] = sig
		s.signals[k] = m
		return true
	})
}

// Resolve clears the alert with labels key about k.
func (b *Book) Resolve(k Key, key string) {
	b.change(false, func(s *Snapshot) bool {
		old := s.signals[k]
		if _, ok := old[key]; !ok {
			return false
		}
		m := make(map[string]Signal, len(old))
		for kk, v := range old {
			if kk != key {
				m[kk] = v
			}
		}
		if len(m) == 0 {
			delete(s.signals, k)
		} else {
			s.signals[k] = m
		}
		return true
	})
}

// armTimer wakes the book when the next temporary TTL runs out; b.mu is held.
func (b *Book) armTimer() {
	var next time.Time
	for _, t := range b.snap.Load().ttls {
		if next.IsZero() || t.Until.Before(next) {
			next = t.Until
		}
	}
	if b.timer != nil {
		b.timer.Stop()
		b.timer = nil
	}
	if next.IsZero() || b.closed {
		return
	}
	b.timer = time.AfterFunc(time.Until(next), b.expire)
}

func (b *Book) expire() {
	now := time.Now()
	var ended []string
	b.change(true, func(s *Snapshot) bool {
		for name, t := range s.ttls {
			if !now.Before(t.Until) {
				delete(s.ttls, name)
				ended = append(ended, name)
			}
		}
		return len(ended) > 0
	})
	for _, name := range ended {
		b.Logf("temporary TTL of %s ended; answering with its configured TTL again", name)
	}
}

// Close stops the book's timer and the watch of its state file.
func (b *Book) Close() {
	b.mu.Lock()
	b.closed = true
	if b.timer != nil {
		b.timer.Stop()
		b.timer = nil
	}
	b.mu.Unlock()
	if b.file != nil {
		b.file.stopWatch()
	}
}
