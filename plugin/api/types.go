// Package api serves the operator API and the status page of the failover
// plugin: JSON over HTTP for the names of the server blocks that share one
// listener, and the changes an operator may make without a reload.
package api

import (
	"net/netip"
	"time"
)

// Status is GET /v1/status.
type Status struct {
	Names   []string `json:"names"`
	Cluster *Cluster `json:"cluster,omitempty"` // with cluster etcd only
}

// Cluster is this replica's standing among the others.
type Cluster struct {
	Node         string    `json:"node"`
	Connected    bool      `json:"connected"` // false: cut off from etcd, deciding on its own probes
	Since        time.Time `json:"since"`     // when connected last changed
	Members      []string  `json:"members"`   // live replicas, itself included
	LeaseSeconds float64   `json:"lease_seconds"`
	LastError    string    `json:"last_error"`
}

// Name is GET /v1/names/{name}: one managed name and why it answers what it does.
type Name struct {
	Name            string           `json:"name"` // fully qualified, lower case
	Policy          string           `json:"policy"`
	TTL             uint32           `json:"ttl"`              // the TTL answered now
	TemporaryTTL    *TTL             `json:"temporary_ttl"`    // null unless lowered through the API
	Answer          Answer           `json:"answer"`           // what a resolver gets now (for geo: a client no group matches)
	FailedOver      bool             `json:"failed_over"`      // the answer is not the first choice
	FailbackPending *FailbackPending `json:"failback_pending"` // null unless failback manual holds the name on its backup
	Endpoints       []Endpoint       `json:"endpoints"`
}

// FailbackPending is a name that failed over and waits for an operator
// before it returns to its first choice.
type FailbackPending struct {
	Since  time.Time `json:"since"`  // when it failed over
	Reason string    `json:"reason"` // why it failed over
}

// Answer lists the records a query may get now, by type: for active-active
// and weighted every candidate, of which each query gets max_answers.
type Answer struct {
	A     []string `json:"A"`
	AAAA  []string `json:"AAAA"`
	CNAME []string `json:"CNAME"`
}

// Endpoint is one endpoint of one name.
type Endpoint struct {
	Address   string     `json:"address"`
	State     string     `json:"state"`   // up, down or unknown: its probe and outside signals
	Serving   bool       `json:"serving"` // in the answer now
	Override  *Override  `json:"override"`
	Signals   []Signal   `json:"signals"` // firing alerts that hold it down
	Check     string     `json:"check"`   // the check URL, or "none"
	Priority  int        `json:"priority"`
	Weight    uint32     `json:"weight"`
	LastProbe *Probe     `json:"last_probe"`               // null before the first probe and without a check
	RTT       *float64   `json:"rtt_seconds"`              // smoothed round trip of its successful probes; null before one
	InUse     uint32     `json:"weight_in_use"`            // the weight answers are drawn by now: reported (weight_from), ramping (slow_start) or configured
	Problem   string     `json:"weight_problem,omitempty"` // why a reported weight was not taken
	Checks    []Check    `json:"checks"`                   // every check of the endpoint, each by its own URL
	Streak    *Streak    `json:"streak"`
	Since     *time.Time `json:"since"` // when its state last changed
	History   []Change   `json:"history"`
}

// Check is one of an endpoint's checks (require combines them).
type Check struct {
	Check     string   `json:"check"`
	State     string   `json:"state"` // up, down or unknown
	LastProbe *Probe   `json:"last_probe"`
	Streak    *Streak  `json:"streak"`
	RTT       *float64 `json:"rtt_seconds"`
}

// Probe is an endpoint's latest probe.
type Probe struct {
	At              time.Time `json:"at"`
	Result          string    `json:"result"` // success or the failure kind, as in the metrics
	Error           string    `json:"error"`  // "" on success
	DurationSeconds float64   `json:"duration_seconds"`
}

// Streak is the run of equal results that ends with the latest probe.
type Streak struct {
	Result string `json:"result"` // success or failure
	Count  int    `json:"count"`
}

// Change is one state transition of an endpoint.
type Change struct {
	At     time.Time `json:"at"`
	From   string    `json:"from"`
	To     string    `json:"to"`
	Reason string    `json:"reason"`
}

// Override is an operator's decision about an endpoint, which wins over its
// probe and outside signals.
type Override struct {
	Name      string     `json:"name"` // "*" for every name that has the address
	Address   string     `json:"address"`
	State     string     `json:"state"` // up, down or drain
	Reason    string     `json:"reason"`
	SetAt     time.Time  `json:"set_at"`
	DrainedAt *time.Time `json:"drained_at,omitempty"` // drain only
	SafeAt    *time.Time `json:"safe_at,omitempty"`    // drain only: no cache can still hold a record naming it
}

// Signal is an outside health signal: a firing Alertmanager alert.
type Signal struct {
	Alert  string    `json:"alert"` // its alertname
	Since  time.Time `json:"since"`
	Labels string    `json:"labels"` // its labels, as Alertmanager groups them
}

// TTL is a temporary TTL of a name.
type TTL struct {
	Name           string    `json:"name"`
	TTL            uint32    `json:"ttl"`
	NormalTTL      uint32    `json:"normal_ttl"`
	SetAt          time.Time `json:"set_at"`
	Until          time.Time `json:"until"`
	CutoverReadyAt time.Time `json:"cutover_ready_at"` // every cache holds at most TTL seconds from here
}

// Explanation is GET /v1/names/{name}/answer: what a client gets now and why.
type Explanation struct {
	Name       string    `json:"name"`
	Type       string    `json:"type"`
	Client     string    `json:"client"`
	Location   *Location `json:"location"` // null unless the policy is geo
	Policy     string    `json:"policy"`
	Group      string    `json:"group"`       // geo: the endpoints' group that decided, e.g. "country:DE" or "default"
	Tier       *int      `json:"tier"`        // active-passive and geo: the priority answered
	Action     string    `json:"action"`      // answer, return_all, fallthrough, servfail, nodata, or no_data_for_type
	Answer     []string  `json:"answer"`      // the candidates
	MaxAnswers int       `json:"max_answers"` // how many of them one answer holds
	TTL        uint32    `json:"ttl"`
	LeftOut    []LeftOut `json:"left_out"`
}

// Location is where the geo database puts a client.
type Location struct {
	Network     string `json:"network"` // the database entry's network
	Continent   string `json:"continent"`
	Country     string `json:"country"`
	Subdivision string `json:"subdivision"`
}

// LeftOut is an endpoint not in the answer, and why.
type LeftOut struct {
	Address string `json:"address"`
	Reason  string `json:"reason"`
}

// OverrideRequest is the body of PUT .../override.
type OverrideRequest struct {
	State  string `json:"state"`
	Reason string `json:"reason"`
}

// TTLRequest is the body of PUT /v1/names/{name}/ttl.
type TTLRequest struct {
	TTL uint32 `json:"ttl"`
	For string `json:"for"` // a Go duration such as "30m"
}

// FailbackRequest is the body of POST /v1/names/{name}/failback, which may
// be left empty.
type FailbackRequest struct {
	Reason string `json:"reason"` // why now, for the log
}

// FailbackResult is the answer to POST /v1/names/{name}/failback.
type FailbackResult struct {
	Name   string          `json:"name"`
	Answer Answer          `json:"answer"` // what a resolver gets now: the first choice again
	At     time.Time       `json:"at"`     // when the hold ended
	Reason string          `json:"reason"` // the operator's, as sent
	Held   FailbackPending `json:"held"`   // the hold it ended: since when and why the name was failed over
}

// Cleared is the answer to a DELETE.
type Cleared struct {
	Cleared bool `json:"cleared"` // false when there was nothing to clear
}

// AlertResult is the answer to POST /v1/alertmanager.
type AlertResult struct {
	Applied int      `json:"applied"` // alerts that set or cleared a signal
	Ignored []string `json:"ignored"` // alerts that name no known endpoint, and why
}

// Alert is one alert of an Alertmanager webhook, reduced to what matters here.
type Alert struct {
	Firing   bool
	Name     string // failover_name, "" for every name
	Endpoint string // failover_endpoint
	Alert    string // alertname
	Key      string // its labels, which identify it across firing and resolved
	Since    time.Time
}

// Error is the body of every 4xx and 5xx answer.
type Error struct {
	Error string `json:"error"`
}

// Backend is what the API reads and changes: the running configuration.
// Errors it returns that are a *Problem keep their status; others are 500.
type Backend interface {
	Names() []string
	Cluster() *Cluster // nil without cluster etcd
	Name(name string) (Name, bool)
	Explain(name string, client netip.Addr, qtype uint16) (Explanation, error)
	SetOverride(name, address string, req OverrideRequest) (Override, error) // name "" is every name
	ClearOverride(name, address string) (bool, error)
	SetTTL(name string, req TTLRequest) (TTL, error)
	ClearTTL(name string) (bool, error)
	// Failback returns name to its first choice: a *Problem with 404 for
	// an unknown name, 409 when no failback is pending or the first choice
	// is still down.
	Failback(name, reason string) (FailbackResult, error)
	Alerts(alerts []Alert) AlertResult
}

// Problem is an error with the HTTP status it answers with.
type Problem struct {
	Status  int
	Message string
}

func (p *Problem) Error() string { return p.Message }
