// Package stanza reads one failover block of a Corefile into a checked,
// normalised configuration.
package stanza

import (
	"net/netip"
	"time"

	"github.com/failover-dns/failover/plugin/health"
	"github.com/failover-dns/failover/plugin/policy"
	"github.com/failover-dns/failover/plugin/probe"
)

// AllDown is what to answer when no endpoint the policy may use is up.
type AllDown uint8

// The all_down choices.
const (
	ReturnAll AllDown = iota // answer as if every endpoint were up (fail open)
	Fallthrough
	ServFail
	NoData
)

var allDownNames = [...]string{ReturnAll: "return_all", Fallthrough: "fallthrough", ServFail: "servfail", NoData: "nodata"}

func (a AllDown) String() string { return allDownNames[a] }

// Defaults, as the README documents them.
const (
	defaultTTL          = 60
	LowTTL              = 30 // below this a warning is logged
	defaultInterval     = 10 * time.Second
	defaultFastInterval = time.Second
	defaultTimeout      = 2 * time.Second
	defaultFall         = 3
	defaultRise         = 2
	defaultPriority     = 1
	defaultWeight       = 1
	minDuration         = time.Millisecond // the least interval, fast_interval or timeout
)

// Stanza is one failover block.
type Stanza struct {
	File string
	Line int

	Names       []string // lower-case FQDNs
	NameLines   []int
	Apex        []bool // per name: whether it is the apex of its zone
	Policy      policy.Kind
	Endpoints   []Endpoint
	TTL         uint32
	MaxAnswers  int
	AllDown     AllDown
	Fallthrough bool

	Checks  []string   // URL templates of the stanza's checks; none is no check
	Require int        // checks that must pass: 0 is all of them
	Probe   probe.Spec // every setting of the checks but the URL
	Pace    health.Pace

	ObserveOnly bool // probe and report, but answer as if every endpoint were up
	Invert      bool // a check that fails means up

	WeightFromBody   bool   // the check's body's first line is the endpoint's weight
	WeightFromHeader string // or this response header

	MinHealthy    int // a tier counts as up with at least this many healthy endpoints...
	MinHealthyPct int // ... or this share of them, rounded up; 0 when MinHealthy is given

	FailoverDelay  time.Duration // an endpoint gone down still counts as up this long
	FailbackDelay  time.Duration // an endpoint come back counts as down this long
	FailbackManual bool          // once failed over, stay until an operator says so
	SlowStart      time.Duration // a recovered endpoint's weight ramps up over this
	TTLFailover    uint32        // the TTL while away from the first choice; 0 is ttl
	HasTTLFailover bool
	Trickle        float64 // percent of answers for the next tier, active-passive

	GeoIP     string
	GeoIPLine int
	ECS       bool
	ECSFrom   []netip.Prefix

	Fence    []Location // clients in these are answered only from inside
	Sticky   bool
	StickyV4 int // the client subnet that keeps its endpoints, in bits
	StickyV6 int
}

// Sticky subnets when sticky gives no lengths: a customer's /24 or /56.
const (
	DefaultStickyV4 = 24
	DefaultStickyV6 = 56
)

// NeedsDB reports whether routing needs the geoip database: net: locations
// alone do not.
func (s *Stanza) NeedsDB() bool {
	if s.Policy == policy.Nearest {
		return true
	}
	if s.Policy != policy.Geo {
		return false
	}
	for _, e := range s.Endpoints {
		for _, l := range e.Geo {
			if l.Kind != Net {
				return true
			}
		}
	}
	for _, l := range s.Fence {
		if l.Kind != Net {
			return true
		}
	}
	return false
}

// ByClient reports whether answers depend on who asks, so that the client's
// address (or ECS) is read.
func (s *Stanza) ByClient() bool {
	return s.Policy == policy.Geo || s.Policy == policy.Nearest || s.Sticky
}

// Endpoint is one endpoint line.
type Endpoint struct {
	Line     int
	Address  string     // as served: an IP address in canonical form or a lower-case FQDN
	IP       netip.Addr // valid for address endpoints
	Priority int
	Weight   uint32
	Geo      []Location
	Default  bool
	Checks   []string // URL templates overriding the stanza's; empty with HasCheck is none
	HasCheck bool
	At       *Coordinates // where it is, for policy nearest
	Alias    string       // alias:NAME: the managed name whose answer this endpoint is
}

// IsAlias reports whether the endpoint stands for another stanza's answer.
func (e *Endpoint) IsAlias() bool { return e.Alias != "" }

// Coordinates are a latitude and longitude in degrees.
type Coordinates struct{ Lat, Lon float64 }

// IsHost reports whether the endpoint is a host name (served as a CNAME).
func (e *Endpoint) IsHost() bool { return !e.IP.IsValid() && !e.IsAlias() }

// CheckURLs are the checks that apply to e; none for an unchecked one.
func (s *Stanza) CheckURLs(e *Endpoint) []string {
	if e.IsAlias() {
		return nil // its health is its target's
	}
	if e.HasCheck {
		return e.Checks
	}
	return s.Checks
}

// CheckURL is the first check that applies to e, or "" for none.
func (s *Stanza) CheckURL(e *Endpoint) string {
	if u := s.CheckURLs(e); len(u) > 0 {
		return u[0]
	}
	return ""
}

// ProbeSpecs are the full probes for e, one per check.
func (s *Stanza) ProbeSpecs(e *Endpoint) []probe.Spec {
	var out []probe.Spec
	for _, u := range s.CheckURLs(e) {
		spec := s.Probe
		spec.URL = u
		spec.Invert = s.Invert
		spec.WeightFrom = probe.WeightSource{Body: s.WeightFromBody, Header: s.WeightFromHeader}
		out = append(out, spec)
	}
	return out
}

// ProbeSpec is the full probe of e's first check, or false when e is not
// checked.
func (s *Stanza) ProbeSpec(e *Endpoint) (probe.Spec, bool) {
	specs := s.ProbeSpecs(e)
	if len(specs) == 0 {
		return probe.Spec{}, false
	}
	return specs[0], true
}

// Needed is how many of n checks must pass for an endpoint to be up.
func (s *Stanza) Needed(n int) int {
	if s.Require == 0 || s.Require > n {
		return n
	}
	return s.Require
}

// TierNeeds is how many healthy endpoints a tier of n needs to count as up.
// A tier smaller than min_healthy needs all of its endpoints: a single
// backup behind a pool of three still takes over when the pool thins out.
func (s *Stanza) TierNeeds(n int) int {
	switch {
	case s.MinHealthyPct > 0:
		return max(1, (n*s.MinHealthyPct+99)/100)
	case s.MinHealthy > 0:
		return max(1, min(s.MinHealthy, n))
	}
	return 1
}

// ForName is the stanza for its i-th name alone: every name gets a view of
// its own, so that an override can hold for one name of a shared definition.
func (s *Stanza) ForName(i int) *Stanza {
	if len(s.Names) == 1 {
		return s
	}
	c := *s
	c.Names, c.NameLines = []string{s.Names[i]}, []int{s.NameLines[i]}
	if i < len(s.Apex) {
		c.Apex = []bool{s.Apex[i]}
	}
	return &c
}
