package policy

import (
	"slices"
	"testing"
)

// members builds a member list from parallel priority/weight/up columns.
func members(prio []int, weight []uint32, up []bool) []Member {
	ms := make([]Member, len(up))
	for i := range up {
		if prio != nil {
			ms[i].Priority = prio[i]
		}
		if weight != nil {
			ms[i].Weight = weight[i]
		}
		ms[i].Up = up[i]
	}
	return ms
}

func TestEligibleActivePassive(t *testing.T) {
	// Two endpoints in the first tier, one each in the second and third.
	prio := []int{1, 1, 2, 3}
	tests := []struct {
		name    string
		up      []bool
		want    []int
		allDown bool
	}{
		{"all up: the whole first tier", []bool{true, true, true, true}, []int{0, 1}, false},
		{"one of the first tier down: the other one alone", []bool{false, true, true, true}, []int{1}, false},
		{"the other one of the first tier down", []bool{true, false, true, true}, []int{0}, false},
		{"first tier down: the second tier", []bool{false, false, true, true}, []int{2}, false},
		{"first and second tier down: the third", []bool{false, false, false, true}, []int{3}, false},
		{"second tier down only: still the first tier", []bool{true, true, false, true}, []int{0, 1}, false},
		{"first tier down, second down, third down", []bool{false, false, false, false}, nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, allDown := Eligible(ActivePassive, members(prio, nil, tc.up))
			if !slices.Equal(got, tc.want) {
				t.Errorf("Expected eligible %v, got %v", tc.want, got)
			}
			if allDown != tc.allDown {
				t.Errorf("Expected allDown %t, got %t", tc.allDown, allDown)
			}
		})
	}
}

func TestEligibleActivePassiveUnorderedPriorities(t *testing.T) {
	// The Corefile may list the backup first; the tier is chosen by number,
	// not by position, and priority 0 ranks above 1.
	ms := members([]int{2, 1, 0, 1}, nil, []bool{true, true, false, true})
	got, _ := Eligible(ActivePassive, ms)
	if want := []int{1, 3}; !slices.Equal(got, want) {
		t.Errorf("Expected eligible %v, got %v", want, got)
	}
	ms[2].Up = true
	got, _ = Eligible(ActivePassive, ms)
	if want := []int{2}; !slices.Equal(got, want) {
		t.Errorf("Expected eligible %v with priority 0 up, got %v", want, got)
	}
}

func TestEligibleGeoUsesTiers(t *testing.T) {
	// Inside a region geo orders endpoints as active-passive does.
	ms := members([]int{1, 2}, nil, []bool{true, true})
	got, _ := Eligible(Geo, ms)
	if want := []int{0}; !slices.Equal(got, want) {
		t.Errorf("Expected eligible %v, got %v", want, got)
	}
	ms[0].Up = false
	got, _ = Eligible(Geo, ms)
	if want := []int{1}; !slices.Equal(got, want) {
		t.Errorf("Expected eligible %v, got %v", want, got)
	}
}

func TestEligibleActiveActive(t *testing.T) {
	// Priorities play no part in active-active.
	prio := []int{1, 2, 3}
	tests := []struct {
		up      []bool
		want    []int
		allDown bool
	}{
		{[]bool{true, true, true}, []int{0, 1, 2}, false},
		{[]bool{true, false, true}, []int{0, 2}, false},
		{[]bool{false, false, true}, []int{2}, false},
		{[]bool{false, false, false}, nil, true},
	}
	for _, tc := range tests {
		got, allDown := Eligible(ActiveActive, members(prio, nil, tc.up))
		if !slices.Equal(got, tc.want) {
			t.Errorf("Up %v: expected eligible %v, got %v", tc.up, tc.want, got)
		}
		if allDown != tc.allDown {
			t.Errorf("Up %v: expected allDown %t, got %t", tc.up, tc.allDown, allDown)
		}
	}
}

func TestEligibleWeighted(t *testing.T) {
	weight := []uint32{90, 10, 0}
	tests := []struct {
		name    string
		up      []bool
		want    []int
		allDown bool
	}{
		{"all up: the drained endpoint gets nothing", []bool{true, true, true}, []int{0, 1}, false},
		{"one positive weight up: still drained", []bool{false, true, true}, []int{1}, false},
		{"only the drained endpoint up: it serves", []bool{false, false, true}, []int{2}, false},
		{"positive weights up, drained down", []bool{true, true, false}, []int{0, 1}, false},
		{"all down", []bool{false, false, false}, nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, allDown := Eligible(Weighted, members(nil, weight, tc.up))
			if !slices.Equal(got, tc.want) {
				t.Errorf("Expected eligible %v, got %v", tc.want, got)
			}
			if allDown != tc.allDown {
				t.Errorf("Expected allDown %t, got %t", tc.allDown, allDown)
			}
		})
	}
}

func TestEligibleWeightedAllDrained(t *testing.T) {
	// Every endpoint drained and up: they share the traffic rather than
	// the name going dark.
	got, allDown := Eligible(Weighted, members(nil, []uint32{0, 0}, []bool{true, true}))
	if want := []int{0, 1}; !slices.Equal(got, want) || allDown {
		t.Errorf("Expected eligible %v and not all down, got %v (allDown %t)", want, got, allDown)
	}
}

func TestEligibleEmpty(t *testing.T) {
	for _, k := range []Kind{ActivePassive, ActiveActive, Weighted, Geo} {
		got, allDown := Eligible(k, nil)
		if len(got) != 0 || !allDown {
			t.Errorf("Policy %s: expected no eligible member and allDown, got %v (allDown %t)", k, got, allDown)
		}
	}
}

func TestAllUp(t *testing.T) {
	ms := members([]int{1, 2}, []uint32{5, 0}, []bool{false, false})
	up := AllUp(ms)
	for i, m := range up {
		if !m.Up {
			t.Errorf("Expected member %d up, got down", i)
		}
		if m.Priority != ms[i].Priority || m.Weight != ms[i].Weight {
			t.Errorf("Expected member %d to keep priority and weight, got %+v", i, m)
		}
	}
	if ms[0].Up || ms[1].Up {
		t.Errorf("Expected AllUp to leave its input alone, got %+v", ms)
	}
	// return_all answers what the policy would answer with everything up.
	got, _ := Eligible(ActivePassive, up)
	if want := []int{0}; !slices.Equal(got, want) {
		t.Errorf("Expected eligible %v, got %v", want, got)
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		in      string
		want    Kind
		wantErr bool
	}{
		{"active-passive", ActivePassive, false},
		{"Active-Active", ActiveActive, false},
		{"WEIGHTED", Weighted, false},
		{"geo", Geo, false},
		{"round-robin", 0, true},
		{"", 0, true},
	}
	for _, tc := range tests {
		got, err := Parse(tc.in)
		if (err != nil) != tc.wantErr {
			t.Errorf("Policy %q: expected error %t, got %v", tc.in, tc.wantErr, err)
			continue
		}
		if err == nil && got != tc.want {
			t.Errorf("Policy %q: expected %s, got %s", tc.in, tc.want, got)
		}
	}
}

func TestDefaultMaxAnswers(t *testing.T) {
	if got := Weighted.DefaultMaxAnswers(); got != 1 {
		t.Errorf("Expected weighted to answer 1 by default, got %d", got)
	}
	for _, k := range []Kind{ActivePassive, ActiveActive, Geo} {
		if got := k.DefaultMaxAnswers(); got != 8 {
			t.Errorf("Expected %s to answer 8 by default, got %d", k, got)
		}
	}
}
