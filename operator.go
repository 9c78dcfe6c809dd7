package failover

import (
	"fmt"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/miekg/dns"

	"github.com/failover-dns/failover/plugin/api"
	"github.com/failover-dns/failover/plugin/control"
)

// operator is the API's view of the server blocks on one listener.
type operator struct{ l *listener }

// Longest a TTL may stay lowered: a forgotten one should not last for ever.
const maxLoweredFor = 7 * 24 * time.Hour

// wholeSecond is added to every "no cache holds it after" date. Caches such
// as unbound count a TTL from the whole second they took a record in and
// answer it until that count's last second is over: up to a second longer
// than the TTL from the moment it was answered.
const wholeSecond = time.Second

// holdsUntil is when no cache holds a record answered with ttl up to at.
func holdsUntil(at time.Time, ttl uint32) time.Time {
	return at.Truncate(time.Second).Add(time.Duration(ttl)*time.Second + wholeSecond)
}

func notFound(format string, args ...any) error {
	return &api.Problem{Status: http.StatusNotFound, Message: fmt.Sprintf(format, args...)}
}

func badRequest(format string, args ...any) error {
	return &api.Problem{Status: http.StatusBadRequest, Message: fmt.Sprintf(format, args...)}
}

// find is the newest server block that manages name.
func (o operator) find(name string) (*Failover, *entry) {
	for _, f := range o.l.handlers() {
		if e := f.names[name]; e != nil {
			return f, e
		}
	}
	return nil, nil
}

func (o operator) Names() []string {
	seen := map[string]bool{}
	var out []string
	for _, f := range o.l.handlers() {
		for n := range f.names {
			if !seen[n] {
				seen[n] = true
				out = append(out, n)
			}
		}
	}
	slices.Sort(out)
	return out
}

func (o operator) Cluster() *api.Cluster {
	for _, f := range o.l.handlers() {
		if f.votes != nil {
			st := f.votes.Status()
			return &api.Cluster{Node: st.Node, Connected: st.Connected, Since: st.Since.UTC(), Members: st.Members,
				LeaseSeconds: st.Lease.Seconds(), LastError: st.LastError}
		}
	}
	return nil
}

func (o operator) Name(name string) (api.Name, bool) {
	_, e := o.find(name)
	if e == nil {
		return api.Name{}, false
	}
	return nameStatus(e.m, time.Now()), true
}

func (o operator) Explain(name string, client netip.Addr, qtype uint16) (api.Explanation, error) {
	_, e := o.find(name)
	if e == nil {
		return api.Explanation{}, notFound("%s is not a managed name here", name)
	}
	return explain(e.m, client, qtype), nil
}

// canonical writes an address as the configuration does.
func canonical(address string) string {
	if ip, err := netip.ParseAddr(address); err == nil {
		return ip.Unmap().String()
	}
	return dns.Fqdn(strings.ToLower(address))
}

// endpointOf finds address among m's endpoints.
func endpointOf(m *managed, address string) *endpoint {
	for _, ep := range m.endpoints {
		if ep.cfg.Address == address {
			return ep
		}
	}
	return nil
}

// holders lists the names of the listener that have address, each with the
// book that keeps its overrides.
func (o operator) holders(address string) []*managed {
	seen := map[string]bool{}
	var out []*managed
	for _, f := range o.l.handlers() {
		for _, m := range f.stanzas {
			if !seen[m.cfg.Names[0]] && endpointOf(m, address) != nil {
				seen[m.cfg.Names[0]] = true
				out = append(out, m)
			}
		}
	}
	return out
}

// targets resolves an override's name and address to the names it acts on.
func (o operator) targets(name, address string) ([]*managed, control.Key, error) {
	address = canonical(address)
	if name == "" {
		ms := o.holders(address)
		if len(ms) == 0 {
			return nil, control.Key{}, notFound("no managed name here has an endpoint %s", address)
		}
		return ms, control.Key{Name: control.Every, Address: address}, nil
	}
	_, e := o.find(name)
	if e == nil {
		return nil, control.Key{}, notFound("%s is not a managed name here", name)
	}
	if endpointOf(e.m, address) == nil {
		return nil, control.Key{}, notFound("%s has no endpoint %s; its endpoints are %s", name, address, endpointList(e.m))
	}
	return []*managed{e.m}, control.Key{Name: name, Address: address}, nil
}

func endpointList(m *managed) string {
	var out []string
	for _, ep := range m.endpoints {
		out = append(out, ep.cfg.Address)
	}
	return strings.Join(out, ", ")
}

// distinctBooks lists the books of ms once each.
func distinctBooks(ms []*managed) []*control.Book {
	var out []*control.Book
	for _, m := range ms {
		if m.book != nil && !slices.Contains(out, m.book) {
			out = append(out, m.book)
		}
	}
	return out
}

func (o operator) SetOverride(name, address string, req api.OverrideRequest) (api.Override, error) {
	st, err := control.ParseState(req.State)
	if err != nil {
		return api.Override{}, badRequest("%v", err)
	}
	if err := checkReason(req.Reason); err != nil {
		return api.Override{}, err
	}
	ms, key, err := o.targets(name, address)
	if err != nil {
		return api.Override{}, err
	}
	now := time.Now().UTC().Truncate(time.Second)
	ov := control.Override{State: st, Reason: req.Reason, SetAt: now}
	if st == control.Drain {
		ov.SafeAt = safeAfter(ms, now)
	}
	for _, b := range distinctBooks(ms) {
		if err := b.SetOverride(key, ov); err != nil {
			return api.Override{}, err
		}
	}
	log.Infof("override: %s %s %s (%s), set through the API", key.Name, key.Address, st, req.Reason) // reason: one line, checked above
	return overrideJSON(key, ov, ov.SafeAt), nil
}

func (o operator) ClearOverride(name, address string) (bool, error) {
	ms, key, err := o.targets(name, address)
	if err != nil {
		return false, err
	}
	cleared := false
	for _, b := range distinctBooks(ms) {
		ok, err := b.ClearOverride(key)
		if err != nil {
			return false, err
		}
		cleared = cleared || ok
	}
	if cleared {
		log.Infof("override: %s %s cleared through the API", key.Name, key.Address)
	}
	return cleared, nil
}

// safeAfter is when no cache can hold a record of ms's names answered
// before now: now plus the TTL answered now (and a second, see
// wholeSecond), and not before the end of a TTL lowering's cutover, until
// which the normal TTL may still be cached.
func safeAfter(ms []*managed, now time.Time) time.Time {
	safe := now
	for _, m := range ms {
		t := holdsUntil(now, m.answeredTTL())
		if snap := m.controls(); snap != nil {
			if lowered, ok := snap.TTL(m.cfg.Names[0], now); ok && lowered.CutoverReadyAt.After(t) {
				t = lowered.CutoverReadyAt
			}
		}
		if t.After(safe) {
			safe = t
		}
	}
	return safe
}

// answeredTTL is the TTL of the records the current view answers with.
func (m *managed) answeredTTL() uint32 { return m.view.Load().ttl }

func (o operator) SetTTL(name string, req api.TTLRequest) (api.TTL, error) {
	_, e := o.find(name)
	if e == nil {
		return api.TTL{}, notFound("%s is not a managed name here", name)
	}
	m := e.m
	if m.book == nil {
		return api.TTL{}, notFound("%s has no state to keep a TTL in", name)
	}
	if req.TTL < 1 || req.TTL > m.cfg.TTL {
		return api.TTL{}, badRequest("ttl %d: a temporary TTL lowers the configured %d; allowed are 1 to %d", req.TTL, m.cfg.TTL, m.cfg.TTL)
	}
	d, err := time.ParseDuration(req.For)
	if err != nil || d <= 0 || d > maxLoweredFor {
		return api.TTL{}, badRequest("for %q: a duration such as 30m, at most %s", req.For, maxLoweredFor)
	}
	now := time.Now().UTC().Truncate(time.Second)
	// Until every record answered before now has expired, caches may hold
	// the TTL answered now; a lowering already under way keeps its date.
	ready := holdsUntil(now, m.answeredTTL())
	if prev, ok := m.controls().TTL(name, now); ok && prev.CutoverReadyAt.After(ready) {
		ready = prev.CutoverReadyAt
	}
	t := control.TTL{TTL: req.TTL, Normal: m.cfg.TTL, SetAt: now, Until: now.Add(d), CutoverReadyAt: ready}
	if err := m.book.SetTTL(name, t); err != nil {
		return api.TTL{}, err
	}
	log.Infof("ttl: %s answered with TTL %d until %s (cutover ready at %s), set through the API", name, t.TTL, stamp(t.Until), stamp(ready))
	return ttlJSON(name, t), nil
}

func (o operator) ClearTTL(name string) (bool, error) {
	_, e := o.find(name)
	if e == nil {
		return false, notFound("%s is not a managed name here", name)
	}
	if e.m.book == nil {
		return false, nil
	}
	ok, err := e.m.book.ClearTTL(name)
	if ok {
		log.Infof("ttl: %s answered with its configured TTL %d again, through the API", name, e.m.cfg.TTL)
	}
	return ok, err
}

func (o operator) Alerts(alerts []api.Alert) api.AlertResult {
	var res api.AlertResult
	for _, a := range alerts {
		name := ""
		if a.Name != "" {
			name = dns.Fqdn(strings.ToLower(a.Name))
		}
		ms, key, err := o.targets(name, a.Endpoint)
		if err != nil {
			res.Ignored = append(res.Ignored, fmt.Sprintf("%s: %v", a.Alert, err))
			continue
		}
		for _, b := range distinctBooks(ms) {
			if a.Firing {
				b.Fire(key, control.Signal{Alert: a.Alert, Key: a.Key, Since: a.Since})
			} else {
				b.Resolve(key, a.Key)
			}
		}
		verb := "resolved: clears"
		if a.Firing {
			verb = "firing: holds down"
		}
		log.Infof("alert %q %s %s in %s", a.Alert, verb, key.Address, key.Name) // quoted: labels are outside text
		res.Applied++
	}
	return res
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// Failback ends a failback manual hold: the name returns to its first
// choice, which must be healthy again.
func (o operator) Failback(name, reason string) (api.FailbackResult, error) {
	_, e := o.find(name)
	if e == nil {
		return api.FailbackResult{}, notFound("%s is not a managed name here", name)
	}
	m := e.m
	if err := checkReason(reason); err != nil {
		return api.FailbackResult{}, err
	}
	var h control.Hold
	ok := false
	if m.book != nil {
		h, ok = m.controls().Hold(name)
	}
	if !ok {
		return api.FailbackResult{}, &api.Problem{Status: http.StatusConflict, Message: name + " has no failback pending: it answers its first choice"}
	}
	if !m.firstChoiceUp() {
		return api.FailbackResult{}, &api.Problem{Status: http.StatusConflict, Message: name + ": its first choice is still down; failing back now would fail over again"}
	}
	if _, err := m.book.ClearHold(name); err != nil {
		return api.FailbackResult{}, err
	}
	now := time.Now().UTC()
	log.Infof("failback: %s returns to its first choice (%s), confirmed through the API%s", name, describe(m), withReasonSuffix(reason))
	return api.FailbackResult{Name: name, Answer: nameStatus(m, now).Answer, At: now, Reason: reason,
		Held: api.FailbackPending{Since: h.Since.UTC(), Reason: h.Reason}}, nil
}

func withReasonSuffix(reason string) string {
	if reason == "" {
		return ""
	}
	return " (" + reason + ")"
}

// checkReason keeps a reason to one line of at most 1024 bytes: it goes
// into log lines and the state file.
func checkReason(reason string) error {
	if len(reason) > 1024 || strings.ContainsAny(reason, "\n\r") {
		return badRequest("reason must be one line of at most 1024 bytes")
	}
	return nil
}
