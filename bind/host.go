//go:build linux

package bind

import (
	"context"
	"net"
	"net/netip"
	"os"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/pppdial/pppdial/netif"
)

// bindToDevice returns a socket Control function that sets SO_BINDTODEVICE:
// the kernel then sends and receives the socket's packets only through
// that interface, whatever the routing table says.
func bindToDevice(ifname string) func(network, address string, c syscall.RawConn) error {
	return func(_, _ string, c syscall.RawConn) error {
		var serr error
		if err := c.Control(func(fd uintptr) {
			serr = unix.SetsockoptString(int(fd), unix.SOL_SOCKET, unix.SO_BINDTODEVICE, ifname)
		}); err != nil {
			return err
		}
		return os.NewSyscallError("setsockopt SO_BINDTODEVICE", serr)
	}
}

// zoned gives an IPv6 link-local address the interface as zone, which the
// kernel needs to pick the scope.
func zoned(n *netif.Netif, a netip.Addr) netip.Addr {
	if a.Is6() && (a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast()) && a.Zone() == "" {
		return a.WithZone(n.Name())
	}
	return a
}

func hostDial(ctx context.Context, n *netif.Netif, network string, laddr, raddr netip.AddrPort) (net.Conn, error) {
	proto, _, _ := parseNetwork(network)
	// KeepAlive -1: off unless the bind Dialer turns it on (see Dialer.KeepAlive).
	d := net.Dialer{Control: bindToDevice(n.Name()), KeepAlive: -1}
	if laddr.IsValid() {
		d.LocalAddr = netAddr(proto, netip.AddrPortFrom(zoned(n, laddr.Addr()), laddr.Port()))
	}
	return d.DialContext(ctx, network, netip.AddrPortFrom(zoned(n, raddr.Addr()), raddr.Port()).String())
}

func hostListenConfig(n *netif.Netif) *net.ListenConfig {
	return &net.ListenConfig{Control: bindToDevice(n.Name())}
}
