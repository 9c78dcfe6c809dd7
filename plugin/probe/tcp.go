package probe

import (
	"context"
	"time"
)

// tcpProber succeeds when a TCP connection is established.
type tcpProber struct {
	addr    string
	timeout time.Duration
}

func (p *tcpProber) Probe(ctx context.Context) Result {
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	conn, err := dialer.DialContext(ctx, "tcp", p.addr)
	if err != nil {
		r := classify(err, ctx.Err(), p.timeout)
		r.Duration = time.Since(start)
		return r
	}
	rtt := time.Since(start)
	closeReset(conn)
	return Result{Kind: OK, Duration: rtt, RTT: rtt}
}
