package cluster

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// TestEtcdTrafficAt10k measures what three replicas write to a real etcd
// for 10,000 endpoints, with every replica probing and with probers 1: at
// start, in a quiet minute, and when 1 % of the endpoints change state. It
// is a measurement, run by hand: FAILOVER_SCALE=1 go test -run Traffic -v ./plugin/cluster
func TestEtcdTrafficAt10k(t *testing.T) {
	if os.Getenv("FAILOVER_SCALE") == "" {
		t.Skip("a measurement; set FAILOVER_SCALE=1 to run it")
	}
	const n = 10000
	c := sharedEtcd(t)
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{c.Client()}, DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	revision := func() int64 {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		r, err := cli.Get(ctx, "/")
		if err != nil {
			t.Fatal(err)
		}
		return r.Header.Revision
	}
	for _, probers := range []int{0, 1} {
		t.Run(fmt.Sprintf("probers %d", probers), func(t *testing.T) {
			rs := startReplicas(t, c, 3, func(cfg *Config) { cfg.Probers = probers })
			votes := "/" + strings.ReplaceAll(t.Name(), "/", "-") + "/votes/"
			count := func(down bool) int {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				r, err := cli.Get(ctx, votes, clientv3.WithPrefix())
				if err != nil {
					t.Fatal(err)
				}
				n := 0
				for _, kv := range r.Kvs {
					if !down || strings.Contains(string(kv.Value), `"down":true`) {
						n++
					}
				}
				return n
			}
			await(t, 10*time.Second, "three members", func() bool { return len(rs[2].Status().Members) == 3 })
			keys := make([]string, n)
			for i := range keys {
				keys[i] = fmt.Sprintf("http://192.0.%d.%d/health|10s|1s|3|2", i/250, i%250)
			}
			before := revision()
			start := time.Now()
			want := 0
			for _, r := range rs {
				for _, k := range keys {
					if r.Probes(k) {
						r.Publish(k, Vote{Endpoint: k[7:19], Check: k[:strings.Index(k, "|")]})
						want++
					}
				}
			}
			// Settled once every replica's votes are visible to the others.
			await(t, 60*time.Second, "every vote written", func() bool { return count(false) >= want })
			t.Logf("start: %d votes in %d write transactions, %s", want, revision()-before, time.Since(start).Round(time.Millisecond))
			quiet := revision()
			time.Sleep(30 * time.Second) // the measured window itself, not a wait for an event
			t.Logf("quiet 30 s: %d write transactions (lease renewals do not write)", revision()-quiet)
			flip := revision()
			flips := 0
			for _, r := range rs {
				for _, k := range keys[:n/100] {
					if r.Probes(k) {
						r.Publish(k, Vote{Endpoint: k[7:19], Check: k[:strings.Index(k, "|")], Down: true, Reason: "timeout"})
						flips++
					}
				}
			}
			await(t, 30*time.Second, "the flips written", func() bool { return count(true) >= flips })
			t.Logf("1 %% of the endpoints down: %d votes changed in %d write transactions", flips, revision()-flip)
		})
	}
}
