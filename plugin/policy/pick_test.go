package policy

import (
	"fmt"
	"math"
	"slices"
	"testing"
)

func labels(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("e%d", i)
	}
	return out
}

func distinct(xs []string) bool {
	seen := make(map[string]bool, len(xs))
	for _, x := range xs {
		if seen[x] {
			return false
		}
		seen[x] = true
	}
	return true
}

func TestPickRotation(t *testing.T) {
	items := labels(4)
	s := NewSet(items, nil, 8)
	leads := map[string]int{}
	for range len(items) {
		got := s.Pick(nil)
		if len(got) != len(items) {
			t.Fatalf("Expected %d answers, got %d: %v", len(items), len(got), got)
		}
		if !distinct(got) {
			t.Errorf("Expected no duplicate answer, got %v", got)
		}
		// The order is a rotation of the configured one, so that the
		// relative order of the endpoints is kept.
		start := slices.Index(items, got[0])
		for i, x := range got {
			if want := items[(start+i)%len(items)]; x != want {
				t.Errorf("Expected a rotation of %v, got %v", items, got)
				break
			}
		}
		leads[got[0]]++
	}
	for _, x := range items {
		if leads[x] != 1 {
			t.Errorf("Expected %s to lead exactly once in %d queries, got %d", x, len(items), leads[x])
		}
	}
}

func TestPickMax(t *testing.T) {
	items := labels(5)
	s := NewSet(items, nil, 2)
	leads := map[string]int{}
	for range 2 * len(items) {
		got := s.Pick(nil)
		if len(got) != 2 {
			t.Fatalf("Expected 2 answers, got %d: %v", len(got), got)
		}
		if !distinct(got) {
			t.Errorf("Expected no duplicate answer, got %v", got)
		}
		leads[got[0]]++
	}
	// Even with a cap every endpoint still gets its turn at the front.
	for _, x := range items {
		if leads[x] != 2 {
			t.Errorf("Expected %s to lead twice in %d queries, got %d", x, 2*len(items), leads[x])
		}
	}
}

func TestPickMaxBelowOne(t *testing.T) {
	s := NewSet(labels(3), nil, 0)
	if got := s.Pick(nil); len(got) != 1 {
		t.Errorf("Expected max_answers below 1 to mean 1 answer, got %v", got)
	}
}

func TestPickSingleAndEmpty(t *testing.T) {
	s := NewSet([]string{"only"}, nil, 8)
	for range 3 {
		if got := s.Pick(nil); !slices.Equal(got, []string{"only"}) {
			t.Errorf("Expected [only], got %v", got)
		}
	}
	if got := NewSet[string](nil, nil, 8).Pick(nil); len(got) != 0 {
		t.Errorf("Expected no answer from an empty set, got %v", got)
	}
	if got := NewSet[string](nil, []uint32{}, 1).Pick(nil); len(got) != 0 {
		t.Errorf("Expected no answer from an empty weighted set, got %v", got)
	}
}

func TestPickAppends(t *testing.T) {
	s := NewSet([]string{"a", "b"}, nil, 8)
	got := s.Pick([]string{"x"})
	if len(got) != 3 || got[0] != "x" {
		t.Errorf("Expected the answers appended after x, got %v", got)
	}
}

func TestPickWeightedSplit(t *testing.T) {
	const (
		n     = 10000
		p     = 0.9
		sigma = 4.5 // wide enough that the test fails about once in 150,000 runs
	)
	s := NewSet([]string{"heavy", "light"}, []uint32{90, 10}, 1)
	heavy := 0
	for range n {
		got := s.Pick(nil)
		if len(got) != 1 {
			t.Fatalf("Expected 1 answer, got %v", got)
		}
		if got[0] == "heavy" {
			heavy++
		}
	}
	mean := n * p
	sd := math.Sqrt(n * p * (1 - p))
	if d := math.Abs(float64(heavy) - mean); d > sigma*sd {
		t.Errorf("Expected %.0f ± %.0f heavy answers out of %d, got %d (%.1f standard deviations off)",
			mean, sigma*sd, n, heavy, d/sd)
	}
	if share := float64(heavy) / n; share < 0.88 || share > 0.92 {
		t.Errorf("Expected the 90/10 split to land within 88-92 %%, got %.2f %%", 100*share)
	}
}

func TestPickWeightedSeveralWithoutReplacement(t *testing.T) {
	items := labels(5)
	s := NewSet(items, []uint32{50, 20, 15, 10, 5}, 3)
	counts := map[string]int{}
	for range 2000 {
		got := s.Pick(nil)
		if len(got) != 3 {
			t.Fatalf("Expected 3 answers, got %d: %v", len(got), got)
		}
		if !distinct(got) {
			t.Fatalf("Expected distinct answers, got %v", got)
		}
		for _, x := range got {
			counts[x]++
		}
	}
	// Drawing without replacement must still reach the light endpoints.
	for _, x := range items {
		if counts[x] == 0 {
			t.Errorf("Expected %s to be drawn at least once, got never", x)
		}
	}
	// And the heavy one leads most often.
	if counts["e0"] <= counts["e4"] {
		t.Errorf("Expected weight 50 to be drawn more often than weight 5, got %d and %d", counts["e0"], counts["e4"])
	}
}

func TestPickWeightedMaxAboveCount(t *testing.T) {
	items := labels(3)
	s := NewSet(items, []uint32{1, 1, 1}, 8)
	for range 100 {
		got := s.Pick(nil)
		if len(got) != len(items) || !distinct(got) {
			t.Fatalf("Expected each of %v exactly once, got %v", items, got)
		}
	}
}

func TestPickWeightedDrainedOnly(t *testing.T) {
	// When only drained endpoints are left they share the traffic evenly
	// instead of the draw failing on a zero total.
	s := NewSet([]string{"a", "b"}, []uint32{0, 0}, 1)
	counts := map[string]int{}
	for range 1000 {
		got := s.Pick(nil)
		if len(got) != 1 {
			t.Fatalf("Expected 1 answer, got %v", got)
		}
		counts[got[0]]++
	}
	// 500 expected, standard deviation about 16.
	for _, x := range []string{"a", "b"} {
		if counts[x] < 400 || counts[x] > 600 {
			t.Errorf("Expected about 500 answers for %s, got %d", x, counts[x])
		}
	}
}
