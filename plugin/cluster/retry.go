package cluster

import (
	"math/rand/v2"
	"time"
)

// retry spaces attempts at etcd: soon at first, so that a replica rejoins
// within a second or two of etcd coming back, never hammering it.
type retry struct{ d time.Duration }

const (
	firstRetry = 100 * time.Millisecond
	maxRetry   = time.Second
)

// next is the wait before the next attempt, jittered so that replicas
// that lost etcd together do not come back in step.
func (r *retry) next() time.Duration {
	r.d = min(max(2*r.d, firstRetry), maxRetry)
	return r.d/2 + rand.N(r.d/2+1)
}

func (r *retry) reset() { r.d = 0 }
