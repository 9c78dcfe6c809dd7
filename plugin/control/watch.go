package control

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"time"
)

// Watch looks at the state file every so often and applies it when someone
// else changed it, until Close. Overrides that an edit leaves as they were
// keep their set_at, and holds whose line gives no since keep theirs.
func (b *Book) Watch(every time.Duration) {
	if b.file == nil || b.file.stop != nil {
		return
	}
	f := b.file
	f.stop, f.done = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(f.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-f.stop:
				return
			case <-t.C:
				b.reread()
			}
		}
	}()
}

func (f *stateFile) stopWatch() {
	if f.stop != nil {
		close(f.stop)
		<-f.done
		f.stop = nil
	}
}

// afterRead lets a test act between reading the file and applying it.
var afterRead func()

// reread applies the state file when its content is not what the book last
// wrote or read.
func (b *Book) reread() {
	f := b.file
	data, err := os.ReadFile(f.path)
	if errors.Is(err, fs.ErrNotExist) {
		data, err = nil, nil
	}
	if err != nil {
		b.Logf("state file %s: %v", f.path, err)
		return
	}
	b.mu.Lock()
	if bytes.Equal(data, f.written) {
		b.mu.Unlock()
		return
	}
	b.mu.Unlock()
	if afterRead != nil {
		afterRead()
	}
	now := time.Now()
	p, bad := parseState(f.path, data, now)
	for _, err := range bad {
		b.Logf("state file edited: %v; the line is kept as a comment and ignored", err)
	}
	var said, held []string
	changed, _ := b.change(false, func(s *Snapshot) bool {
		// The book may have written the file since it was read: what was
		// read is an edit only if the file still holds it.
		if cur, err := os.ReadFile(f.path); err != nil && !errors.Is(err, fs.ErrNotExist) || !bytes.Equal(cur, data) {
			return false
		}
		if !bytes.Equal(data, f.written) { // unchanged since the check above
			for k, o := range p.overrides {
				if prev, ok := s.overrides[k]; ok && prev.State == o.State && prev.Reason == o.Reason {
					p.overrides[k] = keepTimes(prev, o)
				}
			}
			for name, h := range p.holds {
				if prev, ok := s.holds[name]; ok {
					p.holds[name] = keepSince(prev, h, now)
				}
			}
			said = overrideChanges(s.overrides, p.overrides)
			held = holdChanges(s.holds, p.holds)
			s.overrides, s.ttls, s.holds, s.invalid = p.overrides, p.ttls, p.holds, p.invalid
			f.written = data
			return true
		}
		return false
	})
	if changed {
		for _, line := range said {
			b.Logf("override: %s, edited by hand in %s", line, f.path)
		}
		for _, line := range held {
			b.Logf("failback hold: %s, edited by hand in %s", line, f.path)
		}
		b.Logf("state file %s edited: %d overrides, %d temporary TTLs and %d failback holds now", f.path, len(p.overrides), len(p.ttls), len(p.holds))
	}
}

// overrideChanges says what an edit changed, one line per override, as the
// API's changes are logged.
func overrideChanges(before, after map[Key]Override) []string {
	var out []string
	for k, o := range after {
		if prev, ok := before[k]; !ok || prev.State != o.State || prev.Reason != o.Reason {
			out = append(out, fmt.Sprintf("%s %s %s (%s)", k.Name, k.Address, o.State, o.Reason))
		}
	}
	for k := range before {
		if _, ok := after[k]; !ok {
			out = append(out, fmt.Sprintf("%s %s cleared", k.Name, k.Address))
		}
	}
	slices.Sort(out)
	return out
}

// keepTimes keeps the times of an override that a hand edit left alone, but
// for those the edit gave.
func keepTimes(prev, o Override) Override {
	if o.SafeAt.IsZero() {
		o.SafeAt = prev.SafeAt
	}
	if o.SetAt.After(prev.SetAt) { // no set_at in the line: it is the time of reading
		o.SetAt = prev.SetAt
	}
	return o
}

// holdChanges says what an edit changed, one line per failback hold. The
// reason is quoted: it may hold a probe's error, which is outside text.
func holdChanges(before, after map[string]Hold) []string {
	var out []string
	for name, h := range after {
		if prev, ok := before[name]; !ok || !prev.Since.Equal(h.Since) || prev.Reason != h.Reason {
			out = append(out, fmt.Sprintf("%s held on its backup since %s (%q)", name, stamp(h.Since), h.Reason))
		}
	}
	for name := range before {
		if _, ok := after[name]; !ok {
			out = append(out, fmt.Sprintf("%s cleared: it may fail back", name))
		}
	}
	slices.Sort(out)
	return out
}

// keepSince keeps the since of a hold whose line gives none: without one it
// reads as the time of reading, which is no news about the hold.
func keepSince(prev, h Hold, read time.Time) Hold {
	if h.Since.Equal(read) {
		h.Since = prev.Since
	}
	return h
}
