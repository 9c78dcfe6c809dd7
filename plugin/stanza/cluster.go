package stanza

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/coredns/caddy"
	mwtls "github.com/coredns/coredns/plugin/pkg/tls"
)

// Cluster is the cluster line of the settings block: replicas that share
// one health view through etcd.
type Cluster struct {
	File string
	Line int

	Endpoints []string // etcd client URLs, all http or all https
	Prefix    string   // where the keys live; starts with "/", no trailing "/"
	Node      string   // this replica's name among the others
	Quorum    int      // replicas that must see an endpoint down; 0 is a majority of those voting
	Probers   int      // replicas that probe each endpoint; 0 is all of them
	Lease     time.Duration

	CertFile, KeyFile, CAFile string      // absolute paths; "" when not given
	TLS                       *tls.Config // built from the files; nil without tls
}

// Cluster defaults, as the README documents them.
const (
	defaultClusterPrefix = "/failover"
	defaultLease         = 10 * time.Second
	minLease             = 2 * time.Second
)

var clusterProperties = []string{"prefix", "node", "quorum", "probers", "lease", "tls"}

// parseCluster reads "cluster etcd URL... [{ ... }]" whose keyword c has
// just consumed, args being the rest of its line.
func parseCluster(c *caddy.Controller, root string, args []string) (*Cluster, error) {
	cl := &Cluster{File: c.File(), Line: c.Line(), Prefix: defaultClusterPrefix, Lease: defaultLease}
	if len(args) == 0 || args[0] != "etcd" {
		if len(args) > 0 {
			return nil, c.Errf("cluster %q: the only store replicas share is etcd, as in: cluster etcd http://127.0.0.1:2379", args[0])
		}
		return nil, c.Err("cluster takes etcd and its URLs, as in: cluster etcd http://127.0.0.1:2379")
	}
	if err := cl.endpoints(args[1:]); err != nil {
		return nil, c.Errf("cluster etcd: %v", err)
	}
	if err := cl.block(c, root); err != nil {
		return nil, err
	}
	if cl.Node == "" {
		host, err := os.Hostname()
		if err != nil {
			return nil, Errorf(cl.File, cl.Line, "cluster: the host name is unknown (%v); name this replica with node NAME", err)
		}
		if !validNode(host) {
			return nil, Errorf(cl.File, cl.Line, "cluster: the host name %q is not a node name (letters, digits, '-', '_', '.'); name this replica with node NAME", host)
		}
		cl.Node = host
	}
	return cl, nil
}

func (cl *Cluster) endpoints(urls []string) error {
	if len(urls) == 0 {
		return errors.New("name at least one URL, as in: cluster etcd http://127.0.0.1:2379")
	}
	for _, raw := range urls {
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("%q is not an http or https URL, as in http://127.0.0.1:2379", raw)
		}
		if n, err := strconv.Atoi(u.Port()); err != nil || n < 1 || n > 65535 || u.Hostname() == "" {
			return fmt.Errorf("%q needs a HOST:PORT, as in http://127.0.0.1:2379", raw)
		}
		if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
			return fmt.Errorf("%q: an etcd URL is scheme://HOST:PORT with nothing after it", raw)
		}
		ep := u.Scheme + "://" + u.Host
		for _, prev := range cl.Endpoints {
			if prev == ep {
				return fmt.Errorf("%s is listed twice", ep)
			}
			if !strings.HasPrefix(prev, u.Scheme+":") {
				return fmt.Errorf("%s and %s mix http and https; etcd is reached one way", prev, ep)
			}
		}
		cl.Endpoints = append(cl.Endpoints, ep)
	}
	return nil
}

// block reads the optional { ... } after the URLs. It peeks on a copy of
// the dispenser, as caddy's NextBlock on a line without a brace would
// swallow the next line of the enclosing block.
func (cl *Cluster) block(c *caddy.Controller, root string) error {
	peek := c.Dispenser
	if !peek.NextArg() || peek.Val() != "{" {
		return nil
	}
	seen := map[string]int{}
	for c.NextBlock() {
		prop := c.Val()
		if prop == "{" {
			return c.Err("cluster: a block inside the cluster block is not allowed")
		}
		if prev, ok := seen[prop]; ok {
			return c.Errf("cluster: %s is already set on line %d; it may appear once", prop, prev)
		}
		seen[prop] = c.Line()
		args := c.RemainingArgs()
		if peek = c.Dispenser; peek.NextArg() {
			return c.Errf("cluster: %s does not open a block", prop)
		}
		if err := cl.property(c, root, prop, args); err != nil {
			return err
		}
	}
	if c.Val() != "}" {
		// NextBlock stopped before a brace that opens a line.
		peek = c.Dispenser
		peek.Next()
		return peek.Err("cluster: a block inside the cluster block is not allowed")
	}
	if q, qLine := cl.Quorum, seen["quorum"]; q > 0 && cl.Probers > 0 && q > cl.Probers {
		return Errorf(cl.File, qLine, "cluster: quorum %d is more than probers %d: an endpoint probed by %d replicas could never be seen down by %d",
			q, cl.Probers, cl.Probers, q)
	}
	if cl.TLS != nil && strings.HasPrefix(cl.Endpoints[0], "http:") {
		return Errorf(cl.File, seen["tls"], "cluster: tls is for https endpoints; write the URLs as https://HOST:PORT")
	}
	return nil
}

func (cl *Cluster) property(c *caddy.Controller, root, prop string, args []string) error {
	one := func(usage string) (string, error) {
		if len(args) != 1 {
			return "", c.Errf("cluster: %s takes %s", prop, usage)
		}
		return args[0], nil
	}
	switch prop {
	case "prefix":
		p, err := one("one PATH, as in: prefix /failover")
		if err != nil {
			return err
		}
		if !strings.HasPrefix(p, "/") || strings.HasSuffix(p, "/") || strings.Contains(p, "//") || strings.ContainsAny(p, " \t") {
			return c.Errf("cluster: prefix %q must start with / and not end with one, as in: prefix /failover", p)
		}
		cl.Prefix = p
	case "node":
		n, err := one("one NAME, as in: node dns-1")
		if err != nil {
			return err
		}
		if !validNode(n) {
			return c.Errf("cluster: node %q: a node name has letters, digits, '-', '_' and '.' only, at most 253 of them", n)
		}
		cl.Node = n
	case "quorum":
		q, err := one("majority or a NUMBER of replicas, as in: quorum 2")
		if err != nil {
			return err
		}
		if q == "majority" {
			cl.Quorum = 0
			break
		}
		if cl.Quorum, err = strconv.Atoi(q); err != nil || cl.Quorum < 1 {
			return c.Errf("cluster: quorum %q is neither majority nor a number of replicas, at least 1", q)
		}
	case "probers":
		n, err := one("a NUMBER of replicas, as in: probers 2")
		if err != nil {
			return err
		}
		if cl.Probers, err = strconv.Atoi(n); err != nil || cl.Probers < 1 {
			return c.Errf("cluster: probers %q is not a number of replicas, at least 1", n)
		}
	case "lease":
		d, err := one("one DURATION, as in: lease 10s")
		if err != nil {
			return err
		}
		if cl.Lease, err = time.ParseDuration(d); err != nil {
			return c.Errf("cluster: lease %q is not a duration, as in: lease 10s", d)
		}
		if cl.Lease < minLease {
			return c.Errf("cluster: lease %s is below %s: etcd would drop replicas between two keepalives", d, minLease)
		}
		if cl.Lease%time.Second != 0 {
			return c.Errf("cluster: lease %s: etcd counts leases in whole seconds", d)
		}
	case "tls":
		return cl.tls(c, root, args)
	default:
		return c.Errf("cluster: unknown property %q; allowed are %s", prop, strings.Join(clusterProperties, ", "))
	}
	return nil
}

// tls reads "tls [CERT KEY] [CA]" as CoreDNS's etcd plugin does.
func (cl *Cluster) tls(c *caddy.Controller, root string, args []string) error {
	if len(args) == 0 || len(args) > 3 {
		return c.Err("cluster: tls takes CERT KEY CA, CERT KEY, or CA")
	}
	paths := make([]string, len(args))
	for i, a := range args {
		paths[i] = resolve(root, a)
		if fi, err := os.Stat(paths[i]); err != nil || fi.IsDir() {
			return c.Errf("cluster: tls: %s is not a readable file", paths[i])
		}
	}
	switch len(paths) {
	case 1:
		cl.CAFile = paths[0]
	case 2:
		cl.CertFile, cl.KeyFile = paths[0], paths[1]
	case 3:
		cl.CertFile, cl.KeyFile, cl.CAFile = paths[0], paths[1], paths[2]
	}
	cfg, err := mwtls.NewTLSConfigFromArgs(paths...)
	if err != nil {
		return c.Errf("cluster: tls: %v", err)
	}
	cl.TLS = cfg
	return nil
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
