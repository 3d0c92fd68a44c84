package bind

import (
	"context"
	"net"
	"net/netip"
	"strconv"
	"strings"

	"github.com/pppdial/pppdial/netif"
)

// family restricts addresses: 0 any, 4 IPv4 only, 6 IPv6 only.
type family byte

// parseNetwork splits "tcp4", "udp6", ... into protocol and family.
func parseNetwork(network string) (proto string, fam family, err error) {
	switch network {
	case "tcp", "udp":
		return network, 0, nil
	case "tcp4", "udp4":
		return network[:3], 4, nil
	case "tcp6", "udp6":
		return network[:3], 6, nil
	}
	return "", 0, net.UnknownNetworkError(network)
}

func (f family) allows(a netip.Addr) bool {
	switch f {
	case 4:
		return a.Is4()
	case 6:
		return a.Is6()
	}
	return true
}

// ipNetwork is the Resolver network ("ip", "ip4", "ip6") for a family.
func (f family) ipNetwork() string {
	switch f {
	case 4:
		return "ip4"
	case 6:
		return "ip6"
	}
	return "ip"
}

// splitHostPort parses "host:port" with a numeric or service port.
func splitHostPort(ctx context.Context, proto, address string) (string, uint16, error) {
	host, ps, err := net.SplitHostPort(address)
	if err != nil {
		return "", 0, err
	}
	if p, err := strconv.ParseUint(ps, 10, 16); err == nil {
		return host, uint16(p), nil
	}
	p, err := net.DefaultResolver.LookupPort(ctx, proto, ps)
	if err != nil {
		return "", 0, err
	}
	return host, uint16(p), nil
}

// parseIP parses an IP literal; the zone of an IPv6 link-local address is
// dropped (the interface is chosen by name anyway).
func parseIP(host string) (netip.Addr, bool) {
	if i := strings.IndexByte(host, '%'); i >= 0 {
		host = host[:i]
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}, false
	}
	return a.Unmap(), true
}

// usable orders addrs for dialing on n: families n has an address for
// first, others after (they fail fast with EHOSTUNREACH/ENETUNREACH).
func usable(n *netif.Netif, fam family, addrs []netip.Addr) []netip.Addr {
	cfg := n.Config()
	has4 := cfg.Local.IsValid()
	has6 := len(cfg.ExtraV6) > 0
	var good, rest []netip.Addr
	for _, a := range addrs {
		if !fam.allows(a) {
			continue
		}
		if (a.Is4() && has4) || (a.Is6() && (has6 || (a.IsLinkLocalUnicast() && cfg.LocalV6.IsValid()))) {
			good = append(good, a)
		} else {
			rest = append(rest, a)
		}
	}
	return append(good, rest...)
}

// hasGlobalV6 reports whether n can reach IPv6 addresses beyond the link.
func hasGlobalV6(n *netif.Netif) bool {
	for _, p := range n.Config().ExtraV6 {
		if !p.Addr().IsLinkLocalUnicast() {
			return true
		}
	}
	return false
}

func tcpAddr(ap netip.AddrPort) *net.TCPAddr { return net.TCPAddrFromAddrPort(ap) }
func udpAddr(ap netip.AddrPort) *net.UDPAddr { return net.UDPAddrFromAddrPort(ap) }

func netAddr(proto string, ap netip.AddrPort) net.Addr {
	if proto == "udp" {
		return udpAddr(ap)
	}
	return tcpAddr(ap)
}

// addrPortOf converts a net.Addr (TCP or UDP) into a netip.AddrPort.
func addrPortOf(a net.Addr) (netip.AddrPort, bool) {
	switch a := a.(type) {
	case *net.TCPAddr:
		ap := a.AddrPort()
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), true
	case *net.UDPAddr:
		ap := a.AddrPort()
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), true
	}
	return netip.AddrPort{}, false
}
