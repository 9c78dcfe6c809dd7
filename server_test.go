package failover

import (
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coredns/caddy"
	"github.com/coredns/coredns/core/dnsserver"
	_ "github.com/coredns/coredns/plugin/bind"
	_ "github.com/coredns/coredns/plugin/cache"
	_ "github.com/coredns/coredns/plugin/hosts"
	_ "github.com/coredns/coredns/plugin/log"

	"github.com/miekg/dns"
)

func TestMain(m *testing.M) {
	// Tests do not run cmd/coredns's init, so the directive has to be placed
	// here, where that build places it: right before cache.
	if !slices.Contains(dnsserver.Directives, pluginName) {
		i := slices.Index(dnsserver.Directives, "cache")
		dnsserver.Directives = slices.Insert(dnsserver.Directives, i, pluginName)
	}
	caddy.Quiet, dnsserver.Quiet = true, true
	code := m.Run()
	removeServerBinary()
	os.Exit(code)
}

// startMu serialises caddy.Start, which keeps package-level state.
var startMu sync.Mutex

// server is a running CoreDNS instance.
type server struct {
	udp, tcp string
}

// startServer runs corefile in-process and stops it when the test ends.
func startServer(t *testing.T, corefile string) server {
	t.Helper()
	startMu.Lock()
	inst, err := caddy.Start(caddy.CaddyfileInput{ServerTypeName: "dns", Filepath: "Corefile", Contents: []byte(corefile)})
	startMu.Unlock()
	if err != nil {
		t.Fatalf("Expected the server to start, got %v", err)
	}
	t.Cleanup(func() {
		inst.ShutdownCallbacks()
		inst.Stop()
		inst.Wait()
	})
	srvs := inst.Servers()
	if len(srvs) == 0 || srvs[0].LocalAddr() == nil || srvs[0].Addr() == nil {
		t.Fatalf("Expected a server listening on UDP and TCP, got %d servers", len(srvs))
	}
	// Caddy starts serving in goroutines after Start returns, and a CoreDNS
	// server stopped before it serves ignores the stop, which would leave the
	// cleanup waiting for ever: every listener answers once before the test
	// goes on.
	for _, srv := range srvs {
		if a := srv.LocalAddr(); a != nil {
			awaitServing(t, "udp", a.String())
		}
		if a := srv.Addr(); a != nil {
			awaitServing(t, "tcp", a.String())
		}
	}
	return server{udp: srvs[0].LocalAddr().String(), tcp: srvs[0].Addr().String()}
}

// awaitServing waits until addr answers a query over network, whatever the answer.
func awaitServing(t *testing.T, network, addr string) {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion("serving.invalid.", dns.TypeA)
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, _, err := (&dns.Client{Net: network, Timeout: 500 * time.Millisecond}).Exchange(m, addr); err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("Expected the server to answer over %s on %s within 5s", network, addr)
		}
	}
}

// ask sends one query over network ("udp" or "tcp").
func (s server) ask(network, name string, qtype uint16) (*dns.Msg, error) {
	addr := s.udp
	if network == "tcp" {
		addr = s.tcp
	}
	c := &dns.Client{Net: network, Timeout: 2 * time.Second}
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	r, _, err := c.Exchange(m, addr)
	return r, err
}

// exchange sends m over network ("udp" or "tcp") and fails the test on a
// transport error.
func (s server) exchange(t *testing.T, network string, m *dns.Msg) *dns.Msg {
	t.Helper()
	addr := s.udp
	if network == "tcp" {
		addr = s.tcp
	}
	r, _, err := (&dns.Client{Net: network, Timeout: 2 * time.Second}).Exchange(m, addr)
	if err != nil {
		t.Fatalf("Expected an answer over %s, got %v", network, err)
	}
	return r
}

// mustAsk is ask that fails the test on a transport error.
func (s server) mustAsk(t *testing.T, network, name string, qtype uint16) *dns.Msg {
	t.Helper()
	r, err := s.ask(network, name, qtype)
	if err != nil {
		t.Fatalf("Expected an answer to %s over %s, got %v", name, network, err)
	}
	return r
}

// addresses lists the A and AAAA data of an answer section.
func addresses(m *dns.Msg) []string {
	var out []string
	for _, rr := range m.Answer {
		switch rr := rr.(type) {
		case *dns.A:
			out = append(out, rr.A.String())
		case *dns.AAAA:
			out = append(out, rr.AAAA.String())
		}
	}
	return out
}

// waitAnswer polls name over UDP every 50ms until its answer is exactly want,
// and returns when that was first seen.
func (s server) waitAnswer(t *testing.T, name string, want []string, within time.Duration) time.Time {
	t.Helper()
	deadline := time.Now().Add(within)
	var last []string
	for {
		r, err := s.ask("udp", name, dns.TypeA)
		now := time.Now()
		if err == nil {
			last = addresses(r)
			if slices.Equal(last, want) {
				return now
			}
		}
		if now.After(deadline) {
			t.Fatalf("Expected %s to answer %v within %s, last answer %v (err %v)", name, want, within, last, err)
		}
		time.Sleep(50 * time.Millisecond) // the query rate of the poll, not a wait for an event
	}
}

// healthBackend is an HTTP server whose /health answers 200 or 503.
type healthBackend struct {
	srv    *httptest.Server
	failed atomic.Bool
	hits   atomic.Int64

	mu sync.Mutex
	at []time.Time // when each probe arrived
}

// newHealthBackend serves /health on ln (or on 127.0.0.1:0 when ln is nil).
func newHealthBackend(t *testing.T, ln net.Listener) *healthBackend {
	t.Helper()
	b := &healthBackend{}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.mu.Lock()
		b.at = append(b.at, time.Now())
		b.mu.Unlock()
		b.hits.Add(1)
		if r.URL.Path != "/health" || b.failed.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("OK"))
	})
	b.srv = httptest.NewUnstartedServer(h)
	if ln != nil {
		b.srv.Listener.Close()
		b.srv.Listener = ln
	}
	b.srv.Start()
	t.Cleanup(b.srv.Close)
	return b
}

// probeTimes lists when the backend was probed.
func (b *healthBackend) probeTimes() []time.Time {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.at)
}

// waitHits waits until the backend has been probed at least n times.
func (b *healthBackend) waitHits(t *testing.T, n int64, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for b.hits.Load() < n {
		if time.Now().After(deadline) {
			t.Fatalf("Expected %d probes at %s within %s, got %d", n, b.url(), within, b.hits.Load())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// port is the backend's TCP port as text.
func (b *healthBackend) port() string {
	_, p, _ := net.SplitHostPort(b.srv.Listener.Addr().String())
	return p
}

// url is the backend's health check URL.
func (b *healthBackend) url() string { return b.srv.URL + "/health" }

// listenPair binds the same port on 127.0.0.1 and 127.0.0.2, so that a check
// written once with {address} reaches a different backend per endpoint. It
// returns nil listeners when no such pair could be found.
func listenPair(t *testing.T) (net.Listener, net.Listener) {
	t.Helper()
	for range 20 {
		l2, err := net.Listen("tcp", "127.0.0.2:0")
		if err != nil {
			return nil, nil
		}
		_, port, _ := net.SplitHostPort(l2.Addr().String())
		l1, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", port))
		if err == nil {
			return l1, l2
		}
		l2.Close()
	}
	return nil, nil
}

// tcpBackend accepts and closes connections until closed.
type tcpBackend struct {
	ln   net.Listener
	done chan struct{}
}

func newTCPBackend(t *testing.T) *tcpBackend {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("Expected to listen on 127.0.0.1, got %v", err)
	}
	b := &tcpBackend{ln: ln, done: make(chan struct{})}
	go func() {
		defer close(b.done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	t.Cleanup(b.close)
	return b
}

func (b *tcpBackend) addr() string { return b.ln.Addr().String() }

// close stops listening, so that connecting is refused from now on.
func (b *tcpBackend) close() {
	b.ln.Close()
	<-b.done
}

// closedPort returns a loopback TCP address that nothing listens on, so that
// a connection to it is refused at once.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("Expected to listen on 127.0.0.1, got %v", err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}
