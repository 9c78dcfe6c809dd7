package failover

import (
	"net"
	"slices"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// askECS queries a real server with an ECS option for prefix, over network.
func (s server) askECS(t *testing.T, network, name, prefix string) *dns.Msg {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(name, dns.TypeA)
	m.SetEdns0(1232, false)
	m.IsEdns0().Option = append(m.IsEdns0().Option, ecsOption(t, prefix))
	return s.exchange(t, network, m)
}

func TestGeoIntegrationWithECS(t *testing.T) {
	eu := newHealthBackend(t, nil)
	s := startServer(t, `example.org:0 {
    bind 127.0.0.1
    failover app.example.org {
        policy geo
        geoip `+writeGeoDB(t, geoPlaces)+`
        endpoint 192.0.2.1 geo country:US
        endpoint 192.0.2.3 geo continent:EU check `+eu.url()+`
        endpoint 192.0.2.9 default
        interval 200ms
        fast_interval 50ms
        timeout 100ms
        fall 2
        ecs_from 127.0.0.0/8
    }
}`)
	for _, network := range []string{"udp", "tcp"} {
		r := s.askECS(t, network, "app.example.org.", "10.3.7.0/24")
		if got := addresses(r); !slices.Equal(got, []string{"192.0.2.3"}) {
			t.Errorf("Over %s: expected Europe's endpoint for an EU subnet, got %v", network, got)
		}
		if scope, ok := replyScope(r); !ok || scope != 16 {
			t.Errorf("Over %s: expected ECS echoed with scope 16, got %d (echoed %v)", network, scope, ok)
		}
		if !r.Authoritative {
			t.Errorf("Over %s: expected an authoritative answer", network)
		}
	}
	if got := addresses(s.askECS(t, "udp", "app.example.org.", "10.2.0.0/24")); !slices.Equal(got, []string{"192.0.2.1"}) {
		t.Errorf("Expected the US endpoint for a US subnet, got %v", got)
	}
	if got := addresses(s.askECS(t, "udp", "app.example.org.", "2001:db8:1::/56")); !slices.Equal(got, []string{"192.0.2.3"}) {
		t.Errorf("Expected Europe's endpoint for an IPv6 EU subnet, got %v", got)
	}
	// Without ECS the source, 127.0.0.1, is not in the database: default.
	if got := addresses(s.mustAsk(t, "udp", "app.example.org.", dns.TypeA)); !slices.Equal(got, []string{"192.0.2.9"}) {
		t.Errorf("Expected the default for a client the database does not know, got %v", got)
	}

	// Europe's endpoint fails: its users get the default.
	eu.failed.Store(true)
	deadline := time.Now().Add(5 * time.Second)
	for {
		r := s.askECS(t, "udp", "app.example.org.", "10.3.7.0/24")
		if slices.Equal(addresses(r), []string{"192.0.2.9"}) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Expected EU users to fail over to the default, still %v", addresses(r))
		}
		time.Sleep(50 * time.Millisecond) // the poll's pace, not a wait for an event
	}

	for what, packet := range malformedECSQueries(t, "app.example.org.") {
		r := exchangeRaw(t, s.udp, packet)
		if r.Rcode != dns.RcodeFormatError || len(r.Answer) != 0 {
			t.Errorf("Expected FORMERR without an answer for an ECS option with %s, got %s with %d answers", what, dns.RcodeToString[r.Rcode], len(r.Answer))
		}
	}
}

// malformedECSQueries are A queries for name whose ECS option RFC 7871 makes
// a FORMERR, as wire bytes: miekg/dns masks the address when it packs, so
// the faults are set in the packet.
func malformedECSQueries(t *testing.T, name string) map[string][]byte {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(name, dns.TypeA)
	m.SetEdns0(1232, false)
	m.IsEdns0().Option = append(m.IsEdns0().Option, &dns.EDNS0_SUBNET{Code: dns.EDNS0SUBNET, Family: 1, SourceNetmask: 12, Address: net.ParseIP("10.0.0.0").To4()})
	wire, err := m.Pack()
	if err != nil {
		t.Fatal(err)
	}
	// The packet ends with the option: family(2) source(1) scope(1) address(2).
	if wire[len(wire)-2] != 10 || wire[len(wire)-1] != 0 {
		t.Fatalf("Expected the ECS address at the end of the packet, got % x", wire[len(wire)-8:])
	}
	bitPastPrefix := slices.Clone(wire)
	bitPastPrefix[len(wire)-1] = 0x01
	unknownFamily := slices.Clone(wire)
	unknownFamily[len(wire)-5] = 3 // family 1 -> 3
	tooLong := slices.Clone(wire)
	tooLong[len(wire)-4] = 33 // source prefix /33 of an IPv4 address
	return map[string][]byte{"a bit past the prefix": bitPastPrefix, "an unknown family": unknownFamily, "a prefix longer than the address": tooLong}
}

// exchangeRaw sends packet over UDP and unpacks the reply.
func exchangeRaw(t *testing.T, addr string, packet []byte) *dns.Msg {
	t.Helper()
	return exchangeRawOver(t, "udp", addr, packet)
}

// exchangeRawOver sends packet over UDP or TCP (with its length before it)
// and unpacks the reply.
func exchangeRawOver(t *testing.T, network, addr string, packet []byte) *dns.Msg {
	t.Helper()
	conn, err := net.Dial(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(2 * time.Second))
	if network == "tcp" {
		packet = append([]byte{byte(len(packet) >> 8), byte(len(packet))}, packet...)
	}
	if _, err := conn.Write(packet); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 65535)
	n, err := conn.Read(buf)
	if err != nil {
		t.Fatalf("Expected a reply, got %v", err)
	}
	if network == "tcp" {
		if n < 2 {
			t.Fatalf("Expected a reply with its length, got %d bytes", n)
		}
		for want := int(buf[0])<<8 | int(buf[1]); n-2 < want; {
			k, err := conn.Read(buf[n:])
			if err != nil {
				t.Fatalf("Expected the whole reply, got %v", err)
			}
			n += k
		}
		buf = buf[2:]
		n -= 2
	}
	r := new(dns.Msg)
	if err := r.Unpack(buf[:n]); err != nil {
		t.Fatal(err)
	}
	return r
}
