// Package etcdtest runs a real etcd cluster inside a test process, on
// loopback, with a TCP proxy per replica and member so that a test can cut
// one replica off, as a network partition would.
package etcdtest

import (
	"fmt"
	"io"
	"net"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"
)

// Cluster is a real etcd cluster inside the test process, on loopback.
// Replicas reach it through proxies of their own, so that a test can cut
// one replica off, and stopping a member drops its connections at once
// rather than after etcd's graceful shutdown of open watches.
type Cluster struct {
	Members []*Member
}

type Member struct {
	cfg *embed.Config
	mu  sync.Mutex
	e   *embed.Etcd // nil while stopped
	ps  []*proxy
}

// freePort is a loopback port nobody listens on now.
func freePort(t testing.TB) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// New starts n members with data under dir.
// The caller stops it (Close) before dir is removed: a member that loses its
// data directory ends the whole process.
func New(t testing.TB, n int, dir string) *Cluster {
	c := &Cluster{}
	var initial []string
	for i := range n {
		peer, _ := url.Parse(fmt.Sprintf("http://127.0.0.1:%d", freePort(t)))
		client, _ := url.Parse(fmt.Sprintf("http://127.0.0.1:%d", freePort(t)))
		cfg := embed.NewConfig()
		cfg.Name = fmt.Sprintf("m%d", i)
		cfg.Dir = filepath.Join(dir, cfg.Name)
		cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{*peer}, []url.URL{*peer}
		cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{*client}, []url.URL{*client}
		cfg.InitialClusterToken = "failover-test"
		cfg.TickMs, cfg.ElectionMs = 50, 500
		cfg.UnsafeNoFsync = true
		cfg.Logger, cfg.LogLevel = "zap", "error"
		cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zap.NewNop())
		initial = append(initial, cfg.Name+"="+peer.String())
		c.Members = append(c.Members, &Member{cfg: cfg})
	}
	for _, m := range c.Members {
		m.cfg.InitialCluster = strings.Join(initial, ",")
	}
	c.Start(t, c.Members...)
	return c
}

// Start runs the members, stopped or new, and waits until they serve.
func (c *Cluster) Start(t testing.TB, ms ...*Member) {
	var wg sync.WaitGroup
	errs := make(chan error, len(ms))
	for _, m := range ms {
		wg.Go(func() {
			e, err := embed.StartEtcd(m.cfg)
			if err != nil {
				errs <- fmt.Errorf("%s: %v", m.cfg.Name, err)
				return
			}
			select {
			case <-e.Server.ReadyNotify():
			case <-time.After(20 * time.Second):
				e.Close()
				errs <- fmt.Errorf("%s: not ready after 20s", m.cfg.Name)
				return
			}
			m.mu.Lock()
			m.e = e
			m.mu.Unlock()
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// Stop ends members the way a crash or a shutdown does for their clients:
// connections drop, then the member is gone.
func (c *Cluster) Stop(ms ...*Member) {
	var wg sync.WaitGroup
	for _, m := range ms {
		wg.Go(func() {
			m.mu.Lock()
			e, ps := m.e, m.ps
			m.e = nil
			m.mu.Unlock()
			for _, p := range ps {
				p.drop()
			}
			if e != nil {
				// As a kill would: no handing over of leadership first.
				e.Server.HardStop()
				e.Close()
			}
		})
	}
	wg.Wait()
}

// Close stops every member.
func (c *Cluster) Close() { c.Stop(c.Members...) }

// Leader is the member that leads now.
func (c *Cluster) Leader() *Member {
	for _, m := range c.Members {
		m.mu.Lock()
		e := m.e
		m.mu.Unlock()
		if e != nil && e.Server.Leader() == e.Server.MemberID() {
			return m
		}
	}
	return nil
}

// Client is the real client URL of the first running member.
func (c *Cluster) Client() string {
	for _, m := range c.Members {
		m.mu.Lock()
		e := m.e
		m.mu.Unlock()
		if e != nil {
			return m.cfg.AdvertiseClientUrls[0].String()
		}
	}
	return ""
}

// Path is one replica's way to etcd: a proxy per member.
type Path struct{ ps []*proxy }

func (c *Cluster) Path(t testing.TB) *Path {
	p := &Path{}
	for _, m := range c.Members {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		px := &proxy{ln: ln, m: m, conns: map[net.Conn]bool{}}
		m.mu.Lock()
		m.ps = append(m.ps, px)
		m.mu.Unlock()
		go px.serve()
		t.Cleanup(px.close)
		p.ps = append(p.ps, px)
	}
	return p
}

func (p *Path) Endpoints() []string {
	var eps []string
	for _, px := range p.ps {
		eps = append(eps, "http://"+px.ln.Addr().String())
	}
	return eps
}

// Cut makes etcd unreachable for this replica alone, or reachable again.
func (p *Path) Cut(off bool) {
	for _, px := range p.ps {
		px.mu.Lock()
		px.off = off
		px.mu.Unlock()
		if off {
			px.drop()
		}
	}
}

type proxy struct {
	ln    net.Listener
	m     *Member
	mu    sync.Mutex
	off   bool
	conns map[net.Conn]bool
}

func (px *proxy) serve() {
	for {
		in, err := px.ln.Accept()
		if err != nil {
			return
		}
		go px.relay(in)
	}
}

func (px *proxy) relay(in net.Conn) {
	px.m.mu.Lock()
	up := px.m.e != nil
	px.m.mu.Unlock()
	px.mu.Lock()
	off := px.off
	px.mu.Unlock()
	if !up || off {
		in.Close()
		return
	}
	out, err := net.DialTimeout("tcp", px.m.cfg.ListenClientUrls[0].Host, time.Second)
	if err != nil {
		in.Close()
		return
	}
	px.mu.Lock()
	px.conns[in], px.conns[out] = true, true
	px.mu.Unlock()
	done := make(chan struct{}, 2)
	go func() { io.Copy(out, in); done <- struct{}{} }()
	go func() { io.Copy(in, out); done <- struct{}{} }()
	<-done
	in.Close()
	out.Close()
	px.mu.Lock()
	delete(px.conns, in)
	delete(px.conns, out)
	px.mu.Unlock()
}

// drop closes every connection through the proxy.
func (px *proxy) drop() {
	px.mu.Lock()
	defer px.mu.Unlock()
	for c := range px.conns {
		c.Close()
	}
}

func (px *proxy) close() {
	px.ln.Close()
	px.drop()
}

// Name is the member's name in the cluster.
func (m *Member) Name() string { return m.cfg.Name }
