package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"net/url"
	"strings"

	"github.com/failover-dns/failover/plugin/api"
)

func runStatus(ctx context.Context, s *session, args []string) error {
	fs := flags("status")
	asJSON := fs.Bool("json", false, "print every name's JSON as the API gives it")
	check := fs.Bool("check", false, "exit 4 if some name is failed over or some endpoint is down")
	if _, err := s.parse(fs, args, 0); err != nil {
		return err
	}
	st, err := s.api.status(ctx)
	if err != nil {
		return err
	}
	names := make([]api.Name, 0, len(st.Names))
	raws := make([]json.RawMessage, 0, len(st.Names))
	for _, n := range st.Names {
		name, raw, err := s.api.name(ctx, n)
		if gone(err) {
			continue // removed by a reload since the list was read
		}
		if err != nil {
			return fmt.Errorf("%s: %w", n, err)
		}
		names = append(names, name)
		raws = append(raws, raw)
	}
	if *asJSON {
		if err := printJSON(s.stdout, raws); err != nil {
			return err
		}
	} else {
		printStatus(s.stdout, names)
	}
	if *check {
		return checkNames(names)
	}
	return nil
}

// checkNames names what status --check objects to, so a script's log says why it stopped.
func checkNames(names []api.Name) error {
	var bad []string
	for _, n := range names {
		if n.FailedOver {
			bad = append(bad, n.Name+" is failed over")
		}
		for _, e := range n.Endpoints {
			if e.State == "down" {
				bad = append(bad, e.Address+" of "+n.Name+" is down")
			}
		}
	}
	if len(bad) > 0 {
		return &checkError{"check: " + strings.Join(bad, "; ")}
	}
	return nil
}

func runShow(ctx context.Context, s *session, args []string) error {
	fs := flags("show")
	asJSON := fs.Bool("json", false, "print the name's JSON as the API gives it")
	pos, err := s.parse(fs, args, 1)
	if err != nil {
		return err
	}
	name, err := fqdn(pos[0])
	if err != nil {
		return err
	}
	n, raw, err := s.api.name(ctx, name)
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(s.stdout, raw)
	}
	printName(s.stdout, n)
	return nil
}

func runExplain(ctx context.Context, s *session, args []string) error {
	fs := flags("explain")
	clientIP := fs.String("client", "", "the client's address (default: the server decides)")
	qtype := fs.String("type", "A", "the query type: A, AAAA or CNAME")
	asJSON := fs.Bool("json", false, "print the explanation's JSON as the API gives it")
	pos, err := s.parse(fs, args, 1)
	if err != nil {
		return err
	}
	name, err := fqdn(pos[0])
	if err != nil {
		return err
	}
	q := url.Values{}
	switch t := strings.ToUpper(*qtype); t {
	case "A", "AAAA", "CNAME":
		q.Set("type", t)
	default:
		return usagef("--type %q is not A, AAAA or CNAME", *qtype)
	}
	if *clientIP != "" {
		ip, err := netip.ParseAddr(*clientIP)
		if err != nil {
			return usagef("--client %q is not an IP address", *clientIP)
		}
		q.Set("client", ip.String())
	}
	e, raw, err := s.api.explain(ctx, name, q)
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(s.stdout, raw)
	}
	printExplanation(s.stdout, e)
	return nil
}
