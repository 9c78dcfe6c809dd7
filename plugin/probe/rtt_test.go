package probe

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// The round trip ends at the status line: a server that answers late is
// slow, one that sends a long body is not.
func TestRTTEndsAtTheStatusLine(t *testing.T) {
	const delay, trickle = 120 * time.Millisecond, 300 * time.Millisecond
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(delay)
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		time.Sleep(trickle)
		w.Write([]byte("ready\n"))
	}))
	defer srv.Close()
	tmpl, addr := checkURL(t, srv.URL, "/health")
	r := runProbe(t, Spec{URL: tmpl, Expect: DefaultCodes(), Body: "ready"}, addr)
	if !r.OK() {
		t.Fatalf("Expected success, got %s", r.Reason())
	}
	if r.RTT < delay || r.RTT >= delay+trickle {
		t.Errorf("Expected a round trip from %s up to the body's %s, got %s", delay, delay+trickle, r.RTT)
	}
	if r.Duration < delay+trickle {
		t.Errorf("Expected the duration to include the body, at least %s, got %s", delay+trickle, r.Duration)
	}

	failed := runProbe(t, Spec{URL: "http://{address}:1/", Expect: DefaultCodes()}, "127.0.0.1")
	if failed.OK() || failed.RTT != 0 {
		t.Errorf("Expected a refused probe without a round trip, got %s with %s", failed.Reason(), failed.RTT)
	}
}

func TestRTTOfTCPIsTheConnection(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	defer srv.Close()
	_, addr := checkURL(t, srv.URL, "/")
	tmpl := "tcp://{address}:" + srv.URL[len("http://127.0.0.1:"):]
	r := runProbe(t, Spec{URL: tmpl}, addr)
	if !r.OK() || r.RTT <= 0 || r.RTT > r.Duration {
		t.Errorf("Expected a success with a round trip within its duration %s, got %s, %s", r.Duration, r.Reason(), r.RTT)
	}
}
