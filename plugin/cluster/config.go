package cluster

import (
	"crypto/tls"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Config says where etcd is and how replicas decide together.
type Config struct {
	Endpoints []string // etcd client URLs
	Prefix    string   // where the keys live; "" is /failover
	Node      string   // this replica's name, unique among the replicas
	Quorum    int      // replicas that must see a key down; 0 is a majority of those voting
	Probers   int      // replicas that probe each key; 0 is all of them
	Lease     time.Duration
	TLS       *tls.Config // nil for plain http
}

const (
	defaultPrefix = "/failover"
	defaultLease  = 10 * time.Second
	minLease      = 2 * time.Second
)

// checked fills in defaults and refuses what etcd or the key layout cannot
// hold.
func (c Config) checked() (Config, error) {
	if len(c.Endpoints) == 0 {
		return c, errors.New("cluster: no etcd endpoints")
	}
	if c.Prefix == "" {
		c.Prefix = defaultPrefix
	}
	if !strings.HasPrefix(c.Prefix, "/") || strings.HasSuffix(c.Prefix, "/") {
		return c, fmt.Errorf("cluster: prefix %q must start with / and not end with one", c.Prefix)
	}
	if !validNode(c.Node) {
		return c, fmt.Errorf("cluster: node %q must be letters, digits, '-', '_' and '.'", c.Node)
	}
	if c.Quorum < 0 || c.Probers < 0 {
		return c, errors.New("cluster: quorum and probers cannot be negative")
	}
	if c.Lease == 0 {
		c.Lease = defaultLease
	}
	if c.Lease < minLease {
		return c, fmt.Errorf("cluster: lease %s is below %s", c.Lease, minLease)
	}
	c.Lease = c.Lease.Round(time.Second)
	return c, nil
}

// ttl is the lease in etcd's whole seconds.
func (c Config) ttl() int64 { return int64(c.Lease / time.Second) }

// rpcTimeout bounds every call to etcd, so that a slow etcd delays this
// replica's view of the others but never holds a goroutine for long.
func (c Config) rpcTimeout() time.Duration {
	return min(max(c.Lease/3, 700*time.Millisecond), 3*time.Second)
}

func validNode(n string) bool {
	if n == "" || len(n) > 253 {
		return false
	}
	for _, r := range n {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return false
		}
	}
	return true
}
