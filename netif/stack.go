package netif

import (
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"syscall"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv6"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
	"gvisor.dev/gvisor/pkg/tcpip/transport/icmp"
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"
	"gvisor.dev/gvisor/pkg/tcpip/transport/udp"
)

// Options tune a pp<N> interface created by Registry.AddPPP.
type Options struct {
	// Logger receives up/down messages; nil means slog.Default().
	Logger *slog.Logger
	// TCPSendBuffer and TCPReceiveBuffer set the stack's default TCP
	// buffer sizes in bytes; 0 keeps gVisor's defaults. A slow serial link
	// needs far less than a LAN; the receive buffer bounds the window.
	TCPSendBuffer, TCPReceiveBuffer int
	// Default makes the new interface the registry's default one.
	Default bool
	// Name asks for a particular name (pppd's ifname, e.g. "pp1"); empty takes "pp" and the
	// lowest free number. A name already registered fails with ErrExists.
	Name string
	// Clock drives the stack's timers (TCP retransmission, router
	// solicitation, address lifetimes); nil is the real clock. Tests pass
	// gVisor's faketime.ManualClock to run them in virtual time.
	Clock tcpip.Clock
}

const nicID tcpip.NICID = 1

// newPPP builds a pp<N> interface (not yet registered, down) with its own
// gVisor stack on dev.
func newPPP(name string, dev Device, opts Options) (*Netif, error) {
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	n := &Netif{name: name, kind: KindPPP, dev: dev, nicID: nicID, flags: FlagPointToPoint,
		log: log.With("netif", name)}
	n.ep = newLinkEndpoint(n, DefaultMTU)
	st := stack.New(stack.Options{
		// No DAD (zero DADConfigs): IPV6CP already made the interface
		// identifier unique. Router solicitation: see autoconf.go.
		NetworkProtocols:   []stack.NetworkProtocolFactory{ipv4.NewProtocol, ipv6Protocol()},
		TransportProtocols: []stack.TransportProtocolFactory{tcp.NewProtocol, udp.NewProtocol, icmp.NewProtocol4, icmp.NewProtocol6},
		// Traffic to the interface's own address stays inside the stack.
		HandleLocal: true,
		Clock:       opts.Clock,
	})
	// SACK lets TCP repair several losses per window, which a lossy
	// cellular or serial link needs.
	sack := tcpip.TCPSACKEnabled(true)
	if err := st.SetTransportProtocolOption(tcp.ProtocolNumber, &sack); err != nil {
		st.Destroy()
		return nil, fmt.Errorf("netif %s: enable SACK: %s", name, err)
	}
	if opts.TCPSendBuffer > 0 {
		o := tcpip.TCPSendBufferSizeRangeOption{Min: 4096, Default: opts.TCPSendBuffer, Max: max(opts.TCPSendBuffer, 4<<20)}
		if err := st.SetTransportProtocolOption(tcp.ProtocolNumber, &o); err != nil {
			st.Destroy()
			return nil, fmt.Errorf("netif %s: TCP send buffer: %s", name, err)
		}
	}
	if opts.TCPReceiveBuffer > 0 {
		o := tcpip.TCPReceiveBufferSizeRangeOption{Min: 4096, Default: opts.TCPReceiveBuffer, Max: max(opts.TCPReceiveBuffer, 4<<20)}
		if err := st.SetTransportProtocolOption(tcp.ProtocolNumber, &o); err != nil {
			st.Destroy()
			return nil, fmt.Errorf("netif %s: TCP receive buffer: %s", name, err)
		}
	}
	if err := st.CreateNICWithOptions(nicID, n.ep, stack.NICOptions{Name: name, QDisc: n.ep}); err != nil {
		st.Destroy()
		return nil, fmt.Errorf("netif %s: create NIC: %s", name, err)
	}
	// Point-to-point: everything not local goes to the peer, no gateway.
	st.SetRouteTable([]tcpip.Route{
		{Destination: header.IPv4EmptySubnet, NIC: nicID},
		{Destination: header.IPv6EmptySubnet, NIC: nicID},
	})
	n.st = st
	dev.SetPacketHandler(n.ep.deliver)
	return n, nil
}

// SetUp brings a pp<N> interface up with the negotiated addresses, DNS
// servers and MTU: the session layer calls it when IPCP/IPV6CP open. If the
// interface is already up with the same IPv4 addresses, sockets survive: only
// what changed is applied (IPv6 coming up after IPv4, new DNS servers, the
// MTU), and only sockets bound to an address that is taken away are aborted.
// If the IPv4 addresses differ (a redial got new ones) every socket is
// aborted with ErrReconfigured first.
//
// Once an IPv6 link-local address is set, the interface solicits a Router
// Advertisement and configures itself from it: an address in each
// advertised prefix, formed with the IPV6CP interface identifier, and the
// advertised DNS servers (EventAutoconf reports them; Config lists them).
func (n *Netif) SetUp(cfg Config) error {
	if n.kind == KindHost {
		return fmt.Errorf("netif %s: SetUp: %w", n.name, ErrHostInterface)
	}
	if err := cfg.validate(); err != nil {
		return fmt.Errorf("netif %s: %w", n.name, err)
	}
	if cfg.MTU == 0 {
		cfg.MTU = DefaultMTU
	}
	var evs []Event
	n.mu.Lock()
	if n.removed {
		n.mu.Unlock()
		return &Error{Name: n.name, Err: syscall.ENODEV, Reason: ErrRemoved}
	}
	wasUp := n.flags&FlagUp != 0
	sameAddrs := wasUp && n.cfg.sameAddrs(cfg)
	sameV4 := wasUp && n.cfg.Local == cfg.Local && n.cfg.Peer == cfg.Peer
	newLL := cfg.LocalV6.IsValid() && (!sameV4 || n.cfg.LocalV6 != cfg.LocalV6)
	if wasUp && !sameV4 {
		n.teardownLocked(ErrReconfigured)
		evs = append(evs, Event{Netif: n, Kind: EventDown, Reason: ErrReconfigured},
			Event{Netif: n, Kind: EventLinkDown, Reason: ErrReconfigured})
	}
	n.ep.SetMTU(uint32(cfg.MTU))
	switch {
	case sameAddrs:
	case sameV4:
		n.changeAddrsLocked(cfg)
	default:
		if err := n.installAddrsLocked(cfg); err != nil {
			n.removeAddrsLocked()
			n.mu.Unlock()
			n.emit(evs...)
			return fmt.Errorf("netif %s: %w", n.name, err)
		}
	}
	n.cfg = cfg.clone()
	n.reason = nil
	n.flags |= FlagUp | FlagLinkUp
	n.up.Store(true)
	if newLL {
		n.solicitRouters()
	}
	n.mu.Unlock()
	if !sameV4 {
		evs = append(evs, Event{Netif: n, Kind: EventLinkUp})
	}
	if !sameAddrs {
		n.log.Info("netif up", "local", cfg.Local, "peer", cfg.Peer, "local6", cfg.LocalV6, "dns", cfg.DNS, "mtu", cfg.MTU)
	}
	evs = append(evs, Event{Netif: n, Kind: EventUp})
	n.emit(evs...)
	return nil
}

// changeAddrsLocked moves an interface that is up, with unchanged IPv4
// addresses, to cfg's IPv6 addresses: what is new is added, what is gone is
// removed (aborting the sockets bound to it). A new link-local address means
// a new interface identifier, so the addresses formed from the old one go.
func (n *Netif) changeAddrsLocked(cfg Config) {
	have, want := n.cfg.addrs(), cfg.addrs()
	var gone []netip.Addr
	for _, p := range have {
		if !slices.Contains(want, p) {
			gone = append(gone, p.Addr())
		}
	}
	if n.cfg.LocalV6 != cfg.LocalV6 {
		for _, a := range n.ac.addrs {
			gone = append(gone, a.addr.Addr())
		}
		n.clearAutoconfLocked()
	}
	n.removeAddrsAndAbortLocked(gone)
	for _, p := range want {
		if !slices.Contains(have, p) {
			if err := n.st.AddProtocolAddress(nicID, protoAddr(p), stack.AddressProperties{}); err != nil {
				n.log.Warn("cannot add address", "addr", p, "err", err)
			}
		}
	}
}

// SetDown takes a pp<N> interface down: the session layer calls it when the
// PPP link terminates (reason says why; nil means ErrLinkDown). Addresses
// are removed and every socket of the interface's stack is aborted, so
// blocked reads, writes, accepts and dials fail promptly; new sockets fail
// with ENETDOWN until the next SetUp.
func (n *Netif) SetDown(reason error) {
	if n.kind == KindHost {
		return
	}
	if reason == nil {
		reason = ErrLinkDown
	}
	n.mu.Lock()
	if n.flags&FlagUp == 0 {
		if !n.removed {
			n.reason = reason
		}
		n.mu.Unlock()
		return
	}
	n.teardownLocked(reason)
	n.mu.Unlock()
	n.log.Info("netif down", "reason", reason)
	n.emit(Event{Netif: n, Kind: EventDown, Reason: reason}, Event{Netif: n, Kind: EventLinkDown, Reason: reason})
}

// teardownLocked closes the data path, drops the addresses and aborts all
// endpoints. Called with n.mu held; nothing it calls takes n.mu.
func (n *Netif) teardownLocked(reason error) {
	n.up.Store(false)
	n.flags &^= FlagUp | FlagLinkUp
	n.reason = reason
	n.cfg = Config{}
	n.clearAutoconfLocked()
	n.removeAddrsLocked()
	// Abort rather than Close: it resets connections at once and wakes
	// every waiter (readers, writers, Accept, Connect) with an error.
	for _, e := range n.st.RegisteredEndpoints() {
		e.Abort()
	}
}

func (n *Netif) installAddrsLocked(cfg Config) error {
	n.removeAddrsLocked()
	for _, p := range cfg.addrs() {
		if err := n.st.AddProtocolAddress(nicID, protoAddr(p), stack.AddressProperties{}); err != nil {
			return fmt.Errorf("add address %s: %s", p, err)
		}
	}
	return nil
}

func (n *Netif) removeAddrsLocked() {
	for _, a := range n.st.AllAddresses()[nicID] {
		_ = n.st.RemoveAddress(nicID, a.AddressWithPrefix.Address)
	}
}

func protoAddr(p netip.Prefix) tcpip.ProtocolAddress {
	a := p.Addr()
	proto := ipv4.ProtocolNumber
	if a.Is6() {
		proto = ipv6.ProtocolNumber
	}
	return tcpip.ProtocolAddress{
		Protocol:          proto,
		AddressWithPrefix: tcpip.AddressWithPrefix{Address: tcpip.AddrFromSlice(a.AsSlice()), PrefixLen: p.Bits()},
	}
}

// remove takes the interface down and destroys its stack. It reports
// whether this call did it (false if already removed).
func (n *Netif) remove() bool {
	n.mu.Lock()
	if n.removed {
		n.mu.Unlock()
		return false
	}
	wasUp := n.flags&FlagUp != 0
	if wasUp {
		n.teardownLocked(ErrRemoved)
	}
	n.reason = ErrRemoved
	n.removed = true
	n.mu.Unlock()
	if n.kind == KindPPP {
		n.dev.SetPacketHandler(nil)
		n.st.Destroy()
	}
	if wasUp {
		n.emit(Event{Netif: n, Kind: EventDown, Reason: ErrRemoved}, Event{Netif: n, Kind: EventLinkDown, Reason: ErrRemoved})
	}
	return true
}

func (n *Netif) emit(evs ...Event) {
	if n.reg != nil && len(evs) > 0 {
		n.reg.deliver(evs...)
	}
}
