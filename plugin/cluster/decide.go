package cluster

import (
	"fmt"
	"strings"
)

// ballot is one live replica's vote for a key.
type ballot struct {
	node   string
	down   bool
	reason string
}

// decision is what the votes for a key say.
type decision struct {
	down   bool
	others bool // a replica other than this one votes, so the votes mean more than its own probes
	why    string
}

// maxNamed bounds the replicas a decision names.
const maxNamed = 5

// decide applies the quorum to ballots, ordered by node. quorum 0 is a
// majority; a quorum above the voters needs all of them, so that losing
// probers never pins a key up.
func decide(self string, quorum int, ballots []ballot) decision {
	var d decision
	downs := 0
	for _, b := range ballots {
		if b.down {
			downs++
		}
		if b.node != self {
			d.others = true
		}
	}
	need := len(ballots)/2 + 1
	if quorum > 0 {
		need = min(quorum, len(ballots))
	}
	d.down = downs >= need
	var w strings.Builder
	fmt.Fprintf(&w, "%d of %d replicas see it down, %d needed", downs, len(ballots), need)
	named := 0
	for _, b := range ballots {
		if !b.down {
			continue
		}
		if named == maxNamed {
			w.WriteString(", ...")
			break
		}
		if named == 0 {
			w.WriteString(": ")
		} else {
			w.WriteString(", ")
		}
		w.WriteString(b.node)
		if b.reason != "" {
			fmt.Fprintf(&w, " (%s)", b.reason)
		}
		named++
	}
	d.why = w.String()
	return d
}
