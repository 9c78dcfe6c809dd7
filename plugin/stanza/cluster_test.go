package stanza

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coredns/caddy"
)

// parseSettingsBlock reads a failover block without names, with root for
// relative paths.
func parseSettingsBlock(corefile, root string) (*Settings, error) {
	c := caddy.NewTestController("dns", corefile)
	c.Next()
	_, s, err := Block(c, []string{"example.org."}, root, func(string) bool { return true })
	return s, err
}

// writeCert writes a self-signed certificate, its key and itself as the
// CA into dir, as cert.pem, key.pem and ca.pem.
func writeCert(t *testing.T, dir string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "etcd"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	cert := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	for name, data := range map[string][]byte{
		"cert.pem": cert, "ca.pem": cert,
		"key.pem": pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}),
	} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

func TestParseCluster(t *testing.T) {
	dir := t.TempDir()
	writeCert(t, dir)
	s, err := parseSettingsBlock(`failover {
    state state.json
    cluster etcd https://10.0.0.1:2379 https://10.0.0.2:2379/ {
        prefix /dns/failover
        node dns-1.eu_west
        quorum 2
        probers 3
        lease 15s
        tls cert.pem key.pem ca.pem
    }
    api 127.0.0.1:8054
}`, dir)
	if err != nil {
		t.Fatalf("Expected no error, got %v", err)
	}
	if s.API != "127.0.0.1:8054" || s.State != filepath.Join(dir, "state.json") {
		t.Errorf("Expected the lines after the cluster block to be read, got api %q state %q", s.API, s.State)
	}
	cl := s.Cluster
	if cl == nil {
		t.Fatal("Expected the cluster settings")
	}
	got := fmt.Sprintf("%d %v %s %s %d %d %s", cl.Line, cl.Endpoints, cl.Prefix, cl.Node, cl.Quorum, cl.Probers, cl.Lease)
	if want := "3 [https://10.0.0.1:2379 https://10.0.0.2:2379] /dns/failover dns-1.eu_west 2 3 15s"; got != want {
		t.Errorf("Expected %q, got %q", want, got)
	}
	if cl.CertFile != filepath.Join(dir, "cert.pem") || cl.KeyFile != filepath.Join(dir, "key.pem") || cl.CAFile != filepath.Join(dir, "ca.pem") {
		t.Errorf("Expected the tls files relative to the root, got %q %q %q", cl.CertFile, cl.KeyFile, cl.CAFile)
	}
	if cl.TLS == nil || len(cl.TLS.Certificates) != 1 || cl.TLS.RootCAs == nil {
		t.Errorf("Expected a TLS config with the certificate and the CA, got %+v", cl.TLS)
	}
}

func TestParseClusterDefaults(t *testing.T) {
	host, err := os.Hostname()
	if err != nil || !validNode(host) {
		t.Skipf("the host name %q (%v) is not a node name", host, err)
	}
	for _, corefile := range []string{
		"failover {\n    cluster etcd http://127.0.0.1:2379\n}",
		"failover {\n    cluster etcd http://127.0.0.1:2379 {\n    }\n}",
		"failover {\n    cluster etcd http://127.0.0.1:2379 {\n        quorum majority\n    }\n}",
	} {
		s, err := parseSettingsBlock(corefile, "")
		if err != nil {
			t.Fatalf("Expected no error for\n%s\ngot %v", corefile, err)
		}
		cl := s.Cluster
		got := fmt.Sprintf("%v %s %s %d %d %s %v", cl.Endpoints, cl.Prefix, cl.Node, cl.Quorum, cl.Probers, cl.Lease, cl.TLS)
		if want := fmt.Sprintf("[http://127.0.0.1:2379] /failover %s 0 0 10s <nil>", host); got != want {
			t.Errorf("Expected the defaults %q for\n%s\ngot %q", want, corefile, got)
		}
	}
}

func TestParseClusterTLSForms(t *testing.T) {
	dir := t.TempDir()
	writeCert(t, dir)
	for _, tc := range []struct{ args, cert, ca string }{
		{"ca.pem", "", "ca.pem"},
		{"cert.pem key.pem", "cert.pem", ""},
	} {
		s, err := parseSettingsBlock("failover {\n    cluster etcd https://127.0.0.1:2379 {\n        node a\n        tls "+tc.args+"\n    }\n}", dir)
		if err != nil {
			t.Fatalf("Expected tls %s to be accepted, got %v", tc.args, err)
		}
		cl := s.Cluster
		if got := base(cl.CertFile); got != tc.cert {
			t.Errorf("Expected tls %s to give cert %q, got %q", tc.args, tc.cert, got)
		}
		if got := base(cl.CAFile); got != tc.ca {
			t.Errorf("Expected tls %s to give CA %q, got %q", tc.args, tc.ca, got)
		}
		if cl.TLS == nil {
			t.Errorf("Expected a TLS config for tls %s", tc.args)
		}
	}
}

func base(path string) string {
	if path == "" {
		return ""
	}
	return filepath.Base(path)
}

func TestParseClusterErrors(t *testing.T) {
	dir := t.TempDir()
	writeCert(t, dir)
	os.WriteFile(filepath.Join(dir, "junk.pem"), []byte("not a certificate"), 0o600)
	block := func(props ...string) string {
		return "failover {\n    cluster etcd http://127.0.0.1:2379 {\n        node a\n        " + strings.Join(props, "\n        ") + "\n    }\n}"
	}
	for _, tc := range []struct {
		corefile string
		line     int
		phrase   string
	}{
		{"failover {\n    cluster\n}", 2, "cluster takes etcd and its URLs"},
		{"failover {\n    cluster consul http://127.0.0.1:8500\n}", 2, `cluster "consul": the only store replicas share is etcd`},
		{"failover {\n    cluster etcd\n}", 2, "name at least one URL"},
		{"failover {\n    cluster etcd {\n        node a\n    }\n}", 2, "name at least one URL"},
		{"failover {\n    cluster etcd 127.0.0.1:2379\n}", 2, `"127.0.0.1:2379" is not an http or https URL`},
		{"failover {\n    cluster etcd unix:///run/etcd.sock\n}", 2, "is not an http or https URL"},
		{"failover {\n    cluster etcd http://127.0.0.1\n}", 2, "needs a HOST:PORT"},
		{"failover {\n    cluster etcd http://127.0.0.1:0\n}", 2, "needs a HOST:PORT"},
		{"failover {\n    cluster etcd http://:2379\n}", 2, "needs a HOST:PORT"},
		{"failover {\n    cluster etcd http://127.0.0.1:2379/v3\n}", 2, "with nothing after it"},
		{"failover {\n    cluster etcd http://u:p@127.0.0.1:2379\n}", 2, "with nothing after it"},
		{"failover {\n    cluster etcd http://127.0.0.1:2379 http://127.0.0.1:2379/\n}", 2, "http://127.0.0.1:2379 is listed twice"},
		{"failover {\n    cluster etcd http://10.0.0.1:2379 https://10.0.0.2:2379\n}", 2, "mix http and https"},
		{"failover {\n    api 127.0.0.1:8054\n    cluster etcd http://127.0.0.1:2379\n    cluster etcd http://127.0.0.1:2380\n}", 4, "cluster is already set on line 3"},
		{block("prefix"), 4, "prefix takes one PATH"},
		{block("prefix failover"), 4, `prefix "failover" must start with /`},
		{block("prefix /failover/"), 4, "must start with / and not end with one"},
		{block("prefix /"), 4, "must start with / and not end with one"},
		{block("prefix /a//b"), 4, "must start with /"},
		{"failover {\n    cluster etcd http://127.0.0.1:2379 {\n        node a/b\n    }\n}", 3, `node "a/b": a node name has letters, digits`},
		{"failover {\n    cluster etcd http://127.0.0.1:2379 {\n        node a b\n    }\n}", 3, "node takes one NAME"},
		{block("quorum most"), 4, `quorum "most" is neither majority nor a number`},
		{block("quorum 0"), 4, "at least 1"},
		{block("quorum"), 4, "quorum takes majority or a NUMBER"},
		{block("probers 0"), 4, `probers "0" is not a number of replicas, at least 1`},
		{block("probers all"), 4, "is not a number of replicas"},
		{block("probers 2", "quorum 3"), 5, "quorum 3 is more than probers 2"},
		{block("quorum 3", "probers 2"), 4, "quorum 3 is more than probers 2"},
		{block("lease ten"), 4, `lease "ten" is not a duration`},
		{block("lease 1s"), 4, "lease 1s is below 2s"},
		{block("lease 2500ms"), 4, "etcd counts leases in whole seconds"},
		{block("lease 10s", "lease 20s"), 5, "lease is already set on line 4"},
		{block("tls"), 4, "tls takes CERT KEY CA, CERT KEY, or CA"},
		{block("tls a b c d"), 4, "tls takes CERT KEY CA"},
		{block("tls nope.pem"), 4, "nope.pem is not a readable file"},
		{block("tls junk.pem"), 4, "cluster: tls: could not read root certs"},
		{block("tls ca.pem"), 4, "tls is for https endpoints"},
		{block("ttl 10"), 4, `unknown property "ttl"; allowed are prefix, node, quorum, probers, lease, tls`},
		{block("lease 10s {", "}"), 4, "lease does not open a block"},
		{block("{", "}"), 4, "a block inside the cluster block is not allowed"},
	} {
		t.Run(strings.ReplaceAll(tc.phrase, "/", "_"), func(t *testing.T) {
			_, err := parseSettingsBlock(tc.corefile, dir)
			if err == nil {
				t.Fatalf("Expected an error for\n%s", tc.corefile)
			}
			if where := fmt.Sprintf("Testfile:%d - Error during parsing: ", tc.line); !strings.Contains(err.Error(), where) || !strings.Contains(err.Error(), tc.phrase) {
				t.Errorf("Expected the error at %q saying %q, got %q", where, tc.phrase, err)
			}
		})
	}
}
