package policy

import (
	"hash/fnv"
	"math"
	"net/netip"
)

// Seed is an endpoint's fixed place in rendezvous hashing. It depends on the
// address alone, so that a client subnet keeps its endpoint across reloads
// and restarts and on every replica.
func Seed(address string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(address))
	return h.Sum64()
}

// SubnetKey is the key of addr's sticky subnet: its first v4bits or v6bits.
func SubnetKey(addr netip.Addr, v4bits, v6bits int) uint64 {
	addr = addr.Unmap()
	if addr.Is4() {
		a := addr.As4()
		n := uint64(a[0])<<24 | uint64(a[1])<<16 | uint64(a[2])<<8 | uint64(a[3])
		n &^= (1<<(32-v4bits) - 1)
		return mix(n | 4<<32)
	}
	a := addr.As16()
	var hi, lo uint64
	for i := range 8 {
		hi, lo = hi<<8|uint64(a[i]), lo<<8|uint64(a[8+i])
	}
	switch {
	case v6bits <= 64:
		hi &^= 1<<(64-v6bits) - 1
		lo = 0
	case v6bits < 128:
		lo &^= 1<<(128-v6bits) - 1
	}
	return mix(hi ^ mix(lo^6))
}

// mix is SplitMix64's finaliser: every input bit moves every output bit, so
// neighbouring subnets land on unrelated endpoints.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// score is the weighted rendezvous score of an item for a client key: the
// highest wins, and each item wins for a share of keys in proportion to its
// weight. An item removed takes only its own keys with it.
func score(key, seed uint64, weight float64) float64 {
	h := mix(key ^ seed)
	u := (float64(h>>11) + 0.5) / (1 << 53) // uniform in (0, 1)
	return weight / -math.Log(u)
}
