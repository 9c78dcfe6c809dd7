package api

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestFailbackRoute(t *testing.T) {
	for _, c := range []struct {
		what, target, body string
		want               int
		reasons            []string // what the backend was given; nil when refused before it
	}{
		{"an empty body", "/v1/names/www.example.org/failback", "", 200, []string{""}},
		{"white space", "/v1/names/www.example.org./failback", " \r\n\t", 200, []string{""}},
		{"an empty object", "/v1/names/WWW.example.org/failback", "{}", 200, []string{""}},
		{"a reason", "/v1/names/www.example.org/failback", `{"reason":"fixed by deploy 42"}`, 200, []string{"fixed by deploy 42"}},
		{"an unknown field", "/v1/names/www.example.org/failback", `{"reason":"x","force":true}`, 400, nil},
		{"two objects", "/v1/names/www.example.org/failback", `{"reason":"a"}{"reason":"b"}`, 400, nil},
		{"not an object", "/v1/names/www.example.org/failback", `"now"`, 400, nil},
		{"too large", "/v1/names/www.example.org/failback", `{"reason":"` + strings.Repeat("x", maxBody) + `"}`, 400, nil},
	} {
		t.Run(c.what, func(t *testing.T) {
			b := &recordingBackend{}
			w := serve(NewHandler(b), "POST", c.target, "127.0.0.1:1", "", c.body)
			if w.Code != c.want {
				t.Fatalf("Expected %d, got %d: %s", c.want, w.Code, w.Body)
			}
			if strings.Join(b.failbacks, "|") != strings.Join(c.reasons, "|") || len(b.failbacks) != len(c.reasons) {
				t.Errorf("Expected the backend given %q, got %q", c.reasons, b.failbacks)
			}
			if c.want != 200 {
				var e Error
				if json.Unmarshal(w.Body.Bytes(), &e) != nil || e.Error == "" {
					t.Errorf("Expected a JSON error, got %s", w.Body)
				}
				return
			}
			var res FailbackResult
			if err := json.Unmarshal(w.Body.Bytes(), &res); err != nil || res.Name != "www.example.org." {
				t.Errorf("Expected the result about www.example.org., got %v %s", err, w.Body)
			}
		})
	}
}

func TestFailbackProblems(t *testing.T) {
	for _, p := range []*Problem{
		{Status: http.StatusNotFound, Message: "nosuch.example.org. is not a managed name here"},
		{Status: http.StatusConflict, Message: "www.example.org. has no failback pending"},
		{Status: http.StatusConflict, Message: "its first choice is still down; failing back now would fail over again"},
	} {
		b := &recordingBackend{failbackErr: p}
		w := serve(NewHandler(b), "POST", "/v1/names/www.example.org/failback", "127.0.0.1:1", "", "")
		var e Error
		json.Unmarshal(w.Body.Bytes(), &e)
		if w.Code != p.Status || e.Error != p.Message {
			t.Errorf("Expected %d %q, got %d %s", p.Status, p.Message, w.Code, w.Body)
		}
	}
}

// A failback is a change: it takes the token and refuses other sites' pages.
func TestFailbackIsAChange(t *testing.T) {
	const path = "/v1/names/www.example.org/failback"
	for _, c := range []struct {
		what, token, auth, site string
		want                    int
	}{
		{"token: loopback without it", "s3cret", "", "", 401},
		{"token: loopback with it", "s3cret", "Bearer s3cret", "", 200},
		{"no token: loopback", "", "", "", 200},
		{"no token: a page of another site", "", "", "cross-site", 403},
		{"token: a page of another site with it", "s3cret", "Bearer s3cret", "cross-site", 403},
		{"no token: this page", "", "", "same-origin", 200},
	} {
		t.Run(c.what, func(t *testing.T) {
			b := &recordingBackend{}
			h := NewHandler(b)
			h.SetToken(c.token)
			r := httptest.NewRequest("POST", path, nil)
			r.RemoteAddr, r.Host = "127.0.0.1:5000", "127.0.0.1:8054"
			if c.auth != "" {
				r.Header.Set("Authorization", c.auth)
			}
			if c.site != "" {
				r.Header.Set("Sec-Fetch-Site", c.site)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != c.want {
				t.Fatalf("Expected %d, got %d: %s", c.want, w.Code, w.Body)
			}
			if c.want != 200 && len(b.failbacks) != 0 {
				t.Errorf("Expected a refused failback to reach no backend, got %q", b.failbacks)
			}
		})
	}
	if w := serve(NewHandler(&recordingBackend{}), "GET", path, "127.0.0.1:1", "", ""); w.Code != 404 {
		t.Errorf("Expected GET of the failback refused as no such method, got %d", w.Code)
	}
}
