package bind

import (
	"errors"
	"net"
	"net/netip"
	"testing"

	"golang.org/x/net/dns/dnsmessage"
)

func fuzzSeed(id uint16, rcode dnsmessage.RCode, trunc bool, answers ...dnsmessage.Resource) []byte {
	q := dnsmessage.Question{Name: dnsmessage.MustNewName("peer.test."), Type: dnsmessage.TypeA, Class: dnsmessage.ClassINET}
	m := dnsmessage.Message{
		Header:    dnsmessage.Header{ID: id, Response: true, RCode: rcode, Truncated: trunc},
		Questions: []dnsmessage.Question{q},
		Answers:   answers,
	}
	b, err := m.Pack()
	if err != nil {
		panic(err)
	}
	return b
}

func aRecord(name string, a netip.Addr) dnsmessage.Resource {
	return dnsmessage.Resource{
		Header: dnsmessage.ResourceHeader{Name: dnsmessage.MustNewName(name), Type: dnsmessage.TypeA, Class: dnsmessage.ClassINET},
		Body:   &dnsmessage.AResource{A: a.As4()},
	}
}

func cname(name, target string) dnsmessage.Resource {
	return dnsmessage.Resource{
		Header: dnsmessage.ResourceHeader{Name: dnsmessage.MustNewName(name), Type: dnsmessage.TypeCNAME, Class: dnsmessage.ClassINET},
		Body:   &dnsmessage.CNAMEResource{CNAME: dnsmessage.MustNewName(target)},
	}
}

func TestParseResponse(t *testing.T) {
	t.Parallel()
	q := dnsmessage.Question{Name: dnsmessage.MustNewName("peer.test."), Type: dnsmessage.TypeA, Class: dnsmessage.ClassINET}
	ip := netip.MustParseAddr("10.0.0.5")
	for _, tc := range []struct {
		name     string
		msg      []byte
		want     []netip.Addr
		trunc    bool
		notFound bool
		fails    bool
	}{
		{name: "A", msg: fuzzSeed(7, dnsmessage.RCodeSuccess, false, aRecord("peer.test.", ip)), want: []netip.Addr{ip}},
		{name: "case-insensitive", msg: fuzzSeed(7, dnsmessage.RCodeSuccess, false, aRecord("PEER.Test.", ip)), want: []netip.Addr{ip}},
		{name: "cname chain, out of order", msg: fuzzSeed(7, dnsmessage.RCodeSuccess, false,
			aRecord("b.test.", ip), cname("a.test.", "b.test."), cname("peer.test.", "a.test.")), want: []netip.Addr{ip}},
		{name: "unrelated record ignored", msg: fuzzSeed(7, dnsmessage.RCodeSuccess, false, aRecord("evil.test.", ip)), notFound: true},
		{name: "nxdomain", msg: fuzzSeed(7, dnsmessage.RCodeNameError, false), notFound: true},
		{name: "servfail", msg: fuzzSeed(7, dnsmessage.RCodeServerFailure, false), fails: true},
		{name: "truncated", msg: fuzzSeed(7, dnsmessage.RCodeSuccess, true), trunc: true},
		{name: "wrong id", msg: fuzzSeed(8, dnsmessage.RCodeSuccess, false, aRecord("peer.test.", ip)), fails: true},
		{name: "garbage", msg: []byte{1, 2, 3}, fails: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addrs, trunc, err := parseResponse(tc.msg, 7, q)
			if trunc != tc.trunc {
				t.Fatalf("truncated = %v", trunc)
			}
			switch {
			case tc.notFound:
				var de *net.DNSError
				if !errors.As(err, &de) || !de.IsNotFound {
					t.Fatalf("want not found, got %v", err)
				}
			case tc.fails:
				if err == nil {
					t.Fatal("want error")
				}
			case tc.trunc:
			default:
				if err != nil || len(addrs) != len(tc.want) || addrs[0] != tc.want[0] {
					t.Fatalf("got %v, %v", addrs, err)
				}
			}
		})
	}
}

// FuzzParseResponse feeds arbitrary bytes to the DNS answer parser: it
// must never panic, and whatever it accepts must be addresses of the
// asked type.
func FuzzParseResponse(f *testing.F) {
	ip := netip.MustParseAddr("10.0.0.5")
	f.Add(fuzzSeed(7, dnsmessage.RCodeSuccess, false, aRecord("peer.test.", ip)))
	f.Add(fuzzSeed(7, dnsmessage.RCodeSuccess, false, cname("peer.test.", "a.test."), aRecord("a.test.", ip)))
	f.Add(fuzzSeed(7, dnsmessage.RCodeNameError, false))
	f.Add(fuzzSeed(7, dnsmessage.RCodeSuccess, true))
	f.Add([]byte{})
	q := dnsmessage.Question{Name: dnsmessage.MustNewName("peer.test."), Type: dnsmessage.TypeA, Class: dnsmessage.ClassINET}
	f.Fuzz(func(t *testing.T, msg []byte) {
		addrs, trunc, err := parseResponse(msg, 7, q)
		if err == nil && !trunc && len(addrs) == 0 {
			t.Fatal("success without addresses")
		}
		for _, a := range addrs {
			if !a.Is4() {
				t.Fatalf("A query returned %v", a)
			}
		}
	})
}
