package cluster

import "sync/atomic"

// outbox passes this replica's votes to the writer without a lock, so
// that Publish costs the caller one allocation and never waits, however
// busy or stuck the writer is.
type outbox struct{ head atomic.Pointer[change] }

// change is one Publish or Withdraw, newest first in the outbox.
type change struct {
	key      string
	vote     Vote
	withdraw bool
	next     *change
}

func (o *outbox) push(c *change) {
	for {
		c.next = o.head.Load()
		if o.head.CompareAndSwap(c.next, c) {
			return
		}
	}
}

// take empties the outbox, oldest change first.
func (o *outbox) take() []*change {
	var out []*change
	for c := o.head.Swap(nil); c != nil; c = c.next {
		out = append(out, c)
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out
}

// Publish makes vote this replica's view of key. It never waits: the
// latest vote per key is written in the background.
func (v *View) Publish(key string, vote Vote) {
	v.out.push(&change{key: key, vote: vote})
	signal(v.wake)
}

// Withdraw removes this replica's vote for key, as when it stops probing it.
func (v *View) Withdraw(key string) {
	v.out.push(&change{key: key, withdraw: true})
	signal(v.wake)
}
