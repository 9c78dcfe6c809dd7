package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/failover-dns/failover/plugin/api"
)

// maxBody bounds an answer, so that an address that turns out to serve
// something else cannot fill memory.
const maxBody = 8 << 20

// client speaks the operator API.
type client struct {
	base    string // scheme, host and any path prefix, without a final slash
	token   string
	timeout time.Duration
	http    *http.Client
}

func newClient(addr, token string, timeout time.Duration) (*client, error) {
	raw := strings.TrimSpace(addr)
	if !strings.Contains(raw, "://") {
		raw = "http://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") || u.RawQuery != "" || u.Fragment != "" {
		return nil, usagef("API address %q is not http(s)://HOST:PORT or HOST:PORT", addr)
	}
	return &client{
		base:    strings.TrimSuffix(u.String(), "/"),
		token:   token,
		timeout: timeout,
		http: &http.Client{
			// The API never redirects; following one could carry the
			// token somewhere it was not meant for.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}, nil
}

// apiError is an answer with a 4xx or 5xx status.
type apiError struct {
	status  int
	message string
}

func (e *apiError) Error() string {
	msg := fmt.Sprintf("%s (HTTP %d)", e.message, e.status)
	switch e.status {
	case http.StatusUnauthorized:
		msg += "; set FAILOVER_TOKEN or --token-file to the server's token"
	case http.StatusForbidden:
		msg += "; the server has no api_token, so it serves loopback clients only"
	}
	return msg
}

// do sends one request with body, if not nil, as JSON, and decodes the JSON
// object it gets back into out, returning that object as it came.
func (c *client) do(ctx context.Context, method, path string, query url.Values, body, out any) (json.RawMessage, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	target := c.base + path
	if len(query) > 0 {
		target += "?" + query.Encode()
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, target, rd)
	if err != nil {
		return nil, usagef("%v", err)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "failoverctl")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, c.unreachable(ctx, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return nil, c.unreachable(ctx, err)
	}
	if len(raw) > maxBody {
		return nil, fmt.Errorf("%s %s: the answer is larger than %d MiB", method, path, maxBody>>20)
	}
	if resp.StatusCode >= 400 {
		msg := http.StatusText(resp.StatusCode)
		var e api.Error
		if json.Unmarshal(raw, &e) == nil && e.Error != "" {
			msg = e.Error
		}
		return nil, &apiError{status: resp.StatusCode, message: msg}
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, fmt.Errorf("%s %s: unexpected HTTP %d", method, path, resp.StatusCode)
	}
	// Every answer is an object; anything else is not this API speaking.
	if t := bytes.TrimSpace(raw); len(t) == 0 || t[0] != '{' || json.Unmarshal(t, out) != nil {
		return nil, fmt.Errorf("%s %s: the answer is not the API's JSON", method, path)
	}
	return raw, nil
}

func (c *client) unreachable(ctx context.Context, err error) error {
	var u *url.Error
	if errors.As(err, &u) {
		err = u.Err
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("no answer from the API at %s within %s", c.base, c.timeout)
	}
	return fmt.Errorf("cannot reach the API at %s: %v", c.base, err)
}

func namePath(name string) string { return "/v1/names/" + url.PathEscape(name) }

// overridePath is the override of address in name, or in every name when name is "".
func overridePath(name, address string) string {
	if name == "" {
		return "/v1/endpoints/" + url.PathEscape(address) + "/override"
	}
	return namePath(name) + "/endpoints/" + url.PathEscape(address) + "/override"
}

func (c *client) status(ctx context.Context) (api.Status, error) {
	var st api.Status
	_, err := c.do(ctx, http.MethodGet, "/v1/status", nil, nil, &st)
	return st, err
}

func (c *client) name(ctx context.Context, name string) (api.Name, json.RawMessage, error) {
	var n api.Name
	raw, err := c.do(ctx, http.MethodGet, namePath(name), nil, nil, &n)
	return n, raw, err
}

func (c *client) explain(ctx context.Context, name string, q url.Values) (api.Explanation, json.RawMessage, error) {
	var e api.Explanation
	raw, err := c.do(ctx, http.MethodGet, namePath(name)+"/answer", q, nil, &e)
	return e, raw, err
}

func (c *client) setOverride(ctx context.Context, name, address string, req api.OverrideRequest) (api.Override, error) {
	var o api.Override
	_, err := c.do(ctx, http.MethodPut, overridePath(name, address), nil, req, &o)
	return o, err
}

func (c *client) clearOverride(ctx context.Context, name, address string) (api.Cleared, error) {
	var cl api.Cleared
	_, err := c.do(ctx, http.MethodDelete, overridePath(name, address), nil, nil, &cl)
	return cl, err
}

func (c *client) setTTL(ctx context.Context, name string, req api.TTLRequest) (api.TTL, error) {
	var t api.TTL
	_, err := c.do(ctx, http.MethodPut, namePath(name)+"/ttl", nil, req, &t)
	return t, err
}

func (c *client) clearTTL(ctx context.Context, name string) (api.Cleared, error) {
	var cl api.Cleared
	_, err := c.do(ctx, http.MethodDelete, namePath(name)+"/ttl", nil, nil, &cl)
	return cl, err
}

func (c *client) failback(ctx context.Context, name string, req api.FailbackRequest) (api.FailbackResult, error) {
	var f api.FailbackResult
	_, err := c.do(ctx, http.MethodPost, namePath(name)+"/failback", nil, req, &f)
	return f, err
}
