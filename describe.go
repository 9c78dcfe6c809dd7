package failover

import "strings"

// describe lists what a stanza answers now, for log lines.
func describe(m *managed) string { return describeView(m, m.view.Load()) }

// describeView lists what v answers.
func describeView(m *managed, v *view) string {
	var parts []string
	for g := range v.groups {
		parts = append(parts, describeGroup(m, &v.groups[g], g))
	}
	return strings.Join(parts, "; ")
}

func describeGroup(m *managed, v *byType, g int) string {
	var parts []string
	for _, fam := range []*family{v.a, v.aaaa, v.cname} {
		if fam == nil {
			continue
		}
		switch fam.mode {
		case passOn:
			parts = append(parts, "all down: passing to the next plugin")
			continue
		case servFail:
			parts = append(parts, "all down: SERVFAIL")
			continue
		case noData:
			parts = append(parts, "all down: NODATA")
			continue
		}
		addrs := make([]string, len(fam.chosen))
		for i, ep := range fam.chosen {
			addrs[i] = ep.cfg.Address
		}
		s := strings.Join(addrs, " ")
		if fam.allDown {
			s = "all down, answering all: " + s
		}
		parts = append(parts, s)
	}
	out := strings.Join(parts, ", ")
	if l := m.groupLabel(g); l != "" {
		out = l + ": " + out
	}
	return out
}
