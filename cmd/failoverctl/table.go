package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/failover-dns/failover/plugin/api"
)

func newTable(w io.Writer) *tabwriter.Writer { return tabwriter.NewWriter(w, 0, 0, 2, ' ', 0) }

// row writes cells as one line of a table; an empty cell is shown as "-" so
// that every column of every line holds one word or more.
func row(tw io.Writer, cells ...string) {
	for i, c := range cells {
		if c == "" {
			cells[i] = "-"
		}
	}
	fmt.Fprintln(tw, strings.Join(cells, "\t"))
}

func printJSON(w io.Writer, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("the API's JSON: %v", err)
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}

func printStatus(w io.Writer, names []api.Name) {
	tw := newTable(w)
	row(tw, "NAME", "POLICY", "TTL", "ANSWER", "FAILED OVER", "DOWN", "OVERRIDES")
	for _, n := range names {
		down, overrides := 0, 0
		for _, e := range n.Endpoints {
			if e.State == "down" {
				down++
			}
			if e.Override != nil {
				overrides++
			}
		}
		row(tw, n.Name, n.Policy, ttlText(n), answerText(n.Answer), yesNo(n.FailedOver), strconv.Itoa(down), strconv.Itoa(overrides))
	}
	tw.Flush()
	printPendingFailbacks(w, names)
	for _, n := range names {
		fmt.Fprintf(w, "\n%s\n", n.Name)
		tw := newTable(w)
		row(tw, "  ADDRESS", "STATE", "OVERRIDE", "SERVING", "LAST PROBE", "STREAK")
		for _, e := range n.Endpoints {
			row(tw, "  "+e.Address, e.State, overrideText(e.Override), yesNo(e.Serving), probeText(e.LastProbe), streakText(e.Streak))
		}
		tw.Flush()
	}
}

// printName shows one name with everything the API knows about it, as
// label: value lines, the form an operator reads during an incident.
func printName(w io.Writer, n api.Name) {
	tw := newTable(w)
	fmt.Fprintf(tw, "name:\t%s\n", n.Name)
	fmt.Fprintf(tw, "policy:\t%s\n", n.Policy)
	fmt.Fprintf(tw, "ttl:\t%s\n", ttlText(n))
	if t := n.TemporaryTTL; t != nil {
		fmt.Fprintf(tw, "lowered ttl:\t%ds until %s, cutover_ready_at %s\n", t.TTL, stamp(t.Until), stampAfter(t.CutoverReadyAt))
	}
	fmt.Fprintf(tw, "answer:\t%s\n", dash(answerText(n.Answer)))
	fmt.Fprintf(tw, "failed over:\t%s\n", yesNo(n.FailedOver))
	if p := n.FailbackPending; p != nil {
		fmt.Fprintf(tw, "failback:\tpending since %s%s; confirm with failoverctl failback %s\n", stamp(p.Since), pendingReason(p), n.Name)
	}
	tw.Flush()
	for _, e := range n.Endpoints {
		fmt.Fprintf(w, "\nendpoint %s\n", e.Address)
		tw := newTable(w)
		state := e.State
		if e.Since != nil {
			state += " since " + stamp(*e.Since)
		}
		fmt.Fprintf(tw, "  state:\t%s\n", state)
		fmt.Fprintf(tw, "  serving:\t%s\n", yesNo(e.Serving))
		fmt.Fprintf(tw, "  override:\t%s\n", overrideDetail(e.Override))
		fmt.Fprintf(tw, "  priority:\t%d\n", e.Priority)
		fmt.Fprintf(tw, "  weight:\t%d\n", e.Weight)
		fmt.Fprintf(tw, "  check:\t%s\n", dash(e.Check))
		if p := e.LastProbe; p != nil {
			fmt.Fprintf(tw, "  last probe:\t%s at %s in %s\n", probeText(p), stamp(p.At), probeDuration(p.DurationSeconds))
		} else {
			fmt.Fprintf(tw, "  last probe:\t-\n")
		}
		fmt.Fprintf(tw, "  streak:\t%s\n", dash(streakText(e.Streak)))
		for _, sg := range e.Signals {
			fmt.Fprintf(tw, "  signal:\t%s since %s %s\n", sg.Alert, stamp(sg.Since), sg.Labels)
		}
		tw.Flush()
		if len(e.History) > 0 {
			fmt.Fprintln(w, "  history:")
			tw := newTable(w)
			for _, c := range e.History {
				fmt.Fprintf(tw, "    %s\t%s -> %s\t%s\n", stamp(c.At), c.From, c.To, c.Reason)
			}
			tw.Flush()
		}
	}
}

// printPendingFailbacks lists the names held on their backup, which stay
// there until an operator acts, so that status says what to run.
func printPendingFailbacks(w io.Writer, names []api.Name) {
	var held []api.Name
	for _, n := range names {
		if n.FailbackPending != nil {
			held = append(held, n)
		}
	}
	if len(held) == 0 {
		return
	}
	fmt.Fprintln(w, "\nfailback pending; confirm with failoverctl failback NAME:")
	tw := newTable(w)
	for _, n := range held {
		fmt.Fprintf(tw, "  %s\tsince %s\t%s\n", n.Name, stamp(n.FailbackPending.Since), dash(n.FailbackPending.Reason))
	}
	tw.Flush()
}

func pendingReason(p *api.FailbackPending) string {
	if p.Reason == "" {
		return ""
	}
	return fmt.Sprintf(" (%s)", p.Reason)
}

func printExplanation(w io.Writer, e api.Explanation) {
	tw := newTable(w)
	fmt.Fprintf(tw, "name:\t%s\n", e.Name)
	fmt.Fprintf(tw, "type:\t%s\n", e.Type)
	fmt.Fprintf(tw, "client:\t%s\n", dash(e.Client))
	if l := e.Location; l != nil {
		fmt.Fprintf(tw, "location:\t%s\n", strings.Join(nonEmpty(l.Continent, l.Country, l.Subdivision, "("+l.Network+")"), " "))
	}
	fmt.Fprintf(tw, "policy:\t%s\n", e.Policy)
	if e.Group != "" {
		fmt.Fprintf(tw, "group:\t%s\n", e.Group)
	}
	if e.Tier != nil {
		fmt.Fprintf(tw, "tier:\tpriority %d\n", *e.Tier)
	}
	fmt.Fprintf(tw, "action:\t%s\n", e.Action)
	answer := dash(strings.Join(e.Answer, ", "))
	if e.MaxAnswers > 0 && e.MaxAnswers < len(e.Answer) {
		answer += fmt.Sprintf(" (%d of them per answer)", e.MaxAnswers)
	}
	fmt.Fprintf(tw, "answer:\t%s\n", answer)
	fmt.Fprintf(tw, "ttl:\t%d\n", e.TTL)
	tw.Flush()
	if len(e.LeftOut) > 0 {
		fmt.Fprintln(w, "left out:")
		tw := newTable(w)
		for _, l := range e.LeftOut {
			fmt.Fprintf(tw, "  %s\t%s\n", l.Address, l.Reason)
		}
		tw.Flush()
	}
}

func printOverride(w io.Writer, o api.Override) {
	where := "in " + o.Name
	if o.Name == "*" {
		where = "in every name"
	}
	fmt.Fprintf(w, "override of %s %s: %s\n", o.Address, where, o.State)
	tw := newTable(w)
	if o.Reason != "" {
		fmt.Fprintf(tw, "reason:\t%s\n", o.Reason)
	}
	fmt.Fprintf(tw, "set_at:\t%s\n", stamp(o.SetAt))
	if o.DrainedAt != nil {
		fmt.Fprintf(tw, "drained_at:\t%s\n", stamp(*o.DrainedAt))
	}
	if o.SafeAt != nil {
		fmt.Fprintf(tw, "safe_at:\t%s\n", stampAfter(*o.SafeAt))
	}
	tw.Flush()
}

func printTTL(w io.Writer, t api.TTL) {
	fmt.Fprintf(w, "ttl of %s: %ds instead of %ds\n", t.Name, t.TTL, t.NormalTTL)
	tw := newTable(w)
	fmt.Fprintf(tw, "set_at:\t%s\n", stamp(t.SetAt))
	fmt.Fprintf(tw, "until:\t%s\n", stamp(t.Until))
	fmt.Fprintf(tw, "cutover_ready_at:\t%s\n", stampAfter(t.CutoverReadyAt))
	tw.Flush()
}

func printFailback(w io.Writer, f api.FailbackResult) {
	fmt.Fprintf(w, "failed back %s to its first choice: %s\n", f.Name, dash(answerText(f.Answer)))
	tw := newTable(w)
	if !f.Held.Since.IsZero() {
		fmt.Fprintf(tw, "held since:\t%s%s\n", stamp(f.Held.Since), pendingReason(&f.Held))
	}
	if f.Reason != "" {
		fmt.Fprintf(tw, "reason:\t%s\n", f.Reason)
	}
	if !f.At.IsZero() {
		fmt.Fprintf(tw, "at:\t%s\n", stamp(f.At))
	}
	tw.Flush()
}

func stamp(t time.Time) string { return t.Format(time.RFC3339) }

// stampAfter is a time after which something holds, rounded up to the
// second so that the printed time is never too early to act on.
func stampAfter(t time.Time) string {
	if r := t.Truncate(time.Second); !r.Equal(t) {
		t = r.Add(time.Second)
	}
	return stamp(t)
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func nonEmpty(parts ...string) []string {
	var out []string
	for _, p := range parts {
		if p != "" && p != "()" {
			out = append(out, p)
		}
	}
	return out
}

func ttlText(n api.Name) string {
	if t := n.TemporaryTTL; t != nil {
		return fmt.Sprintf("%d (lowered from %d)", n.TTL, t.NormalTTL)
	}
	return strconv.FormatUint(uint64(n.TTL), 10)
}

func answerText(a api.Answer) string {
	all := append(append(append([]string(nil), a.A...), a.AAAA...), a.CNAME...)
	return strings.Join(all, ",")
}

func overrideText(o *api.Override) string {
	if o == nil {
		return ""
	}
	return o.State
}

func overrideDetail(o *api.Override) string {
	if o == nil {
		return "-"
	}
	s := o.State + " since " + stamp(o.SetAt)
	if o.Name == "*" {
		s += " in every name"
	}
	if o.Reason != "" {
		s += fmt.Sprintf(" (%s)", o.Reason)
	}
	if o.SafeAt != nil {
		s += ", safe_at " + stampAfter(*o.SafeAt)
	}
	return s
}

func probeText(p *api.Probe) string {
	if p == nil {
		return ""
	}
	if p.Error != "" {
		return p.Result + ": " + p.Error
	}
	return p.Result
}

func streakText(s *api.Streak) string {
	if s == nil {
		return ""
	}
	return fmt.Sprintf("%d %s", s.Count, s.Result)
}

// probeDuration writes a probe's duration to the millisecond, and below
// 10 ms to the ten microseconds, so that a fast probe on a near network
// does not read as taking no time at all.
func probeDuration(seconds float64) time.Duration {
	d := time.Duration(seconds * float64(time.Second))
	if d < 10*time.Millisecond {
		return d.Round(10 * time.Microsecond)
	}
	return d.Round(time.Millisecond)
}
