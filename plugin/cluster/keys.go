package cluster

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
)

// layout names the keys under one prefix.
type layout struct{ root string } // the prefix with a trailing "/"

func newLayout(prefix string) layout { return layout{root: prefix + "/"} }

func (l layout) member(node string) string { return l.root + "members/" + node }

func (l layout) votes(node string) string { return l.root + "votes/" + node + "/" }

func (l layout) vote(node string, h uint64) string {
	return l.votes(node) + hashText(h)
}

// kind of key under the prefix.
const (
	otherKey = iota // not ours to read: ignored
	memberKey
	voteKey
)

// parse tells what key is; keys that do not fit the layout are ignored,
// so a later version may add its own.
func (l layout) parse(key string) (kind int, node string, h uint64) {
	rest, ok := strings.CutPrefix(key, l.root)
	if !ok {
		return otherKey, "", 0
	}
	if node, ok := strings.CutPrefix(rest, "members/"); ok && validNode(node) {
		return memberKey, node, 0
	}
	rest, ok = strings.CutPrefix(rest, "votes/")
	if !ok {
		return otherKey, "", 0
	}
	node, hash, ok := strings.Cut(rest, "/")
	if !ok || !validNode(node) || len(hash) != 16 {
		return otherKey, "", 0
	}
	h, err := strconv.ParseUint(hash, 16, 64)
	if err != nil || hashText(h) != hash {
		return otherKey, "", 0
	}
	return voteKey, node, h
}

// keyHash is what stands for a caller's key in etcd.
func keyHash(key string) uint64 {
	sum := sha256.Sum256([]byte(key))
	return binary.BigEndian.Uint64(sum[:8])
}

func hashText(h uint64) string { return fmt.Sprintf("%016x", h) }
