package probe

import (
	"context"
	"fmt"
)

// invertProber turns its check's verdict around, as the Corefile's invert
// asks: for a check whose passing means the endpoint is down, such as a
// maintenance page that exists.
type invertProber struct {
	check Prober
}

func (p invertProber) Probe(ctx context.Context) Result {
	r := p.check.Probe(ctx)
	if ctx.Err() != nil {
		// Stopped by its caller, the probe judged nothing: turned around,
		// a cancelled probe would pass.
		return r
	}
	return invert(r)
}

// invert reports no round trip either way: the time a refused connection or
// a maintenance page took says nothing of how fast the endpoint serves, and
// the fastest policy would rank endpoints by it. It reports no weight
// either, as a request that failed has none.
func invert(r Result) Result {
	out := Result{Status: r.Status, Duration: r.Duration}
	if !r.OK() {
		out.Kind = OK
		out.Detail = "inverted: " + r.Reason()
		return out
	}
	out.Kind = Inverted
	if r.Status != 0 {
		out.Detail = fmt.Sprintf("inverted: the check passed (HTTP status %d)", r.Status)
	} else {
		out.Detail = "inverted: the check passed (connection established)"
	}
	return out
}
