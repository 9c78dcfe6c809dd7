package cluster

import (
	"os"
	"sync"
	"testing"

	"github.com/failover-dns/failover/plugin/cluster/etcdtest"
)

// shared is one cluster for the tests that leave its members running.
var shared struct {
	once sync.Once
	c    *etcdtest.Cluster
	dir  string
	err  error
}

func sharedEtcd(t testing.TB) *etcdtest.Cluster {
	shared.once.Do(func() {
		if shared.dir, shared.err = os.MkdirTemp("", "failover-etcd-"); shared.err != nil {
			return
		}
		shared.c = etcdtest.New(t, 3, shared.dir)
	})
	if shared.err != nil || shared.c == nil {
		t.Fatalf("the shared etcd did not start: %v", shared.err)
	}
	return shared.c
}

func TestMain(m *testing.M) {
	code := m.Run()
	if shared.c != nil {
		shared.c.Close()
	}
	if shared.dir != "" {
		os.RemoveAll(shared.dir)
	}
	os.Exit(code)
}
