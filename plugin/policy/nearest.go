package policy

import "github.com/failover-dns/failover/plugin/geo"

// tieKM is how close two distances must be to count as a tie: endpoints of
// one site, written with coordinates of different precision.
const tieKM = 1.0

// Near makes PickNear choose by distance, points being the items'.
func (s *Set[T]) Near(points []geo.Point) *Set[T] { s.points = points; return s }

// PickNear appends the answer for a client at from: the items nearest to it
// (ties rotated, or by key when sticky). Without Near it is PickFor.
func (s *Set[T]) PickNear(from geo.Point, key uint64, dst []T) []T {
	n := len(s.items)
	if s.points == nil || n <= 1 || n > maxSticky {
		return s.PickFor(key, dst)
	}
	var dist [maxSticky]float64
	best := -1.0
	for i := range n {
		dist[i] = from.DistanceTo(s.points[i])
		if best < 0 || dist[i] < best {
			best = dist[i]
		}
	}
	var ties [maxSticky]int
	t := 0
	for i := range n {
		if dist[i] <= best+tieKM {
			ties[t] = i
			t++
		}
	}
	k := min(t, s.limit)
	if s.seeds != nil && t > 1 {
		return s.pickSticky(key, ties[:t], k, dst)
	}
	start := 0
	if t > 1 {
		start = int(s.turn.Add(1) % uint64(t))
	}
	for j := range k {
		dst = append(dst, s.items[ties[(start+j)%t]])
	}
	return dst
}
