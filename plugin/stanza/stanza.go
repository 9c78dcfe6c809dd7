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

	Check string     // URL template of the stanza's check; "" is none
	Probe probe.Spec // every setting of the check but the URL
	Pace  health.Pace

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
	Check    string // URL template overriding the stanza's; "none" turns the check off
	HasCheck bool
	At       *Coordinates // where it is, for policy nearest
}

// Coordinates are a latitude and longitude in degrees.
type Coordinates struct{ Lat, Lon float64 }

// IsHost reports whether the endpoint is a host name (served as a CNAME).
func (e *Endpoint) IsHost() bool { return !e.IP.IsValid() }

// CheckURL is the check that applies to e, or "" for none.
func (s *Stanza) CheckURL(e *Endpoint) string {
	if e.HasCheck {
		if e.Check == "none" {
			return ""
		}
		return e.Check
	}
	return s.Check
}

// ProbeSpec is the full probe for e, or false when e is not checked.
func (s *Stanza) ProbeSpec(e *Endpoint) (probe.Spec, bool) {
	u := s.CheckURL(e)
	if u == "" {
		return probe.Spec{}, false
	}
	spec := s.Probe
	spec.URL = u
	return spec, true
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
