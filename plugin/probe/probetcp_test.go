package probe

import (
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"syscall"
	"testing"
	"time"
)

func TestTCPProbe(t *testing.T) {
	checkLeaks(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("Failed to listen: %s", err)
	}
	t.Cleanup(func() { l.Close() })
	// The server sees the connection end once the prober has closed it: by
	// a reset, which leaves nothing in TIME_WAIT on the prober's side.
	closed := make(chan error, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			closed <- err
			return
		}
		defer c.Close()
		_, err = io.Copy(io.Discard, c)
		closed <- err
	}()
	_, port, _ := net.SplitHostPort(l.Addr().String())

	r := runProbe(t, Spec{URL: "tcp://{address}:" + port}, "127.0.0.1")
	if !r.OK() {
		t.Errorf("Expected success, got %s: %s", r.Kind, r.Detail)
	}
	select {
	case err := <-closed:
		if err != nil && !errors.Is(err, syscall.ECONNRESET) {
			t.Errorf("Expected the prober to close its connection, got %s", err)
		}
	case <-time.After(5 * time.Second):
		t.Errorf("Expected the prober to close its connection, still open")
	}
}

func TestTCPProbeRefused(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("Failed to listen: %s", err)
	}
	_, port, _ := net.SplitHostPort(l.Addr().String())
	l.Close()

	r := runProbe(t, Spec{URL: "tcp://{address}:" + port}, "127.0.0.1")
	if r.Kind != Refused {
		t.Errorf("Expected kind %s, got %s: %s", Refused, r.Kind, r.Detail)
	}
}

func TestProbeIPv6(t *testing.T) {
	l, err := net.Listen("tcp6", "[::1]:0")
	if err != nil {
		t.Skipf("No IPv6 loopback: %s", err)
	}
	srv := httptest.NewUnstartedServer(http.NotFoundHandler())
	srv.Listener.Close()
	srv.Listener = l
	srv.Start()
	t.Cleanup(srv.Close)

	_, port, _ := net.SplitHostPort(l.Addr().String())
	r := runProbe(t, Spec{URL: "http://{address}:" + port + "/health"}, "::1")
	if r.Kind != Status || r.Status != http.StatusNotFound {
		t.Errorf("Expected kind %s with status %d, got %s with %d: %s", Status, http.StatusNotFound, r.Kind, r.Status, r.Detail)
	}
	r = runProbe(t, Spec{URL: "tcp://{address}:" + port}, "::1")
	if !r.OK() {
		t.Errorf("Expected a TCP probe to succeed, got %s: %s", r.Kind, r.Detail)
	}
}
