package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/failover-dns/failover/plugin/api"
)

// fakeAPI is the operator API's contract kept in memory, on loopback: the
// names it is given, with overrides, lowered TTLs and pending failbacks that
// later reads show.
type fakeAPI struct {
	*httptest.Server
	token  string        // "" takes every request from loopback
	settle time.Duration // how far after a change safe_at and cutover_ready_at lie

	mu        sync.Mutex
	order     []string
	names     map[string]api.Name
	overrides map[[2]string]api.Override // by name ("*" for every name) and address
	ttls      map[string]api.TTL
	pending   map[string]api.FailbackPending
	seen      []request
}

// request is what the fake saw of one request.
type request struct {
	method, uri, auth string
	name, address     string // path values, unescaped
	body              string
}

func newFake(t *testing.T, names ...api.Name) *fakeAPI {
	t.Helper()
	f := &fakeAPI{
		settle:    2 * time.Second,
		names:     map[string]api.Name{},
		overrides: map[[2]string]api.Override{},
		ttls:      map[string]api.TTL{},
		pending:   map[string]api.FailbackPending{},
	}
	for _, n := range names {
		f.order = append(f.order, n.Name)
		f.names[n.Name] = n
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/status", f.status)
	mux.HandleFunc("GET /v1/names/{name}", f.name)
	mux.HandleFunc("GET /v1/names/{name}/answer", f.answer)
	mux.HandleFunc("PUT /v1/names/{name}/endpoints/{address}/override", f.setOverride)
	mux.HandleFunc("DELETE /v1/names/{name}/endpoints/{address}/override", f.clearOverride)
	mux.HandleFunc("PUT /v1/endpoints/{address}/override", f.setOverride)
	mux.HandleFunc("DELETE /v1/endpoints/{address}/override", f.clearOverride)
	mux.HandleFunc("PUT /v1/names/{name}/ttl", f.setTTL)
	mux.HandleFunc("DELETE /v1/names/{name}/ttl", f.clearTTL)
	mux.HandleFunc("POST /v1/names/{name}/failback", f.failback)
	f.Server = httptest.NewServer(f.guard(mux))
	t.Cleanup(f.Close)
	return f
}

// guard is the API's security: changes need the token when there is one,
// reads from beyond loopback too, and without a token only loopback is served.
func (f *fakeAPI) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		f.mu.Lock()
		f.seen = append(f.seen, request{method: r.Method, uri: r.RequestURI, auth: r.Header.Get("Authorization"), body: string(body)})
		i := len(f.seen) - 1
		f.mu.Unlock()
		host, _, _ := net.SplitHostPort(r.RemoteAddr)
		ip, _ := netip.ParseAddr(host)
		change := r.Method != http.MethodGet
		local := ip.Unmap().IsLoopback()
		switch {
		case f.token != "" && (change || !local) && r.Header.Get("Authorization") != "Bearer "+f.token:
			fail(w, http.StatusUnauthorized, "missing or wrong bearer token")
		case f.token == "" && !local:
			fail(w, http.StatusForbidden, "this API takes requests from loopback only")
		default:
			next.ServeHTTP(w, r) // the mux sets r's path values as it routes
			f.mu.Lock()
			f.seen[i].name, f.seen[i].address = r.PathValue("name"), r.PathValue("address")
			f.mu.Unlock()
		}
	})
}

func (f *fakeAPI) requests() []request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]request(nil), f.seen...)
}

func (f *fakeAPI) last() request {
	r := f.requests()
	return r[len(r)-1]
}

func fail(w http.ResponseWriter, status int, msg string) {
	reply(w, status, api.Error{Error: msg})
}

func reply(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// lookup finds a name written with or without its final dot; f.mu is held.
func (f *fakeAPI) lookup(w http.ResponseWriter, raw string) (api.Name, bool) {
	key := strings.ToLower(raw)
	if !strings.HasSuffix(key, ".") {
		key += "."
	}
	n, ok := f.names[key]
	if !ok {
		fail(w, http.StatusNotFound, "no managed name "+raw)
		return n, false
	}
	return f.view(n), true
}

// view is a name as it stands now, with its overrides and lowered TTL; f.mu is held.
func (f *fakeAPI) view(n api.Name) api.Name {
	eps := make([]api.Endpoint, len(n.Endpoints))
	for i, e := range n.Endpoints {
		o, ok := f.overrides[[2]string{n.Name, e.Address}]
		if !ok {
			o, ok = f.overrides[[2]string{"*", e.Address}]
		}
		if ok {
			e.Override = &o
			e.Serving = o.State == "up"
		}
		eps[i] = e
	}
	n.Endpoints = eps
	if t, ok := f.ttls[n.Name]; ok {
		n.TemporaryTTL = &t
		n.TTL = t.TTL
	}
	if p, ok := f.pending[n.Name]; ok {
		n.FailbackPending = &p
	}
	return n
}

func (f *fakeAPI) status(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	reply(w, http.StatusOK, api.Status{Names: append([]string{}, f.order...)})
}

func (f *fakeAPI) name(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if n, ok := f.lookup(w, r.PathValue("name")); ok {
		reply(w, http.StatusOK, n)
	}
}

// answer explains simply: the serving endpoints of the asked family answer,
// the others are left out as down or overridden.
func (f *fakeAPI) answer(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	n, ok := f.lookup(w, r.PathValue("name"))
	if !ok {
		return
	}
	client, err := netip.ParseAddr(r.URL.Query().Get("client"))
	if err != nil {
		client = netip.MustParseAddr("127.0.0.1")
	}
	qtype := r.URL.Query().Get("type")
	if qtype != "A" && qtype != "AAAA" && qtype != "CNAME" {
		fail(w, http.StatusBadRequest, "type must be A, AAAA or CNAME")
		return
	}
	e := api.Explanation{Name: n.Name, Type: qtype, Client: client.String(), Policy: n.Policy, Action: "answer", MaxAnswers: 1, TTL: n.TTL}
	if n.Policy == "geo" {
		e.Location = &api.Location{Network: netip.PrefixFrom(client, 24).Masked().String(), Continent: "EU", Country: "DE"}
		e.Group = "country:DE"
	}
	for _, ep := range n.Endpoints {
		if ip, err := netip.ParseAddr(ep.Address); err == nil && ip.Is4() != (qtype == "A") {
			continue
		}
		switch {
		case ep.Serving:
			e.Answer = append(e.Answer, ep.Address)
			tier := ep.Priority
			e.Tier = &tier
		case ep.Override != nil:
			e.LeftOut = append(e.LeftOut, api.LeftOut{Address: ep.Address, Reason: "override " + ep.Override.State})
		case ep.State == "down":
			e.LeftOut = append(e.LeftOut, api.LeftOut{Address: ep.Address, Reason: "down: " + ep.LastProbe.Error})
		default:
			e.LeftOut = append(e.LeftOut, api.LeftOut{Address: ep.Address, Reason: fmt.Sprintf("priority %d is not answered", ep.Priority)})
		}
	}
	reply(w, http.StatusOK, e)
}

// scope is the override key of a request, checking that the address is an
// endpoint where it asks; f.mu is held.
func (f *fakeAPI) scope(w http.ResponseWriter, r *http.Request) (string, string, bool) {
	address := r.PathValue("address")
	if r.PathValue("name") == "" {
		for _, n := range f.names {
			for _, e := range n.Endpoints {
				if e.Address == address {
					return "*", address, true
				}
			}
		}
		fail(w, http.StatusNotFound, address+" is no endpoint of any name")
		return "", "", false
	}
	n, ok := f.lookup(w, r.PathValue("name"))
	if !ok {
		return "", "", false
	}
	for _, e := range n.Endpoints {
		if e.Address == address {
			return n.Name, address, true
		}
	}
	fail(w, http.StatusNotFound, address+" is not an endpoint of "+n.Name)
	return "", "", false
}

func (f *fakeAPI) setOverride(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var req api.OverrideRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || (req.State != "up" && req.State != "down" && req.State != "drain") {
		fail(w, http.StatusBadRequest, "state must be up, down or drain")
		return
	}
	name, address, ok := f.scope(w, r)
	if !ok {
		return
	}
	now := time.Now().UTC()
	o := api.Override{Name: name, Address: address, State: req.State, Reason: req.Reason, SetAt: now}
	if req.State == "drain" {
		safe := now.Add(f.settle)
		o.DrainedAt, o.SafeAt = &now, &safe
	}
	f.overrides[[2]string{name, address}] = o
	reply(w, http.StatusOK, o)
}

func (f *fakeAPI) clearOverride(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	name, address, ok := f.scope(w, r)
	if !ok {
		return
	}
	key := [2]string{name, address}
	_, had := f.overrides[key]
	delete(f.overrides, key)
	reply(w, http.StatusOK, api.Cleared{Cleared: had})
}

func (f *fakeAPI) setTTL(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	n, ok := f.lookup(w, r.PathValue("name"))
	if !ok {
		return
	}
	var req api.TTLRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.TTL == 0 {
		fail(w, http.StatusBadRequest, "ttl must be a number of seconds above 0")
		return
	}
	d, err := time.ParseDuration(req.For)
	if err != nil || d <= 0 {
		fail(w, http.StatusBadRequest, "for must be a duration such as 30m")
		return
	}
	now := time.Now().UTC()
	t := api.TTL{Name: n.Name, TTL: req.TTL, NormalTTL: f.names[n.Name].TTL, SetAt: now, Until: now.Add(d), CutoverReadyAt: now.Add(f.settle)}
	f.ttls[n.Name] = t
	reply(w, http.StatusOK, t)
}

func (f *fakeAPI) clearTTL(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	n, ok := f.lookup(w, r.PathValue("name"))
	if !ok {
		return
	}
	_, had := f.ttls[n.Name]
	delete(f.ttls, n.Name)
	reply(w, http.StatusOK, api.Cleared{Cleared: had})
}

// failback ends a pending failback when the name's first choice is up, and
// answers with the first choice from then on.
func (f *fakeAPI) failback(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	n, ok := f.lookup(w, r.PathValue("name"))
	if !ok {
		return
	}
	var req api.FailbackRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil && err != io.EOF {
		fail(w, http.StatusBadRequest, "bad request body: "+err.Error())
		return
	}
	held, ok := f.pending[n.Name]
	if !ok {
		fail(w, http.StatusConflict, n.Name+" has no failback pending")
		return
	}
	first := f.names[n.Name]
	first.FailedOver, first.Answer = false, api.Answer{}
	eps := slices.Clone(first.Endpoints)
	for i := range eps {
		e := &eps[i]
		if e.Priority != 1 {
			e.Serving = false
			continue
		}
		if e.State == "down" {
			fail(w, http.StatusConflict, "its first choice is still down; failing back now would fail over again")
			return
		}
		e.Serving = true
		first.Answer.A = append(first.Answer.A, e.Address)
	}
	first.Endpoints = eps
	f.names[n.Name] = first
	delete(f.pending, n.Name)
	reply(w, http.StatusOK, api.FailbackResult{Name: n.Name, Answer: first.Answer, At: time.Now().UTC(), Reason: req.Reason, Held: held})
}

// hold makes name wait for an operator before it fails back.
func (f *fakeAPI) hold(name string, p api.FailbackPending) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pending[name] = p
}

// override is the override stored under name ("*" for every name) and address.
func (f *fakeAPI) override(name, address string) (api.Override, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	o, ok := f.overrides[[2]string{name, address}]
	return o, ok
}

// moveSafeAt moves a drain's safe_at as a longer TTL would, keeping the drain.
func (f *fakeAPI) moveSafeAt(name, address string, at time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	key := [2]string{name, address}
	o := f.overrides[key]
	o.SafeAt = &at
	f.overrides[key] = o
}

// The fixtures: www is healthy, api has failed over to its backup, geo routes by country.

var probeTime = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func up(address string, priority int, serving bool) api.Endpoint {
	since := probeTime.Add(-time.Hour)
	return api.Endpoint{
		Address: address, State: "up", Serving: serving, Check: "http://" + address + "/health",
		Priority: priority, Weight: 1,
		LastProbe: &api.Probe{At: probeTime, Result: "success", DurationSeconds: 0.012},
		Streak:    &api.Streak{Result: "success", Count: 5},
		Since:     &since,
		History:   []api.Change{{At: since, From: "unknown", To: "up", Reason: "first probe succeeded"}},
	}
}

func wwwName() api.Name {
	return api.Name{
		Name: "www.example.org.", Policy: "active-passive", TTL: 60,
		Answer:    api.Answer{A: []string{"192.0.2.10"}, AAAA: []string{"2001:db8::10"}},
		Endpoints: []api.Endpoint{up("192.0.2.10", 1, true), up("192.0.2.20", 2, false), up("2001:db8::10", 1, true)},
	}
}

func apiName() api.Name {
	down := up("198.51.100.10", 1, false)
	down.State = "down"
	down.LastProbe = &api.Probe{At: probeTime, Result: "timeout", Error: "dial tcp 198.51.100.10:443: i/o timeout", DurationSeconds: 2}
	down.Streak = &api.Streak{Result: "failure", Count: 3}
	down.History = append(down.History, api.Change{At: probeTime, From: "up", To: "down", Reason: "3 probes failed"})
	return api.Name{
		Name: "api.example.org.", Policy: "active-passive", TTL: 60, FailedOver: true,
		Answer:    api.Answer{A: []string{"198.51.100.20"}},
		Endpoints: []api.Endpoint{down, up("198.51.100.20", 2, true)},
	}
}

// heldName failed over when its primary went down; the primary is up again,
// and failback manual keeps the backup answering.
func heldName() api.Name {
	n := apiName()
	n.Name = "held.example.org."
	n.Endpoints[0] = up("198.51.100.10", 1, false)
	return n
}

func geoName() api.Name {
	return api.Name{
		Name: "geo.example.org.", Policy: "geo", TTL: 30,
		Answer:    api.Answer{A: []string{"203.0.113.20"}},
		Endpoints: []api.Endpoint{up("203.0.113.10", 1, true), up("203.0.113.20", 2, false)},
	}
}
