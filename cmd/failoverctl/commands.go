package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"strings"
)

// command is one subcommand: its arguments and help as usage shows them.
type command struct {
	name, args, help string
	run              func(ctx context.Context, s *session, args []string) error
}

// commands in the order the help lists them.
var commands = []*command{
	{"status", "[--json] [--check]", "every name as a table, then each name's endpoints", runStatus},
	{"show", "NAME [--json]", "one name in detail: endpoints, last probe, streak, history", runShow},
	{"explain", "NAME [--client IP] [--type A|AAAA|CNAME] [--json]", "the answer a client at IP gets now, and why", runExplain},
	{"override", "NAME ADDRESS up|down|drain [--reason TEXT] | --all ADDRESS up|down|drain [--reason TEXT]", "decide an endpoint's state, in one name or (--all) in every name", runOverride},
	{"clear", "NAME ADDRESS | --all ADDRESS", "remove an override", runClear},
	{"drain", "NAME ADDRESS [--reason TEXT] [--wait] | --all ADDRESS [--reason TEXT] [--wait]", "override drain; --wait then waits until no cache can still hold the endpoint", runDrain},
	{"ttl", "NAME SECONDS --for DURATION [--wait] | NAME --clear", "lower the TTL for a while; --wait waits until caches hold at most SECONDS; --clear restores it", runTTL},
	{"failback", "NAME [--reason TEXT]", "return a name that failback manual holds on its backup to its first choice", runFailback},
}

func lookup(name string) *command {
	for _, c := range commands {
		if c.name == name {
			return c
		}
	}
	return nil
}

// errHelped is a command's -h, answered already.
var errHelped = errors.New("help shown")

// flags is a command's flag set; parse reports its errors.
func flags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

// parse reads flags wherever they stand among the arguments, since operators
// write them after the name as often as before it, and checks how many
// arguments are left.
func (s *session) parse(fs *flag.FlagSet, args []string, counts ...int) ([]string, error) {
	var pos []string
	for {
		err := fs.Parse(args)
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintf(s.stdout, "usage: failoverctl %s %s\n\n%s\n", s.cmd.name, s.cmd.args, s.cmd.help)
			fs.SetOutput(s.stdout)
			fs.PrintDefaults()
			return nil, errHelped
		}
		if err != nil {
			return nil, usagef("%v", err)
		}
		rest := fs.Args()
		if len(rest) == 0 {
			break
		}
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" {
			pos = append(pos, rest...)
			break
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
	for _, n := range counts {
		if len(pos) == n {
			return pos, nil
		}
	}
	return nil, usagef("%d arguments given, %s wants %s", len(pos), s.cmd.name, countsText(counts))
}

func countsText(counts []int) string {
	s := make([]string, len(counts))
	for i, n := range counts {
		s[i] = fmt.Sprint(n)
	}
	return strings.Join(s, " or ")
}

// fqdn writes a name as the API reports it, so that output and comparisons
// match whatever form the operator typed.
func fqdn(name string) (string, error) {
	n := strings.ToLower(strings.TrimSpace(name))
	if n == "" || n == "." {
		return "", usagef("%q is not a name", name)
	}
	if !strings.HasSuffix(n, ".") {
		n += "."
	}
	return n, nil
}

// endpointAddress writes an address as the plugin does: an IP address in
// canonical form, or a lower-case FQDN.
func endpointAddress(address string) (string, error) {
	a := strings.TrimSpace(address)
	if a == "" {
		return "", usagef("empty address")
	}
	if ip, err := netip.ParseAddr(a); err == nil {
		return ip.String(), nil
	}
	return fqdn(a)
}

// overrideState checks the state an override may set.
func overrideState(state string) (string, error) {
	switch st := strings.ToLower(state); st {
	case "up", "down", "drain":
		return st, nil
	}
	return "", usagef("state %q is not up, down or drain", state)
}
