package probe

import (
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// weightCase is one response and the weight a probe should read from it;
// problem is the whole problem text, "" for a weight.
type weightCase struct {
	name    string
	value   string
	weight  uint32
	problem string
}

func checkWeight(t *testing.T, tc weightCase, r Result) {
	t.Helper()
	if !r.OK() {
		t.Fatalf("%s: expected the probe to pass, got %s: %s", tc.name, r.Kind, r.Reason())
	}
	wantOK := tc.problem == ""
	if r.WeightOK != wantOK || r.Weight != tc.weight || r.WeightProblem != tc.problem {
		t.Errorf("%s: expected weight %d (ok %v, problem %q), got %d (ok %v, problem %q)",
			tc.name, tc.weight, wantOK, tc.problem, r.Weight, r.WeightOK, r.WeightProblem)
	}
}

func TestWeightFromHeader(t *testing.T) {
	cases := []weightCase{
		{"zero drains", "0", 0, ""},
		{"largest", "65535", 65535, ""},
		{"spaces", " 42 ", 42, ""},
		{"too large", "65536", 0, `header X-Weight holds "65536", more than the largest weight, 65535`},
		{"negative", "-1", 0, `header X-Weight holds "-1", a negative number; weights run from 0 to 65535`},
		{"letters", "abc", 0, `header X-Weight holds "abc", not a whole number from 0 to 65535`},
		{"number then letters", "12abc", 0, `header X-Weight holds "12abc", not a whole number from 0 to 65535`},
		{"empty", "", 0, "header X-Weight is empty"},
		{"missing", "", 0, "the response has no x-weight header"},
	}
	srv := quietServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if tc := casePath(r, cases); tc.name != "missing" {
			w.Header()["X-Weight"] = []string{tc.value}
		}
	}), nil)
	for i, tc := range cases {
		name := "X-Weight"
		if tc.name == "missing" {
			name = "x-weight" // named as written, case and all
		}
		tmpl, addr := checkURL(t, srv.URL, "/"+strconv.Itoa(i))
		checkWeight(t, tc, runProbe(t, Spec{URL: tmpl, WeightFrom: WeightSource{Header: name}}, addr))
	}
}

// casePath is the case that a request's path, /i, asks for.
func casePath(r *http.Request, cases []weightCase) weightCase {
	i, _ := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/"))
	return cases[i]
}

func TestWeightFromBody(t *testing.T) {
	cases := []weightCase{
		{"zero drains", "0\n", 0, ""},
		{"largest", "65535", 65535, ""},
		{"spaces and CRLF", "  42  \r\n rest", 42, ""},
		{"no newline", "7", 7, ""},
		{"too large", "65536\n", 0, `the body's first line holds "65536", more than the largest weight, 65535`},
		{"negative", "-1\n", 0, `the body's first line holds "-1", a negative number; weights run from 0 to 65535`},
		{"letters", "abc", 0, `the body's first line holds "abc", not a whole number from 0 to 65535`},
		{"number then letters", "12abc\n", 0, `the body's first line holds "12abc", not a whole number from 0 to 65535`},
		{"empty body", "", 0, "the body is empty"},
		{"empty first line", "\n42\n", 0, "the body's first line is empty"},
		{"long garbage", strings.Repeat("é", 30) + "\n", 0,
			`the body's first line holds "` + strings.Repeat("é", 20) + `"…, not a whole number from 0 to 65535`},
	}
	srv := quietServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, casePath(r, cases).value)
	}), nil)
	for i, tc := range cases {
		tmpl, addr := checkURL(t, srv.URL, "/"+strconv.Itoa(i))
		checkWeight(t, tc, runProbe(t, Spec{URL: tmpl, WeightFrom: WeightSource{Body: true}}, addr))
	}
}

func TestWeightOverHTTPS(t *testing.T) {
	srv := quietServer(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("X-Weight", "9")
	}), &tls.Config{})
	tmpl, addr := checkURL(t, srv.URL, "/health")
	r := runProbe(t, Spec{URL: tmpl, TLSSkipVerify: true, WeightFrom: WeightSource{Header: "X-Weight"}}, addr)
	checkWeight(t, weightCase{name: "https", weight: 9}, r)
}

// A status not in expect fails the probe, and a failed probe reports no
// weight, whatever the response says.
func TestWeightNotFromAFailedProbe(t *testing.T) {
	srv := quietServer(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("X-Weight", "10")
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, "10\n")
	}), nil)
	tmpl, addr := checkURL(t, srv.URL, "/health")
	for _, from := range []WeightSource{{Header: "X-Weight"}, {Body: true}} {
		r := runProbe(t, Spec{URL: tmpl, WeightFrom: from}, addr)
		if r.Kind != Status || r.WeightOK || r.WeightProblem != "" {
			t.Errorf("weight_from %s: expected a status failure without a weight, got %s, weight %d (ok %v, problem %q)",
				from, r.Kind, r.Weight, r.WeightOK, r.WeightProblem)
		}
	}
}

// With a body text the weight comes from the same read: the text may lie
// anywhere in the first MaxBody bytes, the weight on the first line.
func TestWeightWithBodyText(t *testing.T) {
	bodies := map[string]string{
		"/both":    "42\n" + strings.Repeat("x", 30<<10) + "status: healthy",
		"/no-text": "42\nstatus: degraded",
		"/garbage": "abc\nstatus: healthy",
	}
	srv := quietServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Weight", "5")
		io.WriteString(w, bodies[r.URL.Path])
	}), nil)
	probe := func(path string, from WeightSource) Result {
		tmpl, addr := checkURL(t, srv.URL, path)
		return runProbe(t, Spec{URL: tmpl, Body: "healthy", WeightFrom: from}, addr)
	}
	body := WeightSource{Body: true}
	checkWeight(t, weightCase{name: "body text and weight", weight: 42}, probe("/both", body))
	checkWeight(t, weightCase{name: "body text and header weight", weight: 5}, probe("/both", WeightSource{Header: "X-Weight"}))
	checkWeight(t, weightCase{name: "body text and a bad weight", problem: `the body's first line holds "abc", not a whole number from 0 to 65535`},
		probe("/garbage", body))
	if r := probe("/no-text", body); r.Kind != Body || r.WeightOK || r.WeightProblem != "" {
		t.Errorf("Expected a body failure without a weight, got %s, weight %d (ok %v, problem %q)",
			r.Kind, r.Weight, r.WeightOK, r.WeightProblem)
	}
}

// A body of one endless line is read to MaxBody and no further: the probe
// passes at once, without a weight, and hangs up.
func TestWeightFromHugeBody(t *testing.T) {
	checkLeaks(t)
	const size = 10 << 20
	stopped := make(chan error, 1)
	srv := quietServer(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		chunk := []byte(strings.Repeat("7", 32<<10))
		for written := 0; written < size; written += len(chunk) {
			if _, err := w.Write(chunk); err != nil {
				stopped <- err
				return
			}
		}
		stopped <- nil
	}), nil)
	tmpl, addr := checkURL(t, srv.URL, "/health")

	const timeout = 5 * time.Second
	start := time.Now()
	r := runProbe(t, Spec{URL: tmpl, Timeout: timeout, WeightFrom: WeightSource{Body: true}}, addr)
	elapsed := time.Since(start)
	checkWeight(t, weightCase{name: "10 MB line", problem: "the body's first line runs past 64 KiB"}, r)
	if elapsed >= timeout/2 {
		t.Errorf("Expected the probe to stop reading well before its %s timeout, took %s", timeout, elapsed)
	}
	select {
	case err := <-stopped:
		if err == nil {
			t.Errorf("Expected the prober to hang up, but the server wrote all %d bytes", size)
		}
	case <-time.After(5 * time.Second):
		t.Errorf("Expected the prober to hang up, but the server is still writing")
	}
}

// A body that stops before its first line ends gives no weight: what came
// may be the start of a longer number. The status still passes the probe.
func TestWeightFromCutBody(t *testing.T) {
	tests := []struct {
		name    string
		serve   func(c *net.TCPConn)
		problem string
	}{
		{"closed early", func(c *net.TCPConn) {
			defer c.Close()
			readRequest(c)
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n4")
		}, "the body ended early, before the end of its first line"},
		{"stalled", answer("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n4"),
			"reading the body's first line: timeout after " + waitTimeout.String()},
	}
	for _, tc := range tests {
		tmpl, addr := rawServer(t, tc.serve)
		r := runProbe(t, Spec{URL: tmpl, Timeout: waitTimeout, WeightFrom: WeightSource{Body: true}}, addr)
		checkWeight(t, weightCase{name: tc.name, problem: tc.problem}, r)
	}
}

func TestValidateWeightFrom(t *testing.T) {
	valid := []Spec{
		{URL: "tcp://{address}:443"},
		{URL: "http://{address}/weight", WeightFrom: WeightSource{Body: true}},
		{URL: "https://{address}/health", WeightFrom: WeightSource{Header: "X-Weight"}},
		{URL: "http://{address}/health", Invert: true},
	}
	for _, s := range valid {
		if err := ValidateWeightFrom(s); err != nil {
			t.Errorf("Expected weight_from %q on %q to be valid, got %s", s.WeightFrom, s.URL, err)
		}
		if _, err := New(s, "192.0.2.1"); err != nil {
			t.Errorf("Expected New to accept weight_from %q on %q, got %s", s.WeightFrom, s.URL, err)
		}
	}
	invalid := []struct {
		spec Spec
		want string
	}{
		{Spec{URL: "tcp://{address}:443", WeightFrom: WeightSource{Body: true}}, "weight_from needs an http:// or https:// check"},
		{Spec{URL: "tcp://{address}:443", WeightFrom: WeightSource{Header: "X-Weight"}}, "weight_from needs an http:// or https:// check"},
		{Spec{URL: "http://{address}/", WeightFrom: WeightSource{Header: "X-Weight", Body: true}}, "not both"},
		{Spec{URL: "http://{address}/", WeightFrom: WeightSource{Header: "X Weight"}}, `header "X Weight" is not a valid HTTP header name`},
		{Spec{URL: "http://{address}/", Invert: true, WeightFrom: WeightSource{Body: true}}, "cannot be used with invert"},
		{Spec{URL: "ftp://{address}/", WeightFrom: WeightSource{Body: true}}, "scheme"},
	}
	for _, tc := range invalid {
		err := ValidateWeightFrom(tc.spec)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Expected weight_from %q on %q to fail with %q, got %v", tc.spec.WeightFrom, tc.spec.URL, tc.want, err)
		}
		if _, err := New(tc.spec, "192.0.2.1"); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Expected New to refuse weight_from %q on %q with %q, got %v", tc.spec.WeightFrom, tc.spec.URL, tc.want, err)
		}
	}
}

func TestWeightSourceString(t *testing.T) {
	for from, want := range map[WeightSource]string{
		{}:                   "",
		{Body: true}:         "body",
		{Header: "x-weight"}: "header X-Weight",
	} {
		if got := from.String(); got != want {
			t.Errorf("Expected %+v to read %q, got %q", from, want, got)
		}
	}
}
