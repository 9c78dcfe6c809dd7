package cluster

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/failover-dns/failover/plugin/cluster/etcdtest"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// testLease keeps the tests short; it is the least a Corefile may set.
const testLease = 2 * time.Second

type replica struct {
	*View
	path *etcdtest.Path
	logs *logBuf
}

type logBuf struct {
	mu    sync.Mutex
	lines []string
}

func (l *logBuf) logf(format string, args ...any) {
	l.mu.Lock()
	l.lines = append(l.lines, fmt.Sprintf(format, args...))
	l.mu.Unlock()
}

func (l *logBuf) count(phrase string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, line := range l.lines {
		if strings.Contains(line, phrase) {
			n++
		}
	}
	return n
}

// startReplicas starts n Views named r0, r1, ... under a prefix of the
// test's own, each through a path of its own.
func startReplicas(t *testing.T, c *etcdtest.Cluster, n int, mod func(*Config)) []*replica {
	t.Helper()
	var rs []*replica
	for i := range n {
		p := c.Path(t)
		cfg := Config{Endpoints: p.Endpoints(), Prefix: "/" + strings.ReplaceAll(t.Name(), "/", "-"), Node: fmt.Sprintf("r%d", i), Lease: testLease}
		if mod != nil {
			mod(&cfg)
		}
		logs := &logBuf{}
		v, err := Start(cfg, logs.logf)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(v.Close)
		rs = append(rs, &replica{View: v, path: p, logs: logs})
	}
	return rs
}

// await polls cond until it holds, failing the test after within; it
// returns how long that took.
func await(t *testing.T, within time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Since(start) > within {
			t.Fatalf("Expected %s within %s", what, within)
		}
		<-tick.C
	}
	return time.Since(start)
}

// awaitJoined waits until every replica is connected and sees them all.
func awaitJoined(t *testing.T, within time.Duration, rs ...*replica) time.Duration {
	t.Helper()
	return await(t, within, fmt.Sprintf("%d replicas to join and see each other", len(rs)), func() bool {
		for _, r := range rs {
			if st := r.Status(); !st.Connected || len(st.Members) != len(rs) {
				return false
			}
		}
		return true
	})
}

// decideAll tells whether every replica decides want for key whatever its
// own probes say.
func decideAll(rs []*replica, key string, want bool) bool {
	for _, r := range rs {
		if down, _ := r.Decide(key, !want); down != want {
			return false
		}
	}
	return true
}

func whyAll(rs []*replica, key, phrase string) bool {
	for _, r := range rs {
		if _, why := r.Decide(key, false); !strings.Contains(why, phrase) {
			return false
		}
	}
	return true
}

const testKey = "www.example.org 192.0.2.10 http://192.0.2.10/health"

func vote(down bool, reason string) Vote {
	return Vote{Endpoint: "192.0.2.10", Check: "http://192.0.2.10/health", Down: down, Reason: reason}
}

func TestMajority(t *testing.T) {
	rs := startReplicas(t, sharedEtcd(t), 3, nil)
	t.Logf("3 replicas joined in %s", awaitJoined(t, 10*time.Second, rs...))
	for _, r := range rs {
		r.Publish(testKey, vote(false, ""))
	}
	await(t, 5*time.Second, "every replica to count 3 up votes", func() bool { return whyAll(rs, testKey, "0 of 3 replicas see it down, 2 needed") })

	rs[0].Publish(testKey, vote(true, "timeout"))
	await(t, 5*time.Second, "every replica to count r0's down vote", func() bool {
		return whyAll(rs, testKey, "1 of 3 replicas see it down, 2 needed: r0 (timeout)")
	})
	for _, r := range rs {
		if down, why := r.Decide(testKey, true); down {
			t.Errorf("Expected one down vote of three not to fail %s over, whatever its own probes say; got down (%s)", r.cfg.Node, why)
		}
	}

	rs[1].Publish(testKey, vote(true, "connection refused"))
	took := await(t, 5*time.Second, "every replica to decide down after the second down vote", func() bool { return decideAll(rs, testKey, true) })
	t.Logf("every replica decided down %s after the second down vote", took)
	if _, why := rs[2].Decide(testKey, false); why != "2 of 3 replicas see it down, 2 needed: r0 (timeout), r1 (connection refused)" {
		t.Errorf("Expected the decision to name the replicas that see it down, got %q", why)
	}

	rs[0].Publish(testKey, vote(false, ""))
	await(t, 5*time.Second, "every replica to decide up once r0 sees it up again", func() bool { return decideAll(rs, testKey, false) })

	// A key that only r0 votes for is r0's own call; the others follow r0.
	rs[0].Publish("only r0", vote(true, "timeout"))
	await(t, 5*time.Second, "r1 to follow the only vote", func() bool { d, _ := rs[1].Decide("only r0", false); return d })
	if d, why := rs[0].Decide("only r0", false); d || !strings.Contains(why, "no other replica votes") {
		t.Errorf("Expected r0 to keep its own view of a key only it votes for, got %t (%s)", d, why)
	}
	rs[0].Withdraw("only r0")
	await(t, 5*time.Second, "r1 to see the withdrawn vote go", func() bool { d, _ := rs[1].Decide("only r0", false); return !d })
}

func TestQuorumN(t *testing.T) {
	c := sharedEtcd(t)
	t.Run("one", func(t *testing.T) {
		rs := startReplicas(t, c, 3, func(cfg *Config) { cfg.Quorum = 1 })
		awaitJoined(t, 10*time.Second, rs...)
		for i, r := range rs {
			r.Publish(testKey, vote(i == 0, "timeout"))
		}
		took := await(t, 5*time.Second, "one down vote to fail every replica over with quorum 1", func() bool { return decideAll(rs, testKey, true) })
		t.Logf("quorum 1: down everywhere %s after the votes", took)
	})
	t.Run("all", func(t *testing.T) {
		rs := startReplicas(t, c, 3, func(cfg *Config) { cfg.Quorum = 3 })
		awaitJoined(t, 10*time.Second, rs...)
		for i, r := range rs {
			r.Publish(testKey, vote(i < 2, "timeout"))
		}
		await(t, 5*time.Second, "every replica to count 2 of 3", func() bool { return whyAll(rs, testKey, "2 of 3 replicas see it down, 3 needed") })
		if !decideAll(rs, testKey, false) {
			t.Error("Expected two down votes not to reach quorum 3")
		}
		rs[2].Publish(testKey, vote(true, "timeout"))
		await(t, 5*time.Second, "the third down vote to reach quorum 3", func() bool { return decideAll(rs, testKey, true) })
		// A quorum above the voters needs them all, so a replica leaving does not pin the key up.
		rs[2].Close()
		await(t, 5*time.Second, "the two left to decide down between them", func() bool {
			return whyAll(rs[:2], testKey, "2 of 2 replicas see it down, 2 needed") && decideAll(rs[:2], testKey, true)
		})
	})
}

func TestLeavingReplica(t *testing.T) {
	rs := startReplicas(t, sharedEtcd(t), 3, nil)
	awaitJoined(t, 10*time.Second, rs...)
	for i, r := range rs {
		r.Publish(testKey, vote(i < 2, "timeout"))
	}
	await(t, 5*time.Second, "every replica to decide down", func() bool { return decideAll(rs, testKey, true) })

	rs[0].Close()
	took := await(t, 5*time.Second, "r0's votes to go when it closes", func() bool {
		return whyAll(rs[1:], testKey, "1 of 2 replicas see it down") && decideAll(rs[1:], testKey, false)
	})
	t.Logf("a closed replica's votes went in %s", took)
	if took > testLease/2 {
		t.Errorf("Expected Close to withdraw at once, took %s", took)
	}

	// A crash leaves its keys until the lease runs out.
	rs[1].stop(false)
	took = await(t, testLease+3*time.Second, "the crashed r1 to leave", func() bool { return len(rs[2].Status().Members) == 1 })
	t.Logf("a crashed replica's votes went in %s (lease %s)", took, testLease)
	if took < testLease/4 {
		t.Errorf("Expected a crashed replica's votes to stay until its lease ran out, they went in %s", took)
	}
	if d, why := rs[2].Decide(testKey, false); d || !strings.Contains(why, "no other replica votes") {
		t.Errorf("Expected the last replica to decide on its own, got %t (%s)", d, why)
	}
}

func TestProbersTakeOver(t *testing.T) {
	rs := startReplicas(t, sharedEtcd(t), 3, func(cfg *Config) { cfg.Probers = 1 })
	awaitJoined(t, 10*time.Second, rs...)
	keys := make([]string, 100)
	for i := range keys {
		keys[i] = fmt.Sprintf("www.example.org 192.0.2.%d http://192.0.2.%d/health", i, i)
	}
	owner := map[string]int{}
	share := make([]int, len(rs))
	for _, key := range keys {
		var by []int
		for i, r := range rs {
			if r.Probes(key) {
				by = append(by, i)
			}
		}
		if len(by) != 1 {
			t.Fatalf("Expected exactly one prober of %q, got %v", key, by)
		}
		owner[key] = by[0]
		share[by[0]]++
	}
	t.Logf("probes of 100 keys per replica: %v", share)
	for i, n := range share {
		if n < 20 {
			t.Errorf("Expected r%d to probe a fair share of 100 keys, it probes %d", i, n)
		}
	}

	var told atomic.Int32
	defer rs[1].Subscribe(func() { told.Add(1) })()
	rs[0].stop(false)
	took := await(t, testLease+3*time.Second, "r1 and r2 to take over r0's keys", func() bool {
		for _, key := range keys {
			if rs[1].Probes(key) == rs[2].Probes(key) {
				return false
			}
		}
		return true
	})
	t.Logf("the keys of a crashed prober were taken over in %s (lease %s)", took, testLease)
	for _, key := range keys {
		if i := owner[key]; i != 0 && !rs[i].Probes(key) {
			t.Errorf("Expected r%d to keep probing %q when another replica leaves", i, key)
		}
	}
	if told.Load() == 0 {
		t.Error("Expected a subscriber to hear that the probers changed")
	}
}

func TestEtcdMemberStops(t *testing.T) {
	c := etcdtest.New(t, 3, t.TempDir())
	defer c.Close()
	rs := startReplicas(t, c, 3, nil)
	awaitJoined(t, 10*time.Second, rs...)
	for i, r := range rs {
		r.Publish(testKey, vote(i < 2, "timeout"))
	}
	await(t, 5*time.Second, "every replica to decide down", func() bool { return decideAll(rs, testKey, true) })

	leader := c.Leader()
	if leader == nil {
		t.Fatal("Expected a leader")
	}
	c.Stop(leader)
	t.Logf("stopped the leader %s", leader.Name())
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for end := time.Now().Add(testLease + testLease/2); time.Now().Before(end); <-tick.C {
		for _, r := range rs {
			if st := r.Status(); !st.Connected {
				t.Fatalf("Expected %s to stay connected while two etcd members of three serve, got %+v", r.cfg.Node, st)
			}
		}
		if !decideAll(rs, testKey, true) {
			t.Fatal("Expected the decision to stay down while two etcd members of three serve")
		}
	}
	rs[2].Publish(testKey, vote(true, "refused"))
	took := await(t, 5*time.Second, "a new vote to reach everyone", func() bool { return whyAll(rs, testKey, "3 of 3") })
	t.Logf("with a member stopped, a new vote reached every replica in %s", took)
}

func TestEtcdDown(t *testing.T) {
	c := etcdtest.New(t, 3, t.TempDir())
	defer c.Close()
	rs := startReplicas(t, c, 3, nil)
	awaitJoined(t, 10*time.Second, rs...)
	for i, r := range rs {
		r.Publish(testKey, vote(i < 2, "timeout"))
	}
	await(t, 5*time.Second, "every replica to decide down", func() bool { return decideAll(rs, testKey, true) })

	stopped := time.Now()
	gone := make(chan struct{})
	go func() { c.Stop(c.Members...); close(gone) }()
	// Paced calls, as queries and probes come, each timed on its own: a
	// call that waited on etcd would take a call timeout, hundreds of ms.
	var took []time.Duration
	timed := func(call func()) {
		start := time.Now()
		call()
		took = append(took, time.Since(start))
	}
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for i := 0; ; i++ {
		cut := true
		for _, r := range rs {
			timed(func() { r.Decide(testKey, false) })
			timed(func() { r.Probes(testKey) })
			timed(func() { r.Publish(testKey+" churn", vote(i%2 == 0, "")) })
			timed(func() { cut = cut && !r.Status().Connected })
		}
		if cut {
			break
		}
		if time.Since(stopped) > testLease+3*time.Second {
			t.Fatalf("Expected every replica cut off within about a lease of etcd stopping, got %+v", rs[0].Status())
		}
		<-tick.C
	}
	cutOff := time.Since(stopped)
	slices.Sort(took)
	slowest, p99 := took[len(took)-1], took[len(took)*99/100]
	t.Logf("cut off %s after etcd stopped (lease %s); of %d calls to Decide, Probes, Publish and Status meanwhile the 99th percentile took %s, the slowest %s",
		cutOff, testLease, len(took), p99, slowest)
	if slowest > 10*time.Millisecond {
		t.Errorf("Expected Decide, Probes, Publish and Status not to wait on etcd, the slowest call took %s", slowest)
	}
	if d, why := rs[0].Decide(testKey, false); d || !strings.Contains(why, "cut off") {
		t.Errorf("Expected a cut-off replica to decide on its own probes, got %t (%s)", d, why)
	}
	st := rs[0].Status()
	if st.Since.Before(stopped) || st.LastError == "" {
		t.Errorf("Expected the status to say since when it is cut off and why, got %+v", st)
	}
	if n := rs[0].logs.count("cut off from etcd"); n != 1 {
		t.Errorf("Expected the cut-off logged once, got %d times: %q", n, rs[0].logs.lines)
	}

	// r0 changes its mind while cut off; the others learn of it once it is back.
	rs[0].Publish(testKey, vote(false, ""))
	<-gone
	c.Start(t, c.Members...)
	back := time.Now()
	t.Logf("every replica rejoined %s after etcd was ready again", awaitJoined(t, 10*time.Second, rs...))
	await(t, 5*time.Second, "the vote r0 changed while cut off to reach the others", func() bool {
		return whyAll(rs, testKey, "1 of 3 replicas see it down") && decideAll(rs, testKey, false)
	})
	t.Logf("r0's vote changed while cut off reached every replica %s after etcd was ready", time.Since(back))
	for _, r := range rs {
		if n := r.logs.count("rejoined etcd"); n != 1 {
			t.Errorf("Expected %s to log its rejoining once, got %d: %q", r.cfg.Node, n, r.logs.lines)
		}
	}
}

func TestPartitionedReplica(t *testing.T) {
	c := sharedEtcd(t)
	rs := startReplicas(t, c, 3, func(cfg *Config) { cfg.Probers = 2 })
	awaitJoined(t, 10*time.Second, rs...)
	for i, r := range rs {
		r.Publish(testKey, vote(i < 2, "timeout"))
	}
	await(t, 5*time.Second, "every replica to decide down", func() bool { return decideAll(rs, testKey, true) })
	notMine := ""
	for i := 0; notMine == ""; i++ {
		if key := fmt.Sprint("key ", i); !rs[0].Probes(key) {
			notMine = key
		}
	}

	rs[0].path.Cut(true)
	took := await(t, testLease+3*time.Second, "r0 to be cut off and the others to see it leave", func() bool {
		return !rs[0].Status().Connected && slices.Equal(rs[1].Status().Members, []string{"r1", "r2"}) &&
			slices.Equal(rs[2].Status().Members, []string{"r1", "r2"})
	})
	t.Logf("a partitioned replica was cut off, and left the others' view, in %s", took)
	if !decideAll(rs[1:], testKey, false) {
		t.Error("Expected r1 and r2 to decide up between them once r0's vote lapsed")
	}
	if d, _ := rs[0].Decide(testKey, true); !d {
		t.Error("Expected the cut-off r0 to decide on its own probes")
	}
	if !rs[0].Probes(notMine) {
		t.Errorf("Expected the cut-off r0 to probe everything, %q included", notMine)
	}

	// Churn and compact while r0 is away, so that its old watch revision is gone.
	for i := range 20 {
		rs[2].Publish(testKey, vote(i%2 == 0, "flapping"))
		rs[2].Publish(fmt.Sprint("churn ", i), vote(true, ""))
	}
	rs[2].Publish(testKey, vote(false, ""))
	await(t, 5*time.Second, "r1 to see the churn settle", func() bool { d, _ := rs[1].Decide("churn 19", false); return d })
	compact(t, c)

	rs[0].path.Cut(false)
	healed := time.Now()
	awaitJoined(t, 10*time.Second, rs...)
	t.Logf("a partitioned replica rejoined %s after its path healed", time.Since(healed))
	await(t, 5*time.Second, "r0's vote to count again and r0 to see the churn", func() bool {
		d, _ := rs[0].Decide("churn 19", false)
		return d && decideAll(rs, testKey, true)
	})
	if rs[0].Probes(notMine) {
		t.Errorf("Expected r0 to leave %q to its probers once back", notMine)
	}
}

// compact drops etcd's history up to now.
func compact(t *testing.T, c *etcdtest.Cluster) {
	t.Helper()
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{c.Client()}, DialTimeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := cli.Get(ctx, "compact")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Compact(ctx, resp.Header.Revision, clientv3.WithCompactPhysical()); err != nil {
		t.Fatal(err)
	}
}

func TestNamesake(t *testing.T) {
	c := sharedEtcd(t)
	t.Run("twins", func(t *testing.T) {
		rs := startReplicas(t, c, 2, func(cfg *Config) { cfg.Node = "twin" })
		await(t, 10*time.Second, "a replica to notice another of its name", func() bool {
			return rs[0].logs.count("same node name")+rs[1].logs.count("same node name") > 0
		})
	})
	t.Run("restart", func(t *testing.T) {
		old := startReplicas(t, c, 1, nil)[0]
		awaitJoined(t, 10*time.Second, old)
		old.stop(false)
		r := startReplicas(t, c, 1, nil)[0]
		awaitJoined(t, 10*time.Second, r)
		// What the crashed run left under its lease is not another replica.
		tick := time.NewTicker(tick)
		defer tick.Stop()
		for end := time.Now().Add(testLease); time.Now().Before(end); <-tick.C {
			if r.logs.count("same node name") > 0 {
				t.Fatalf("Expected a restarted replica not to take its earlier run for a namesake: %q", r.logs.lines)
			}
		}
	})
}
