package cluster

import (
	"crypto/sha256"
	"encoding/binary"
)

// probes tells whether self is among the n members ranking highest for
// key. Rendezvous hashing moves only the keys of a member that comes or
// goes, and every replica ranks alike without talking.
func probes(members []string, self, key string, n int) bool {
	if n <= 0 {
		return true
	}
	mine, above := score(self, key), 0
	for _, m := range members {
		if m == self {
			continue
		}
		if s := score(m, key); s > mine || s == mine && m < self {
			if above++; above >= n {
				return false
			}
		}
	}
	return true
}

func score(node, key string) uint64 {
	var buf [128]byte
	b := append(append(append(buf[:0], node...), 0), key...)
	sum := sha256.Sum256(b)
	return binary.BigEndian.Uint64(sum[:8])
}
