package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"strings"

	"github.com/miekg/dns"
)

// Request bodies are small; a webhook carries a group of alerts.
const (
	maxBody        = 16 << 10
	maxWebhookBody = 4 << 20
)

// Handler serves the API and the status page for one listener.
type Handler struct {
	backend Backend
	guard   guard
	mux     *http.ServeMux
	// A browser may send a page's POST to the API without asking first,
	// loopback included: changes from another site's pages are refused.
	sameOrigin http.CrossOriginProtection
}

// NewHandler serves b.
func NewHandler(b Backend) *Handler {
	h := &Handler{backend: b, mux: http.NewServeMux()}
	h.mux.HandleFunc("GET /{$}", h.read(h.page))
	h.mux.HandleFunc("GET /v1/status", h.read(h.status))
	h.mux.HandleFunc("GET /v1/names/{name}", h.read(h.name))
	h.mux.HandleFunc("GET /v1/names/{name}/answer", h.read(h.explain))
	h.mux.HandleFunc("PUT /v1/names/{name}/endpoints/{address}/override", h.change(h.putOverride))
	h.mux.HandleFunc("DELETE /v1/names/{name}/endpoints/{address}/override", h.change(h.deleteOverride))
	h.mux.HandleFunc("PUT /v1/endpoints/{address}/override", h.change(h.putOverride))
	h.mux.HandleFunc("DELETE /v1/endpoints/{address}/override", h.change(h.deleteOverride))
	h.mux.HandleFunc("PUT /v1/names/{name}/ttl", h.change(h.putTTL))
	h.mux.HandleFunc("DELETE /v1/names/{name}/ttl", h.change(h.deleteTTL))
	h.mux.HandleFunc("POST /v1/names/{name}/failback", h.change(h.postFailback))
	h.mux.HandleFunc("POST /v1/alertmanager", h.change(h.alertmanager))
	return h
}

// SetToken sets the token that changes need; "" for none.
func (h *Handler) SetToken(token string) { h.guard.set(token) }

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	// The mux answers unknown paths and methods in plain text; the API's
	// clients expect JSON errors everywhere.
	if _, pattern := h.mux.Handler(r); pattern == "" {
		if status, msg := h.guard.check(r, false); status != 0 {
			fail(w, status, msg)
			return
		}
		fail(w, http.StatusNotFound, fmt.Sprintf("no such resource or method: %s %s", r.Method, r.URL.Path))
		return
	}
	h.mux.ServeHTTP(w, r)
}

func (h *Handler) read(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if status, msg := h.guard.check(r, false); status != 0 {
			fail(w, status, msg)
			return
		}
		next(w, r)
	}
}

func (h *Handler) change(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if status, msg := h.guard.check(r, true); status != 0 {
			fail(w, status, msg)
			return
		}
		if err := h.sameOrigin.Check(r); err != nil {
			fail(w, http.StatusForbidden, "refused a change from a cross-origin browser request: "+err.Error())
			return
		}
		next(w, r)
	}
}

func (h *Handler) status(w http.ResponseWriter, r *http.Request) {
	reply(w, Status{Names: nonNil(h.backend.Names()), Cluster: h.backend.Cluster()})
}

func (h *Handler) name(w http.ResponseWriter, r *http.Request) {
	n, ok := h.backend.Name(pathName(r))
	if !ok {
		fail(w, http.StatusNotFound, fmt.Sprintf("%s is not a managed name here", pathName(r)))
		return
	}
	reply(w, n)
}

func (h *Handler) explain(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	client := netip.IPv4Unspecified()
	if c := q.Get("client"); c != "" {
		ip, err := netip.ParseAddr(c)
		if err != nil || ip.Zone() != "" {
			fail(w, http.StatusBadRequest, fmt.Sprintf("client %q is not an IP address", c))
			return
		}
		client = ip.Unmap()
	}
	qtype := dns.TypeA
	if t := q.Get("type"); t != "" {
		var ok bool
		if qtype, ok = dns.StringToType[strings.ToUpper(t)]; !ok {
			fail(w, http.StatusBadRequest, fmt.Sprintf("type %q is not a DNS type such as A or AAAA", t))
			return
		}
	}
	answer(w, func() (any, error) { return h.backend.Explain(pathName(r), client, qtype) })
}

func (h *Handler) putOverride(w http.ResponseWriter, r *http.Request) {
	var req OverrideRequest
	if !decode(w, r, maxBody, &req) {
		return
	}
	answer(w, func() (any, error) { return h.backend.SetOverride(pathName(r), pathAddress(r), req) })
}

func (h *Handler) deleteOverride(w http.ResponseWriter, r *http.Request) {
	answer(w, func() (any, error) {
		ok, err := h.backend.ClearOverride(pathName(r), pathAddress(r))
		return Cleared{Cleared: ok}, err
	})
}

func (h *Handler) putTTL(w http.ResponseWriter, r *http.Request) {
	var req TTLRequest
	if !decode(w, r, maxBody, &req) {
		return
	}
	answer(w, func() (any, error) { return h.backend.SetTTL(pathName(r), req) })
}

func (h *Handler) deleteTTL(w http.ResponseWriter, r *http.Request) {
	answer(w, func() (any, error) {
		ok, err := h.backend.ClearTTL(pathName(r))
		return Cleared{Cleared: ok}, err
	})
}

func (h *Handler) postFailback(w http.ResponseWriter, r *http.Request) {
	var req FailbackRequest
	if !decodeOptional(w, r, maxBody, &req) {
		return
	}
	answer(w, func() (any, error) { return h.backend.Failback(pathName(r), req.Reason) })
}

func (h *Handler) alertmanager(w http.ResponseWriter, r *http.Request) {
	var hook webhook
	r.Body = http.MaxBytesReader(w, r.Body, maxWebhookBody)
	if err := json.NewDecoder(r.Body).Decode(&hook); err != nil {
		fail(w, http.StatusBadRequest, "not an Alertmanager webhook payload: "+bodyError(err))
		return
	}
	if hook.Version != "4" {
		fail(w, http.StatusBadRequest, fmt.Sprintf("webhook version %q; this receiver reads version 4", hook.Version))
		return
	}
	alerts, ignored := hook.alerts()
	res := h.backend.Alerts(alerts)
	res.Ignored = nonNil(append(ignored, res.Ignored...))
	reply(w, res)
}

// pathName is the {name} of the path, "" for the paths about every name.
func pathName(r *http.Request) string {
	n := strings.ToLower(r.PathValue("name"))
	if n != "" && !strings.HasSuffix(n, ".") {
		n += "."
	}
	return n
}

func pathAddress(r *http.Request) string { return strings.ToLower(r.PathValue("address")) }

// decode reads exactly one JSON object with known fields into v.
func decode(w http.ResponseWriter, r *http.Request, limit int64, v any) bool {
	r.Body = http.MaxBytesReader(w, r.Body, limit)
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		fail(w, http.StatusBadRequest, "bad request body: "+bodyError(err))
		return false
	}
	if _, err := dec.Token(); err != io.EOF {
		fail(w, http.StatusBadRequest, "bad request body: one JSON object expected, more follows")
		return false
	}
	return true
}

// decodeOptional is decode for a body that may be left out: an empty one,
// or one of JSON's white space only, leaves v as it is.
func decodeOptional(w http.ResponseWriter, r *http.Request, limit int64, v any) bool {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		fail(w, http.StatusBadRequest, "bad request body: "+bodyError(err))
		return false
	}
	if len(bytes.Trim(body, " \t\r\n")) == 0 {
		return true
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	return decode(w, r, limit, v)
}

func bodyError(err error) string {
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return fmt.Sprintf("larger than %d bytes", tooBig.Limit)
	}
	if errors.Is(err, io.EOF) {
		return "empty"
	}
	return err.Error()
}

// answer replies with what do returns, or with its error's status.
func answer(w http.ResponseWriter, do func() (any, error)) {
	v, err := do()
	if err != nil {
		var p *Problem
		if errors.As(err, &p) {
			fail(w, p.Status, p.Message)
			return
		}
		fail(w, http.StatusInternalServerError, err.Error())
		return
	}
	reply(w, v)
}

func reply(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

func fail(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(Error{Error: msg})
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
