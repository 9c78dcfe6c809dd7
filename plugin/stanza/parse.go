package stanza

import (
	"fmt"
	"math"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/coredns/caddy"
	"github.com/coredns/coredns/plugin"

	"github.com/miekg/dns"

	"github.com/failover-dns/failover/plugin/health"
	"github.com/failover-dns/failover/plugin/policy"
	"github.com/failover-dns/failover/plugin/probe"
)

// properties lists the block's keywords, for the unknown-property error.
var properties = []string{
	"policy", "endpoint", "ttl", "check", "interval", "fast_interval", "timeout", "fall", "rise",
	"expect", "host", "header", "body", "tls_servername", "tls_skip_verify", "max_answers",
	"geoip", "ecs", "ecs_from", "all_down", "fallthrough", "fence", "sticky",
	"require", "invert", "observe_only", "min_healthy", "failover_delay", "failback_delay", "failback",
	"slow_start", "ttl_failover", "trickle", "weight_from",
}

// parser holds what is only needed while reading one block.
type parser struct {
	c     *caddy.Controller
	s     *Stanza
	zones []string
	seen  map[string]int // property -> line, for properties that may appear once

	timeoutSet, fastSet, maxSet bool
}

// Block reads the failover block whose directive token c has just
// consumed: a stanza, or the server-wide settings when it names no name.
// zones are the server block's zones, as normalised FQDNs; root and
// loopback are for the settings' files and API address.
func Block(c *caddy.Controller, zones []string, root string, loopback func(string) bool) (*Stanza, *Settings, error) {
	args := c.RemainingArgs()
	if len(args) == 0 {
		s, err := parseSettings(c, root, loopback)
		return nil, s, err
	}
	s, err := parse(c, zones, args)
	return s, nil, err
}

// Parse reads a stanza.
func Parse(c *caddy.Controller, zones []string) (*Stanza, error) {
	return parse(c, zones, c.RemainingArgs())
}

func parse(c *caddy.Controller, zones []string, args []string) (*Stanza, error) {
	p := &parser{c: c, seen: map[string]int{}, zones: zones}
	p.s = &Stanza{
		File: c.File(), Line: c.Line(),
		Policy: policy.ActivePassive, TTL: defaultTTL, ECS: true,
		Probe: probe.Spec{Timeout: defaultTimeout, Expect: probe.DefaultCodes()},
		Pace:  health.Pace{Interval: defaultInterval, FastInterval: defaultFastInterval, Fall: defaultFall, Rise: defaultRise},
	}
	if err := p.names(args, zones); err != nil {
		return nil, err
	}
	for c.NextBlock() {
		if err := p.property(); err != nil {
			return nil, err
		}
	}
	if err := p.finish(); err != nil {
		return nil, err
	}
	return p.s, nil
}

// Errorf reports a problem found after the block was read, at line.
func Errorf(file string, line int, format string, args ...any) error {
	return fmt.Errorf("%s:%d - Error during parsing: %s", file, line, fmt.Sprintf(format, args...))
}

func (p *parser) names(args, zones []string) error {
	c := p.c
	if len(args) == 0 {
		return c.Err("failover needs at least one NAME to manage, as in: failover www.example.org { ... }")
	}
	for _, a := range args {
		names, err := qualify(a, zones)
		if err != nil {
			return c.Err(err.Error())
		}
		for _, n := range names {
			for _, prev := range p.s.Names {
				if prev == n {
					return c.Errf("name %s is listed twice", n)
				}
			}
			p.s.Names = append(p.s.Names, n)
			p.s.NameLines = append(p.s.NameLines, c.Line())
			p.s.Apex = append(p.s.Apex, slices.Contains(zones, n))
		}
	}
	return nil
}

// qualify turns a NAME into FQDNs inside zones. A name with a dot is fully
// qualified (the final dot is optional); a single label such as "www", or "@"
// for the apex, is relative to each zone of the server block.
func qualify(name string, zones []string) ([]string, error) {
	lower := strings.ToLower(name)
	if strings.Contains(lower, "*") {
		return nil, fmt.Errorf("name %q: wildcards are not supported; list each name, several per failover line if they share endpoints", name)
	}
	if lower == "@" || !strings.Contains(strings.TrimSuffix(lower, "."), ".") && !strings.HasSuffix(lower, ".") {
		out := make([]string, 0, len(zones))
		for _, z := range zones {
			if lower == "@" {
				out = append(out, z)
			} else if z == "." {
				out = append(out, lower+".")
			} else {
				out = append(out, lower+"."+z)
			}
		}
		for _, n := range out {
			if _, ok := dns.IsDomainName(n); !ok {
				return nil, fmt.Errorf("%q is not a valid domain name", name)
			}
		}
		return out, nil
	}
	fq := dns.Fqdn(lower)
	if _, ok := dns.IsDomainName(fq); !ok || strings.Contains(fq, "..") {
		return nil, fmt.Errorf("%q is not a valid domain name", name)
	}
	if plugin.Zones(zones).Matches(fq) == "" {
		return nil, fmt.Errorf("name %s is outside this server block's zones (%s); write a name inside them, or a single label such as www that is relative to them",
			fq, strings.Join(zones, " "))
	}
	return []string{fq}, nil
}

// once rejects a property given twice in one block.
func (p *parser) once(prop string) error {
	if line, ok := p.seen[prop]; ok {
		return p.c.Errf("%s is set twice in this failover block (first on line %d); give it once", prop, line)
	}
	p.seen[prop] = p.c.Line()
	return nil
}

func (p *parser) property() error {
	c, s := p.c, p.s
	prop := c.Val()
	if prop != "endpoint" && prop != "header" {
		if err := p.once(prop); err != nil {
			return err
		}
	}
	args := c.RemainingArgs()
	one := func() (string, error) {
		if len(args) != 1 {
			return "", c.Errf("%s takes exactly one value, got %d", prop, len(args))
		}
		return args[0], nil
	}
	none := func() error {
		if len(args) != 0 {
			return c.Errf("%s takes no value, got %q", prop, strings.Join(args, " "))
		}
		return nil
	}
	var err error
	var v string
	switch prop {
	case "policy":
		if v, err = one(); err != nil {
			return err
		}
		if s.Policy, err = policy.Parse(v); err != nil {
			return c.Err(err.Error())
		}
	case "endpoint":
		return p.endpoint(args)
	case "ttl":
		if v, err = one(); err != nil {
			return err
		}
		n, err := p.integer(prop, v, 0, math.MaxInt32)
		if err != nil {
			return err
		}
		s.TTL = uint32(n)
	case "check":
		if len(args) == 0 {
			return c.Err("check needs a URL (or several, or none), such as http://{address}/health")
		}
		checks, err := p.checkURLs(args)
		if err != nil {
			return err
		}
		s.Checks = checks
	case "require":
		return p.require(args)
	case "invert", "observe_only":
		if err := none(); err != nil {
			return err
		}
		if prop == "invert" {
			s.Invert = true
		} else {
			s.ObserveOnly = true
		}
	case "min_healthy":
		if v, err = one(); err != nil {
			return err
		}
		return p.minHealthy(v)
	case "failover_delay", "failback_delay", "slow_start":
		if v, err = one(); err != nil {
			return err
		}
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 || d > 24*time.Hour {
			return c.Errf("%s %q is not a duration from 1ms to 24h; write it as 30s, 2m or 1h", prop, v)
		}
		switch prop {
		case "failover_delay":
			s.FailoverDelay = d
		case "failback_delay":
			s.FailbackDelay = d
		default:
			s.SlowStart = d
		}
	case "failback":
		if v, err = one(); err != nil {
			return err
		}
		switch strings.ToLower(v) {
		case "manual":
			s.FailbackManual = true
		case "auto":
			s.FailbackManual = false
		default:
			return c.Errf("failback is manual or auto, not %q", v)
		}
	case "ttl_failover":
		if v, err = one(); err != nil {
			return err
		}
		n, err := p.integer(prop, v, 0, math.MaxInt32)
		if err != nil {
			return err
		}
		s.TTLFailover, s.HasTTLFailover = uint32(n), true
	case "trickle":
		if v, err = one(); err != nil {
			return err
		}
		pct, err := strconv.ParseFloat(strings.TrimSuffix(v, "%"), 64)
		if err != nil || !(pct >= 0.1 && pct <= 10) {
			return c.Errf("trickle %q is not allowed; give a share of the answers from 0.1 to 10 (percent), as in: trickle 1", v)
		}
		s.Trickle = pct
	case "weight_from":
		return p.weightFrom(args)
	case "interval", "fast_interval", "timeout":
		if v, err = one(); err != nil {
			return err
		}
		d, err := time.ParseDuration(v)
		// Below a millisecond a probe could never finish (interval 1ns would
		// derive a zero timeout) and the scheduler would spin.
		if err != nil || d < minDuration {
			return c.Errf("%s %q is not a positive duration of at least %s; write it as 500ms, 2s or 1m", prop, v, minDuration)
		}
		switch prop {
		case "interval":
			s.Pace.Interval = d
		case "fast_interval":
			s.Pace.FastInterval, p.fastSet = d, true
		default:
			s.Probe.Timeout, p.timeoutSet = d, true
		}
	case "fall", "rise":
		if v, err = one(); err != nil {
			return err
		}
		n, err := p.integer(prop, v, 1, 1000)
		if err != nil {
			return err
		}
		if prop == "fall" {
			s.Pace.Fall = n
		} else {
			s.Pace.Rise = n
		}
	case "expect":
		codes, err := probe.ParseCodes(args)
		if err != nil {
			return c.Err(err.Error())
		}
		s.Probe.Expect = codes
	case "host":
		if v, err = one(); err != nil {
			return err
		}
		if err := probe.ValidateHost(v); err != nil {
			return c.Errf("%v", err)
		}
		s.Probe.Host = v
	case "tls_servername":
		if v, err = one(); err != nil {
			return err
		}
		s.Probe.TLSServerName = v
	case "tls_skip_verify":
		if err := none(); err != nil {
			return err
		}
		s.Probe.TLSSkipVerify = true
	case "header":
		if len(args) != 2 {
			return c.Errf("header takes a NAME and a VALUE (quote a value with spaces), got %d words", len(args))
		}
		if err := probe.ValidateHeader(args[0], args[1]); err != nil {
			return c.Errf("%v", err)
		}
		s.Probe.Headers = append(s.Probe.Headers, [2]string{args[0], args[1]})
	case "body":
		if v, err = one(); err != nil {
			return err
		}
		if v == "" || len(v) > probe.MaxBody {
			return c.Errf("body needs a non-empty TEXT of at most %d bytes", probe.MaxBody)
		}
		s.Probe.Body = v
	case "max_answers":
		if v, err = one(); err != nil {
			return err
		}
		if s.MaxAnswers, err = p.integer(prop, v, 1, 64); err != nil {
			return err
		}
		p.maxSet = true
	case "geoip":
		if v, err = one(); err != nil {
			return err
		}
		s.GeoIP, s.GeoIPLine = v, c.Line()
	case "ecs":
		if v, err = one(); err != nil {
			return err
		}
		switch strings.ToLower(v) {
		case "on":
			s.ECS = true
		case "off":
			s.ECS = false
		default:
			return c.Errf("ecs is on or off, not %q", v)
		}
	case "ecs_from":
		if len(args) == 0 {
			return c.Err("ecs_from needs at least one CIDR, such as 192.0.2.0/24 or 2001:db8::/32")
		}
		for _, a := range args {
			pfx, err := netip.ParsePrefix(a)
			if err != nil {
				addr, aerr := netip.ParseAddr(a)
				if aerr != nil {
					return c.Errf("ecs_from %q is not a CIDR such as 192.0.2.0/24 or an address", a)
				}
				pfx = netip.PrefixFrom(addr, addr.BitLen())
			}
			s.ECSFrom = append(s.ECSFrom, pfx.Masked())
		}
	case "all_down":
		if v, err = one(); err != nil {
			return err
		}
		found := false
		for i, name := range allDownNames {
			if strings.EqualFold(v, name) {
				s.AllDown, found = AllDown(i), true
			}
		}
		if !found {
			return c.Errf("all_down %q is unknown; allowed are %s", v, strings.Join(allDownNames[:], ", "))
		}
	case "fallthrough":
		if err := none(); err != nil {
			return err
		}
		s.Fallthrough = true
	case "fence":
		if len(args) == 0 {
			return c.Err("fence needs at least one LOCATION whose clients stay inside it, such as continent:EU or net:10.0.0.0/8")
		}
		for _, a := range args {
			loc, err := parseLocation(a)
			if err != nil {
				return c.Errf("fence: %v", err)
			}
			s.Fence = append(s.Fence, loc)
		}
	case "sticky":
		return p.sticky(args)
	default:
		return c.Errf("unknown property %q in failover block; allowed are %s", prop, strings.Join(properties, ", "))
	}
	return nil
}

func (p *parser) integer(prop, v string, lo, hi int) (int, error) {
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, p.c.Errf("%s %q is not allowed; give a whole number from %d to %d", prop, v, lo, hi)
	}
	return n, nil
}

// checkURLs reads the URLs of a check line; none alone means no check.
func (p *parser) checkURLs(urls []string) ([]string, error) {
	if len(urls) == 1 && strings.EqualFold(urls[0], "none") {
		return nil, nil
	}
	var out []string
	for _, u := range urls {
		if strings.EqualFold(u, "none") {
			return nil, p.c.Err("check none turns checks off and cannot be given with URLs")
		}
		if err := p.checkURL(u); err != nil {
			return nil, err
		}
		if slices.Contains(out, u) {
			return nil, p.c.Errf("check %s is listed twice", u)
		}
		out = append(out, u)
	}
	return out, nil
}

// require reads: require all|any|N
func (p *parser) require(args []string) error {
	if len(args) != 1 {
		return p.c.Errf("require takes one of all, any or a number of checks, got %d values", len(args))
	}
	switch v := strings.ToLower(args[0]); v {
	case "all":
		p.s.Require = 0
	case "any":
		p.s.Require = 1
	default:
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 64 {
			return p.c.Errf("require %q is not allowed; give all, any or a number of checks from 1 to 64", args[0])
		}
		p.s.Require = n
	}
	return nil
}

// minHealthy reads N or P%.
func (p *parser) minHealthy(v string) error {
	if pct, ok := strings.CutSuffix(v, "%"); ok {
		n, err := strconv.Atoi(pct)
		if err != nil || n < 1 || n > 100 {
			return p.c.Errf("min_healthy %q is not allowed; give a number of endpoints (1-65535) or a share such as 50%%", v)
		}
		p.s.MinHealthyPct = n
		return nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 65535 {
		return p.c.Errf("min_healthy %q is not allowed; give a number of endpoints (1-65535) or a share such as 50%%", v)
	}
	p.s.MinHealthy = n
	return nil
}

// weightFrom reads: weight_from body | weight_from header NAME
func (p *parser) weightFrom(args []string) error {
	const allowed = "weight_from body, or weight_from header NAME"
	switch {
	case len(args) == 1 && strings.EqualFold(args[0], "body"):
		p.s.WeightFromBody = true
	case len(args) == 2 && strings.EqualFold(args[0], "header"):
		if err := probe.ValidateHeader(args[1], "0"); err != nil {
			return p.c.Errf("weight_from header %q: %v", args[1], err)
		}
		p.s.WeightFromHeader = args[1]
	default:
		return p.c.Errf("weight_from %q is not allowed; write %s", strings.Join(args, " "), allowed)
	}
	return nil
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix) {
		return s[len(prefix):], true
	}
	return s, false
}

func (p *parser) checkURL(v string) error {
	if strings.EqualFold(v, "none") {
		return nil
	}
	if err := probe.ValidateURL(v); err != nil {
		return p.c.Err(err.Error())
	}
	return nil
}

// sticky reads: sticky [V4BITS [V6BITS]]
func (p *parser) sticky(args []string) error {
	s := p.s
	if len(args) > 2 {
		return p.c.Errf("sticky takes at most an IPv4 and an IPv6 prefix length, as in: sticky 24 56; got %d values", len(args))
	}
	s.Sticky, s.StickyV4, s.StickyV6 = true, DefaultStickyV4, DefaultStickyV6
	var err error
	if len(args) > 0 {
		if s.StickyV4, err = p.integer("sticky's IPv4 prefix length", args[0], 1, 32); err != nil {
			return err
		}
	}
	if len(args) > 1 {
		if s.StickyV6, err = p.integer("sticky's IPv6 prefix length", args[1], 1, 128); err != nil {
			return err
		}
	}
	return nil
}

// endpoint reads: ADDRESS [priority N] [weight N] [geo LOCATION...] [default] [check URL] [at LAT LON]
func (p *parser) endpoint(args []string) error {
	c, s := p.c, p.s
	if len(args) == 0 {
		return c.Err("endpoint needs an ADDRESS: an IPv4 address, an IPv6 address or a host name")
	}
	e := Endpoint{Line: c.Line(), Priority: defaultPriority, Weight: defaultWeight}
	raw := args[0]
	if target, ok := cutPrefixFold(raw, "alias:"); ok {
		names, err := qualify(target, p.zones)
		if err != nil || len(names) != 1 {
			return c.Errf("endpoint %s: alias needs one managed NAME of this server block, as in alias:eu.example.org", raw)
		}
		e.Alias, e.Address = names[0], "alias:"+names[0]
	} else if ip, err := netip.ParseAddr(raw); err == nil {
		if ip.Zone() != "" {
			return c.Errf("endpoint %q: an address with a zone cannot be served in DNS", raw)
		}
		e.IP = ip.Unmap()
		e.Address = e.IP.String()
	} else {
		fq := dns.Fqdn(strings.ToLower(raw))
		if _, ok := dns.IsDomainName(fq); !ok || strings.Contains(fq, "..") || fq == "." || looksNumeric(raw) {
			return c.Errf("endpoint %q is neither an IP address nor a host name", raw)
		}
		e.Address = fq
	}
	seen := map[string]bool{}
	for i := 1; i < len(args); i++ {
		opt := strings.ToLower(args[i])
		if seen[opt] && opt != "geo" {
			return c.Errf("endpoint %s: %s is given twice", raw, opt)
		}
		seen[opt] = true
		next := func() (string, error) {
			if i+1 >= len(args) {
				return "", c.Errf("endpoint %s: %s needs a value", raw, opt)
			}
			i++
			return args[i], nil
		}
		switch opt {
		case "priority", "weight":
			v, err := next()
			if err != nil {
				return err
			}
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 || n > 65535 {
				return c.Errf("endpoint %s: %s %q is not allowed; give a whole number from 0 to 65535", raw, opt, v)
			}
			if opt == "priority" {
				e.Priority = n
			} else {
				e.Weight = uint32(n)
			}
		case "check":
			var urls []string
			for i+1 < len(args) && (strings.Contains(args[i+1], "://") || strings.EqualFold(args[i+1], "none")) {
				i++
				urls = append(urls, args[i])
			}
			if len(urls) == 0 {
				return c.Errf("endpoint %s: check needs a URL (or several, or none)", raw)
			}
			checks, err := p.checkURLs(urls)
			if err != nil {
				return err
			}
			e.Checks, e.HasCheck = checks, true
		case "default":
			e.Default = true
		case "at":
			if i+2 >= len(args) {
				return c.Errf("endpoint %s: at needs a LATITUDE and a LONGITUDE in degrees, as in: at 50.11 8.68", raw)
			}
			at, err := coordinates(args[i+1], args[i+2])
			if err != nil {
				return c.Errf("endpoint %s: %v", raw, err)
			}
			e.At, i = at, i+2
		case "geo":
			n := 0
			for i+1 < len(args) && strings.Contains(args[i+1], ":") || i+1 < len(args) && strings.EqualFold(args[i+1], "default") {
				i++
				if strings.EqualFold(args[i], "default") {
					e.Default = true
					n++
					continue
				}
				loc, err := parseLocation(args[i])
				if err != nil {
					return c.Errf("endpoint %s: %v", raw, err)
				}
				e.Geo = append(e.Geo, loc)
				n++
			}
			if n == 0 {
				return c.Errf("endpoint %s: geo needs at least one LOCATION, such as country:DE, continent:EU or subdivision:US-CA", raw)
			}
		default:
			return c.Errf("endpoint %s: unknown option %q; allowed are priority N, weight N, geo LOCATION..., default, check URL and at LATITUDE LONGITUDE", raw, args[i])
		}
	}
	for _, prev := range s.Endpoints {
		if prev.Address == e.Address {
			return c.Errf("endpoint %s is listed twice in this failover block (first on line %d)", raw, prev.Line)
		}
	}
	s.Endpoints = append(s.Endpoints, e)
	return nil
}

// coordinates reads a latitude and a longitude in decimal degrees.
func coordinates(lat, lon string) (*Coordinates, error) {
	la, err1 := strconv.ParseFloat(lat, 64)
	lo, err2 := strconv.ParseFloat(lon, 64)
	if err1 != nil || err2 != nil || math.IsNaN(la) || math.IsNaN(lo) || la < -90 || la > 90 || lo < -180 || lo > 180 {
		return nil, fmt.Errorf("at %q %q is not a position; give a latitude from -90 to 90 and a longitude from -180 to 180 in decimal degrees, as in: at 50.11 8.68", lat, lon)
	}
	return &Coordinates{Lat: la, Lon: lo}, nil
}

// looksNumeric catches typos such as 192.0.2.300, which IsDomainName accepts.
func looksNumeric(s string) bool {
	s = strings.TrimSuffix(s, ".")
	last := s[strings.LastIndexByte(s, '.')+1:]
	_, err := strconv.Atoi(last)
	return err == nil || strings.Contains(s, ":")
}

// finish checks what only the whole block can tell. Each error points at the
// line that has to change: the property's own line when there is one, else
// the directive's.
func (p *parser) finish() error {
	s := p.s
	if len(s.Endpoints) == 0 {
		return Errorf(s.File, s.Line, "failover %s has no endpoint; add at least one line such as: endpoint 192.0.2.10", s.Names[0])
	}
	if s.Endpoints[0].IsHost() {
		for i, apex := range s.Apex {
			if apex {
				return Errorf(s.File, s.Endpoints[0].Line, "failover %s: endpoint %s is a host name, answered with a CNAME, and %s is the apex of its zone, where the SOA and NS records stand and a CNAME may not (RFC 1034 section 3.6.2); use IP addresses at the apex",
					s.Names[i], s.Endpoints[0].Address, s.Names[i])
			}
		}
	}
	for _, e := range s.Endpoints[1:] {
		if e.IsHost() != s.Endpoints[0].IsHost() {
			first, kind := s.Endpoints[0].Address, "an IP address"
			if s.Endpoints[0].IsHost() {
				kind = "a host name"
			}
			return Errorf(s.File, e.Line, "failover %s mixes IP addresses and host names: endpoint %s does not fit the block's first endpoint %s, %s; a block serves either addresses (A/AAAA) or host names (CNAME), not both",
				s.Names[0], e.Address, first, kind)
		}
	}
	for i := range s.Endpoints {
		e := &s.Endpoints[i]
		for _, u := range s.CheckURLs(e) {
			if err := probe.ValidateFor(u, e.Address); err != nil {
				return Errorf(s.File, e.Line, "endpoint %s: %v", e.Address, err)
			}
		}
	}
	if err := p.finishHealth(); err != nil {
		return err
	}
	if !p.timeoutSet && s.Probe.Timeout >= s.Pace.Interval {
		// An interval of 2s or less with no timeout given: keep the probes inside it.
		s.Probe.Timeout = s.Pace.Interval / 2
	}
	if s.Probe.Timeout >= s.Pace.Interval {
		return Errorf(s.File, p.line("timeout"), "timeout %s must be below interval %s, so that one probe ends before the next begins", s.Probe.Timeout, s.Pace.Interval)
	}
	if !p.fastSet && s.Pace.FastInterval > s.Pace.Interval {
		s.Pace.FastInterval = s.Pace.Interval
	}
	if s.Pace.FastInterval > s.Pace.Interval {
		return Errorf(s.File, p.line("fast_interval"), "fast_interval %s must not exceed interval %s", s.Pace.FastInterval, s.Pace.Interval)
	}
	if !p.maxSet {
		s.MaxAnswers = s.Policy.DefaultMaxAnswers()
	}
	return p.finishGeo()
}

// line is where prop was set, or the directive's line when it was not.
func (p *parser) line(prop string) int {
	if line, ok := p.seen[prop]; ok {
		return line
	}
	return p.s.Line
}

func (p *parser) finishGeo() error {
	s := p.s
	if err := p.finishEndpointsByPolicy(); err != nil {
		return err
	}
	if !s.ByClient() {
		for _, prop := range []string{"geoip", "ecs", "ecs_from"} {
			if line, ok := p.seen[prop]; ok {
				return Errorf(s.File, line, "%s only applies to policies geo and nearest and to sticky answers", prop)
			}
		}
	}
	if line, ok := p.seen["fence"]; ok && s.Policy != policy.Geo {
		return Errorf(s.File, line, "fence only applies to policy geo")
	}
	if line, ok := p.seen["sticky"]; ok && s.Policy != policy.Weighted && s.Policy != policy.ActiveActive && s.Policy != policy.Nearest {
		return Errorf(s.File, line, "sticky applies to policies weighted, active-active and nearest, not %s", s.Policy)
	}
	if s.NeedsDB() && s.GeoIP == "" {
		return Errorf(s.File, p.line("policy"), "policy %s needs a database: add geoip FILE with a MaxMind GeoIP2 or GeoLite2 %s .mmdb", s.Policy, map[bool]string{true: "City", false: "City or Country"}[s.Policy == policy.Nearest])
	}
	if s.Policy != policy.Geo && s.Policy != policy.Nearest {
		return nil
	}
	hasDefault := false
	for _, e := range s.Endpoints {
		hasDefault = hasDefault || e.Default
	}
	if !hasDefault {
		return Errorf(s.File, p.line("policy"), "policy %s needs a catch-all for clients it cannot place: mark at least one endpoint default, as in: endpoint 192.0.2.30 default", s.Policy)
	}
	return p.finishFence()
}

// finishEndpointsByPolicy checks that each endpoint's options fit the
// policy, at the endpoint's line.
func (p *parser) finishEndpointsByPolicy() error {
	s := p.s
	for i := range s.Endpoints {
		e := &s.Endpoints[i]
		if len(e.Geo) > 0 && s.Policy != policy.Geo {
			return Errorf(s.File, e.Line, "endpoint %s has geo, which only policy geo uses; add policy geo or remove it", e.Address)
		}
		if e.Default && s.Policy != policy.Geo && s.Policy != policy.Nearest {
			return Errorf(s.File, e.Line, "endpoint %s is marked default, which only policies geo and nearest use; add one of them or remove it", e.Address)
		}
		if e.At != nil && s.Policy != policy.Nearest {
			return Errorf(s.File, e.Line, "endpoint %s has at, which only policy nearest uses; add policy nearest or remove it", e.Address)
		}
		if s.Policy == policy.Nearest && e.At == nil && !e.Default {
			return Errorf(s.File, e.Line, "endpoint %s has no position: policy nearest needs at LATITUDE LONGITUDE on each endpoint (or default, for clients without coordinates)", e.Address)
		}
		if s.Policy == policy.Fastest && s.CheckURL(e) == "" {
			return Errorf(s.File, e.Line, "endpoint %s has no check: policy fastest ranks endpoints by their probes' round trip; give it a check URL", e.Address)
		}
	}
	return nil
}

// finishFence checks that every fenced location has endpoints of its own:
// its clients may be answered by nobody else.
func (p *parser) finishFence() error {
	s := p.s
	for _, f := range s.Fence {
		named := false
		for _, e := range s.Endpoints {
			named = named || slices.Contains(e.Geo, f)
		}
		if !named {
			return Errorf(s.File, p.line("fence"), "fence %s: no endpoint serves %s, so its clients could never be answered; add it to the geo list of the endpoints that may answer them", f, f)
		}
	}
	return nil
}

// finishHealth checks the properties of health structure against the
// policy and the checks.
func (p *parser) finishHealth() error {
	s := p.s
	most := 0
	for i := range s.Endpoints {
		e := &s.Endpoints[i]
		most = max(most, len(s.CheckURLs(e)))
		if e.IsAlias() && e.At != nil {
			return Errorf(s.File, e.Line, "endpoint %s: an alias answers its target's addresses and has no position of its own", e.Address)
		}
		if e.IsAlias() && e.HasCheck {
			return Errorf(s.File, e.Line, "endpoint %s: an alias is healthy while its target has a healthy answer; it takes no check", e.Address)
		}
		if e.IsAlias() && s.Policy == policy.Fastest {
			return Errorf(s.File, e.Line, "endpoint %s: policy fastest ranks by probes, and an alias has none", e.Address)
		}
		if e.IsAlias() && slices.Contains(s.Names, e.Alias) {
			return Errorf(s.File, e.Line, "endpoint %s is an alias of this very block's name", e.Address)
		}
	}
	if line, ok := p.seen["require"]; ok && s.Require > most {
		return Errorf(s.File, line, "require %d asks for more checks than any endpoint has (%d); give at most %d, or all or any", s.Require, most, most)
	}
	if line, ok := p.seen["trickle"]; ok && s.Policy != policy.ActivePassive {
		return Errorf(s.File, line, "trickle applies to policy active-passive, which has a next tier to send it to")
	}
	if line, ok := p.seen["slow_start"]; ok && (s.Policy == policy.Nearest || s.Policy == policy.Fastest) {
		return Errorf(s.File, line, "slow_start applies to policies that share answers by weight (weighted, active-active, active-passive and geo tiers), not %s", s.Policy)
	}
	if line, ok := p.seen["weight_from"]; ok {
		if s.Invert {
			return Errorf(s.File, line, "weight_from cannot go with invert: an inverted check passes when its request fails, and a failed request carries no weight")
		}
		if most == 0 {
			return Errorf(s.File, line, "weight_from needs an HTTP check whose response carries the weight; add check http://{address}/...")
		}
		for i := range s.Endpoints {
			for _, u := range s.CheckURLs(&s.Endpoints[i]) {
				if strings.HasPrefix(strings.ToLower(u), "tcp://") {
					return Errorf(s.File, line, "weight_from needs HTTP or HTTPS checks: endpoint %s has %s, which carries no response", s.Endpoints[i].Address, u)
				}
			}
		}
	}
	if line, ok := p.seen["failback"]; ok && s.FailbackManual && s.Policy != policy.ActivePassive && s.Policy != policy.Geo && s.Policy != policy.Fastest {
		return Errorf(s.File, line, "failback manual applies to policies with a first choice to fail back to (active-passive, geo, fastest), not %s", s.Policy)
	}
	return nil
}
