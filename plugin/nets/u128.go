package nets

import (
	"cmp"
	"math/bits"
)

// u128 is an address as a number, IPv4 ones in the low bits, so that one
// flattening serves both families.
type u128 struct{ hi, lo uint64 }

var max128 = u128{^uint64(0), ^uint64(0)}

func (a u128) compare(b u128) int {
	if c := cmp.Compare(a.hi, b.hi); c != 0 {
		return c
	}
	return cmp.Compare(a.lo, b.lo)
}

func (a u128) next() u128 {
	lo, carry := bits.Add64(a.lo, 1, 0)
	return u128{a.hi + carry, lo}
}

func (a u128) prev() u128 {
	lo, borrow := bits.Sub64(a.lo, 1, 0)
	return u128{a.hi - borrow, lo}
}

// hostMask has the low width-bits bits set: the addresses a prefix of
// that length spans above its start.
func hostMask(width, bits int) u128 {
	n := width - bits
	switch {
	case n >= 128:
		return max128
	case n >= 64:
		return u128{1<<(n-64) - 1, ^uint64(0)}
	default:
		return u128{0, 1<<n - 1}
	}
}

// commonBits is how many leading bits a and b share, 128 when equal.
func commonBits(a, b u128) int {
	if d := a.hi ^ b.hi; d != 0 {
		return bits.LeadingZeros64(d)
	}
	return 64 + bits.LeadingZeros64(a.lo^b.lo)
}

func trailingZeros(a u128) int {
	if a.lo != 0 {
		return bits.TrailingZeros64(a.lo)
	}
	return 64 + bits.TrailingZeros64(a.hi)
}
