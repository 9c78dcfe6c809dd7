package probe

import "testing"

func TestResultReason(t *testing.T) {
	if got := (Result{Kind: Refused}).Reason(); got != "refused" {
		t.Errorf("Expected %q, got %q", "refused", got)
	}
	if got := (Result{Kind: Status, Detail: "HTTP status 503"}).Reason(); got != "HTTP status 503" {
		t.Errorf("Expected %q, got %q", "HTTP status 503", got)
	}
}

// Metrics label probes by kind, so every kind needs its own name.
func TestKinds(t *testing.T) {
	ks := Kinds()
	if len(ks) != int(Inverted)+1 {
		t.Fatalf("Expected %d kinds, got %d", int(Inverted)+1, len(ks))
	}
	seen := map[string]bool{}
	for i, k := range ks {
		name := k.String()
		if k != Kind(i) || name == "unknown" || seen[name] {
			t.Errorf("Expected a distinct name for kind %d, got %q", i, name)
		}
		seen[name] = true
	}
}
