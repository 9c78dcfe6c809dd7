package cluster

import (
	"testing"
)

// Whatever sits under the prefix, written by any replica or by hand, must
// never panic a replica or count as a vote it is not.
func FuzzWatchedValue(f *testing.F) {
	keys := newLayout("/failover")
	f.Add(keys.vote("r1", 0xff), []byte(`{"endpoint":"192.0.2.10","check":"http://192.0.2.10/","down":true,"reason":"timeout"}`))
	f.Add(keys.member("r1"), []byte(`{"node":"r1","started":"2025-01-02T03:04:05Z"}`))
	f.Add(keys.vote("r1", 1), []byte(`{"down":1}`))
	f.Add("/failover/votes/r1/zz", []byte(`null`))
	f.Add(keys.vote("r1", 2), []byte("{\"down\":false,\"reason\":\"\xff\xfe\"}"))
	f.Fuzz(func(t *testing.T, key string, value []byte) {
		st := newState(keys)
		st.put(keys.member("r1"), nil, written{})
		st.put(keys.member("self"), nil, written{})
		err := st.put(key, value, written{lease: 1, rev: 2})
		s := st.snapshot("self", 0, 1)
		for h, d := range s.decisions {
			if d.why == "" || len(d.why) > 4096 {
				t.Fatalf("Expected a short reason for %x, got %d bytes", h, len(d.why))
			}
		}
		kind, node, h := keys.parse(key)
		if kind == voteKey {
			v, counted := st.votes[node][h]
			if counted != (err == nil) {
				t.Fatalf("Expected %q to count as a vote exactly when it reads as one, err %v", value, err)
			}
			if counted {
				if again, err := decodeVote(encodeVote(v)); err != nil || again != v {
					t.Fatalf("Expected %+v to read back, got %+v, %v", v, again, err)
				}
			}
		}
		st.delete(key)
		if kind == voteKey && len(st.votes[node]) != 0 {
			t.Fatalf("Expected %s deleted", key)
		}
	})
}
