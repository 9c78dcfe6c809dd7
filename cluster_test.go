package failover

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/failover-dns/failover/plugin/api"
	"github.com/failover-dns/failover/plugin/cluster"
	"github.com/failover-dns/failover/plugin/cluster/etcdtest"
	"github.com/failover-dns/failover/plugin/health"
)

// startEtcd runs a one-member etcd in the test process on loopback and
// returns its client URL and what stops it; it stops when the test ends.
func startEtcd(t *testing.T) (string, func()) {
	t.Helper()
	c := etcdtest.New(t, 1, t.TempDir())
	t.Cleanup(c.Close)
	return c.Client(), c.Close
}

// monitorOf finds the running monitor of an endpoint, whose key the other
// replicas vote on.
func monitorOf(t *testing.T, address string) *health.Monitor {
	t.Helper()
	for _, ep := range holdersOf(address) {
		if ep.monitor != nil {
			return ep.monitor
		}
	}
	t.Fatalf("Expected a monitor of %s", address)
	return nil
}

func holdersOf(address string) []*endpoint {
	series.Lock()
	defer series.Unlock()
	var out []*endpoint
	for k, hs := range series.holders {
		if k[1] == address {
			out = append(out, hs...)
		}
	}
	return out
}

// TestReplicasDecideByQuorum runs a real server as replica a of three, the
// other two being views of their own on the same real etcd: the server
// follows the majority, not its own probe alone, and decides by itself
// once etcd is gone.
func TestReplicasDecideByQuorum(t *testing.T) {
	etcdURL, stopEtcd := startEtcd(t)
	primary, backup := newHealthBackend(t, nil), newHealthBackend(t, nil)
	apiAddr := closedPort(t)
	s := startServer(t, fmt.Sprintf(`example.org:0 {
	bind 127.0.0.1
	failover {
		api %s
		cluster etcd %s {
			node a
			lease 2s
		}
	}
	failover www.example.org {
		endpoint 192.0.2.10 priority 1 check %s
		endpoint 192.0.2.20 priority 2 check %s
		%s
	}
}`, apiAddr, etcdURL, primary.url(), backup.url(), fastPace))
	c := apiClient{base: "http://" + apiAddr}
	s.waitAnswer(t, "www.example.org.", []string{"192.0.2.10"}, 5*time.Second)
	mon := monitorOf(t, "192.0.2.10")

	others := map[string]*cluster.View{}
	for _, node := range []string{"b", "c"} {
		v, err := cluster.Start(cluster.Config{Endpoints: []string{etcdURL}, Node: node, Lease: 2 * time.Second}, t.Logf)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(v.Close)
		others[node] = v
	}
	vote := func(node string, down bool) {
		others[node].Publish(mon.Key, cluster.Vote{Endpoint: "192.0.2.10", Check: mon.Check, Down: down, Reason: "seen from " + node})
	}

	// One other replica sees the primary down: one of three, no failover.
	vote("b", true)
	vote("c", false)
	awaitVotes(t, others["b"], mon.Key, "1 of 3 replicas see it down") // the server's own vote among them
	if got := addresses(s.mustAsk(t, "udp", "www.example.org.", 1)); !slices.Equal(got, []string{"192.0.2.10"}) {
		t.Fatalf("Expected one replica of three not to fail the name over, got %v", got)
	}
	// Two do: the server fails over though its own probe passes.
	vote("c", true)
	s.waitAnswer(t, "www.example.org.", []string{"192.0.2.20"}, 5*time.Second)
	if ep := endpointIn(c.name(t, "www.example.org"), "192.0.2.10"); ep.State != "down" || ep.LastProbe == nil || ep.LastProbe.Result != "success" {
		t.Errorf("Expected the primary down by the replicas' decision while its own probe passes, got %+v", ep)
	}
	var ex struct {
		LeftOut []struct{ Address, Reason string } `json:"left_out"`
	}
	c.ok(t, "GET", "/v1/names/www.example.org/answer?type=A", "", &ex)
	if len(ex.LeftOut) != 1 || !strings.Contains(ex.LeftOut[0].Reason, "2 of 3 replicas see it down") {
		t.Errorf("Expected the explanation to give the vote, got %+v", ex.LeftOut)
	}
	// The server's own probe failing too, and then the others healing: back
	// once the majority says up.
	vote("b", false)
	vote("c", false)
	s.waitAnswer(t, "www.example.org.", []string{"192.0.2.10"}, 5*time.Second)

	var st api.Status
	c.ok(t, "GET", "/v1/status", "", &st)
	if st.Cluster == nil || !st.Cluster.Connected || st.Cluster.Node != "a" || !slices.Equal(st.Cluster.Members, []string{"a", "b", "c"}) {
		t.Errorf("Expected the status to show replica a connected among a, b and c, got %+v", st.Cluster)
	}
	if v, ok := metricValue(t, "coredns_failover_cluster_members", map[string]string{"node": "a"}); !ok || v != 3 {
		t.Errorf("Expected 3 live replicas in the metrics, got %v %v", v, ok)
	}

	// Without etcd the server decides alone after its lease, on its own
	// probes, and says so.
	primary.failed.Store(true)
	vote("b", false)
	vote("c", false)
	stopEtcd()
	s.waitAnswer(t, "www.example.org.", []string{"192.0.2.20"}, 10*time.Second)
	c.ok(t, "GET", "/v1/status", "", &st)
	if st.Cluster == nil || st.Cluster.Connected {
		t.Errorf("Expected the status to say the replica is cut off, got %+v", st.Cluster)
	}
	if v, _ := metricValue(t, "coredns_failover_cluster_connected", map[string]string{"node": "a"}); v != 0 {
		t.Errorf("Expected cluster_connected 0 once cut off, got %v", v)
	}
}

// awaitVotes polls what replica v decides for key until its reason says
// want: every vote has reached it, and so, through the same etcd, the server.
func awaitVotes(t *testing.T, v *cluster.View, key, want string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, why := v.Decide(key, false)
		if strings.Contains(why, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("Expected the votes to say %q within 5s, got %q", want, why)
		}
		time.Sleep(20 * time.Millisecond) // the poll's pace, not a wait for an event
	}
}
