package netif

import (
	"errors"
	"net/netip"
	"time"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/header"
)

// routerAdvert is what a Router Advertisement tells a host on a point-to-point link: the
// prefixes to form addresses in (SLAAC, RFC 4862) and the DNS servers (RDNSS, RFC 8106).
// Its router lifetime and on-link prefixes do not matter here: the peer is the only
// router there is, and every destination is reached through it.
type routerAdvert struct {
	Router   netip.Addr
	Prefixes []raPrefix
	DNS      []raDNS
}

// raPrefix is a Prefix Information option with the autonomous flag set.
type raPrefix struct {
	Prefix           netip.Prefix
	Valid, Preferred time.Duration // header.NDPInfiniteLifetime means forever
}

// raDNS is one server of a Recursive DNS Server option.
type raDNS struct {
	Addr     netip.Addr
	Lifetime time.Duration // 0 withdraws the server
}

// isRouterAdvert reports, cheaply, whether an IPv6 packet looks like a Router Advertisement
// (ICMPv6 type 134 right after the fixed header: an RA carries no extension headers).
func isRouterAdvert(pkt []byte) bool {
	return len(pkt) > header.IPv6MinimumSize && pkt[6] == uint8(header.ICMPv6ProtocolNumber) &&
		header.ICMPv6Type(pkt[header.IPv6MinimumSize]) == header.ICMPv6RouterAdvert
}

var errBadRA = errors.New("invalid router advertisement")

// parseRouterAdvert validates an IPv6 packet holding a Router Advertisement as RFC 4861
// section 6.1.2 asks (hop limit 255, link-local source, ICMP code 0, checksum, length,
// option lengths) and extracts what SLAAC and RDNSS need. Prefixes a host must ignore
// (RFC 4862 5.5.3: no autonomous flag, link-local, preferred lifetime above the valid one)
// are left out. It reads bytes from the network: it never panics.
func parseRouterAdvert(pkt []byte) (routerAdvert, error) {
	var ra routerAdvert
	if len(pkt) < header.IPv6MinimumSize {
		return ra, errBadRA
	}
	ip := header.IPv6(pkt)
	end := header.IPv6MinimumSize + int(ip.PayloadLength())
	if end > len(pkt) || ip.NextHeader() != uint8(header.ICMPv6ProtocolNumber) || ip.HopLimit() != header.NDPHopLimit {
		return ra, errBadRA
	}
	src, dst := ip.SourceAddress(), ip.DestinationAddress()
	if !header.IsV6LinkLocalUnicastAddress(src) {
		return ra, errBadRA
	}
	icmp := header.ICMPv6(pkt[header.IPv6MinimumSize:end])
	if len(icmp) < header.ICMPv6HeaderSize+header.NDPRAMinimumSize || icmp.Type() != header.ICMPv6RouterAdvert || icmp.Code() != 0 {
		return ra, errBadRA
	}
	if header.ICMPv6Checksum(header.ICMPv6ChecksumParams{Header: icmp, Src: src, Dst: dst}) != icmp.Checksum() {
		return ra, errBadRA
	}
	it, err := header.NDPRouterAdvert(icmp.MessageBody()).Options().Iter(true)
	if err != nil {
		return ra, errBadRA
	}
	ra.Router = netip.AddrFrom16(src.As16())
	for {
		opt, done, err := it.Next()
		if err != nil {
			return routerAdvert{}, errBadRA
		}
		if done {
			break
		}
		switch opt := opt.(type) {
		case header.NDPPrefixInformation:
			p := netip.PrefixFrom(netip.AddrFrom16(opt.Prefix().As16()), int(opt.PrefixLength()))
			valid, pref := opt.ValidLifetime(), opt.PreferredLifetime()
			if !opt.AutonomousAddressConfigurationFlag() || !p.IsValid() || p.Addr().IsLinkLocalUnicast() || pref > valid {
				continue
			}
			ra.Prefixes = append(ra.Prefixes, raPrefix{Prefix: p.Masked(), Valid: valid, Preferred: pref})
		case header.NDPRecursiveDNSServer:
			addrs, err := opt.Addresses()
			if err != nil {
				continue
			}
			for _, a := range addrs {
				ra.DNS = append(ra.DNS, raDNS{Addr: netip.AddrFrom16(a.As16()), Lifetime: opt.Lifetime()})
			}
		}
	}
	return ra, nil
}

// addrFromIID joins a /64 prefix and the low 64 bits of an address (the interface
// identifier IPV6CP negotiated, carried by the link-local address).
func addrFromIID(prefix netip.Prefix, iid netip.Addr) netip.Addr {
	p, id := prefix.Addr().As16(), iid.As16()
	copy(p[8:], id[8:])
	return netip.AddrFrom16(p)
}

// slaacValidUntil applies RFC 4862 5.5.3 e) to an address that already exists: a received
// valid lifetime above two hours, or above the time left, is taken; otherwise the time left is
// kept if it is at most two hours, or cut to two hours. This stops a forged RA from expiring an
// address in use. tcpip.MonotonicTimeInfinite stands for "never".
func slaacValidUntil(now, current tcpip.MonotonicTime, received time.Duration) tcpip.MonotonicTime {
	const twoHours = 2 * time.Hour
	if received == header.NDPInfiniteLifetime {
		return tcpip.MonotonicTimeInfinite()
	}
	remaining := current.Sub(now)
	if current == tcpip.MonotonicTimeInfinite() {
		remaining = header.NDPInfiniteLifetime
	}
	switch {
	case received > twoHours || received > remaining:
		return now.Add(received)
	case remaining <= twoHours:
		return current
	}
	return now.Add(twoHours)
}

// until turns a lifetime into a deadline (forever for the infinite lifetime).
func until(now tcpip.MonotonicTime, d time.Duration) tcpip.MonotonicTime {
	if d == header.NDPInfiniteLifetime {
		return tcpip.MonotonicTimeInfinite()
	}
	return now.Add(d)
}
