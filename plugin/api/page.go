package api

import (
	"bytes"
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"slices"
	"strings"
	"time"
)

// pageHTML is the whole status page in one file, so that it needs nothing
// from outside and works where no other site can be reached.
//
//go:embed page.html
var pageHTML string

// pageTemplate is parsed once; it is never executed itself, which keeps it
// safe to use from every request at once.
var pageTemplate = template.Must(template.New("page").Funcs(template.FuncMap{
	"at":       at,
	"clock":    clock,
	"rfc3339":  rfc3339,
	"ago":      ago,
	"ms":       ms,
	"recent":   recent,
	"join":     func(s []string) string { return strings.Join(s, " ") },
	"plural":   plural,
	"urlParts": urlParts,
	// The API takes a name without its final dot, which reads better in a path.
	"trimDot": func(name string) string { return strings.TrimSuffix(name, ".") },
}).Parse(pageHTML))

// recentChanges is how many transitions an endpoint shows: enough to see a
// flap, few enough to keep the row short.
const recentChanges = 3

type pageData struct {
	Now        time.Time
	Names      []Name
	FailedOver []string // the names, to jump to from the summary
	Down       int
	Overrides  int
	Endpoints  int
}

// renderPage writes the status page for names, in the order given, as of now.
// It renders into a buffer first so that a template error leaves w untouched
// and the caller can still answer with an error status.
func renderPage(w io.Writer, names []Name, now time.Time) error {
	d := pageData{Now: now.UTC(), Names: names}
	for _, n := range names {
		if n.FailedOver {
			d.FailedOver = append(d.FailedOver, n.Name)
		}
		for _, e := range n.Endpoints {
			d.Endpoints++
			if e.State == "down" {
				d.Down++
			}
			if e.Override != nil {
				d.Overrides++
			}
		}
	}
	var buf bytes.Buffer
	if err := pageTemplate.Execute(&buf, d); err != nil {
		return err
	}
	_, err := buf.WriteTo(w)
	return err
}

// moment is a time with the now it is shown against, the argument of the
// page's "time" and "when" templates.
type moment struct{ Now, T time.Time }

func at(now, t time.Time) moment { return moment{now, t} }

// clock writes t short: the time of day when it is the same day as now, which
// is nearly always, and with its date otherwise, so an old override is not
// read as today's.
func clock(now, t time.Time) string {
	t, now = t.UTC(), now.UTC()
	if t.Year() == now.Year() && t.YearDay() == now.YearDay() {
		return t.Format("15:04:05")
	}
	return t.Format("2006-01-02 15:04:05")
}

func rfc3339(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// ago writes how far t is from now in its largest unit, as an engineer says
// it: "4s ago", "3m ago", or "in 2m" for a time still to come.
func ago(now, t time.Time) string {
	d := now.Sub(t)
	future := d < 0
	if future {
		d = -d
	}
	var s string
	switch {
	case d < time.Second:
		return "now"
	case d < time.Minute:
		s = fmt.Sprintf("%ds", int(d/time.Second))
	case d < time.Hour:
		s = fmt.Sprintf("%dm", int(d/time.Minute))
	case d < 48*time.Hour:
		s = fmt.Sprintf("%dh", int(d/time.Hour))
	default:
		s = fmt.Sprintf("%dd", int(d/(24*time.Hour)))
	}
	if future {
		return "in " + s
	}
	return s + " ago"
}

// ms writes a probe's duration in milliseconds, with a decimal only where it
// tells something.
func ms(seconds float64) string {
	m := seconds * 1000
	if m < 10 {
		return fmt.Sprintf("%.1f ms", m)
	}
	return fmt.Sprintf("%.0f ms", m)
}

// recent returns the latest transitions, newest first, whatever order the
// history is kept in.
func recent(h []Change) []Change {
	h = slices.Clone(h)
	slices.SortStableFunc(h, func(a, b Change) int { return b.At.Compare(a.At) })
	return h[:min(len(h), recentChanges)]
}

func plural(n int, one, many string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	return fmt.Sprintf("%d %s", n, many)
}

// urlParts splits a check URL where a line may break without misleading the
// reader: after its scheme, host and port, before each step of its path and
// before each term of its query. The parts joined are the URL as written.
func urlParts(u string) []string {
	rest := u
	head := ""
	if i := strings.Index(rest, "://"); i >= 0 {
		head, rest = rest[:i+3], rest[i+3:]
	}
	var parts []string
	for rest != "" {
		i := strings.IndexAny(rest[1:], "/?&#")
		if i < 0 {
			parts = append(parts, rest)
			break
		}
		parts = append(parts, rest[:i+1])
		rest = rest[i+1:]
	}
	if len(parts) == 0 {
		return []string{head}
	}
	parts[0] = head + parts[0]
	return parts
}
