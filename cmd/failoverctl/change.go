package main

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/failover-dns/failover/plugin/api"
)

// target reads NAME ADDRESS, or ADDRESS alone with --all, which name "" stands for.
func target(pos []string, all bool) (name, address string, err error) {
	if !all {
		if name, err = fqdn(pos[0]); err != nil {
			return "", "", err
		}
		pos = pos[1:]
	}
	address, err = endpointAddress(pos[0])
	return name, address, err
}

// argCount is how many arguments a command on NAME ADDRESS takes, extra more.
func argCount(all bool, extra int) int {
	if all {
		return 1 + extra
	}
	return 2 + extra
}

func runOverride(ctx context.Context, s *session, args []string) error {
	fs := flags("override")
	all := fs.Bool("all", false, "the address in every name")
	reason := fs.String("reason", "", "why, for whoever reads the status")
	pos, err := s.parse(fs, args, 2, 3)
	if err != nil {
		return err
	}
	if len(pos) != argCount(*all, 1) {
		return usagef("override wants NAME ADDRESS STATE, or --all ADDRESS STATE")
	}
	name, address, err := target(pos, *all)
	if err != nil {
		return err
	}
	state, err := overrideState(pos[len(pos)-1])
	if err != nil {
		return err
	}
	o, err := s.api.setOverride(ctx, name, address, api.OverrideRequest{State: state, Reason: *reason})
	if err != nil {
		return err
	}
	printOverride(s.stdout, o)
	return nil
}

func runClear(ctx context.Context, s *session, args []string) error {
	fs := flags("clear")
	all := fs.Bool("all", false, "the address in every name")
	pos, err := s.parse(fs, args, 1, 2)
	if err != nil {
		return err
	}
	if len(pos) != argCount(*all, 0) {
		return usagef("clear wants NAME ADDRESS, or --all ADDRESS")
	}
	name, address, err := target(pos, *all)
	if err != nil {
		return err
	}
	cl, err := s.api.clearOverride(ctx, name, address)
	if err != nil {
		return err
	}
	where := "in " + name
	if name == "" {
		where = "in every name"
	}
	if cl.Cleared {
		fmt.Fprintf(s.stdout, "cleared the override of %s %s\n", address, where)
	} else {
		fmt.Fprintf(s.stdout, "%s had no override %s\n", address, where)
	}
	return nil
}

func runDrain(ctx context.Context, s *session, args []string) error {
	fs := flags("drain")
	all := fs.Bool("all", false, "the address in every name")
	reason := fs.String("reason", "", "why, for whoever reads the status")
	wait := fs.Bool("wait", false, "then wait until no cache can still hold a record naming it")
	pos, err := s.parse(fs, args, 1, 2)
	if err != nil {
		return err
	}
	if len(pos) != argCount(*all, 0) {
		return usagef("drain wants NAME ADDRESS, or --all ADDRESS")
	}
	name, address, err := target(pos, *all)
	if err != nil {
		return err
	}
	o, err := s.api.setOverride(ctx, name, address, api.OverrideRequest{State: "drain", Reason: *reason})
	if err != nil {
		return err
	}
	printOverride(s.stdout, o)
	if o.DrainedAt == nil || o.SafeAt == nil {
		return fmt.Errorf("the API's drain of %s has no drained_at or safe_at", address)
	}
	if !*wait {
		return nil
	}
	return s.waitUntil(ctx, *o.SafeAt, fmt.Sprintf("for %s to leave every cache", address),
		fmt.Sprintf("no cache holds a record naming %s any more", address), drainReader(s.api, name, address, *o.DrainedAt))
}

func runTTL(ctx context.Context, s *session, args []string) error {
	fs := flags("ttl")
	forFlag := fs.String("for", "", "how long the lowered TTL lasts, e.g. 30m")
	wait := fs.Bool("wait", false, "then wait until every cache holds the name for at most SECONDS")
	clear := fs.Bool("clear", false, "restore the configured TTL")
	pos, err := s.parse(fs, args, 1, 2)
	if err != nil {
		return err
	}
	name, err := fqdn(pos[0])
	if err != nil {
		return err
	}
	if *clear {
		if len(pos) != 1 || *forFlag != "" || *wait {
			return usagef("ttl NAME --clear takes no SECONDS, --for or --wait")
		}
		cl, err := s.api.clearTTL(ctx, name)
		if err != nil {
			return err
		}
		if cl.Cleared {
			fmt.Fprintf(s.stdout, "restored the TTL of %s\n", name)
		} else {
			fmt.Fprintf(s.stdout, "%s had no lowered TTL\n", name)
		}
		return nil
	}
	if len(pos) != 2 {
		return usagef("ttl wants NAME SECONDS --for DURATION, or NAME --clear")
	}
	secs, err := strconv.ParseUint(pos[1], 10, 32)
	if err != nil {
		return usagef("SECONDS %q is not a whole number of seconds", pos[1])
	}
	if *forFlag == "" {
		return usagef("ttl NAME SECONDS wants --for DURATION")
	}
	if d, err := time.ParseDuration(*forFlag); err != nil || d <= 0 {
		return usagef("--for %q is not a duration such as 30m", *forFlag)
	}
	t, err := s.api.setTTL(ctx, name, api.TTLRequest{TTL: uint32(secs), For: *forFlag})
	if err != nil {
		return err
	}
	printTTL(s.stdout, t)
	if !*wait {
		return nil
	}
	return s.waitUntil(ctx, t.CutoverReadyAt, fmt.Sprintf("for every cache to hold %s at most %ds", name, t.TTL),
		fmt.Sprintf("every cache holds %s at most %ds", name, t.TTL), ttlReader(s.api, name, t))
}

func runFailback(ctx context.Context, s *session, args []string) error {
	fs := flags("failback")
	reason := fs.String("reason", "", "why now, for the server's log")
	pos, err := s.parse(fs, args, 1)
	if err != nil {
		return err
	}
	name, err := fqdn(pos[0])
	if err != nil {
		return err
	}
	f, err := s.api.failback(ctx, name, api.FailbackRequest{Reason: *reason})
	if err != nil {
		return err
	}
	printFailback(s.stdout, f)
	return nil
}
