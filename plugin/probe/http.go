package probe

import (
	"bufio"
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
	"sync"
	"time"
)

// rootCAs verifies server certificates; nil means the system's roots. Only
// tests set it, so that a certificate signed by a CA they made can be trusted
// and a fault such as expiry is the only thing wrong with it.
var rootCAs *x509.CertPool

// maxHeader bounds the status line and headers of a response, 1xx ones
// included: a peer that sends headers without end is cut off there.
const maxHeader = 64 << 10

// httpProber sends one GET on a connection of its own and judges the status
// and, optionally, the body. It writes and reads HTTP/1.1 with net/http on
// the bare connection: an http.Transport's pool and goroutines, for one
// request on one fresh connection, cost more CPU than the probe itself.
type httpProber struct {
	addr    string      // host:port to dial
	tls     *tls.Config // nil for http://
	request []byte      // the whole request, written in one go
	expect  Codes
	body    []byte
	weight  WeightSource
	timeout time.Duration
}

func newHTTP(s Spec, u *url.URL) (*httpProber, error) {
	port := u.Port()
	if port == "" {
		port = "80"
		if u.Scheme == "https" {
			port = "443"
		}
	}
	p := &httpProber{addr: net.JoinHostPort(u.Hostname(), port), expect: s.Expect, weight: s.WeightFrom, timeout: s.Timeout}
	if len(p.expect) == 0 {
		p.expect = defaultCodes
	}
	if s.Body != "" {
		p.body = []byte(s.Body)
	}
	if u.Scheme == "https" {
		p.tls = tlsConfig(s, u)
	}
	// Setup checks these; a prober is never built to send what the
	// Corefile did not say.
	if s.Host != "" {
		if err := ValidateHost(s.Host); err != nil {
			return nil, err
		}
	}
	for _, h := range s.Headers {
		if err := ValidateHeader(h[0], h[1]); err != nil {
			return nil, err
		}
	}
	req := &http.Request{
		Method:     http.MethodGet,
		URL:        u,
		Proto:      "HTTP/1.1",
		ProtoMajor: 1,
		ProtoMinor: 1,
		Header:     make(http.Header),
		Host:       s.Host,
		Close:      true, // one request per connection, which the server may close at once
	}
	req.Header.Set("User-Agent", "coredns-failover")
	for _, h := range s.Headers {
		req.Header.Add(h[0], h[1])
	}
	var b bytes.Buffer
	if err := req.Write(&b); err != nil {
		return nil, fmt.Errorf("check URL %q: %v", u, err)
	}
	p.request = b.Bytes()
	return p, nil
}

// tlsConfig is the TLS side of an https:// check. The server name, for SNI
// and for verifying the certificate, is tls_servername, else the host
// setting (without a port), else the URL's host.
func tlsConfig(s Spec, u *url.URL) *tls.Config {
	serverName := s.TLSServerName
	if serverName == "" && s.Host != "" {
		serverName = s.Host
		if h, _, err := net.SplitHostPort(s.Host); err == nil {
			serverName = h
		}
	}
	if serverName == "" {
		serverName = u.Hostname()
	}
	return &tls.Config{
		ServerName:         serverName,
		InsecureSkipVerify: s.TLSSkipVerify, //nolint:gosec // only when the operator asks for tls_skip_verify
		MinVersion:         tls.VersionTLS12,
		RootCAs:            rootCAs,
		NextProtos:         []string{"http/1.1"},
	}
}

// readers are the buffers responses are parsed from; a probe holds one only
// while it reads.
var readers = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 4<<10) }}

// longAgo is a deadline that has passed: setting it interrupts whatever the
// connection is doing.
var longAgo = time.Unix(1, 0)

func (p *httpProber) Probe(ctx context.Context) Result {
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	r := p.do(ctx, start)
	r.Duration = time.Since(start)
	return r
}

func (p *httpProber) do(ctx context.Context, start time.Time) Result {
	raw, err := dialer.DialContext(ctx, "tcp", p.addr)
	if err != nil {
		return classify(err, ctx.Err(), p.timeout)
	}
	defer closeReset(raw)
	// The deadline bounds every read and write from here on without a
	// goroutine to watch it; a probe cancelled before then (its endpoint
	// removed by a reload) is interrupted the same way.
	deadline, _ := ctx.Deadline()
	raw.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { raw.SetDeadline(longAgo) })
	defer stop()

	conn := raw
	if p.tls != nil {
		tc := tls.Client(raw, p.tls)
		if err := tc.Handshake(); err != nil {
			return p.failed(ctx, err, 0)
		}
		conn = tc
	}
	if _, err := conn.Write(p.request); err != nil {
		return p.failed(ctx, err, 0)
	}
	// Reading starts only after the request is written, so a server that
	// speaks first (SSH, SMTP, a database on a mistyped port) has its banner
	// read as the response and judged as not HTTP.
	limit := &io.LimitedReader{R: conn, N: maxHeader}
	br := readers.Get().(*bufio.Reader)
	br.Reset(limit)
	defer func() {
		br.Reset(nil)
		readers.Put(br)
	}()
	resp, err := readFinal(br)
	rtt := time.Since(start) // the server's answer, not the body's size, is the round trip
	if err != nil {
		if limit.N <= 0 {
			return Result{Kind: Protocol, Detail: fmt.Sprintf("response headers exceed %d KiB", maxHeader>>10)}
		}
		return p.failed(ctx, err, 0)
	}
	if !p.expect.Match(resp.StatusCode) {
		return Result{Kind: Status, Status: resp.StatusCode,
			Detail: fmt.Sprintf("HTTP status %d, expected %s", resp.StatusCode, p.expect)}
	}
	ok := Result{Kind: OK, Status: resp.StatusCode, RTT: rtt}
	if p.weight.Header != "" {
		ok.setWeight(p.weight.fromHeader(resp.Header))
	}
	if p.body == nil && !p.weight.Body {
		return ok
	}
	// What is left of the header allowance may hold the start of the body;
	// the body gets its own.
	limit.N += MaxBody
	head, err := readHead(resp.Body, p.body == nil)
	if p.body != nil && !bytes.Contains(head, p.body) {
		if err != nil {
			return p.failed(ctx, err, resp.StatusCode)
		}
		return Result{Kind: Body, Status: resp.StatusCode,
			Detail: fmt.Sprintf("body does not contain %q in its first %d KiB", p.body, MaxBody>>10)}
	}
	if p.weight.Body {
		ok.setWeight(fromBody(head, err, func(err error) string { return p.failed(ctx, err, 0).Reason() }))
	}
	return ok
}

// readHead reads the start of a body: its first MaxBody bytes, where the
// body text is searched for, or with toLine only up to the end of the first
// line, which is all a weight needs. The end of the body is no error.
func readHead(body io.Reader, toLine bool) ([]byte, error) {
	r := io.LimitReader(body, MaxBody)
	head := make([]byte, 0, 512)
	for {
		if len(head) == cap(head) {
			head = append(head, 0)[:len(head)] // let append pick the growth
		}
		n, err := r.Read(head[len(head):cap(head)])
		head = head[:len(head)+n]
		if toLine && bytes.IndexByte(head[len(head)-n:], '\n') >= 0 {
			return head, nil
		}
		if err == io.EOF {
			return head, nil
		}
		if err != nil {
			return head, err
		}
	}
}

// closeReset closes a probe's connection with a reset rather than the
// orderly close: the probe has what it came for, and a close from this side
// would leave the socket in TIME_WAIT for a minute, tens of thousands of them
// at a thousand probes a second, each taking kernel work and a local port.
// Load balancers' health checks close the same way.
func closeReset(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	c.Close()
}

// readFinal reads responses until a final one: informational responses
// (100 Continue, 102 Processing, 103 Early Hints) announce one that is still
// coming. 101 ends HTTP on the connection, so it is final.
func readFinal(br *bufio.Reader) (*http.Response, error) {
	for {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			return nil, err
		}
		if resp.StatusCode >= 200 || resp.StatusCode == http.StatusSwitchingProtocols {
			return resp, nil
		}
	}
}

// failed classifies an error met after the connection was made. What is not
// a network error is the peer's answer failing to parse: not HTTP.
func (p *httpProber) failed(ctx context.Context, err error, status int) Result {
	ctxErr := ctx.Err()
	if d, ok := ctx.Deadline(); ok && ctxErr == nil && !time.Now().Before(d) {
		// The connection's deadline is the context's, but it can fire first;
		// and bufio hands a line cut by it over as whole, for the parser to
		// call malformed. Past the deadline, it is a timeout.
		ctxErr = context.DeadlineExceeded
	}
	r := classify(err, ctxErr, p.timeout)
	var opErr *net.OpError
	if r.Kind == Error && !errors.As(err, &opErr) {
		r.Kind = Protocol
	}
	r.Status = status
	return r
}
