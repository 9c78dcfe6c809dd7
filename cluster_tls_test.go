package failover

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.etcd.io/etcd/client/pkg/v3/transport"
	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"

	"github.com/failover-dns/failover/plugin/api"
)

// writeCerts makes a CA and, signed by it, a certificate for 127.0.0.1 that
// serves and authenticates clients, as an etcd with client-certificate auth
// wants. It returns the paths of the CA, the certificate and its key.
func writeCerts(t *testing.T, dir string) (ca, cert, key string) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "failover test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "dns-1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &k.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalECPrivateKey(k)
	write := func(name, kind string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: b}), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	return write("ca.pem", "CERTIFICATE", caDER), write("cert.pem", "CERTIFICATE", der), write("key.pem", "EC PRIVATE KEY", keyDER)
}

// TestReplicaOverTLS joins a real etcd that serves TLS only and wants a
// client certificate, with the tls line of the Corefile.
func TestReplicaOverTLS(t *testing.T) {
	dir := t.TempDir()
	ca, cert, key := writeCerts(t, dir)
	peer, _ := url.Parse("http://" + closedPort(t))
	client, _ := url.Parse("https://" + closedPort(t))
	cfg := embed.NewConfig()
	cfg.Name, cfg.Dir = "m0", filepath.Join(dir, "etcd")
	cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{*peer}, []url.URL{*peer}
	cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{*client}, []url.URL{*client}
	cfg.InitialCluster = "m0=" + peer.String()
	cfg.ClientTLSInfo = transport.TLSInfo{CertFile: cert, KeyFile: key, TrustedCAFile: ca, ClientCertAuth: true}
	cfg.UnsafeNoFsync = true
	cfg.Logger, cfg.LogLevel = "zap", "error"
	cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zap.NewNop())
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Server.HardStop(); e.Close() })
	select {
	case <-e.Server.ReadyNotify():
	case <-time.After(10 * time.Second):
		t.Fatal("Expected etcd to be ready within 10s")
	}
	apiAddr := closedPort(t)
	startServer(t, fmt.Sprintf(`example.org:0 {
	bind 127.0.0.1
	failover {
		api %s
		cluster etcd %s {
			node dns-1
			lease 2s
			tls %s %s %s
		}
	}
	failover www.example.org {
		endpoint 192.0.2.10
	}
}`, apiAddr, client.String(), cert, key, ca))
	c := apiClient{base: "http://" + apiAddr}
	deadline := time.Now().Add(10 * time.Second)
	for {
		var st api.Status
		c.ok(t, "GET", "/v1/status", "", &st)
		if st.Cluster != nil && st.Cluster.Connected && len(st.Cluster.Members) == 1 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("Expected the replica to join etcd over TLS within 10s, got %+v", st.Cluster)
		}
		time.Sleep(50 * time.Millisecond) // the poll's pace, not a wait for an event
	}
}
