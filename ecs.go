package failover

import (
	"net"
	"net/netip"

	"github.com/miekg/dns"
)

// client is where a query comes from, as far as routing is concerned.
type client struct {
	addr netip.Addr
	ecs  *dns.EDNS0_SUBNET // the query's ECS option when it is believed; echoed in the reply
}

// asker is how a stanza whose answers depend on the client reads who
// asks: whether it believes ECS, and from which sources.
type asker struct {
	ecs     bool
	ecsFrom []netip.Prefix
}

// locate finds the client of r: the ECS address when the query carries one
// and its source is believed, else the source address. bad is true for an
// ECS option that RFC 7871 says to answer with FORMERR.
func (rt *asker) locate(w dns.ResponseWriter, r *dns.Msg) (c client, bad bool) {
	c.addr = remoteAddr(w)
	if !rt.ecs {
		return c, false
	}
	opt := r.IsEdns0()
	if opt == nil {
		return c, false
	}
	for _, o := range opt.Option {
		e, ok := o.(*dns.EDNS0_SUBNET)
		if !ok {
			continue
		}
		if !rt.believes(c.addr) {
			return c, false
		}
		addr, ok := ecsAddr(e)
		if !ok {
			return c, true
		}
		c.ecs = e
		if e.SourceNetmask > 0 { // 0 is the client opting out: route by the source address
			c.addr = addr
		}
		return c, false
	}
	return c, false
}

func (rt *asker) believes(src netip.Addr) bool {
	if len(rt.ecsFrom) == 0 {
		return true
	}
	for _, p := range rt.ecsFrom {
		if p.Contains(src) {
			return true
		}
	}
	return false
}

// malformedECS reports whether r carries an ECS option that RFC 7871 section
// 6 makes a FORMERR. Answers that do not depend on the client ignore a
// well-formed one.
func malformedECS(r *dns.Msg) bool {
	if len(r.Extra) == 0 {
		return false
	}
	opt := r.IsEdns0()
	if opt == nil {
		return false
	}
	for _, o := range opt.Option {
		if e, ok := o.(*dns.EDNS0_SUBNET); ok {
			if _, ok := ecsAddr(e); !ok {
				return true
			}
		}
	}
	return false
}

// ecsAddr checks an ECS option against RFC 7871 section 6 and returns its
// address. The family must be known, the source prefix no longer than the
// address, and the address bits past the prefix zero.
func ecsAddr(e *dns.EDNS0_SUBNET) (netip.Addr, bool) {
	var bits int
	switch e.Family {
	case 1:
		bits = 32
	case 2:
		bits = 128
	default:
		return netip.Addr{}, false
	}
	if int(e.SourceNetmask) > bits || int(e.SourceScope) != 0 && int(e.SourceScope) > bits {
		return netip.Addr{}, false
	}
	addr, ok := netip.AddrFromSlice(e.Address)
	if !ok {
		return netip.Addr{}, false
	}
	if bits == 32 {
		if !addr.Unmap().Is4() {
			return netip.Addr{}, false
		}
		addr = addr.Unmap()
	} else if addr.Is4() {
		return netip.Addr{}, false
	}
	p, err := addr.Prefix(int(e.SourceNetmask))
	if err != nil || p.Addr() != addr {
		return netip.Addr{}, false // bits set past the source prefix
	}
	return addr, true
}

// remoteAddr reads the source address without the allocations of
// request.Request.IP.
func remoteAddr(w dns.ResponseWriter) netip.Addr {
	var ip net.IP
	switch a := w.RemoteAddr().(type) {
	case *net.UDPAddr:
		ip = a.IP
	case *net.TCPAddr:
		ip = a.IP
	default:
		return netip.Addr{}
	}
	addr, _ := netip.AddrFromSlice(ip)
	return addr.Unmap()
}

// echoECS adds the query's ECS option to the reply with the scope the answer
// depends on (RFC 7871 section 7.2.1), so that caching resolvers cache it per
// subnet of that size and no finer.
func echoECS(m *dns.Msg, r *dns.Msg, e *dns.EDNS0_SUBNET, scope uint8) {
	// One allocation for the OPT record, its option and the Extra section.
	x := new(ecsExtra)
	x.subnet = dns.EDNS0_SUBNET{
		Code: dns.EDNS0SUBNET, Family: e.Family, SourceNetmask: e.SourceNetmask, SourceScope: scope, Address: e.Address,
	}
	x.options[0] = &x.subnet
	x.opt.Hdr = dns.RR_Header{Name: ".", Rrtype: dns.TypeOPT}
	x.opt.Option = x.options[:]
	if ro := r.IsEdns0(); ro != nil {
		x.opt.SetUDPSize(ro.UDPSize())
		if ro.Do() { // a reply with its own OPT keeps it as it is: DO must be echoed here
			x.opt.SetDo()
		}
	}
	if len(m.Extra) == 0 {
		x.extra[0] = &x.opt
		m.Extra = x.extra[:]
		return
	}
	m.Extra = append(m.Extra, &x.opt)
}

type ecsExtra struct {
	opt     dns.OPT
	subnet  dns.EDNS0_SUBNET
	options [1]dns.EDNS0
	extra   [1]dns.RR
}
