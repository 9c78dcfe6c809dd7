package health

import "testing"

// step is one observation and what the tracker must report after it.
type step struct {
	ok      bool
	changed bool
	state   State
	streak  int
}

func TestTracker(t *testing.T) {
	tests := []struct {
		name       string
		fall, rise int
		steps      []step
	}{
		{
			name: "first success is up at once", fall: 3, rise: 2,
			steps: []step{{ok: true, changed: true, state: Up}},
		},
		{
			name: "first failure is down at once", fall: 3, rise: 2,
			steps: []step{{ok: false, changed: true, state: Down}},
		},
		{
			name: "fall 3 needs three consecutive failures", fall: 3, rise: 2,
			steps: []step{
				{ok: true, changed: true, state: Up},
				{ok: false, state: Up, streak: 1},
				{ok: false, state: Up, streak: 2},
				{ok: false, changed: true, state: Down},
				{ok: false, state: Down},
			},
		},
		{
			name: "a success breaks the failure streak", fall: 3, rise: 2,
			steps: []step{
				{ok: true, changed: true, state: Up},
				{ok: false, state: Up, streak: 1},
				{ok: false, state: Up, streak: 2},
				{ok: true, state: Up},
				{ok: false, state: Up, streak: 1},
				{ok: false, state: Up, streak: 2},
				{ok: false, changed: true, state: Down},
			},
		},
		{
			name: "rise 2 needs two consecutive successes", fall: 3, rise: 2,
			steps: []step{
				{ok: false, changed: true, state: Down},
				{ok: true, state: Down, streak: 1},
				{ok: false, state: Down},
				{ok: true, state: Down, streak: 1},
				{ok: true, changed: true, state: Up},
				{ok: true, state: Up},
			},
		},
		{
			name: "fall 1 flips on every disagreeing result", fall: 1, rise: 1,
			steps: []step{
				{ok: true, changed: true, state: Up},
				{ok: false, changed: true, state: Down},
				{ok: true, changed: true, state: Up},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr := tracker{Fall: tc.fall, Rise: tc.rise}
			if tr.State() != Unknown {
				t.Fatalf("Expected a new tracker to be %s, got %s", Unknown, tr.State())
			}
			for i, s := range tc.steps {
				changed := tr.Observe(s.ok)
				if changed != s.changed {
					t.Errorf("Step %d (ok=%t): expected changed %t, got %t", i, s.ok, s.changed, changed)
				}
				if tr.State() != s.state {
					t.Errorf("Step %d (ok=%t): expected state %s, got %s", i, s.ok, s.state, tr.State())
				}
				if tr.Streak() != s.streak {
					t.Errorf("Step %d (ok=%t): expected streak %d, got %d", i, s.ok, s.streak, tr.Streak())
				}
			}
		})
	}
}

func TestStateString(t *testing.T) {
	for s, want := range map[State]string{Unknown: "unknown", Up: "up", Down: "down"} {
		if got := s.String(); got != want {
			t.Errorf("Expected %q, got %q", want, got)
		}
	}
}
