package stanza

import (
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/coredns/caddy"
)

// Settings is the nameless failover block: what holds for the whole server block.
type Settings struct {
	File string
	Line int

	API       string // listen address of the operator API; "" for none
	Token     string // what api_token's file holds
	TokenFile string
	State     string // absolute path of the state file; "" for none

	Cluster *Cluster // nil when this replica keeps its health view to itself
}

var settingsProperties = []string{"api", "api_token", "state", "cluster"}

// parseSettings reads a failover block without names. root resolves
// relative paths, as CoreDNS does for the files of other plugins.
func parseSettings(c *caddy.Controller, root string, loopback func(string) bool) (*Settings, error) {
	s := &Settings{File: c.File(), Line: c.Line()}
	seen := map[string]int{}
	var apiLine int
	for c.NextBlock() {
		prop := c.Val()
		if prev, ok := seen[prop]; ok {
			return nil, c.Errf("%s is already set on line %d; it may appear once", prop, prev)
		}
		seen[prop] = c.Line()
		args := c.RemainingArgs()
		switch prop {
		case "api":
			if len(args) != 1 {
				return nil, c.Err("api takes one ADDRESS, as in: api 127.0.0.1:8054")
			}
			host, port, err := net.SplitHostPort(args[0])
			if n, perr := strconv.Atoi(port); err != nil || perr != nil || n < 1 || n > 65535 {
				return nil, c.Errf("api %q is not HOST:PORT, as in: api 127.0.0.1:8054", args[0])
			}
			if host != "" && !strings.EqualFold(host, "localhost") && net.ParseIP(host) == nil {
				return nil, c.Errf("api %q: the host must be an IP address or localhost", args[0])
			}
			s.API, apiLine = args[0], c.Line()
		case "api_token":
			if len(args) != 1 {
				return nil, c.Err("api_token takes one FILE that holds the token")
			}
			s.TokenFile = resolve(root, args[0])
			data, err := os.ReadFile(s.TokenFile)
			if err != nil {
				return nil, c.Errf("api_token: %v", err)
			}
			if s.Token = strings.TrimSpace(string(data)); s.Token == "" || strings.ContainsAny(s.Token, " \t\r\n") {
				return nil, c.Errf("api_token: %s must hold one token, a word without spaces", s.TokenFile)
			}
		case "state":
			if len(args) != 1 {
				return nil, c.Err("state takes one FILE, where overrides are kept")
			}
			s.State = resolve(root, args[0])
			if fi, err := os.Stat(filepath.Dir(s.State)); err != nil || !fi.IsDir() {
				return nil, c.Errf("state: the directory of %s does not exist", s.State)
			}
			if fi, err := os.Stat(s.State); err == nil && fi.IsDir() {
				return nil, c.Errf("state: %s is a directory; name a file in it", s.State)
			}
		case "cluster":
			cl, err := parseCluster(c, root, args)
			if err != nil {
				return nil, err
			}
			s.Cluster = cl
		default:
			if slices.Contains(properties, prop) {
				return nil, Errorf(s.File, s.Line, "failover needs at least one NAME to manage, as in: failover www.example.org { ... }; "+
					"a block without names holds server-wide settings (%s)", strings.Join(settingsProperties, ", "))
			}
			return nil, c.Errf("unknown property %q in a failover block without names; allowed are %s",
				prop, strings.Join(settingsProperties, ", "))
		}
	}
	switch {
	case s.Token != "" && s.API == "":
		return nil, Errorf(s.File, s.Line, "api_token needs api ADDRESS: the token guards the API")
	case s.API != "" && s.Token == "" && !loopback(s.API):
		return nil, Errorf(s.File, apiLine, "api %s takes clients beyond loopback; add api_token FILE, or listen on 127.0.0.1", s.API)
	case s.API == "" && s.State == "" && s.Cluster == nil:
		return nil, Errorf(s.File, s.Line, "a failover block without names holds server-wide settings (%s); it has none",
			strings.Join(settingsProperties, ", "))
	}
	return s, nil
}

func resolve(root, path string) string {
	if !filepath.IsAbs(path) && root != "" {
		path = filepath.Join(root, path)
	}
	if abs, err := filepath.Abs(path); err == nil {
		return abs
	}
	return path
}
