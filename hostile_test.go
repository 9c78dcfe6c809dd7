package failover

import (
	"testing"

	"github.com/miekg/dns"
)

// TestHostileQueries sends a real server queries a client should not send,
// for a managed name, and checks each gets the rcode the RFCs prescribe and
// never an address.
func TestHostileQueries(t *testing.T) {
	s := startServer(t, `example.org:0 {
    bind 127.0.0.1
    failover www.example.org {
        endpoint 192.0.2.10
    }
}`)
	query := func() *dns.Msg {
		m := new(dns.Msg)
		m.SetQuestion("www.example.org.", dns.TypeA)
		return m
	}
	pack := func(m *dns.Msg) []byte {
		b, err := m.Pack()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}

	badVersion := query()
	badVersion.SetEdns0(1232, false)
	badVersion.IsEdns0().SetVersion(1)

	twoQuestions := query()
	twoQuestions.Question = append(twoQuestions.Question, dns.Question{Name: "www.example.org.", Qtype: dns.TypeAAAA, Qclass: dns.ClassINET})

	noQuestion := query()
	noQuestion.Question = nil

	chaos := query()
	chaos.Question[0].Qclass = dns.ClassCHAOS

	update := query()
	update.Opcode = dns.OpcodeUpdate

	truncated := pack(query())
	truncated = truncated[:len(truncated)-3] // cut inside the question

	tests := []struct {
		name   string
		packet []byte
		rcodes []int // any of these
	}{
		{"EDNS version 1", pack(badVersion), []int{dns.RcodeBadVers}},
		{"two questions", pack(twoQuestions), []int{dns.RcodeFormatError}},
		{"no question", pack(noQuestion), []int{dns.RcodeFormatError}},
		{"class CHAOS", pack(chaos), []int{dns.RcodeRefused}},
		{"opcode UPDATE", pack(update), []int{dns.RcodeNotImplemented, dns.RcodeRefused}},
		{"truncated question", truncated, []int{dns.RcodeFormatError}},
	}
	for _, tc := range tests {
		r := exchangeRaw(t, s.udp, tc.packet)
		ok := false
		for _, rc := range tc.rcodes {
			ok = ok || r.Rcode == rc
		}
		if !ok {
			t.Errorf("%s: expected rcode %v, got %s", tc.name, tc.rcodes, dns.RcodeToString[r.Rcode])
		}
		if len(r.Answer) != 0 {
			t.Errorf("%s: expected no answer, got %v", tc.name, r.Answer)
		}
	}
	// The server still answers properly afterwards.
	if got := addresses(s.mustAsk(t, "udp", "www.example.org.", dns.TypeA)); len(got) != 1 || got[0] != "192.0.2.10" {
		t.Errorf("Expected the server to keep answering, got %v", got)
	}
}
