package failover

import (
	"sync"

	"github.com/coredns/caddy"
)

// When a start or a reload fails after OnStartup ran (a listener that cannot
// bind, another plugin's OnStartup failing), caddy drops the new instance
// without running its OnShutdown, and what its handlers acquired would probe
// on for ever. So every started handler is tracked with the caddy instance it
// belongs to, and one whose instance is no longer among caddy's running ones
// is stopped: from the old instance's OnRestartFailed, and at every start.

// generation marks one caddy instance: it is kept in the instance's storage,
// which is all that a Controller exposes of it. It is not of zero size, so
// that every instance's marker has an address of its own.
type generation struct{ _ byte }

type generationKey struct{}

// started holds the running handlers of every caddy instance; handlers made
// outside a caddy instance (tests that call setup by hand) are not tracked.
var tracked = struct {
	sync.Mutex
	handlers map[*Failover]*generation
}{handlers: make(map[*Failover]*generation)}

// generationOf returns c's instance's generation, making it on the first
// setup of the instance, which is also when the instance gets its one
// OnRestartFailed hook.
func generationOf(c *caddy.Controller) *generation {
	if g, ok := c.Get(generationKey{}).(*generation); ok {
		return g
	}
	g := new(generation)
	c.Set(generationKey{}, g)
	c.OnRestartFailed(func() error {
		stopAbandoned()
		return nil
	})
	return g
}

// running is the set of generations whose instances caddy runs. A failed
// instance has been taken off caddy's list before its OnRestartFailed runs.
func running() map[*generation]bool {
	live := make(map[*generation]bool)
	for _, inst := range caddy.Instances() {
		inst.StorageMu.RLock()
		if g, ok := inst.Storage[generationKey{}].(*generation); ok {
			live[g] = true
		}
		inst.StorageMu.RUnlock()
	}
	return live
}

// track records f as running in its instance, after stopping the handlers of
// instances that failed to start.
func track(f *Failover) {
	stopAbandoned()
	if f.gen == nil || !running()[f.gen] {
		return
	}
	tracked.Lock()
	tracked.handlers[f] = f.gen
	tracked.Unlock()
}

func untrack(f *Failover) {
	tracked.Lock()
	delete(tracked.handlers, f)
	tracked.Unlock()
}

// stopAbandoned stops every tracked handler whose instance caddy no longer
// runs: its monitors, geo watchers and metric series are released.
func stopAbandoned() {
	live := running()
	var abandoned []*Failover
	tracked.Lock()
	for f, g := range tracked.handlers {
		if !live[g] {
			abandoned = append(abandoned, f)
		}
	}
	tracked.Unlock()
	if len(abandoned) > 0 {
		log.Infof("Releasing the probes of %d server blocks of a configuration that failed to start", len(abandoned))
	}
	for _, f := range abandoned {
		f.stop()
	}
}
