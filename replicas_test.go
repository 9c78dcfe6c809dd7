package failover

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/failover-dns/failover/plugin/api"
	"github.com/failover-dns/failover/plugin/cluster/etcdtest"
)

// replica is one CoreDNS process of the trio.
type replica struct {
	name string
	server
	api     apiClient
	backend *healthBackend // what backend.test is for this replica alone
	path    *etcdtest.Path
	cmd     *exec.Cmd
	exited  chan error
	out     *logBuffer
}

// canUnshare tells whether a process may get a mount namespace of its own
// and bind-mount over /etc/hosts in it, which needs root.
func canUnshare(t *testing.T) error {
	t.Helper()
	if _, err := exec.LookPath("unshare"); err != nil {
		return err
	}
	hosts := filepath.Join(t.TempDir(), "hosts")
	if err := os.WriteFile(hosts, []byte("127.0.0.1 localhost\n"), 0o644); err != nil {
		return err
	}
	out, err := exec.Command("unshare", "--mount", "--propagation", "private",
		"sh", "-c", `mount --bind "$0" /etc/hosts`, hosts).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%v: %s", err, strings.TrimSpace(string(out)))
	}
	return nil
}

// listenSame binds one port on each of addrs, so that the check URL, the
// same text on every replica, reaches each replica's own backend.
func listenSame(t *testing.T, addrs ...string) []net.Listener {
	t.Helper()
	for range 20 {
		first, err := net.Listen("tcp", addrs[0]+":0")
		if err != nil {
			t.Skipf("Cannot listen on %s: %v", addrs[0], err)
		}
		_, port, _ := net.SplitHostPort(first.Addr().String())
		lns := []net.Listener{first}
		for _, a := range addrs[1:] {
			ln, err := net.Listen("tcp", net.JoinHostPort(a, port))
			if err != nil {
				break
			}
			lns = append(lns, ln)
		}
		if len(lns) == len(addrs) {
			return lns
		}
		for _, ln := range lns {
			ln.Close()
		}
	}
	t.Skipf("Cannot bind one port on all of %v", addrs)
	return nil
}

// trio starts replicas a, b and c, each in a mount namespace of its own
// whose /etc/hosts says where backend.test is for it. Each reaches etcd
// through proxies of its own (etcdtest.Path): cutting them is how a test
// partitions one replica alone from etcd, the honest equivalent on one host
// of a network partition: its connections drop and new ones are refused,
// while the other replicas and the members go on as before.
func startTrio(t *testing.T, etcd *etcdtest.Cluster, clusterExtra string) []*replica {
	t.Helper()
	bin := serverBinary(t)
	hostAddrs := []string{"127.0.0.2", "127.0.0.3", "127.0.0.4"}
	lns := listenSame(t, hostAddrs...)
	_, port, _ := net.SplitHostPort(lns[0].Addr().String())
	check := fmt.Sprintf("http://backend.test:%s/health", port)
	backup := newHealthBackend(t, nil) // one for all: it stays up
	dir := t.TempDir()
	var rs []*replica
	for i, name := range []string{"a", "b", "c"} {
		r := &replica{name: name, backend: newHealthBackend(t, lns[i]), path: etcd.Path(t), out: &logBuffer{}, exited: make(chan error, 1)}
		dnsAddr, apiAddr := closedPort(t), closedPort(t)
		r.server = server{udp: dnsAddr, tcp: dnsAddr}
		r.api = apiClient{base: "http://" + apiAddr}
		urls := r.path.Endpoints()
		corefile := fmt.Sprintf(`example.org:%s {
	bind 127.0.0.1
	failover {
		api %s
		cluster etcd %s {
			node %s
			lease 2s
			%s
		}
	}
	failover www.example.org {
		endpoint 192.0.2.10 priority 1 check %s
		endpoint 192.0.2.20 priority 2 check %s
		%s
	}
}
`, portOf(dnsAddr), apiAddr, strings.Join(urls, " "), name, clusterExtra, check, backup.url(), fastPace)
		conf := filepath.Join(dir, name+".Corefile")
		hosts := filepath.Join(dir, name+".hosts")
		if err := os.WriteFile(conf, []byte(corefile), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(hosts, []byte("127.0.0.1 localhost\n"+hostAddrs[i]+" backend.test\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		// unshare and sh exec in turn, so the process is the server itself.
		r.cmd = exec.Command("unshare", "--mount", "--propagation", "private",
			"sh", "-c", `mount --bind "$0" /etc/hosts && exec "$1" -conf "$2"`, hosts, bin, conf)
		r.cmd.Dir = dir
		r.cmd.Stdout, r.cmd.Stderr = r.out, r.out
		if err := r.cmd.Start(); err != nil {
			t.Fatalf("Expected replica %s to start, got %v", name, err)
		}
		go func() { r.exited <- r.cmd.Wait() }()
		t.Cleanup(r.kill)
		rs = append(rs, r)
	}
	for _, r := range rs {
		r.awaitAPI(t, 30*time.Second)
	}
	return rs
}

// kill ends the replica's process at once, as a crash would.
func (r *replica) kill() {
	if r.cmd.Process == nil {
		return
	}
	r.cmd.Process.Signal(syscall.SIGKILL)
	if err, ok := <-r.exited; ok {
		r.exited <- err // a later kill returns at once
	}
}

// running fails the test if the replica's process has ended.
func (r *replica) running(t *testing.T) {
	t.Helper()
	select {
	case err := <-r.exited:
		r.exited <- err
		t.Fatalf("Expected replica %s to keep running, it exited with %v:\n%s", r.name, err, r.out.String())
	default:
	}
}

func (r *replica) awaitAPI(t *testing.T, within time.Duration) {
	t.Helper()
	hc := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(within)
	for {
		r.running(t)
		if resp, err := hc.Get(r.api.base + "/v1/status"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("Expected replica %s's API within %s, output:\n%s", r.name, within, r.out.String())
		}
		time.Sleep(50 * time.Millisecond) // the poll's pace
	}
}

func (r *replica) cluster(t *testing.T) api.Cluster {
	t.Helper()
	var st api.Status
	r.api.ok(t, http.MethodGet, "/v1/status", "", &st)
	if st.Cluster == nil {
		t.Fatalf("Expected replica %s's status to have a cluster", r.name)
	}
	return *st.Cluster
}

// awaitCluster polls the replica's status until ok says yes, and returns
// when that was first seen.
func (r *replica) awaitCluster(t *testing.T, what string, within time.Duration, ok func(api.Cluster) bool) time.Time {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		r.running(t)
		c := r.cluster(t)
		if ok(c) {
			return time.Now()
		}
		if time.Now().After(deadline) {
			t.Fatalf("Expected replica %s %s within %s, got %+v", r.name, what, within, c)
		}
		time.Sleep(20 * time.Millisecond) // the poll's pace
	}
}

// ownProbe polls until the replica's own last probe of 192.0.2.10 has the
// result want ("success" or a failure kind) or, with want "failure", any
// failure.
func (r *replica) awaitOwnProbe(t *testing.T, want string, within time.Duration) api.Endpoint {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		ep := endpointIn(r.api.name(t, "www.example.org"), "192.0.2.10")
		if p := ep.LastProbe; p != nil && (p.Result == want || want == "failure" && p.Result != "success") {
			return ep
		}
		if time.Now().After(deadline) {
			t.Fatalf("Expected replica %s's own probe of the primary to be %s within %s, got %+v", r.name, want, within, ep.LastProbe)
		}
		time.Sleep(20 * time.Millisecond) // the poll's pace
	}
}

var (
	primaryOnly = []string{"192.0.2.10"}
	backupOnly  = []string{"192.0.2.20"}
)

// answer asks the replica once over UDP, with a short timeout: a replica
// waiting on etcd would show here as an error.
func (r *replica) answer() ([]string, error) {
	m := new(dns.Msg)
	m.SetQuestion("www.example.org.", dns.TypeA)
	resp, _, err := (&dns.Client{Timeout: 500 * time.Millisecond}).Exchange(m, r.udp)
	if err != nil {
		return nil, err
	}
	return addresses(resp), nil
}

// awaitAll polls every replica every 20ms until each answers want, and
// returns when each first did.
func awaitAll(t *testing.T, rs []*replica, want []string, within time.Duration) map[string]time.Time {
	t.Helper()
	seen := map[string]time.Time{}
	last := map[string]string{}
	deadline := time.Now().Add(within)
	for len(seen) < len(rs) {
		for _, r := range rs {
			if _, ok := seen[r.name]; ok {
				continue
			}
			got, err := r.answer()
			if err == nil && slices.Equal(got, want) {
				seen[r.name] = time.Now()
			}
			last[r.name] = fmt.Sprint(got, err)
		}
		if len(seen) == len(rs) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Expected every replica to answer %v within %s, last answers %v", want, within, last)
		}
		time.Sleep(20 * time.Millisecond) // the poll's pace
	}
	return seen
}

// spread is the time between the first and the last replica to flip.
func spread(at map[string]time.Time) time.Duration {
	var first, last time.Time
	for _, t := range at {
		if first.IsZero() || t.Before(first) {
			first = t
		}
		if t.After(last) {
			last = t
		}
	}
	return last.Sub(first).Round(time.Millisecond)
}

// holdAll polls every replica for d and fails the test unless every query
// is answered with want.
func holdAll(t *testing.T, rs []*replica, want []string, d time.Duration) {
	t.Helper()
	end := time.Now().Add(d)
	for time.Now().Before(end) {
		for _, r := range rs {
			got, err := r.answer()
			if err != nil || !slices.Equal(got, want) {
				t.Fatalf("Expected replica %s to keep answering %v, got %v (err %v)", r.name, want, got, err)
			}
		}
		time.Sleep(50 * time.Millisecond) // the poll's pace
	}
}

func failBackends(rs []*replica, failed bool) {
	for _, r := range rs {
		r.backend.failed.Store(failed)
	}
}

// TestReplicasShareHealthThroughEtcd runs three real servers as processes,
// a, b and c, on a real three-member etcd. The check URL is the same text
// on all three, but each resolves backend.test in a mount namespace of its
// own to a backend of its own, so one replica alone can see the primary
// fail.
func TestReplicasShareHealthThroughEtcd(t *testing.T) {
	if testing.Short() {
		t.Skip("Builds and runs three servers and an etcd cluster")
	}
	if err := canUnshare(t); err != nil {
		t.Skipf("Needs root, to give each replica a mount namespace with an /etc/hosts of its own (unshare --mount, mount --bind): %v", err)
	}
	etcd := etcdtest.New(t, 3, t.TempDir())
	t.Cleanup(etcd.Close) // before its directory goes: a member that loses it ends the process
	rs := startTrio(t, etcd, "")
	a, b, c := rs[0], rs[1], rs[2]

	// All healthy: every replica answers the primary, having reached its own
	// backend through /etc/hosts (a check it could not resolve would say dns).
	for _, r := range rs {
		r.awaitCluster(t, "connected among a, b and c", 15*time.Second, func(c api.Cluster) bool {
			return c.Connected && slices.Equal(c.Members, []string{"a", "b", "c"})
		})
	}
	awaitAll(t, rs, primaryOnly, 10*time.Second)
	for _, r := range rs {
		if ep := r.awaitOwnProbe(t, "success", 5*time.Second); ep.State != "up" {
			t.Errorf("Expected replica %s to see the primary up, got %+v", r.name, ep)
		}
		if r.backend.hits.Load() == 0 {
			t.Errorf("Expected replica %s to probe its own backend", r.name)
		}
	}

	// Only a's backend fails: one of three, nobody fails over, a included.
	a.backend.failed.Store(true)
	a.awaitOwnProbe(t, "failure", 5*time.Second)
	holdAll(t, rs, primaryOnly, 3*time.Second)
	if ep := endpointIn(a.api.name(t, "www.example.org"), "192.0.2.10"); ep.State != "up" || ep.LastProbe == nil || ep.LastProbe.Result == "success" {
		t.Errorf("Expected a to hold the primary up by the others' votes while its own probe fails, got %+v", ep)
	}
	a.backend.failed.Store(false)
	a.awaitOwnProbe(t, "success", 5*time.Second)

	// It fails for all three: everybody flips, nearly at once.
	failover := func(phase string) {
		t.Helper()
		start := time.Now()
		failBackends(rs, true)
		down := awaitAll(t, rs, backupOnly, 10*time.Second)
		t.Logf("%s: failover seen by every replica within %s of the failure, spread %s (polled every 20ms)", phase, lastAfter(down, start), spread(down))
		start = time.Now()
		failBackends(rs, false)
		up := awaitAll(t, rs, primaryOnly, 10*time.Second)
		t.Logf("%s: recovery seen by every replica within %s, spread %s (polled every 20ms)", phase, lastAfter(up, start), spread(up))
	}
	failover("three members")

	// One etcd member gone: nothing changes, and a new failure is still
	// decided by all three.
	etcd.Stop(etcd.Members[0])
	holdAll(t, rs, primaryOnly, time.Second)
	for _, r := range rs {
		if cl := r.cluster(t); !cl.Connected || len(cl.Members) != 3 {
			t.Errorf("Expected replica %s still connected among three with a member down, got %+v", r.name, cl)
		}
	}
	a.backend.failed.Store(true)
	a.awaitOwnProbe(t, "failure", 5*time.Second)
	holdAll(t, rs, primaryOnly, time.Second)
	a.backend.failed.Store(false)
	failover("two members")

	// c cut off from etcd: after about its lease it decides alone, on its
	// own probes, and keeps answering; a and b go on deciding between them.
	cutAt := time.Now()
	c.path.Cut(true)
	off := c.awaitCluster(t, "cut off", 10*time.Second, func(c api.Cluster) bool { return !c.Connected })
	t.Logf("partition: c cut off %s after its path was", off.Sub(cutAt).Round(time.Millisecond))
	for _, r := range []*replica{a, b} {
		r.awaitCluster(t, "to see a and b alone", 10*time.Second, func(c api.Cluster) bool {
			return c.Connected && slices.Equal(c.Members, []string{"a", "b"})
		})
	}
	holdAll(t, rs, primaryOnly, 500*time.Millisecond)
	// a and b both see it fail: two of their two, they fail over; c, whose
	// own probe passes, does not.
	failBackends([]*replica{a, b}, true)
	awaitAll(t, []*replica{a, b}, backupOnly, 10*time.Second)
	holdAll(t, []*replica{c}, primaryOnly, time.Second)
	failBackends([]*replica{a, b}, false)
	awaitAll(t, rs, primaryOnly, 10*time.Second)
	// c alone sees it fail: it fails over on its own probe, a and b do not.
	c.backend.failed.Store(true)
	awaitAll(t, []*replica{c}, backupOnly, 10*time.Second)
	holdAll(t, []*replica{a, b}, primaryOnly, 500*time.Millisecond)
	c.backend.failed.Store(false)
	awaitAll(t, rs, primaryOnly, 10*time.Second)
	// Healed: c rejoins by itself.
	healAt := time.Now()
	c.path.Cut(false)
	on := c.awaitCluster(t, "to rejoin", 10*time.Second, func(c api.Cluster) bool {
		return c.Connected && slices.Equal(c.Members, []string{"a", "b", "c"})
	})
	t.Logf("partition: c rejoined %s after its path healed", on.Sub(healAt).Round(time.Millisecond))
	for _, r := range []*replica{a, b} {
		r.awaitCluster(t, "to see c again", 10*time.Second, func(c api.Cluster) bool {
			return slices.Equal(c.Members, []string{"a", "b", "c"})
		})
	}
	// Back among three, c alone no longer fails anything over.
	c.backend.failed.Store(true)
	c.awaitOwnProbe(t, "failure", 5*time.Second)
	holdAll(t, rs, primaryOnly, time.Second)
	c.backend.failed.Store(false)

	// etcd gone altogether: no replica freezes, each answers every query
	// and, once cut off, decides on its own probes.
	stopAt := time.Now()
	etcd.Stop(etcd.Members...)
	for _, r := range rs {
		end := time.Now().Add(10 * time.Second)
		for r.cluster(t).Connected {
			if time.Now().After(end) {
				t.Fatalf("Expected replica %s cut off within 10s of etcd stopping", r.name)
			}
			holdAll(t, rs, primaryOnly, 100*time.Millisecond) // every query answered meanwhile
		}
	}
	t.Logf("etcd stopped: every replica cut off within %s", time.Since(stopAt).Round(time.Millisecond))
	b.backend.failed.Store(true)
	awaitAll(t, []*replica{b}, backupOnly, 10*time.Second)
	holdAll(t, []*replica{a, c}, primaryOnly, 500*time.Millisecond)
	failBackends(rs, true)
	awaitAll(t, rs, backupOnly, 10*time.Second)
	for _, r := range rs {
		r.running(t)
	}
}

// lastAfter is how long after start the last replica flipped.
func lastAfter(at map[string]time.Time, start time.Time) time.Duration {
	var last time.Time
	for _, t := range at {
		if t.After(last) {
			last = t
		}
	}
	return last.Sub(start).Round(time.Millisecond)
}

// TestReplicasProbersTakeOver runs a fresh trio with probers 1: one replica
// alone probes the primary, and when its process dies another takes over.
func TestReplicasProbersTakeOver(t *testing.T) {
	if testing.Short() {
		t.Skip("Builds and runs three servers and an etcd cluster")
	}
	if err := canUnshare(t); err != nil {
		t.Skipf("Needs root, to give each replica a mount namespace with an /etc/hosts of its own (unshare --mount, mount --bind): %v", err)
	}
	etcd := etcdtest.New(t, 3, t.TempDir())
	t.Cleanup(etcd.Close) // before its directory goes: a member that loses it ends the process
	rs := startTrio(t, etcd, "probers 1")
	for _, r := range rs {
		r.awaitCluster(t, "connected among a, b and c", 15*time.Second, func(c api.Cluster) bool {
			return c.Connected && slices.Equal(c.Members, []string{"a", "b", "c"})
		})
	}
	awaitAll(t, rs, primaryOnly, 10*time.Second)

	hits := func() []int64 {
		var n []int64
		for _, r := range rs {
			n = append(n, r.backend.hits.Load())
		}
		return n
	}
	// awaitProbes polls until the backends have had n probes more than at
	// from, and returns the counts then.
	awaitProbes := func(from []int64, n int64, within time.Duration) []int64 {
		t.Helper()
		deadline := time.Now().Add(within)
		for {
			now := hits()
			var more int64
			for i := range now {
				more += now[i] - from[i]
			}
			if more >= n {
				return now
			}
			if time.Now().After(deadline) {
				t.Fatalf("Expected %d more probes of the primary within %s, got %d", n, within, more)
			}
			time.Sleep(20 * time.Millisecond) // the poll's pace
		}
	}
	// Past the probes of the joining, one replica's backend alone is probed.
	base := awaitProbes(hits(), 2, 5*time.Second)
	now := awaitProbes(base, 8, 10*time.Second)
	prober := -1
	for i := range now {
		if now[i] > base[i] {
			if prober >= 0 {
				t.Fatalf("Expected one replica alone to probe the primary, got probes %v more than %v", now, base)
			}
			prober = i
		}
	}
	t.Logf("probers 1: %s alone probed the primary (%d probes)", rs[prober].name, now[prober]-base[prober])

	// Its process dies: another replica takes the primary over within about
	// a lease, the time etcd takes to expire the dead one's.
	dead := rs[prober]
	killAt := time.Now()
	dead.kill()
	var alive []*replica
	for _, r := range rs {
		if r != dead {
			alive = append(alive, r)
		}
	}
	base = hits()
	deadline := time.Now().Add(10 * time.Second)
	var taker *replica
	for taker == nil {
		for i, r := range rs {
			if r != dead && r.backend.hits.Load() > base[i] {
				taker = r
			}
		}
		if taker == nil && time.Now().After(deadline) {
			t.Fatalf("Expected another replica to probe the primary within 10s of %s dying", dead.name)
		}
		for _, r := range alive {
			if got, err := r.answer(); err != nil || !slices.Equal(got, primaryOnly) {
				t.Fatalf("Expected replica %s to keep answering %v meanwhile, got %v (err %v)", r.name, primaryOnly, got, err)
			}
		}
		time.Sleep(20 * time.Millisecond) // the poll's pace
	}
	t.Logf("probers 1: %s took the primary over %s after %s was killed", taker.name, time.Since(killAt).Round(time.Millisecond), dead.name)
	for _, r := range alive {
		r.awaitCluster(t, "to see two replicas", 10*time.Second, func(c api.Cluster) bool { return len(c.Members) == 2 })
	}
	// The two that are left still decide together: the taker's probe alone
	// fails the primary over on both.
	taker.backend.failed.Store(true)
	awaitAll(t, alive, backupOnly, 10*time.Second)
	taker.backend.failed.Store(false)
	awaitAll(t, alive, primaryOnly, 10*time.Second)
}
