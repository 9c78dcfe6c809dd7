package failover

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/coredns/caddy"
)

func TestSetupSettingsErrors(t *testing.T) {
	dir := t.TempDir()
	token := filepath.Join(dir, "token")
	os.WriteFile(token, []byte("s3cret\n"), 0o600)
	empty := filepath.Join(dir, "empty")
	os.WriteFile(empty, []byte(" \n"), 0o600)
	name := "failover www.example.org {\n    endpoint 192.0.2.10\n}\n"
	for _, tc := range []struct {
		name, settings string
		line           int
		phrase         string
	}{
		{"api beyond loopback without a token", "failover {\n    api 0.0.0.0:8054\n}", 2, "takes clients beyond loopback; add api_token FILE"},
		{"api on every address without a token", "failover {\n    api :8054\n}", 2, "takes clients beyond loopback"},
		{"api on another host without a token", "failover {\n    api 192.0.2.1:8054\n}", 2, "takes clients beyond loopback"},
		{"api_token without api", "failover {\n    api_token " + token + "\n    state " + filepath.Join(dir, "s") + "\n}", 1, "api_token needs api ADDRESS"},
		{"empty token", "failover {\n    api 127.0.0.1:8054\n    api_token " + empty + "\n}", 3, "must hold one token"},
		{"missing token file", "failover {\n    api 127.0.0.1:8054\n    api_token " + filepath.Join(dir, "nope") + "\n}", 3, "no such file"},
		{"api not host:port", "failover {\n    api 8054\n}", 2, "is not HOST:PORT"},
		{"api host name", "failover {\n    api example.com:8054\n}", 2, "must be an IP address or localhost"},
		{"state in no directory", "failover {\n    state /nonexistent/dir/state\n}", 2, "does not exist"},
		{"state is a directory", "failover {\n    state " + dir + "\n}", 2, "is a directory"},
		{"nothing set", "failover {\n}", 1, "it has none"},
		{"unknown setting", "failover {\n    api 127.0.0.1:8054\n    bogus 1\n}", 3, `unknown property "bogus" in a failover block without names; allowed are api, api_token, state, cluster`},
		{"set twice", "failover {\n    api 127.0.0.1:8054\n    api 127.0.0.1:8055\n}", 3, "already set on line 2"},
		{"two settings blocks", "failover {\n    api 127.0.0.1:8054\n}\nfailover {\n    state " + filepath.Join(dir, "s") + "\n}", 4, "the first is on line 1"},
		{"cluster misspelt", "failover {\n    cluster etcd http://127.0.0.1:2379 {\n        lease 1s\n    }\n}", 3, "lease 1s is below 2s"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := setup(newTestController(tc.settings + "\n" + name))
			if err == nil {
				t.Fatalf("Expected an error for\n%s", tc.settings)
			}
			if where := fmt.Sprintf("Testfile:%d - Error during parsing: ", tc.line); !strings.Contains(err.Error(), where) || !strings.Contains(err.Error(), tc.phrase) {
				t.Errorf("Expected the error at %q saying %q, got %q", where, tc.phrase, err)
			}
		})
	}
	for _, ok := range []string{
		"failover {\n    api 0.0.0.0:8054\n    api_token " + token + "\n}",
		"failover {\n    api localhost:8054\n}",
		"failover {\n    api [::1]:8054\n    state " + filepath.Join(dir, "s") + "\n}",
		"failover {\n    state " + filepath.Join(dir, "s") + "\n}",
	} {
		if err := setup(newTestController(ok + "\n" + name)); err != nil {
			t.Errorf("Expected\n%s\nto be accepted, got %v", ok, err)
		}
	}
}

func TestAPITokenGuardsChanges(t *testing.T) {
	primary, backup := newHealthBackend(t, nil), newHealthBackend(t, nil)
	apiAddr := closedPort(t)
	token := filepath.Join(t.TempDir(), "token")
	os.WriteFile(token, []byte("  tok-3n \n"), 0o600)
	corefile := strings.Replace(apiCorefile("127.0.0.1:0", apiAddr, filepath.Join(t.TempDir(), "state"), primary, backup, ""),
		"api "+apiAddr, "api "+apiAddr+"\n\t\tapi_token "+token, 1)
	s := startServer(t, corefile)
	anon := apiClient{base: "http://" + apiAddr}
	const path = "/v1/names/www.example.org/endpoints/192.0.2.10/override"
	if msg := anon.refused(t, http.MethodPut, path, `{"state":"down"}`, http.StatusUnauthorized); !strings.Contains(msg, "Bearer") {
		t.Errorf("Expected the refusal to say how to authenticate, got %q", msg)
	}
	apiClient{base: anon.base, token: "tok-3"}.refused(t, http.MethodPut, path, `{"state":"down"}`, http.StatusUnauthorized)
	apiClient{base: anon.base, token: "tok-3n"}.ok(t, http.MethodPost, "/v1/alertmanager", `{"version":"4","alerts":[]}`, nil)
	anon.refused(t, http.MethodPost, "/v1/alertmanager", `{"version":"4","alerts":[]}`, http.StatusUnauthorized)
	if n := anon.name(t, "www.example.org"); endpointIn(n, "192.0.2.10").Override != nil { // reads from loopback need no token
		t.Fatal("Expected refused changes to change nothing")
	}
	if got := addresses(s.mustAsk(t, "udp", "www.example.org.", 1)); len(got) != 1 || got[0] != "192.0.2.10" {
		t.Fatalf("Expected the primary still answered, got %v", got)
	}
	apiClient{base: anon.base, token: "tok-3n"}.ok(t, http.MethodPut, path, `{"state":"down"}`, nil)
	if got := addresses(s.mustAsk(t, "udp", "www.example.org.", 1)); len(got) != 1 || got[0] != "192.0.2.20" {
		t.Errorf("Expected the change with the token to apply, got %v", got)
	}
}

func TestAPIAddressTakenFailsStartup(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	startMu.Lock()
	_, err = caddy.Start(corefileInput(fmt.Sprintf("example.org:0 {\n\tbind 127.0.0.1\n\tfailover {\n\t\tapi %s\n\t}\n\tfailover www {\n\t\tendpoint 192.0.2.10\n\t}\n}\n", ln.Addr())))
	startMu.Unlock()
	if err == nil || !strings.Contains(err.Error(), "api "+ln.Addr().String()) || !strings.Contains(err.Error(), "address already in use") {
		t.Fatalf("Expected the start to fail naming the API address, got %v", err)
	}
}
