package cluster

import (
	"maps"
	"slices"
)

// state is what the watch has seen under the prefix; only the watching
// goroutine touches it.
type state struct {
	keys    layout
	members map[string]written
	votes   map[string]map[uint64]Vote // node -> key hash -> vote
}

// written says by which lease and at which revision a key was last put.
type written struct{ lease, rev int64 }

func newState(keys layout) *state {
	return &state{keys: keys, members: map[string]written{}, votes: map[string]map[uint64]Vote{}}
}

// put records a key written under the prefix. A value that does not read
// as a vote removes the vote, as if the replica had withdrawn it.
func (st *state) put(key string, value []byte, by written) error {
	kind, node, h := st.keys.parse(key)
	switch kind {
	case memberKey:
		st.members[node] = by
	case voteKey:
		v, err := decodeVote(value)
		if err != nil {
			st.drop(node, h)
			return err
		}
		if st.votes[node] == nil {
			st.votes[node] = map[uint64]Vote{}
		}
		st.votes[node][h] = v
	}
	return nil
}

func (st *state) delete(key string) {
	kind, node, h := st.keys.parse(key)
	switch kind {
	case memberKey:
		delete(st.members, node)
	case voteKey:
		st.drop(node, h)
	}
}

func (st *state) drop(node string, h uint64) {
	delete(st.votes[node], h)
	if len(st.votes[node]) == 0 {
		delete(st.votes, node)
	}
}

// snapshot is an immutable view for readers on other goroutines.
type snapshot struct {
	session   uint64   // the lease session during which it was read from etcd
	members   []string // live replicas, sorted
	self      written  // who last wrote this replica's members key
	decisions map[uint64]decision
}

// snapshot counts the votes of live members only: a replica whose members
// key is gone has left, whatever it left behind.
func (st *state) snapshot(self string, quorum int, session uint64) *snapshot {
	s := &snapshot{session: session, members: slices.Sorted(maps.Keys(st.members)), self: st.members[self]}
	ballots := map[uint64][]ballot{}
	for _, node := range s.members {
		for h, v := range st.votes[node] {
			ballots[h] = append(ballots[h], ballot{node: node, down: v.Down, reason: v.Reason})
		}
	}
	s.decisions = make(map[uint64]decision, len(ballots))
	for h, bs := range ballots {
		s.decisions[h] = decide(self, quorum, bs)
	}
	return s
}
