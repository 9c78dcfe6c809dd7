package cluster

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestDecide(t *testing.T) {
	b := func(node string, down bool) ballot {
		return ballot{node: node, down: down, reason: map[bool]string{true: "timeout"}[down]}
	}
	for _, tc := range []struct {
		quorum  int
		ballots []ballot
		down    bool
		others  bool
		why     string
	}{
		{0, []ballot{b("a", true)}, true, true, "1 of 1 replicas see it down, 1 needed: a (timeout)"},
		{0, []ballot{b("self", true)}, true, false, "1 of 1 replicas see it down, 1 needed: self (timeout)"},
		{0, []ballot{b("a", true), b("self", false)}, false, true, "1 of 2 replicas see it down, 2 needed: a (timeout)"},
		{0, []ballot{b("a", true), b("b", false), b("self", false)}, false, true, "1 of 3 replicas see it down, 2 needed: a (timeout)"},
		{0, []ballot{b("a", true), b("b", true), b("self", false)}, true, true, "2 of 3 replicas see it down, 2 needed: a (timeout), b (timeout)"},
		{0, []ballot{b("a", true), b("b", true), b("c", false), b("d", false)}, false, true, "2 of 4 replicas see it down, 3 needed: a (timeout), b (timeout)"},
		{0, []ballot{b("a", false), b("b", false), b("c", false)}, false, true, "0 of 3 replicas see it down, 2 needed"},
		{1, []ballot{b("a", true), b("b", false), b("c", false)}, true, true, "1 of 3 replicas see it down, 1 needed: a (timeout)"},
		{3, []ballot{b("a", true), b("b", true), b("c", false)}, false, true, "2 of 3 replicas see it down, 3 needed: a (timeout), b (timeout)"},
		// Fewer voters than the quorum: all of them.
		{3, []ballot{b("a", true), b("b", true)}, true, true, "2 of 2 replicas see it down, 2 needed: a (timeout), b (timeout)"},
		{3, []ballot{b("a", true), b("b", false)}, false, true, "1 of 2 replicas see it down, 2 needed: a (timeout)"},
	} {
		d := decide("self", tc.quorum, tc.ballots)
		if d.down != tc.down || d.others != tc.others || d.why != tc.why {
			t.Errorf("quorum %d, %v: expected down=%t others=%t %q, got down=%t others=%t %q",
				tc.quorum, tc.ballots, tc.down, tc.others, tc.why, d.down, d.others, d.why)
		}
	}
	var many []ballot
	for i := range 9 {
		many = append(many, ballot{node: fmt.Sprint("r", i), down: true, reason: "timeout"})
	}
	if why := decide("self", 0, many).why; !strings.HasSuffix(why, "r4 (timeout), ...") || strings.Contains(why, "r5") {
		t.Errorf("Expected a decision to name a few replicas only, got %q", why)
	}
}

func TestProbes(t *testing.T) {
	members := []string{"a", "b", "c", "d"}
	keys := make([]string, 400)
	for i := range keys {
		keys[i] = fmt.Sprint("key ", i)
	}
	probers := func(members []string, key string, n int) []string {
		var by []string
		for _, m := range members {
			if probes(members, m, key, n) {
				by = append(by, m)
			}
		}
		return by
	}
	share := map[string]int{}
	before := map[string][]string{}
	for _, key := range keys {
		by := probers(members, key, 2)
		if len(by) != 2 {
			t.Fatalf("Expected 2 probers of %q, got %v", key, by)
		}
		before[key] = by
		for _, m := range by {
			share[m]++
		}
	}
	for _, m := range members {
		if share[m] < 150 || share[m] > 250 {
			t.Errorf("Expected each of 4 members to probe about half of 400 keys with probers 2, %s probes %d", m, share[m])
		}
	}
	// When d leaves, only the keys d probed change hands.
	for _, key := range keys {
		after := probers(members[:3], key, 2)
		kept := 0
		for _, m := range before[key] {
			if m != "d" && (m == after[0] || m == after[1]) {
				kept++
			}
		}
		if want := len(before[key]) - strings.Count(strings.Join(before[key], " "), "d"); kept != want {
			t.Errorf("Expected %q to keep its probers %v but d, got %v", key, before[key], after)
		}
	}
	if !probes(members, "a", "k", 0) || !probes(members, "a", "k", 4) || !probes(nil, "a", "k", 1) {
		t.Error("Expected every member to probe with probers 0, or as many probers as members, or alone")
	}
	if !probes([]string{"b", "c"}, "a", "k", 3) {
		t.Error("Expected a member not yet among the live ones to count itself")
	}
}

func TestLayout(t *testing.T) {
	l := newLayout("/failover")
	h := keyHash("www.example.org 192.0.2.10")
	for _, tc := range []struct {
		key  string
		kind int
		node string
		h    uint64
	}{
		{l.member("dns-1"), memberKey, "dns-1", 0},
		{l.vote("dns-1", h), voteKey, "dns-1", h},
		{l.vote("dns-1", 1), voteKey, "dns-1", 1},
		{"/failover/votes/dns-1/00000000000000FF", otherKey, "", 0},
		{"/failover/votes/dns-1/ff", otherKey, "", 0},
		{"/failover/votes/dns-1/000000000000000g", otherKey, "", 0},
		{"/failover/votes/dns-1/00000000000000ff/x", otherKey, "", 0},
		{"/failover/votes/dns 1/00000000000000ff", otherKey, "", 0},
		{"/failover/votes//00000000000000ff", otherKey, "", 0},
		{"/failover/members/", otherKey, "", 0},
		{"/failover/members/a/b", otherKey, "", 0},
		{"/failover/leader", otherKey, "", 0},
		{"/failoverx/members/dns-1", otherKey, "", 0},
		{"/other/members/dns-1", otherKey, "", 0},
	} {
		kind, node, got := l.parse(tc.key)
		if kind != tc.kind || node != tc.node || got != tc.h {
			t.Errorf("%s: expected %d %q %x, got %d %q %x", tc.key, tc.kind, tc.node, tc.h, kind, node, got)
		}
	}
	if k := l.vote("n", 0xff); k != "/failover/votes/n/00000000000000ff" {
		t.Errorf("Expected a fixed-width hash in the key, got %s", k)
	}
}

func TestValues(t *testing.T) {
	v := Vote{Endpoint: "192.0.2.10", Check: "http://192.0.2.10/", Down: true, Reason: "timeout"}
	got, err := decodeVote(encodeVote(v))
	if err != nil || got != v {
		t.Errorf("Expected %+v to read back, got %+v, %v", v, got, err)
	}
	if string(encodeVote(Vote{})) != `{"endpoint":"","check":"","down":false}` {
		t.Errorf("Expected an up vote to say down false, got %s", encodeVote(Vote{}))
	}
	for _, bad := range []string{``, `null`, `{}`, `{"down":"yes"}`, `[true]`, `{"down":true,"reason":7}`, `{"down":true,"x":"` + strings.Repeat("y", maxValue) + `"}`} {
		if _, err := decodeVote([]byte(bad)); err == nil {
			t.Errorf("Expected %.40q not to read as a vote", bad)
		}
	}
	long := strings.Repeat("é", maxField) // two bytes each
	got, _ = decodeVote(encodeVote(Vote{Reason: long}))
	if len(got.Reason) != maxField || got.Reason != long[:maxField] {
		t.Errorf("Expected a long reason clipped to %d bytes on a character boundary, got %d", maxField, len(got.Reason))
	}
	if s := clip(strings.Repeat("a", maxField-1) + "é"); len(s) != maxField-1 {
		t.Errorf("Expected a character across the limit dropped whole, got %d bytes", len(s))
	}
}

func TestConfig(t *testing.T) {
	ok := Config{Endpoints: []string{"http://127.0.0.1:2379"}, Node: "a"}
	c, err := ok.checked()
	if err != nil || c.Prefix != "/failover" || c.Lease != 10*time.Second || c.ttl() != 10 || c.rpcTimeout() != 3*time.Second {
		t.Errorf("Expected the defaults, got %+v, %v", c, err)
	}
	if c, _ := (Config{Endpoints: ok.Endpoints, Node: "a", Lease: 2 * time.Second}).checked(); c.rpcTimeout() != 700*time.Millisecond {
		t.Errorf("Expected a floor on the call timeout, got %s", c.rpcTimeout())
	}
	for _, bad := range []Config{
		{Node: "a"},
		{Endpoints: ok.Endpoints},
		{Endpoints: ok.Endpoints, Node: "a/b"},
		{Endpoints: ok.Endpoints, Node: "a", Prefix: "failover"},
		{Endpoints: ok.Endpoints, Node: "a", Prefix: "/failover/"},
		{Endpoints: ok.Endpoints, Node: "a", Lease: time.Second},
		{Endpoints: ok.Endpoints, Node: "a", Quorum: -1},
	} {
		if _, err := bad.checked(); err == nil {
			t.Errorf("Expected %+v to be refused", bad)
		}
	}
}
