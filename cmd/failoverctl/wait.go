package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/failover-dns/failover/plugin/api"
)

// pollEvery is how often a wait re-reads what it waits on, so that a cleared
// override or a moved time is seen long before the wait would have ended.
const pollEvery = 2 * time.Second

// reader re-reads the time a wait waits for, or fails with a *waitError
// when what it waits on is gone or has changed.
type reader func(ctx context.Context) (time.Time, error)

// waitUntil waits until at, or the later time read reports meanwhile, and
// then says done. A
// failed read is retried while there is time left, since an API that is
// restarting for a moment does not undo a drain; a refusal is not.
func (s *session) waitUntil(ctx context.Context, at time.Time, what, done string, read reader) error {
	fmt.Fprintf(s.stdout, "waiting %s, until %s, %s\n", left(at), stampAfter(at), what)
	for {
		next := time.Now().Add(pollEvery)
		if at.Before(next) {
			next = at
		}
		if err := sleepUntil(ctx, next); err != nil {
			return err
		}
		cur, err := read(ctx)
		if err != nil {
			var (
				w *waitError
				a *apiError
			)
			if errors.As(err, &w) || ctx.Err() != nil || (errors.As(err, &a) && a.status < 500) || !time.Now().Before(at) {
				return err
			}
			fmt.Fprintf(s.stderr, "failoverctl: %v; still waiting\n", err)
			continue
		}
		if !cur.Equal(at) {
			at = cur
			fmt.Fprintf(s.stdout, "moved: waiting %s more, until %s, %s\n", left(at), stampAfter(at), what)
		}
		if !time.Now().Before(at) {
			fmt.Fprintf(s.stdout, "done: %s\n", done)
			return nil
		}
	}
}

func sleepUntil(ctx context.Context, t time.Time) error {
	timer := time.NewTimer(time.Until(t))
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}

// left is the time until t in whole seconds, rounded up so that a wait
// never claims to end before it does.
func left(t time.Time) time.Duration {
	d := time.Until(t)
	if d <= 0 {
		return 0
	}
	return (d + time.Second - 1).Truncate(time.Second)
}

// drainReader follows the drain of address that began at drainedAt, in name
// or, for "", in every name that has the address: it ends when any of them
// is no longer that drain, and safe_at is the latest of theirs.
func drainReader(c *client, name, address string, drainedAt time.Time) reader {
	return func(ctx context.Context) (time.Time, error) {
		names := []string{name}
		where := "in " + name
		if name == "" {
			st, err := c.status(ctx)
			if err != nil {
				return time.Time{}, err
			}
			names, where = st.Names, "in any name"
		}
		var safe time.Time
		found := false
		for _, n := range names {
			nm, _, err := c.name(ctx, n)
			if err != nil {
				if gone(err) {
					if name == "" {
						continue // removed by a reload meanwhile, so not serving it either
					}
					return time.Time{}, &waitError{n + " no longer exists"}
				}
				return time.Time{}, err
			}
			for _, e := range nm.Endpoints {
				if e.Address != address {
					continue
				}
				found = true
				o := e.Override
				switch {
				case o == nil:
					return time.Time{}, &waitError{fmt.Sprintf("the drain of %s in %s was cleared", address, n)}
				case o.State != "drain":
					return time.Time{}, &waitError{fmt.Sprintf("the override of %s in %s changed to %s", address, n, o.State)}
				case o.DrainedAt == nil || o.SafeAt == nil:
					return time.Time{}, fmt.Errorf("the API's drain of %s in %s has no drained_at or safe_at", address, n)
				case !o.DrainedAt.Equal(drainedAt):
					return time.Time{}, &waitError{fmt.Sprintf("%s in %s was drained again at %s", address, n, stamp(*o.DrainedAt))}
				}
				if o.SafeAt.After(safe) {
					safe = *o.SafeAt
				}
			}
		}
		if !found {
			return time.Time{}, &waitError{fmt.Sprintf("%s is no longer an endpoint %s", address, where)}
		}
		return safe, nil
	}
}

// ttlReader follows the lowered TTL of name that want is.
func ttlReader(c *client, name string, want api.TTL) reader {
	return func(ctx context.Context) (time.Time, error) {
		nm, _, err := c.name(ctx, name)
		if err != nil {
			if gone(err) {
				return time.Time{}, &waitError{name + " no longer exists"}
			}
			return time.Time{}, err
		}
		t := nm.TemporaryTTL
		switch {
		case t == nil:
			return time.Time{}, &waitError{"the TTL of " + name + " was restored"}
		case t.TTL != want.TTL || !t.SetAt.Equal(want.SetAt):
			return time.Time{}, &waitError{fmt.Sprintf("the TTL of %s was set again: %ds at %s", name, t.TTL, stamp(t.SetAt))}
		}
		return t.CutoverReadyAt, nil
	}
}

func gone(err error) bool {
	var a *apiError
	return errors.As(err, &a) && a.status == http.StatusNotFound
}
