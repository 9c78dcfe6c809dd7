package control

import (
	"maps"
	"slices"
	"time"
)

// Snapshot is the book at one moment; it is never changed once published.
type Snapshot struct {
	overrides map[Key]Override
	ttls      map[string]TTL
	holds     map[string]Hold           // by name
	signals   map[Key]map[string]Signal // by the alert's key
	invalid   []string                  // lines of the state file that could not be read, kept for the next write
}

func (s *Snapshot) clone() *Snapshot {
	c := &Snapshot{
		overrides: maps.Clone(s.overrides),
		ttls:      maps.Clone(s.ttls),
		holds:     maps.Clone(s.holds),
		signals:   make(map[Key]map[string]Signal, len(s.signals)),
		invalid:   s.invalid,
	}
	for k, v := range s.signals {
		c.signals[k] = v // replaced, never changed in place
	}
	if c.overrides == nil {
		c.overrides = map[Key]Override{}
	}
	if c.ttls == nil {
		c.ttls = map[string]TTL{}
	}
	if c.holds == nil {
		c.holds = map[string]Hold{}
	}
	return c
}

// Override returns the override of address in name: the name's own, else
// the one for every name. every reports which one it is.
func (s *Snapshot) Override(name, address string) (o Override, every, ok bool) {
	if o, ok = s.overrides[Key{name, address}]; ok {
		return o, false, true
	}
	o, ok = s.overrides[Key{Every, address}]
	return o, ok, ok
}

// Overrides lists every override, by key.
func (s *Snapshot) Overrides() map[Key]Override { return s.overrides }

// Signals lists the firing alerts about address in name, oldest first.
func (s *Snapshot) Signals(name, address string) []Signal {
	var out []Signal
	for _, k := range [2]Key{{name, address}, {Every, address}} {
		for _, sig := range s.signals[k] {
			out = append(out, sig)
		}
	}
	slices.SortFunc(out, func(a, b Signal) int {
		if c := a.Since.Compare(b.Since); c != 0 {
			return c
		}
		return compareStrings(a.Key, b.Key)
	})
	return out
}

// Signaled reports whether any alert holds address in name down.
func (s *Snapshot) Signaled(name, address string) bool {
	return len(s.signals[Key{name, address}]) > 0 || len(s.signals[Key{Every, address}]) > 0
}

// TTL returns the temporary TTL of name, if one holds at now.
func (s *Snapshot) TTL(name string, now time.Time) (TTL, bool) {
	t, ok := s.ttls[name]
	if !ok || !now.Before(t.Until) {
		return TTL{}, false
	}
	return t, true
}

// Hold returns the failback of name that waits for an operator, if any.
func (s *Snapshot) Hold(name string) (Hold, bool) {
	h, ok := s.holds[name]
	return h, ok
}

// Holds lists every failback that waits for an operator, by name.
func (s *Snapshot) Holds() map[string]Hold { return s.holds }

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
