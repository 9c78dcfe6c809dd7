package probe

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"
)

// httpProber sends one GET and judges the status and, optionally, the body.
type httpProber struct {
	req     *http.Request // template; cloned with a context per probe
	client  *http.Client
	expect  Codes
	body    []byte
	timeout time.Duration
}

func newHTTP(s Spec, u *url.URL) *httpProber {
	tlsConf := &tls.Config{
		ServerName:         s.TLSServerName,
		InsecureSkipVerify: s.TLSSkipVerify, //nolint:gosec // only when the operator asks for tls_skip_verify
		MinVersion:         tls.VersionTLS12,
	}
	if tlsConf.ServerName == "" && s.Host != "" {
		// host sets the server name too, unless tls_servername overrides it;
		// a port in the Host header is no part of a server name.
		tlsConf.ServerName = s.Host
		if h, _, err := net.SplitHostPort(s.Host); err == nil {
			tlsConf.ServerName = h
		}
	}
	if tlsConf.ServerName == "" {
		tlsConf.ServerName = u.Hostname()
	}
	// A fresh connection per probe, as Route 53 and Cloudflare do: a pooled
	// connection would keep a check green after the server stopped accepting
	// new ones, and idle pooled connections would outlive a reload.
	transport := &http.Transport{
		Proxy:                  nil, // never send health checks through HTTP_PROXY
		DialContext:            dialer.DialContext,
		TLSClientConfig:        tlsConf,
		DisableKeepAlives:      true,
		DisableCompression:     true,
		MaxResponseHeaderBytes: 64 << 10,
		ForceAttemptHTTP2:      false,
	}
	client := &http.Client{
		Transport: transport,
		// Redirects are not followed: a 3xx is judged like any other status.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
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

func (p *httpProber) Probe(ctx context.Context) Result {
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	r := p.do(ctx)
	r.Duration = time.Since(start)
	return r
}

func (p *httpProber) do(ctx context.Context) Result {
	resp, err := p.client.Do(p.req.Clone(ctx))
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
