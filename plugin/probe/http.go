package probe

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"runtime"
	"sync"
	"time"
	"weak"
)

// rootCAs verifies server certificates; nil means the system's roots. Only
// tests set it, so that a certificate signed by a CA they made can be trusted
// and a fault such as expiry is the only thing wrong with it.
var rootCAs *x509.CertPool

// httpProber sends one GET and judges the status and, optionally, the body.
type httpProber struct {
	req     *http.Request // template; cloned with a context per probe
	client  *http.Client
	expect  Codes
	body    []byte
	timeout time.Duration
}

func newHTTP(s Spec, u *url.URL) *httpProber {
	serverName := s.TLSServerName
	if serverName == "" && s.Host != "" {
		// host sets the server name too, unless tls_servername overrides it;
		// a port in the Host header is no part of a server name.
		serverName = s.Host
		if h, _, err := net.SplitHostPort(s.Host); err == nil {
			serverName = h
		}
	}
	// Without either, the transport takes the server name from each
	// request's URL, so one transport serves every endpoint of a check.
	client := sharedClient(transportKey{serverName: serverName, skipVerify: s.TLSSkipVerify, roots: rootCAs, dialer: dialer})
	req := &http.Request{
		Method:     http.MethodGet,
		URL:        u,
		Proto:      "HTTP/1.1",
		ProtoMajor: 1,
		ProtoMinor: 1,
		Header:     make(http.Header),
		Host:       s.Host,
		Close:      true,
	}
	req.Header.Set("User-Agent", "coredns-failover")
	for _, h := range s.Headers {
		req.Header.Add(h[0], h[1])
	}
	expect := s.Expect
	if len(expect) == 0 {
		expect = DefaultCodes
	}
	var body []byte
	if s.Body != "" {
		body = []byte(s.Body)
	}
	return &httpProber{req: req, client: client, expect: expect, body: body, timeout: s.Timeout}
}

// transportKey is what makes two probes' transports differ.
type transportKey struct {
	serverName string
	skipVerify bool
	roots      *x509.CertPool
	dialer     *net.Dialer
}

// clients holds one client per transportKey for as long as some prober uses
// it: ten thousand endpoints with one check share one transport instead of
// holding one each, and a reload that drops the last user frees it.
var clients = struct {
	sync.Mutex
	m map[transportKey]weak.Pointer[http.Client]
}{m: make(map[transportKey]weak.Pointer[http.Client])}

func sharedClient(k transportKey) *http.Client {
	clients.Lock()
	defer clients.Unlock()
	if c := clients.m[k].Value(); c != nil {
		return c
	}
	// A fresh connection per probe, as Route 53 and Cloudflare do: a pooled
	// connection would keep a check green after the server stopped accepting
	// new ones, and idle pooled connections would outlive a reload.
	transport := &http.Transport{
		Proxy:       nil, // never send health checks through HTTP_PROXY
		DialContext: dialFor(k.dialer),
		TLSClientConfig: &tls.Config{
			ServerName:         k.serverName,
			InsecureSkipVerify: k.skipVerify, //nolint:gosec // only when the operator asks for tls_skip_verify
			MinVersion:         tls.VersionTLS12,
			RootCAs:            k.roots,
		},
		DisableKeepAlives:      true,
		DisableCompression:     true,
		MaxResponseHeaderBytes: 64 << 10,
		ForceAttemptHTTP2:      false,
	}
	c := &http.Client{
		Transport: transport,
		// Redirects are not followed: a 3xx is judged like any other status.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	clients.m[k] = weak.Make(c)
	runtime.AddCleanup(c, func(k transportKey) {
		clients.Lock()
		defer clients.Unlock()
		if clients.m[k].Value() == nil {
			delete(clients.m, k)
		}
	}, k)
	return c
}

// probeKey carries a probe's context through the transport to its dial.
type probeKey struct{}

// dialFor dials with d and ties the connection to the probe that asked for it:
// when the probe ends, by its timeout or by cancellation, the dial is
// abandoned and the connection closed. The transport dials on a context of its
// own that outlives the request (another request could use the connection),
// and a zero Transport has no TLS handshake timeout, so without this a peer
// that never finishes connecting or handshaking would hold the dial's
// goroutine and socket long after the probe gave up, one more with every
// probe. A probe's connection is its own: nothing else can use it.
func dialFor(d *net.Dialer) func(context.Context, string, string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		probe, ok := ctx.Value(probeKey{}).(context.Context)
		if !ok {
			probe = ctx
		}
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		stop := context.AfterFunc(probe, cancel)
		defer stop()
		conn, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		wc := &writeFirst{Conn: conn, written: make(chan struct{})}
		// Runs after the probe's context has its error, so a read that this
		// close interrupts is classified by that error.
		context.AfterFunc(probe, func() { wc.Close() })
		return wc, nil
	}
}

// writeFirst holds reads back until something has been written. net/http
// reads a connection from the moment it is dialled and takes bytes that come
// before its request for an unsolicited response: it logs "Unsolicited
// response received on idle HTTP channel" through the standard logger and
// fails with a reason that says nothing. A server that speaks first (SSH,
// SMTP, a database on a mistyped port) does just that; held back, its banner
// is read as the response and reported as not HTTP.
type writeFirst struct {
	net.Conn
	once    sync.Once
	written chan struct{}
}

func (c *writeFirst) open() { c.once.Do(func() { close(c.written) }) }

func (c *writeFirst) Read(b []byte) (int, error) {
	<-c.written
	return c.Conn.Read(b)
}

func (c *writeFirst) Write(b []byte) (int, error) {
	c.open()
	return c.Conn.Write(b)
}

func (c *writeFirst) Close() error {
	c.open() // a read that waits would wait forever
	return c.Conn.Close()
}

func (p *httpProber) Probe(ctx context.Context) Result {
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	r := p.do(ctx)
	r.Duration = time.Since(start)
	return r
}

func (p *httpProber) do(ctx context.Context) Result {
	resp, err := p.client.Do(p.req.Clone(context.WithValue(ctx, probeKey{}, ctx)))
	if err != nil {
		r := classify(err, ctx.Err(), p.timeout)
		var opErr *net.OpError
		if r.Kind == Error && !errors.As(err, &opErr) {
			// net/http reports a non-HTTP answer as a malformed response;
			// a network error (no route, bind) means no answer at all.
			r.Kind = Protocol
		}
		return r
	}
	defer resp.Body.Close()
	if !p.expect.Match(resp.StatusCode) {
		return Result{Kind: Status, Status: resp.StatusCode,
			Detail: fmt.Sprintf("HTTP status %d, expected %s", resp.StatusCode, p.expect)}
	}
	if p.body == nil {
		return Result{Kind: OK, Status: resp.StatusCode}
	}
	head, err := io.ReadAll(io.LimitReader(resp.Body, MaxBody))
	if bytes.Contains(head, p.body) {
		return Result{Kind: OK, Status: resp.StatusCode}
	}
	if err != nil {
		r := classify(err, ctx.Err(), p.timeout)
		r.Status = resp.StatusCode
		return r
	}
	return Result{Kind: Body, Status: resp.StatusCode,
		Detail: fmt.Sprintf("body does not contain %q in its first %d KiB", p.body, MaxBody>>10)}
}
