package api

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
)

// recordingBackend answers from memory and counts the changes it was asked for.
type recordingBackend struct {
	changes     int
	alerts      []Alert
	failbacks   []string // the reasons, in order
	failbackErr error    // what Failback returns, when set
}

func (b *recordingBackend) Names() []string   { return []string{"www.example.org."} }
func (b *recordingBackend) Cluster() *Cluster { return nil }
func (b *recordingBackend) Name(n string) (Name, bool) {
	return Name{Name: n}, n == "www.example.org."
}
func (b *recordingBackend) Explain(n string, c netip.Addr, q uint16) (Explanation, error) {
	return Explanation{Name: n, Client: c.String()}, nil
}
func (b *recordingBackend) SetOverride(n, a string, r OverrideRequest) (Override, error) {
	b.changes++
	return Override{Name: n, Address: a, State: r.State}, nil
}
func (b *recordingBackend) ClearOverride(n, a string) (bool, error) { b.changes++; return true, nil }
func (b *recordingBackend) SetTTL(n string, r TTLRequest) (TTL, error) {
	b.changes++
	return TTL{Name: n, TTL: r.TTL}, nil
}
func (b *recordingBackend) ClearTTL(n string) (bool, error) { b.changes++; return true, nil }
func (b *recordingBackend) Failback(n, reason string) (FailbackResult, error) {
	if b.failbackErr != nil {
		return FailbackResult{}, b.failbackErr
	}
	b.changes++
	b.failbacks = append(b.failbacks, reason)
	return FailbackResult{Name: n, Reason: reason, Answer: Answer{A: []string{"192.0.2.10"}}}, nil
}
func (b *recordingBackend) Alerts(a []Alert) AlertResult {
	b.changes++
	b.alerts = append(b.alerts, a...)
	return AlertResult{Applied: len(a)}
}

func serve(h http.Handler, method, target, remote, auth, body string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, target, strings.NewReader(body))
	r.RemoteAddr, r.Host = remote, "localhost:8054"

	if auth != "" {
		r.Header.Set("Authorization", auth)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestAccessRules(t *testing.T) {
	const put = `{"state":"down"}`
	const path = "/v1/names/www.example.org/endpoints/192.0.2.10/override"
	for _, tc := range []struct {
		name, token, method, remote, auth string
		want                              int
	}{
		{"no token: loopback reads", "", "GET", "127.0.0.1:5000", "", 200},
		{"no token: loopback changes", "", "PUT", "127.0.0.1:5000", "", 200},
		{"no token: IPv6 loopback changes", "", "PUT", "[::1]:5000", "", 200},
		{"no token: a read from beyond loopback", "", "GET", "192.0.2.99:5000", "", 403},
		{"no token: a change from beyond loopback", "", "PUT", "192.0.2.99:5000", "", 403},
		{"no token: a mapped address is not loopback", "", "PUT", "[::ffff:192.0.2.99]:5000", "", 403},
		{"token: loopback reads without it", "s3cret", "GET", "127.0.0.1:5000", "", 200},
		{"token: a loopback change needs it", "s3cret", "PUT", "127.0.0.1:5000", "", 401},
		{"token: a wrong one", "s3cret", "PUT", "127.0.0.1:5000", "Bearer s3cre", 401},
		{"token: a longer one", "s3cret", "PUT", "127.0.0.1:5000", "Bearer s3cret2", 401},
		{"token: not bearer", "s3cret", "PUT", "127.0.0.1:5000", "Basic s3cret", 401},
		{"token: the right one", "s3cret", "PUT", "127.0.0.1:5000", "Bearer s3cret", 200},
		{"token: the scheme in any case", "s3cret", "PUT", "127.0.0.1:5000", "bearer s3cret", 200},
		{"token: a read from beyond loopback needs it", "s3cret", "GET", "192.0.2.99:5000", "", 401},
		{"token: a read from beyond loopback with it", "s3cret", "GET", "192.0.2.99:5000", "Bearer s3cret", 200},
		{"token: a change from beyond loopback with it", "s3cret", "PUT", "192.0.2.99:5000", "Bearer s3cret", 200},
		{"token: unknown paths from beyond loopback say nothing", "s3cret", "GET", "192.0.2.99:5000", "", 401},
		{"no token: a rebound host name is not loopback", "", "GET", "127.0.0.1:5000", "", 403},
		{"token: a rebound host name needs it to read", "s3cret", "GET", "127.0.0.1:5000", "", 401},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := &recordingBackend{}
			h := NewHandler(b)
			h.SetToken(tc.token)
			target, body := "/v1/status", ""
			if tc.method == "PUT" {
				target, body = path, put
			}
			if strings.HasSuffix(tc.name, "say nothing") {
				target = "/v1/secret"
			}
			r := httptest.NewRequest(tc.method, target, strings.NewReader(body))
			r.RemoteAddr = tc.remote
			if tc.auth != "" {
				r.Header.Set("Authorization", tc.auth)
			}
			if strings.Contains(tc.name, "rebound") {
				r.Host = "attacker.example:8054"
			} else {
				r.Host = "127.0.0.1:8054"
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tc.want {
				t.Fatalf("Expected %d, got %d: %s", tc.want, w.Code, w.Body)
			}
			if tc.want != 200 {
				var e Error
				if json.Unmarshal(w.Body.Bytes(), &e) != nil || e.Error == "" {
					t.Errorf("Expected a JSON error, got %s", w.Body)
				}
				if b.changes != 0 {
					t.Errorf("Expected a refused request to change nothing, got %d changes", b.changes)
				}
			}
		})
	}
}

func TestLoopback(t *testing.T) {
	for addr, want := range map[string]bool{
		"127.0.0.1:8054": true, "127.1.2.3:8054": true, "[::1]:8054": true, "localhost:8054": true,
		"0.0.0.0:8054": false, ":8054": false, "[::]:8054": false, "192.0.2.1:8054": false, "8054": false,
	} {
		if got := Loopback(addr); got != want {
			t.Errorf("Loopback(%q) = %v, want %v", addr, got, want)
		}
	}
}

func TestWebhookIsReadAsAlertmanagerSendsIt(t *testing.T) {
	b := &recordingBackend{}
	h := NewHandler(b)
	payload := `{"version":"4","groupKey":"{}:{}","status":"firing","receiver":"failover","groupLabels":{},"commonLabels":{},
	"commonAnnotations":{},"externalURL":"http://am","truncatedAlerts":0,"alerts":[
	{"status":"firing","labels":{"alertname":"BackendDown","failover_endpoint":" 192.0.2.10 ","failover_name":"www.example.org"},
	 "annotations":{},"startsAt":"2026-12-01T13:00:00Z","endsAt":"0001-01-01T00:00:00Z","generatorURL":"","fingerprint":"abc"},
	{"status":"resolved","labels":{"alertname":"RackDown","failover_endpoint":"192.0.2.11"},"startsAt":"2026-12-01T12:00:00Z"},
	{"status":"firing","labels":{"alertname":"Unrelated"}},
	{"status":"pending","labels":{"alertname":"Odd","failover_endpoint":"192.0.2.12"}}]}`
	w := serve(h, "POST", "/v1/alertmanager", "127.0.0.1:1", "", payload)
	if w.Code != 200 {
		t.Fatalf("Expected 200, got %d: %s", w.Code, w.Body)
	}
	if len(b.alerts) != 2 {
		t.Fatalf("Expected two alerts about endpoints, got %+v", b.alerts)
	}
	a := b.alerts[0]
	if !a.Firing || a.Endpoint != "192.0.2.10" || a.Name != "www.example.org" || a.Alert != "BackendDown" || a.Since.IsZero() {
		t.Errorf("Expected the firing alert read, got %+v", a)
	}
	if b.alerts[1].Firing || b.alerts[1].Name != "" {
		t.Errorf("Expected the resolved alert about every name, got %+v", b.alerts[1])
	}
	if a.Key == b.alerts[1].Key || !strings.Contains(a.Key, `alertname="BackendDown"`) {
		t.Errorf("Expected keys from the labels, got %q and %q", a.Key, b.alerts[1].Key)
	}
	var res AlertResult
	json.Unmarshal(w.Body.Bytes(), &res)
	if len(res.Ignored) != 2 || !strings.Contains(res.Ignored[0], "no failover_endpoint") || !strings.Contains(res.Ignored[1], "pending") {
		t.Errorf("Expected the two other alerts reported as ignored, got %v", res.Ignored)
	}
	for _, bad := range []string{`{"version":"3","alerts":[]}`, `not json`, ``, `{"version":"4","alerts":{}}`} {
		if w := serve(h, "POST", "/v1/alertmanager", "127.0.0.1:1", "", bad); w.Code != 400 {
			t.Errorf("Expected 400 for %q, got %d", bad, w.Code)
		}
	}
}

func TestPathsAndQueries(t *testing.T) {
	b := &recordingBackend{}
	h := NewHandler(b)
	if w := serve(h, "GET", "/v1/names/WWW.Example.ORG", "127.0.0.1:1", "", ""); w.Code != 200 || !strings.Contains(w.Body.String(), `"www.example.org."`) {
		t.Errorf("Expected a name without its final dot and in any case to be found, got %d %s", w.Code, w.Body)
	}
	if w := serve(h, "GET", "/v1/names/www.example.org/answer?client=::ffff:10.0.0.1", "127.0.0.1:1", "", ""); !strings.Contains(w.Body.String(), `"client": "10.0.0.1"`) {
		t.Errorf("Expected a mapped client address unmapped, got %s", w.Body)
	}
	if w := serve(h, "GET", "/v1/names/www.example.org/answer?client=fe80::1%25eth0", "127.0.0.1:1", "", ""); w.Code != 400 {
		t.Errorf("Expected a zoned client address refused, got %d", w.Code)
	}
	if w := serve(h, "PUT", "/v1/names/www.example.org/ttl", "127.0.0.1:1", "", `{"ttl":5,"for":"1m","x":1}`); w.Code != 400 || b.changes != 0 {
		t.Errorf("Expected an unknown field refused with nothing changed, got %d", w.Code)
	}
	if w := serve(h, "GET", "/", "127.0.0.1:1", "", ""); w.Code != 200 || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/html") {
		t.Errorf("Expected the status page at /, got %d %s", w.Code, w.Header())
	}
}
