package failover

import (
	"bufio"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/coredns/caddy"
	"github.com/coredns/caddy/caddyfile"
	"github.com/coredns/coredns/core/dnsserver"

	"github.com/failover-dns/failover/plugin/geo/geotest"
)

// TestReadme keeps the README honest: its sections come in CoreDNS's order
// (Name to See Also first, the plugin's own after), those CoreDNS publishes
// hold no link that works only inside this repository, and every failover
// stanza of its corefile examples, and of example.Corefile, parses. They are
// parsed, not started: their checks point at addresses that are examples, not
// hosts to probe.
func TestReadme(t *testing.T) {
	text, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(text), "\n")
	headings := sections(lines)
	want := []string{"## Name", "## Description", "## Syntax", "## Metrics", "## Ready", "## Examples", "## See Also"}
	var got []string
	for _, h := range headings[:min(len(want), len(headings))] {
		got = append(got, lines[h])
	}
	if !slices.Equal(got, want) {
		t.Errorf("Expected the README's first sections to be %q in that order, got %q", want, got)
	}

	// What CoreDNS publishes, Name to See Also, links only to absolute URLs:
	// a relative or anchor link works only inside this repository.
	from, to := 0, len(lines)
	for i, h := range headings {
		switch lines[h] {
		case "## Name":
			from = h
		case "## See Also":
			if i+1 < len(headings) {
				to = headings[i+1]
			}
		}
	}
	for n := from; n < to; n++ {
		for rest := lines[n]; ; {
			i := strings.Index(rest, "](")
			if i < 0 {
				break
			}
			rest = rest[i+2:]
			if !strings.HasPrefix(rest, "http://") && !strings.HasPrefix(rest, "https://") {
				link, _, _ := strings.Cut(rest, ")")
				t.Errorf("Expected only http:// and https:// links from Name to See Also, line %d links to %q", n+1, link)
			}
		}
	}

	blocks := corefileBlocks(t, string(text))
	if len(blocks) < 3 {
		t.Fatalf("Expected at least 3 corefile examples in the README, got %d", len(blocks))
	}
	example, err := os.ReadFile("example.Corefile")
	if err != nil {
		t.Fatal(err)
	}
	blocks = append(blocks, string(example))
	// The geo example names a database by a relative path: give it one.
	t.Chdir(t.TempDir())
	geotest.Write(t, "GeoLite2-City.mmdb", "GeoLite2-City", []geotest.Place{{CIDR: "192.0.2.0/24", Continent: "NA", Country: "US"}})
	stanzas := 0
	for i, corefile := range blocks {
		sbs, err := caddyfile.Parse("Corefile", strings.NewReader(corefile), append(slices.Clone(dnsserver.Directives), pluginName))
		if err != nil {
			t.Fatalf("Example %d does not parse as a Corefile: %v", i, err)
		}
		for _, sb := range sbs {
			tokens, ok := sb.Tokens["failover"]
			if !ok {
				continue
			}
			c := caddy.NewTestController("dns", "")
			c.Dispenser = caddyfile.NewDispenserTokens("Corefile", tokens)
			c.ServerBlockKeys = sb.Keys
			f, err := parse(c)
			if err != nil {
				t.Errorf("Example %d: %v", i, err)
				continue
			}
			stanzas += len(f.stanzas)
		}
	}
	if stanzas < 5 {
		t.Errorf("Expected the examples to hold at least 5 failover stanzas, got %d", stanzas)
	}
}

// sections returns the indexes of the lines that open a "## " section,
// outside fenced blocks.
func sections(lines []string) []int {
	var at []int
	fenced := false
	for i, line := range lines {
		trimmed := strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(trimmed, "~~~") || strings.HasPrefix(trimmed, "```"):
			fenced = !fenced
		case !fenced && strings.HasPrefix(line, "## "):
			at = append(at, i)
		}
	}
	return at
}

// corefileBlocks returns the bodies of the README's "~~~ corefile" fences.
func corefileBlocks(t *testing.T, text string) []string {
	t.Helper()
	var blocks []string
	var cur *strings.Builder
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		line := sc.Text()
		switch {
		case cur == nil && strings.TrimSpace(line) == "~~~ corefile":
			cur = new(strings.Builder)
		case cur != nil && strings.TrimSpace(line) == "~~~":
			blocks = append(blocks, cur.String())
			cur = nil
		case cur != nil:
			cur.WriteString(line + "\n")
		}
	}
	return blocks
}
