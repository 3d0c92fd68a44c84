package bind

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/pppdial/pppdial/netif"
)

// lookup finds ifname in reg (nil: netif.DefaultRegistry) and checks that
// it is up: unknown -> ENODEV, down -> ENETDOWN.
func lookup(reg *netif.Registry, ifname string) (*netif.Netif, error) {
	if reg == nil {
		reg = netif.DefaultRegistry
	}
	n, err := reg.Lookup(ifname)
	if err != nil {
		return nil, err
	}
	if err := n.CheckUp(); err != nil {
		return nil, err
	}
	return n, nil
}

// Dialer connects over one interface. The zero value is not usable:
// Interface must be set. A Dialer is safe for concurrent use.
type Dialer struct {
	// Interface is the interface name ("pp0", "wlan0").
	Interface string
	// Registry to look Interface up in; nil means netif.DefaultRegistry.
	Registry *netif.Registry
	// LocalAddr, if set, is the source address (and port) to bind to.
	LocalAddr netip.AddrPort
	// Timeout bounds a whole dial, name resolution included; 0 means no
	// limit beyond the context's.
	Timeout time.Duration
	// Resolver resolves names; nil means a Resolver on Interface.
	Resolver *Resolver
	// KeepAlive, if positive, turns TCP keepalive on with this idle time
	// and probe interval. Unlike net.Dialer it is off by default, on every
	// interface: probes cost cellular data and keep the radio awake.
	KeepAlive time.Duration
}

// Dial connects to address over the interface ifname, through the
// interface's netstack (pp<N>) or a kernel socket bound to it (host).
// network is "tcp", "tcp4", "tcp6", "udp", "udp4" or "udp6"; a host name in
// address is resolved through the interface's own DNS servers.
func Dial(ctx context.Context, ifname, network, address string) (net.Conn, error) {
	d := Dialer{Interface: ifname}
	return d.DialContext(ctx, network, address)
}

// Dial is DialContext with a background context.
func (d *Dialer) Dial(network, address string) (net.Conn, error) {
	return d.DialContext(context.Background(), network, address)
}

// DialContext connects to address over d.Interface. Its signature fits
// http.Transport.DialContext and golang.org/x/net/proxy.ContextDialer.
func (d *Dialer) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	proto, fam, err := parseNetwork(network)
	if err != nil {
		return nil, opError("dial", network, nil, nil, err)
	}
	if d.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d.Timeout)
		defer cancel()
	}
	n, err := lookup(d.Registry, d.Interface)
	if err != nil {
		return nil, opError("dial", network, nil, nil, err)
	}
	host, port, err := splitHostPort(ctx, proto, address)
	if err != nil {
		return nil, opError("dial", network, nil, nil, err)
	}
	var addrs []netip.Addr
	if ip, ok := parseIP(host); ok {
		addrs = []netip.Addr{ip}
	} else if host == "" {
		return nil, opError("dial", network, nil, nil, errors.New("missing address"))
	} else {
		r := d.Resolver
		if r == nil {
			r = &Resolver{Interface: d.Interface, Registry: d.Registry}
		}
		addrs, err = r.LookupNetIP(ctx, fam.ipNetwork(), host)
		if err != nil {
			return nil, opError("dial", network, nil, nil, err)
		}
	}
	addrs = usable(n, fam, addrs)
	if len(addrs) == 0 {
		return nil, opError("dial", network, nil, nil, &net.AddrError{Err: "no suitable address found", Addr: host})
	}
	var first error
	for _, a := range addrs {
		c, err := dialOne(ctx, n, proto, d.LocalAddr, netip.AddrPortFrom(a, port))
		if err == nil {
			if ka, ok := c.(keepAliver); ok && d.KeepAlive > 0 {
				_ = ka.SetKeepAlive(true)
				_ = ka.SetKeepAlivePeriod(d.KeepAlive)
			}
			return c, nil
		}
		if first == nil {
			first = err
		}
		if ctx.Err() != nil {
			break
		}
	}
	return nil, first
}

// keepAliver is implemented by *net.TCPConn and by pp<N> TCP connections.
type keepAliver interface {
	SetKeepAlive(bool) error
	SetKeepAlivePeriod(time.Duration) error
}

// dialOne dials one resolved address on n.
func dialOne(ctx context.Context, n *netif.Netif, proto string, laddr, raddr netip.AddrPort) (net.Conn, error) {
	network := proto
	if n.Kind() == netif.KindHost {
		if raddr.Addr().Is4() {
			network += "4"
		} else {
			network += "6"
		}
		c, err := hostDial(ctx, n, network, laddr, raddr)
		if err != nil {
			return nil, err
		}
		return c, nil
	}
	var src net.Addr
	if laddr.IsValid() {
		src = netAddr(proto, laddr)
	}
	dst := netAddr(proto, raddr)
	var c net.Conn
	var err error
	if proto == "tcp" {
		c, err = stackDialTCP(ctx, n, laddr, raddr)
	} else {
		c, err = stackUDP(n, laddr, raddr)
	}
	if err != nil {
		return nil, &net.OpError{Op: "dial", Net: proto, Source: src, Addr: dst, Err: err}
	}
	return c, nil
}

// ListenConfig listens on one interface.
type ListenConfig struct {
	// Interface is the interface name ("pp0", "wlan0").
	Interface string
	// Registry to look Interface up in; nil means netif.DefaultRegistry.
	Registry *netif.Registry
}

// Listen listens for TCP connections on ifname; address is "host:port"
// with an IP literal or an empty host (any address of the interface).
func Listen(ctx context.Context, ifname, network, address string) (net.Listener, error) {
	lc := ListenConfig{Interface: ifname}
	return lc.Listen(ctx, network, address)
}

// ListenPacket opens a UDP socket on ifname bound to address.
func ListenPacket(ctx context.Context, ifname, network, address string) (net.PacketConn, error) {
	lc := ListenConfig{Interface: ifname}
	return lc.ListenPacket(ctx, network, address)
}

// Listen listens for TCP connections ("tcp", "tcp4", "tcp6") on the
// interface.
func (lc *ListenConfig) Listen(ctx context.Context, network, address string) (net.Listener, error) {
	n, laddr, err := lc.prepare(ctx, "listen", network, address, "tcp")
	if err != nil {
		return nil, err
	}
	if n.Kind() == netif.KindHost {
		return hostListenConfig(n).Listen(ctx, network, address)
	}
	ln, err := stackListenTCP(n, laddr)
	if err != nil {
		return nil, opError("listen", network, nil, tcpAddr(laddr), err)
	}
	return ln, nil
}

// ListenPacket opens a UDP socket ("udp", "udp4", "udp6") on the interface.
func (lc *ListenConfig) ListenPacket(ctx context.Context, network, address string) (net.PacketConn, error) {
	n, laddr, err := lc.prepare(ctx, "listen", network, address, "udp")
	if err != nil {
		return nil, err
	}
	if n.Kind() == netif.KindHost {
		return hostListenConfig(n).ListenPacket(ctx, network, address)
	}
	pc, err := stackUDP(n, laddr, netip.AddrPort{})
	if err != nil {
		return nil, opError("listen", network, nil, udpAddr(laddr), err)
	}
	return pc, nil
}

// prepare validates network/address and looks the interface up; for a
// wildcard host on a pp<N> interface it picks the family the interface has.
func (lc *ListenConfig) prepare(ctx context.Context, op, network, address, want string) (*netif.Netif, netip.AddrPort, error) {
	proto, fam, err := parseNetwork(network)
	if err == nil && proto != want {
		err = net.UnknownNetworkError(network)
	}
	if err != nil {
		return nil, netip.AddrPort{}, opError(op, network, nil, nil, err)
	}
	if err := ctx.Err(); err != nil {
		return nil, netip.AddrPort{}, opError(op, network, nil, nil, err)
	}
	n, err := lookup(lc.Registry, lc.Interface)
	if err != nil {
		return nil, netip.AddrPort{}, opError(op, network, nil, nil, err)
	}
	host, port, err := splitHostPort(ctx, proto, address)
	if err != nil {
		return nil, netip.AddrPort{}, opError(op, network, nil, nil, err)
	}
	var ip netip.Addr
	switch {
	case host == "":
		switch {
		case fam == 6:
			ip = netip.IPv6Unspecified()
		case fam == 4 || n.Kind() == netif.KindHost || n.Config().Local.IsValid():
			ip = netip.IPv4Unspecified()
		default:
			ip = netip.IPv6Unspecified()
		}
	default:
		var ok bool
		if ip, ok = parseIP(host); !ok {
			return nil, netip.AddrPort{}, opError(op, network, nil, nil,
				&net.AddrError{Err: "listen address must be an IP literal", Addr: host})
		}
		if !fam.allows(ip) {
			return nil, netip.AddrPort{}, opError(op, network, nil, nil,
				&net.AddrError{Err: fmt.Sprintf("address family mismatch for %s", network), Addr: host})
		}
	}
	return n, netip.AddrPortFrom(ip, port), nil
}
