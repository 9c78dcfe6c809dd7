package failover

import "time"

// runEvery calls fn every period until stop is closed, then closes done: the
// background work of a server block (geoip files, SOA records), which its
// stop waits for.
func runEvery(period time.Duration, stop <-chan struct{}, done chan<- struct{}, fn func()) {
	defer close(done)
	tick := time.NewTicker(period)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
			fn()
		}
	}
}
