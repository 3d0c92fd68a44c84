package netiftest

import (
	"encoding/binary"
	"math"
	"net/netip"
	"time"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/header"
)

// RA is a Router Advertisement as a cellular network's gateway sends it over PPP, for tests
// that play the network's side of IPv6 autoconfiguration.
type RA struct {
	// Src is the router's link-local address; Dst defaults to ff02::1 (all nodes).
	Src, Dst netip.Addr
	// RouterLifetime is advertised as is (0 on the wire when zero).
	RouterLifetime time.Duration
	Prefixes       []RAPrefix
	// DNS, if any, go in one Recursive DNS Server option (RFC 8106) with DNSLifetime.
	DNS         []netip.Addr
	DNSLifetime time.Duration
	// HopLimit defaults to 255, the only value a host accepts.
	HopLimit uint8
}

// RAPrefix is one Prefix Information option; it has the on-link and autonomous flags set
// unless NotAutonomous. Lifetimes of Infinite or more are sent as infinite.
type RAPrefix struct {
	Prefix           netip.Prefix
	Valid, Preferred time.Duration
	NotAutonomous    bool
}

// Infinite is the infinite lifetime of NDP options.
const Infinite = header.NDPInfiniteLifetime

func seconds(d time.Duration) uint32 {
	if d >= Infinite {
		return math.MaxUint32
	}
	return uint32(d / time.Second)
}

// Marshal returns the IPv6 packet, checksum included.
func (ra RA) Marshal() []byte {
	var body []byte
	body = append(body, 0, 0) // current hop limit (unspecified), flags
	body = binary.BigEndian.AppendUint16(body, uint16(min(seconds(ra.RouterLifetime), math.MaxUint16)))
	body = append(body, make([]byte, 8)...) // reachable time, retrans timer
	for _, p := range ra.Prefixes {
		flags := byte(0x80) // on-link
		if !p.NotAutonomous {
			flags |= 0x40
		}
		body = append(body, 3, 4, byte(p.Prefix.Bits()), flags)
		body = binary.BigEndian.AppendUint32(body, seconds(p.Valid))
		body = binary.BigEndian.AppendUint32(body, seconds(p.Preferred))
		body = append(body, 0, 0, 0, 0)
		a := p.Prefix.Masked().Addr().As16()
		body = append(body, a[:]...)
	}
	if len(ra.DNS) > 0 {
		body = append(body, 25, byte(1+2*len(ra.DNS)), 0, 0)
		body = binary.BigEndian.AppendUint32(body, seconds(ra.DNSLifetime))
		for _, d := range ra.DNS {
			a := d.As16()
			body = append(body, a[:]...)
		}
	}
	dst := ra.Dst
	if !dst.IsValid() {
		dst = netip.IPv6LinkLocalAllNodes()
	}
	hop := ra.HopLimit
	if hop == 0 {
		hop = header.NDPHopLimit
	}
	return icmp6Packet(ra.Src, dst, hop, header.ICMPv6RouterAdvert, body)
}

// icmp6Packet builds an IPv6 packet holding one ICMPv6 message of type typ (code 0).
func icmp6Packet(src, dst netip.Addr, hop uint8, typ header.ICMPv6Type, body []byte) []byte {
	pkt := make([]byte, header.IPv6MinimumSize+header.ICMPv6HeaderSize+len(body))
	s, d := tcpip.AddrFrom16(src.As16()), tcpip.AddrFrom16(dst.As16())
	header.IPv6(pkt).Encode(&header.IPv6Fields{
		PayloadLength:     uint16(header.ICMPv6HeaderSize + len(body)),
		TransportProtocol: header.ICMPv6ProtocolNumber,
		HopLimit:          hop,
		SrcAddr:           s,
		DstAddr:           d,
	})
	icmp := header.ICMPv6(pkt[header.IPv6MinimumSize:])
	icmp.SetType(typ)
	copy(icmp.MessageBody(), body)
	icmp.SetChecksum(header.ICMPv6Checksum(header.ICMPv6ChecksumParams{Header: icmp, Src: s, Dst: d}))
	return pkt
}

// RouterSolicit reports whether pkt is a Router Solicitation, and its source address.
func RouterSolicit(pkt []byte) (src netip.Addr, ok bool) {
	if len(pkt) < header.IPv6MinimumSize+header.ICMPv6HeaderSize || header.IPVersion(pkt) != header.IPv6Version {
		return netip.Addr{}, false
	}
	ip := header.IPv6(pkt)
	if ip.NextHeader() != uint8(header.ICMPv6ProtocolNumber) ||
		header.ICMPv6(pkt[header.IPv6MinimumSize:]).Type() != header.ICMPv6RouterSolicit {
		return netip.Addr{}, false
	}
	return netip.AddrFrom16(ip.SourceAddress().As16()), true
}
