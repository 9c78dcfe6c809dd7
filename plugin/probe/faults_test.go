package probe

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"
)

const (
	// waitTimeout is the timeout of faults that can only end in one: the
	// probe has to sit it out, so it is short.
	waitTimeout = 300 * time.Millisecond
	// fastTimeout is the timeout of faults that end on their own; it is long
	// so that a loaded machine cannot turn them into timeouts.
	fastTimeout = 5 * time.Second
	// faultMargin is how late after its timeout a probe may return. A busy
	// machine has delayed one by well over a second; a probe that ignores
	// its timeout waits for minutes, if not for ever.
	faultMargin = 2 * time.Second
)

// checkFDs fails t if more file descriptors are open after the test than
// before it. Like checkLeaks it runs after every cleanup registered later.
func checkFDs(t *testing.T) {
	t.Helper()
	// The network poller keeps its own descriptors from its first use on;
	// they must be counted in the baseline, not as a leak.
	if l, err := net.Listen("tcp", "127.0.0.1:0"); err == nil {
		l.Close()
	}
	before, err := openFDs()
	if err != nil {
		t.Logf("Not counting file descriptors: %s", err)
		return
	}
	t.Cleanup(func() {
		deadline := time.Now().Add(5 * time.Second)
		for {
			after, err := openFDs()
			if err != nil {
				t.Errorf("Failed to count file descriptors: %s", err)
				return
			}
			if len(after) <= len(before) {
				return
			}
			if time.Now().After(deadline) {
				t.Errorf("Expected at most %d open file descriptors after the probe, got %d: %s",
					len(before), len(after), strings.Join(after, ", "))
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
}

// openFDs names what each open descriptor points at, so that a leak says
// what leaked.
func openFDs() ([]string, error) {
	const dir = "/proc/self/fd"
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(entries))
	for _, e := range entries {
		target, _ := os.Readlink(dir + "/" + e.Name())
		out = append(out, e.Name()+"->"+target)
	}
	return out, nil
}

// asScheme rewrites a check URL template from rawServer for another scheme;
// a tcp check takes no path.
func asScheme(template, scheme string) string {
	rest := strings.TrimPrefix(template, "http://")
	if scheme == "tcp" {
		rest = strings.TrimSuffix(rest, "/health")
	}
	return scheme + "://" + rest
}

// answer reads the probe's request, writes reply and then holds the
// connection open until the prober hangs up.
func answer(reply string) func(c *net.TCPConn) {
	return func(c *net.TCPConn) {
		defer c.Close()
		readRequest(c)
		io.WriteString(c, reply)
		io.Copy(io.Discard, c)
	}
}

// testPKI holds the certificates the TLS faults are served with. Only ca is
// trusted by the probes.
type testPKI struct {
	ca                                   *x509.CertPool
	good, expired, wrongHost, selfSigned tls.Certificate
}

func newTestPKI(t *testing.T) testPKI {
	t.Helper()
	now := time.Now()
	caKey := newKey(t)
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "failover test CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatalf("Failed to create the CA certificate: %s", err)
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatalf("Failed to parse the CA certificate: %s", err)
	}
	pki := testPKI{ca: x509.NewCertPool()}
	pki.ca.AddCert(caCert)

	loopback := []net.IP{net.IPv4(127, 0, 0, 1)}
	leaf := func(serial int64, notAfter time.Time, ips []net.IP, names []string, self bool) tls.Certificate {
		key := newKey(t)
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial),
			Subject:      pkix.Name{CommonName: "failover test endpoint"},
			NotBefore:    now.Add(-2 * time.Hour),
			NotAfter:     notAfter,
			IPAddresses:  ips,
			DNSNames:     names,
			KeyUsage:     x509.KeyUsageDigitalSignature,
			ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		}
		parent, signer := caCert, caKey
		if self {
			parent, signer = tmpl, key
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, signer)
		if err != nil {
			t.Fatalf("Failed to create a leaf certificate: %s", err)
		}
		return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
	}
	pki.good = leaf(2, now.Add(time.Hour), loopback, nil, false)
	pki.expired = leaf(3, now.Add(-time.Hour), loopback, nil, false)
	pki.wrongHost = leaf(4, now.Add(time.Hour), nil, []string{"other.example"}, false)
	pki.selfSigned = leaf(5, now.Add(time.Hour), loopback, nil, true)
	return pki
}

func newKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("Failed to generate a key: %s", err)
	}
	return key
}

// tlsServer serves 204 with cert.
func tlsServer(t *testing.T, cert tls.Certificate) (template, address string) {
	t.Helper()
	srv := quietServer(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	}), &tls.Config{Certificates: []tls.Certificate{cert}})
	return checkURL(t, srv.URL, "/health")
}

// nxdomainServer is a DNS server on loopback that answers every query with
// NXDOMAIN and records the names it was asked for.
type nxdomainServer struct {
	addr  string
	mu    sync.Mutex
	names []string
}

func startNXDOMAIN(t *testing.T) *nxdomainServer {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("Failed to listen: %s", err)
	}
	ns := &nxdomainServer{addr: pc.LocalAddr().String()}
	started := make(chan struct{})
	srv := &dns.Server{
		PacketConn:        pc,
		NotifyStartedFunc: func() { close(started) },
		Handler: dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
			ns.mu.Lock()
			for _, q := range r.Question {
				ns.names = append(ns.names, q.Name)
			}
			ns.mu.Unlock()
			m := new(dns.Msg)
			m.SetRcode(r, dns.RcodeNameError)
			w.WriteMsg(m)
		}),
	}
	go srv.ActivateAndServe()
	select {
	case <-started:
	case <-time.After(5 * time.Second):
		t.Fatalf("Expected the DNS server to start, still starting")
	}
	t.Cleanup(func() { srv.Shutdown() })
	return ns
}

// verify fails t unless name was asked for: a probe that used another
// resolver would pass the test with a query that left the machine.
func (ns *nxdomainServer) verify(name string) func(t *testing.T) {
	return func(t *testing.T) {
		ns.mu.Lock()
		defer ns.mu.Unlock()
		for _, n := range ns.names {
			if strings.EqualFold(n, dns.Fqdn(name)) {
				return
			}
		}
		t.Errorf("Expected the test resolver to be asked for %s, got %v", name, ns.names)
	}
}

// resolveVia makes every probe resolve names through ns, so that no query
// leaves the machine, until the test ends.
func resolveVia(t *testing.T, ns *nxdomainServer) {
	t.Helper()
	saved := dialer
	d := *saved
	d.Resolver = &net.Resolver{
		PreferGo: true,
		// The resolver's own choice of server, from resolv.conf, is ignored.
		Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var nd net.Dialer
			return nd.DialContext(ctx, "udp", ns.addr)
		},
	}
	dialer = &d
	t.Cleanup(func() { dialer = saved })
}

// fault is one way an endpoint can misbehave. start brings up the endpoint
// and returns the check and the address to probe; verify, when set, asserts
// what the endpoint saw after the probe.
type fault struct {
	name   string
	start  func(t *testing.T) (s Spec, address string, verify func(t *testing.T))
	kind   Kind
	status int
	reason string
}

// The subtests run one after another: the goroutine and descriptor counts
// are per process, so a parallel neighbour would blur which fault leaked.
// Each waits at most waitTimeout, which keeps the whole table fast.
func TestProbeFaults(t *testing.T) {
	pki := newTestPKI(t)
	saved := rootCAs
	rootCAs = pki.ca
	t.Cleanup(func() { rootCAs = saved })

	const dripEvery = 50 * time.Millisecond

	faults := []fault{
		{
			name: "http accepts and never answers",
			start: func(t *testing.T) (Spec, string, func(*testing.T)) {
				tmpl, addr := rawServer(t, func(c *net.TCPConn) {
					defer c.Close()
					io.Copy(io.Discard, c)
				})
				return Spec{URL: tmpl}, addr, nil
			},
			kind: Timeout, reason: "timeout after " + waitTimeout.String(),
		},
		{
			name: "http resets after accept",
			start: func(t *testing.T) (Spec, string, func(*testing.T)) {
				tmpl, addr := rawServer(t, func(c *net.TCPConn) {
					c.SetLinger(0) // close with RST instead of FIN
					c.Close()
				})
				return Spec{URL: tmpl}, addr, nil
			},
			kind: Reset, reason: "connection reset by peer",
		},
		{
			name: "http drips its headers",
			start: func(t *testing.T) (Spec, string, func(*testing.T)) {
				tmpl, addr := rawServer(t, func(c *net.TCPConn) {
					defer c.Close()
					readRequest(c)
					// Every byte arrives in time to reset any idle timer;
					// only a deadline on the whole probe ends this.
					const head = "HTTP/1.1 200 OK\r\nX-Drip: "
					tick := time.NewTicker(dripEvery)
					defer tick.Stop()
					for i := range int(10 * time.Minute / dripEvery) {
						b := byte('a')
						if i < len(head) {
							b = head[i]
						}
						if _, err := c.Write([]byte{b}); err != nil {
							return // the prober hung up
						}
						<-tick.C
					}
				})
				return Spec{URL: tmpl}, addr, nil
			},
			kind: Timeout, reason: "timeout after " + waitTimeout.String(),
		},
		{
			// Headers without end, sent as fast as the prober reads: cut
			// at the limit, not read until the timeout.
			name: "http endless headers",
			start: func(t *testing.T) (Spec, string, func(*testing.T)) {
				tmpl, addr := rawServer(t, func(c *net.TCPConn) {
					defer c.Close()
					readRequest(c)
					if _, err := io.WriteString(c, "HTTP/1.1 200 OK\r\n"); err != nil {
						return
					}
					line := []byte("X-Padding: " + strings.Repeat("x", 1000) + "\r\n")
					for range 1 << 16 { // 64 MiB: bounded, and far beyond the limit
						if _, err := c.Write(line); err != nil {
							return // the prober hung up
						}
					}
				})
				return Spec{URL: tmpl}, addr, nil
			},
			kind: Protocol, reason: "response headers exceed 64 KiB",
		},
		{
			// A check pointed at an SSH port: net/http rejects the first
			// line at once instead of waiting for more.
			name: "http answered by an SSH banner",
			start: func(t *testing.T) (Spec, string, func(*testing.T)) {
				tmpl, addr := rawServer(t, answer("SSH-2.0-OpenSSH_9.6\r\n"))
				return Spec{URL: tmpl}, addr, nil
			},
			kind: Protocol, reason: "malformed HTTP response",
		},
		{
			// The same banner sent on connect, as SSH does, before the
			// probe's request has been written.
			name: "http server speaks first",
			start: func(t *testing.T) (Spec, string, func(*testing.T)) {
				tmpl, addr := rawServer(t, func(c *net.TCPConn) {
					defer c.Close()
					io.WriteString(c, "SSH-2.0-OpenSSH_9.6\r\n")
					io.Copy(io.Discard, c)
				})
				return Spec{URL: tmpl}, addr, nil
			},
			kind: Protocol, reason: "malformed HTTP response",
		},
		{
			// TestHTTPProbeEndlessBody checks the same with a long timeout.
			name: "http endless body without the text",
			start: func(t *testing.T) (Spec, string, func(*testing.T)) {
				tmpl, addr := rawServer(t, func(c *net.TCPConn) {
					defer c.Close()
					readRequest(c)
					if _, err := io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n"); err != nil {
						return
					}
					chunk := []byte(strings.Repeat("x", 32<<10))
					for range 1 << 14 { // 512 MiB: bounded, and far beyond what a probe reads
						if _, err := c.Write(chunk); err != nil {
							return // the prober hung up
						}
					}
				})
				return Spec{URL: tmpl, Body: "never there"}, addr, nil
			},
			kind: Body, status: http.StatusOK, reason: "body does not contain",
		},
		{
			// net/http skips informational responses and waits for the
			// final one, which never comes.
			name: "http 100 Continue and nothing more",
			start: func(t *testing.T) (Spec, string, func(*testing.T)) {
				tmpl, addr := rawServer(t, answer("HTTP/1.1 100 Continue\r\n\r\n"))
				return Spec{URL: tmpl}, addr, nil
			},
			kind: Timeout, reason: "timeout after " + waitTimeout.String(),
		},
		{
			name: "http 102 Processing and nothing more",
			start: func(t *testing.T) (Spec, string, func(*testing.T)) {
				tmpl, addr := rawServer(t, answer("HTTP/1.1 102 Processing\r\n\r\n"))
				return Spec{URL: tmpl}, addr, nil
			},
			kind: Timeout, reason: "timeout after " + waitTimeout.String(),
		},
		{
			// 101 is final to net/http, so it is judged like any status.
			name: "http 101 Switching Protocols",
			start: func(t *testing.T) (Spec, string, func(*testing.T)) {
				tmpl, addr := rawServer(t, answer("HTTP/1.1 101 Switching Protocols\r\n\r\n"))
				return Spec{URL: tmpl}, addr, nil
			},
			kind: Status, status: http.StatusSwitchingProtocols, reason: "HTTP status 101",
		},
		statusFault(http.StatusMovedPermanently),
		statusFault(http.StatusNotFound),
		statusFault(http.StatusTooManyRequests),
		statusFault(http.StatusInternalServerError),
		statusFault(http.StatusServiceUnavailable),
		{
			name: "http redirect loop",
			start: func(t *testing.T) (Spec, string, func(*testing.T)) {
				var hits atomic.Int32
				srv := quietServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					hits.Add(1)
					http.Redirect(w, r, r.URL.Path, http.StatusFound)
				}), nil)
				tmpl, addr := checkURL(t, srv.URL, "/health")
				return Spec{URL: tmpl}, addr, func(t *testing.T) {
					if n := hits.Load(); n != 1 {
						t.Errorf("Expected exactly 1 request, got %d", n)
					}
				}
			},
			kind: Status, status: http.StatusFound, reason: "HTTP status 302",
		},
		{
			// Proves that the test CA is trusted, so that each certificate
			// fault below is the only thing wrong.
			name: "https valid certificate",
			start: func(t *testing.T) (Spec, string, func(*testing.T)) {
				tmpl, addr := tlsServer(t, pki.good)
				return Spec{URL: tmpl}, addr, nil
			},
			kind: OK, status: http.StatusNoContent, reason: "success",
		},
		{
			name: "https self-signed certificate",
			start: func(t *testing.T) (Spec, string, func(*testing.T)) {
				tmpl, addr := tlsServer(t, pki.selfSigned)
				return Spec{URL: tmpl}, addr, nil
			},
			kind: TLS, reason: "unknown authority",
		},
		{
			name: "https expired certificate",
			start: func(t *testing.T) (Spec, string, func(*testing.T)) {
				tmpl, addr := tlsServer(t, pki.expired)
				return Spec{URL: tmpl}, addr, nil
			},
			kind: TLS, reason: "expired",
		},
		{
			name: "https certificate for another host",
			start: func(t *testing.T) (Spec, string, func(*testing.T)) {
				tmpl, addr := tlsServer(t, pki.wrongHost)
				return Spec{URL: tmpl, Host: "www.example.org"}, addr, nil
			},
			kind: TLS, reason: "valid for other.example, not www.example.org",
		},
		{
			name: "https handshake never completes",
			start: func(t *testing.T) (Spec, string, func(*testing.T)) {
				tmpl, addr := rawServer(t, func(c *net.TCPConn) {
					defer c.Close()
					io.Copy(io.Discard, c)
				})
				return Spec{URL: asScheme(tmpl, "https")}, addr, nil
			},
			kind: Timeout, reason: "timeout after " + waitTimeout.String(),
		},
		{
			name: "http connection refused",
			start: func(t *testing.T) (Spec, string, func(*testing.T)) {
				tmpl, addr := closedServer(t)
				return Spec{URL: tmpl}, addr, nil
			},
			kind: Refused, reason: "connection refused",
		},
		{
			name: "http host does not resolve",
			start: func(t *testing.T) (Spec, string, func(*testing.T)) {
				ns := startNXDOMAIN(t)
				resolveVia(t, ns)
				return Spec{URL: "http://nowhere.invalid/health"}, "192.0.2.1", ns.verify("nowhere.invalid")
			},
			kind: DNS, reason: "cannot resolve nowhere.invalid",
		},
		{
			name: "tcp connection refused",
			start: func(t *testing.T) (Spec, string, func(*testing.T)) {
				tmpl, addr := closedServer(t)
				return Spec{URL: asScheme(tmpl, "tcp")}, addr, nil
			},
			kind: Refused, reason: "connection refused",
		},
		{
			// A TCP check sees the port, not the application: a hung
			// server that still accepts passes it.
			name: "tcp accepts and never answers",
			start: func(t *testing.T) (Spec, string, func(*testing.T)) {
				accepted := make(chan struct{}, 1)
				tmpl, addr := rawServer(t, func(c *net.TCPConn) {
					defer c.Close()
					accepted <- struct{}{}
					io.Copy(io.Discard, c)
				})
				return Spec{URL: asScheme(tmpl, "tcp")}, addr, func(t *testing.T) {
					select {
					case <-accepted:
					case <-time.After(5 * time.Second):
						t.Errorf("Expected the server to accept the probe's connection, it did not")
					}
				}
			},
			kind: OK, reason: "success",
		},
		{
			name: "tcp host does not resolve",
			start: func(t *testing.T) (Spec, string, func(*testing.T)) {
				ns := startNXDOMAIN(t)
				resolveVia(t, ns)
				return Spec{URL: "tcp://nowhere.invalid:443"}, "192.0.2.1", ns.verify("nowhere.invalid")
			},
			kind: DNS, reason: "cannot resolve nowhere.invalid",
		},
	}

	for _, tc := range faults {
		t.Run(tc.name, func(t *testing.T) {
			checkLeaks(t)
			checkFDs(t)
			s, addr, verify := tc.start(t)
			s.Timeout = fastTimeout
			if tc.kind == Timeout {
				s.Timeout = waitTimeout
			}
			p, err := New(s, addr)
			if err != nil {
				t.Fatalf("Failed to make a prober for %q: %s", s.URL, err)
			}

			start := time.Now()
			r := p.Probe(context.Background())
			elapsed := time.Since(start)
			t.Logf("Probe gave %s: %s", r.Kind, r.Reason())

			if r.Kind != tc.kind {
				t.Errorf("Expected kind %s, got %s: %s", tc.kind, r.Kind, r.Reason())
			}
			if r.Status != tc.status {
				t.Errorf("Expected status %d, got %d", tc.status, r.Status)
			}
			if !strings.Contains(r.Reason(), tc.reason) {
				t.Errorf("Expected a reason containing %q, got %q", tc.reason, r.Reason())
			}
			if limit := s.Timeout + faultMargin; elapsed > limit {
				t.Errorf("Expected the probe to return within %s, took %s", limit, elapsed)
			}
			// A probe that gave up early would call a slow endpoint dead.
			if tc.kind == Timeout && r.Duration < s.Timeout {
				t.Errorf("Expected the probe to wait its full %s, gave up after %s", s.Timeout, r.Duration)
			}
			if verify != nil {
				verify(t)
			}
		})
	}
}

// statusFault is an endpoint that answers every request with code.
func statusFault(code int) fault {
	return fault{
		name: "http status " + strconv.Itoa(code),
		start: func(t *testing.T) (Spec, string, func(*testing.T)) {
			srv := quietServer(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.WriteHeader(code)
			}), nil)
			tmpl, addr := checkURL(t, srv.URL, "/health")
			return Spec{URL: tmpl}, addr, nil
		},
		kind: Status, status: code, reason: "HTTP status " + strconv.Itoa(code),
	}
}

// closedServer gives a check URL for a loopback port nothing listens on.
func closedServer(t *testing.T) (template, address string) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("Failed to listen: %s", err)
	}
	tmpl, addr := checkURL(t, "http://"+l.Addr().String(), "/health")
	l.Close()
	return tmpl, addr
}
