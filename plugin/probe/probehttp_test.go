package probe

import (
	"bufio"
	"context"
	"crypto/tls"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// checkLeaks fails t if more goroutines run after the test than before it.
// It runs after every cleanup registered later, so servers are closed by then.
func checkLeaks(t *testing.T) {
	t.Helper()
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(5 * time.Second)
		for runtime.NumGoroutine() > before {
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<20)
				n := runtime.Stack(buf, true)
				t.Errorf("Expected at most %d goroutines after the probe, got %d:\n%s", before, runtime.NumGoroutine(), buf[:n])
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
}

// checkURL turns a test server's URL into a check URL template with the
// {address} placeholder, as a Corefile writes it, and the address to bind.
func checkURL(t *testing.T, serverURL, path string) (template, address string) {
	t.Helper()
	u, err := url.Parse(serverURL)
	if err != nil {
		t.Fatalf("Failed to parse %q: %s", serverURL, err)
	}
	return u.Scheme + "://" + placeholder + ":" + u.Port() + path, u.Hostname()
}

func runProbe(t *testing.T, s Spec, address string) Result {
	t.Helper()
	if s.Timeout == 0 {
		s.Timeout = 5 * time.Second
	}
	p, err := New(s, address)
	if err != nil {
		t.Fatalf("Failed to make a prober for %q: %s", s.URL, err)
	}
	return p.Probe(context.Background())
}

// quietServer is an httptest server that does not log handshake failures,
// which some tests cause on purpose. Before it closes it checks that the
// prober has closed every connection it opened: a probe holds none after it
// returns.
func quietServer(t *testing.T, h http.Handler, tlsConf *tls.Config) *httptest.Server {
	t.Helper()
	var open atomic.Int32
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		switch s {
		case http.StateNew:
			open.Add(1)
		case http.StateClosed, http.StateHijacked:
			open.Add(-1)
		}
	}
	if tlsConf != nil {
		srv.TLS = tlsConf
		srv.StartTLS()
	} else {
		srv.Start()
	}
	t.Cleanup(srv.Close)
	t.Cleanup(func() {
		deadline := time.Now().Add(5 * time.Second)
		for open.Load() > 0 {
			if time.Now().After(deadline) {
				t.Errorf("Expected the prober to close its connections, got %d open", open.Load())
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
	return srv
}

// rawServer accepts TCP connections on 127.0.0.1 and hands each to serve.
func rawServer(t *testing.T, serve func(c *net.TCPConn)) (template, address string) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("Failed to listen: %s", err)
	}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go serve(c.(*net.TCPConn))
		}
	}()
	// Connections are left to serve to close: a server goroutine that
	// never ends is a connection the prober never closed.
	t.Cleanup(func() { l.Close() })
	return checkURL(t, "http://"+l.Addr().String(), "/health")
}

// readRequest reads the probe's request head, so that what the server does
// next happens while the prober waits for a response.
func readRequest(c net.Conn) {
	http.ReadRequest(bufio.NewReader(c))
}

func TestHTTPProbeStatus(t *testing.T) {
	srv := quietServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		code, _ := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/status/"))
		w.WriteHeader(code)
	}), nil)

	tests := []struct {
		status int
		expect []string
		ok     bool
	}{
		{200, nil, true},
		{204, nil, true},
		{299, nil, true},
		{503, nil, false},
		{301, nil, false},
		{404, nil, false},
		{204, []string{"200", "204"}, true},
		{201, []string{"200", "204"}, false},
		{300, []string{"300-302"}, true},
		{302, []string{"300-302"}, true},
		{303, []string{"300-302"}, false},
		{200, []string{"300-302"}, false},
		{503, []string{"200-299", "503"}, true},
	}
	for _, tc := range tests {
		t.Run(strconv.Itoa(tc.status)+" expect "+strings.Join(tc.expect, " "), func(t *testing.T) {
			tmpl, addr := checkURL(t, srv.URL, "/status/"+strconv.Itoa(tc.status))
			s := Spec{URL: tmpl}
			if tc.expect != nil {
				codes, err := ParseCodes(tc.expect)
				if err != nil {
					t.Fatalf("Failed to parse %v: %s", tc.expect, err)
				}
				s.Expect = codes
			}
			r := runProbe(t, s, addr)
			if r.Status != tc.status {
				t.Errorf("Expected status %d, got %d", tc.status, r.Status)
			}
			if tc.ok {
				if !r.OK() {
					t.Errorf("Expected success, got %s: %s", r.Kind, r.Detail)
				}
				return
			}
			if r.Kind != Status {
				t.Errorf("Expected kind %s, got %s", Status, r.Kind)
			}
			if !strings.Contains(r.Detail, strconv.Itoa(tc.status)) {
				t.Errorf("Expected the detail to name status %d, got %q", tc.status, r.Detail)
			}
		})
	}
}

func TestHTTPProbeTimeout(t *testing.T) {
	checkLeaks(t)
	// Reads the request and never answers; returns once the prober hangs up.
	tmpl, addr := rawServer(t, func(c *net.TCPConn) {
		defer c.Close()
		io.Copy(io.Discard, c)
	})
	const timeout = 300 * time.Millisecond
	start := time.Now()
	r := runProbe(t, Spec{URL: tmpl, Timeout: timeout}, addr)
	elapsed := time.Since(start)
	if r.Kind != Timeout {
		t.Errorf("Expected kind %s, got %s: %s", Timeout, r.Kind, r.Detail)
	}
	if elapsed > timeout+time.Second {
		t.Errorf("Expected the probe to return within %s, took %s", timeout+time.Second, elapsed)
	}
	if r.Duration < timeout || r.Duration > elapsed {
		t.Errorf("Expected a duration between %s and %s, got %s", timeout, elapsed, r.Duration)
	}
}

func TestHTTPProbeRefused(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("Failed to listen: %s", err)
	}
	tmpl, addr := checkURL(t, "http://"+l.Addr().String(), "/health")
	l.Close()
	r := runProbe(t, Spec{URL: tmpl}, addr)
	if r.Kind != Refused {
		t.Errorf("Expected kind %s, got %s: %s", Refused, r.Kind, r.Detail)
	}
}

func TestHTTPProbeReset(t *testing.T) {
	tests := []struct {
		name string
		read bool
	}{
		{"right after accept", false},
		{"after the request", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			checkLeaks(t)
			tmpl, addr := rawServer(t, func(c *net.TCPConn) {
				if tc.read {
					readRequest(c)
				}
				c.SetLinger(0) // close with RST instead of FIN
				c.Close()
			})
			r := runProbe(t, Spec{URL: tmpl}, addr)
			if r.Kind != Reset {
				t.Errorf("Expected kind %s, got %s: %s", Reset, r.Kind, r.Detail)
			}
		})
	}
}

func TestHTTPProbeGarbage(t *testing.T) {
	checkLeaks(t)
	tmpl, addr := rawServer(t, func(c *net.TCPConn) {
		defer c.Close()
		readRequest(c)
		io.WriteString(c, "hello\r\n\r\n")
	})
	r := runProbe(t, Spec{URL: tmpl}, addr)
	if r.OK() {
		t.Fatalf("Expected a failed probe, got success")
	}
	if r.Kind != Protocol && r.Kind != Reset {
		t.Errorf("Expected kind %s or %s, got %s: %s", Protocol, Reset, r.Kind, r.Detail)
	}
}

func TestHTTPProbeLocalError(t *testing.T) {
	// Binding to an address this host does not have fails before any packet
	// is sent; no HTTP was exchanged, so it is not a protocol failure.
	saved := dialer
	dialer = &net.Dialer{KeepAlive: -1, LocalAddr: &net.TCPAddr{IP: net.IPv4(192, 0, 2, 1)}}
	t.Cleanup(func() { dialer = saved })

	srv := quietServer(t, http.NotFoundHandler(), nil)
	tmpl, addr := checkURL(t, srv.URL, "/health")
	r := runProbe(t, Spec{URL: tmpl}, addr)
	if r.Kind != Error {
		t.Errorf("Expected kind %s, got %s: %s", Error, r.Kind, r.Detail)
	}
}

func TestHTTPSProbe(t *testing.T) {
	checkLeaks(t)
	var hits atomic.Int32
	srv := quietServer(t, http.HandlerFunc(func(http.ResponseWriter, *http.Request) { hits.Add(1) }), &tls.Config{})
	tmpl, addr := checkURL(t, srv.URL, "/health")

	r := runProbe(t, Spec{URL: tmpl}, addr)
	if r.Kind != TLS {
		t.Errorf("Expected kind %s against a self-signed certificate, got %s: %s", TLS, r.Kind, r.Detail)
	}
	if hits.Load() != 0 {
		t.Errorf("Expected no request to pass an unverified handshake, got %d", hits.Load())
	}

	r = runProbe(t, Spec{URL: tmpl, TLSSkipVerify: true}, addr)
	if !r.OK() {
		t.Errorf("Expected success with tls_skip_verify, got %s: %s", r.Kind, r.Detail)
	}
	if hits.Load() != 1 {
		t.Errorf("Expected 1 request, got %d", hits.Load())
	}
}

func TestHTTPSProbePlainServer(t *testing.T) {
	checkLeaks(t)
	srv := quietServer(t, http.NotFoundHandler(), nil)
	tmpl, addr := checkURL(t, srv.URL, "/health")
	tmpl = "https" + strings.TrimPrefix(tmpl, "http")
	r := runProbe(t, Spec{URL: tmpl, TLSSkipVerify: true}, addr)
	if r.Kind != TLS {
		t.Errorf("Expected kind %s, got %s: %s", TLS, r.Kind, r.Detail)
	}
}

func TestHTTPSProbeServerName(t *testing.T) {
	var mu sync.Mutex
	var sni, host string
	srv := quietServer(t, http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		mu.Lock()
		host = r.Host
		mu.Unlock()
	}), &tls.Config{GetConfigForClient: func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
		mu.Lock()
		sni = hello.ServerName
		mu.Unlock()
		return nil, nil
	}})
	tmpl, addr := checkURL(t, srv.URL, "/health")
	port := strings.TrimPrefix(srv.Listener.Addr().String(), "127.0.0.1:")

	tests := []struct {
		host, serverName string
		wantSNI          string
		wantHost         string
	}{
		{"", "", "", "127.0.0.1:" + port}, // no SNI for an IP address
		{"www.example.org", "", "www.example.org", "www.example.org"},
		{"www.example.org", "origin.example.net", "origin.example.net", "www.example.org"},
		{"", "origin.example.net", "origin.example.net", "127.0.0.1:" + port},
	}
	for _, tc := range tests {
		mu.Lock()
		sni, host = "unset", "unset"
		mu.Unlock()
		r := runProbe(t, Spec{URL: tmpl, Host: tc.host, TLSServerName: tc.serverName, TLSSkipVerify: true}, addr)
		if !r.OK() {
			t.Errorf("Expected success, got %s: %s", r.Kind, r.Detail)
			continue
		}
		mu.Lock()
		if sni != tc.wantSNI {
			t.Errorf("Host %q, tls_servername %q: expected server name %q, got %q", tc.host, tc.serverName, tc.wantSNI, sni)
		}
		if host != tc.wantHost {
			t.Errorf("Host %q, tls_servername %q: expected Host header %q, got %q", tc.host, tc.serverName, tc.wantHost, host)
		}
		mu.Unlock()
	}
}

func TestHTTPProbeBody(t *testing.T) {
	const text = "status: healthy"
	bodies := map[string]string{
		"/short": "{" + text + "}",
		"/other": "status: degraded",
		// The text ends on the last byte that is searched.
		"/edge": strings.Repeat("x", MaxBody-len(text)) + text,
		// The text's last byte is the first one past the limit.
		"/beyond": strings.Repeat("x", MaxBody-len(text)+1) + text,
	}
	srv := quietServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, bodies[r.URL.Path])
	}), nil)

	tests := []struct {
		path string
		want Kind
	}{
		{"/short", OK},
		{"/other", Body},
		{"/edge", OK},
		{"/beyond", Body},
	}
	for _, tc := range tests {
		tmpl, addr := checkURL(t, srv.URL, tc.path)
		r := runProbe(t, Spec{URL: tmpl, Body: text}, addr)
		if r.Kind != tc.want {
			t.Errorf("Path %s: expected kind %s, got %s: %s", tc.path, tc.want, r.Kind, r.Detail)
		}
		if r.Status != http.StatusOK {
			t.Errorf("Path %s: expected status %d, got %d", tc.path, http.StatusOK, r.Status)
		}
	}
}

func TestHTTPProbeEndlessBody(t *testing.T) {
	checkLeaks(t)
	const limit = 256 << 20 // keeps the loop bounded should the prober never hang up
	stopped := make(chan error, 1)
	srv := quietServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		chunk := []byte(strings.Repeat("x", 32<<10))
		for written := 0; written < limit; written += len(chunk) {
			if _, err := w.Write(chunk); err != nil {
				stopped <- err
				return
			}
			if r.Context().Err() != nil {
				stopped <- r.Context().Err()
				return
			}
		}
		stopped <- nil
	}), nil)
	tmpl, addr := checkURL(t, srv.URL, "/health")

	const timeout = 10 * time.Second
	start := time.Now()
	r := runProbe(t, Spec{URL: tmpl, Body: "never there", Timeout: timeout}, addr)
	elapsed := time.Since(start)
	// Reading on to the deadline would give a timeout, not a body failure.
	if r.Kind != Body {
		t.Errorf("Expected kind %s, got %s: %s", Body, r.Kind, r.Detail)
	}
	if elapsed >= timeout {
		t.Errorf("Expected the probe to stop reading well before its %s timeout, took %s", timeout, elapsed)
	}
	select {
	case err := <-stopped:
		if err == nil {
			t.Errorf("Expected the prober to hang up, but the server wrote %d bytes unhindered", limit)
		}
	case <-time.After(5 * time.Second):
		t.Errorf("Expected the prober to hang up, but the server is still writing")
	}
}

func TestHTTPProbeRedirectNotFollowed(t *testing.T) {
	var followed atomic.Int32
	mux := http.NewServeMux()
	mux.HandleFunc("/health", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/elsewhere", http.StatusFound)
	})
	mux.HandleFunc("/elsewhere", func(http.ResponseWriter, *http.Request) { followed.Add(1) })
	srv := quietServer(t, mux, nil)
	tmpl, addr := checkURL(t, srv.URL, "/health")

	r := runProbe(t, Spec{URL: tmpl}, addr)
	if r.Kind != Status || r.Status != http.StatusFound {
		t.Errorf("Expected kind %s with status %d, got %s with %d", Status, http.StatusFound, r.Kind, r.Status)
	}
	codes, _ := ParseCodes([]string{"200-399"})
	r = runProbe(t, Spec{URL: tmpl, Expect: codes}, addr)
	if !r.OK() || r.Status != http.StatusFound {
		t.Errorf("Expected success with status %d, got %s with %d", http.StatusFound, r.Kind, r.Status)
	}
	if n := followed.Load(); n != 0 {
		t.Errorf("Expected the redirect not to be followed, got %d requests to its target", n)
	}
}

func TestHTTPProbeHeaders(t *testing.T) {
	var mu sync.Mutex
	var got *http.Request
	srv := quietServer(t, http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = r
		mu.Unlock()
	}), nil)
	tmpl, addr := checkURL(t, srv.URL, "/health?deep=1")

	s := Spec{
		URL:  tmpl,
		Host: "www.example.org",
		Headers: [][2]string{
			{"X-Check", "one"},
			{"X-Check", "two"},
			{"Authorization", "Bearer s3cret"},
		},
	}
	if r := runProbe(t, s, addr); !r.OK() {
		t.Fatalf("Expected success, got %s: %s", r.Kind, r.Detail)
	}
	mu.Lock()
	defer mu.Unlock()
	if got.Host != "www.example.org" {
		t.Errorf("Expected Host %q, got %q", "www.example.org", got.Host)
	}
	if v := got.Header.Values("X-Check"); len(v) != 2 || v[0] != "one" || v[1] != "two" {
		t.Errorf("Expected X-Check [one two], got %v", v)
	}
	if v := got.Header.Get("Authorization"); v != "Bearer s3cret" {
		t.Errorf("Expected Authorization %q, got %q", "Bearer s3cret", v)
	}
	if got.Method != http.MethodGet || got.URL.RequestURI() != "/health?deep=1" {
		t.Errorf("Expected GET /health?deep=1, got %s %s", got.Method, got.URL.RequestURI())
	}
}

func TestHTTPProbeCancelled(t *testing.T) {
	checkLeaks(t)
	tmpl, addr := rawServer(t, func(c *net.TCPConn) {
		defer c.Close()
		io.Copy(io.Discard, c)
	})
	p, err := New(Spec{URL: tmpl, Timeout: time.Minute}, addr)
	if err != nil {
		t.Fatalf("Failed to make a prober: %s", err)
	}
	// Stopping a probe must not wait for its timeout.
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan Result, 1)
	go func() { done <- p.Probe(ctx) }()
	cancel()
	select {
	case r := <-done:
		if r.OK() {
			t.Errorf("Expected a cancelled probe to fail, got success")
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("Expected a cancelled probe to return, still running")
	}
}
