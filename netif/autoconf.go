package netif

import (
	"net/netip"
	"slices"
	"time"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv6"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
)

// IPv6 autoconfiguration of a pp<N> interface. IPV6CP only gives each end an interface
// identifier and a link-local address; the global prefix and the DNS servers come in the
// network's Router Advertisement, as on every cellular network (3GPP TS 29.061). gVisor sends
// the Router Solicitations; this file does the rest itself, because gVisor's SLAAC forms the
// interface identifier from a MAC address (modified EUI-64) or a hash (RFC 7217) and a PPP
// link has neither: the identifier must be the one IPV6CP negotiated (RFC 5072 section 5),
// which the peer knows and which is already unique on the link, so no DAD is needed either.
//
// The default route needs nothing: on a point-to-point link every destination is reached
// through the peer, and the route table says so from the start.

// Router Solicitation timing (RFC 4861 section 10): three solicitations four seconds apart, and
// no initial random delay, since the peer is the only other node on the link.
const (
	rtrSolicitations        = 3
	rtrSolicitationInterval = 4 * time.Second
)

// RouterSolicitationWindow is how long after IPV6CP opens a Router Advertisement may
// reasonably still come: the last solicitation plus one interval for the answer. A session
// that waits for the global address gives up after it.
const RouterSolicitationWindow = rtrSolicitations * rtrSolicitationInterval

// maxRDNSS bounds the DNS servers learnt from advertisements (RFC 8106 section 5.3.1 leaves the
// limit to the host): a forged flood of servers must not grow the list.
const maxRDNSS = 4

// ndpConfig has router solicitation on (solicitations solicitations) and every other NDP
// automatism off: gVisor still validates and counts Router Advertisements; netif acts on them.
func ndpConfig(solicitations uint8) ipv6.NDPConfigurations {
	return ipv6.NDPConfigurations{
		MaxRtrSolicitations:     solicitations,
		RtrSolicitationInterval: rtrSolicitationInterval,
		HandleRAs:               ipv6.HandlingRAsAlwaysEnabled,
	}
}

// ipv6Protocol is IPv6 that sends no solicitation when the NIC is created: the link is down
// then, and it would go out later from no address. solicitRouters turns them on.
func ipv6Protocol() stack.NetworkProtocolFactory {
	return ipv6.NewProtocolWithOptions(ipv6.Options{NDPConfigs: ndpConfig(0)})
}

// autoconf is what the interface learnt from Router Advertisements. Guarded by Netif.mu.
type autoconf struct {
	addrs []slaacAddr
	dns   []rdnss
	timer tcpip.Timer // fires at the next deprecation or expiry
}

type slaacAddr struct {
	addr                       netip.Prefix // prefix + IPV6CP interface identifier, /64
	preferredUntil, validUntil tcpip.MonotonicTime
	deprecated                 bool
}

type rdnss struct {
	addr  netip.Addr
	until tcpip.MonotonicTime
}

// solicitRouters starts (again) gVisor's Router Solicitations, from the link-local address
// just installed. Called with n.mu held and the interface up.
func (n *Netif) solicitRouters() {
	ep, err := n.st.GetNetworkEndpoint(n.nicID, ipv6.ProtocolNumber)
	if err != nil {
		return
	}
	if ndp, ok := ep.(ipv6.NDPEndpoint); ok {
		ndp.SetNDPConfigurations(ndpConfig(rtrSolicitations))
	}
	ep.Disable()
	if err := ep.Enable(); err != nil {
		n.log.Warn("IPv6: cannot solicit routers", "err", err)
	}
}

// handleRouterAdvert acts on a Router Advertisement received on the link: forms an address
// in each advertised prefix from the IPV6CP interface identifier, refreshes lifetimes, and
// keeps the advertised DNS servers. Invalid advertisements are counted by gVisor and dropped.
func (n *Netif) handleRouterAdvert(pkt []byte) {
	ra, err := parseRouterAdvert(pkt)
	if err != nil {
		return
	}
	n.mu.Lock()
	if n.flags&FlagUp == 0 || !n.cfg.LocalV6.IsValid() {
		n.mu.Unlock()
		return
	}
	now := n.st.Clock().NowMonotonic()
	changed := false
	for _, p := range ra.Prefixes {
		if p.Prefix.Bits() != 64 {
			// RFC 4862 5.5.3 d): the prefix and the 64-bit identifier must make 128 bits.
			n.log.Debug("IPv6: advertised prefix is not a /64; no address formed", "prefix", p.Prefix)
			continue
		}
		changed = n.slaacLocked(now, p) || changed
	}
	for _, d := range ra.DNS {
		changed = n.rdnssLocked(now, d) || changed
	}
	n.scheduleAutoconfLocked(now)
	cfg := n.configLocked()
	n.mu.Unlock()
	if changed {
		n.log.Info("IPv6 autoconfigured", "router", ra.Router, "addrs", cfg.ExtraV6, "dns", cfg.DNS)
		n.emit(Event{Netif: n, Kind: EventAutoconf})
	}
}

// slaacLocked adds or refreshes the address of one advertised prefix (RFC 4862 5.5.3 d, e). It
// reports whether the set of addresses changed.
func (n *Netif) slaacLocked(now tcpip.MonotonicTime, p raPrefix) bool {
	addr := netip.PrefixFrom(addrFromIID(p.Prefix, n.cfg.LocalV6), 64)
	i := slices.IndexFunc(n.ac.addrs, func(a slaacAddr) bool { return a.addr == addr })
	if i < 0 {
		if p.Valid == 0 {
			return false
		}
		a := slaacAddr{addr: addr, preferredUntil: until(now, p.Preferred), validUntil: until(now, p.Valid), deprecated: p.Preferred == 0}
		props := stack.AddressProperties{PEB: stack.CanBePrimaryEndpoint, ConfigType: stack.AddressConfigSlaac, Lifetimes: a.lifetimes()}
		if err := n.st.AddProtocolAddress(n.nicID, protoAddr(addr), props); err != nil {
			n.log.Warn("IPv6: cannot add autoconfigured address", "addr", addr, "err", err)
			return false
		}
		n.ac.addrs = append(n.ac.addrs, a)
		return true
	}
	a := &n.ac.addrs[i]
	a.validUntil = slaacValidUntil(now, a.validUntil, p.Valid)
	a.preferredUntil, a.deprecated = until(now, p.Preferred), p.Preferred == 0
	_ = n.st.SetAddressLifetimes(n.nicID, tcpip.AddrFrom16(addr.Addr().As16()), a.lifetimes())
	return false
}

func (a slaacAddr) lifetimes() stack.AddressLifetimes {
	return stack.AddressLifetimes{Deprecated: a.deprecated, PreferredUntil: a.preferredUntil, ValidUntil: a.validUntil}
}

// rdnssLocked adds, refreshes or (lifetime 0) withdraws one advertised DNS server. It
// reports whether the list changed.
func (n *Netif) rdnssLocked(now tcpip.MonotonicTime, d raDNS) bool {
	i := slices.IndexFunc(n.ac.dns, func(r rdnss) bool { return r.addr == d.Addr })
	switch {
	case d.Lifetime == 0 && i >= 0:
		n.ac.dns = slices.Delete(n.ac.dns, i, i+1)
		return true
	case d.Lifetime == 0:
		return false
	case i >= 0:
		n.ac.dns[i].until = until(now, d.Lifetime)
		return false
	case len(n.ac.dns) >= maxRDNSS:
		return false
	}
	n.ac.dns = append(n.ac.dns, rdnss{addr: d.Addr, until: until(now, d.Lifetime)})
	return true
}

// scheduleAutoconfLocked sets the timer to the next deprecation or expiry.
func (n *Netif) scheduleAutoconfLocked(now tcpip.MonotonicTime) {
	next := tcpip.MonotonicTimeInfinite()
	for _, a := range n.ac.addrs {
		if !a.deprecated && a.preferredUntil.Before(next) {
			next = a.preferredUntil
		}
		if a.validUntil.Before(next) {
			next = a.validUntil
		}
	}
	for _, d := range n.ac.dns {
		if d.until.Before(next) {
			next = d.until
		}
	}
	if next == tcpip.MonotonicTimeInfinite() {
		if n.ac.timer != nil {
			n.ac.timer.Stop()
		}
		return
	}
	wait := max(next.Sub(now), 0)
	if n.ac.timer == nil {
		n.ac.timer = n.st.Clock().AfterFunc(wait, n.expireAutoconf)
		return
	}
	n.ac.timer.Reset(wait)
}

// expireAutoconf deprecates and removes what has outlived its advertised lifetime. Sockets
// bound to a removed address are aborted.
func (n *Netif) expireAutoconf() {
	n.mu.Lock()
	if n.flags&FlagUp == 0 {
		n.mu.Unlock()
		return
	}
	now := n.st.Clock().NowMonotonic()
	var gone []netip.Addr
	n.ac.addrs = slices.DeleteFunc(n.ac.addrs, func(a slaacAddr) bool {
		if a.validUntil.After(now) {
			return false
		}
		gone = append(gone, a.addr.Addr())
		return true
	})
	for i := range n.ac.addrs {
		if a := &n.ac.addrs[i]; !a.deprecated && !a.preferredUntil.After(now) {
			a.deprecated = true
			_ = n.st.SetAddressLifetimes(n.nicID, tcpip.AddrFrom16(a.addr.Addr().As16()), a.lifetimes())
		}
	}
	before := len(n.ac.dns)
	n.ac.dns = slices.DeleteFunc(n.ac.dns, func(d rdnss) bool { return !d.until.After(now) })
	changed := len(gone) > 0 || len(n.ac.dns) != before
	n.removeAddrsAndAbortLocked(gone)
	n.scheduleAutoconfLocked(now)
	n.mu.Unlock()
	if changed {
		n.log.Info("IPv6 autoconfiguration expired", "addrs", gone)
		n.emit(Event{Netif: n, Kind: EventAutoconf})
	}
}

// clearAutoconfLocked forgets everything learnt (the addresses themselves are removed by the
// caller): the link went down or its interface identifier changed.
func (n *Netif) clearAutoconfLocked() {
	if n.ac.timer != nil {
		n.ac.timer.Stop()
	}
	n.ac = autoconf{timer: n.ac.timer}
}

// removeAddrsAndAbortLocked removes addrs from the stack and aborts the sockets bound to them:
// their address is gone, and waiting on them would only hang.
func (n *Netif) removeAddrsAndAbortLocked(addrs []netip.Addr) {
	if len(addrs) == 0 {
		return
	}
	gone := make(map[tcpip.Address]bool, len(addrs))
	for _, a := range addrs {
		ta := tcpip.AddrFromSlice(a.AsSlice())
		gone[ta] = true
		_ = n.st.RemoveAddress(n.nicID, ta)
	}
	for _, e := range n.st.RegisteredEndpoints() {
		te, ok := e.(tcpip.Endpoint)
		if !ok {
			continue
		}
		if info, ok := te.Info().(*stack.TransportEndpointInfo); ok && gone[info.ID.LocalAddress] {
			e.Abort()
		}
	}
}
