package cluster

import (
	"encoding/json"
	"errors"
	"time"
	"unicode/utf8"
)

// Vote is one replica's view of one (endpoint, check).
type Vote struct {
	Endpoint, Check string // for people reading etcd; the caller's key identifies it
	Down            bool
	Reason          string // why it is down, shown in the decision
}

type voteValue struct {
	Endpoint string `json:"endpoint"`
	Check    string `json:"check"`
	Down     *bool  `json:"down"`
	Reason   string `json:"reason,omitempty"`
}

type memberValue struct {
	Node    string    `json:"node"`
	Started time.Time `json:"started"`
}

// Limits on what is read back, so that whatever sits under the prefix
// costs a replica little.
const (
	maxValue = 4096
	maxField = 256
)

func encodeVote(v Vote) []byte {
	down := v.Down
	b, _ := json.Marshal(voteValue{Endpoint: clip(v.Endpoint), Check: clip(v.Check), Down: &down, Reason: clip(v.Reason)})
	return b
}

func decodeVote(b []byte) (Vote, error) {
	if len(b) > maxValue {
		return Vote{}, errors.New("vote value too long")
	}
	var vv voteValue
	if err := json.Unmarshal(b, &vv); err != nil {
		return Vote{}, err
	}
	if vv.Down == nil {
		return Vote{}, errors.New("vote value without down")
	}
	return Vote{Endpoint: clip(vv.Endpoint), Check: clip(vv.Check), Down: *vv.Down, Reason: clip(vv.Reason)}, nil
}

func encodeMember(node string, started time.Time) []byte {
	b, _ := json.Marshal(memberValue{Node: node, Started: started.UTC().Truncate(time.Second)})
	return b
}

// clip shortens s to maxField bytes without splitting a character.
func clip(s string) string {
	if len(s) <= maxField {
		return s
	}
	n := maxField
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
