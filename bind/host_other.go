//go:build !linux

package bind

import (
	"context"
	"net"
	"net/netip"
	"os"
	"syscall"

	"github.com/pppdial/pppdial/netif"
)

// SO_BINDTODEVICE is Linux's: elsewhere host interfaces cannot be bound
// and their sockets fail with EOPNOTSUPP (pp<N> interfaces work anywhere).
func bindToDevice(string) func(network, address string, c syscall.RawConn) error {
	return func(string, string, syscall.RawConn) error {
		return os.NewSyscallError("setsockopt SO_BINDTODEVICE", syscall.EOPNOTSUPP)
	}
}

func zoned(n *netif.Netif, a netip.Addr) netip.Addr {
	if a.Is6() && a.IsLinkLocalUnicast() && a.Zone() == "" {
		return a.WithZone(n.Name())
	}
	return a
}

func hostDial(ctx context.Context, n *netif.Netif, network string, laddr, raddr netip.AddrPort) (net.Conn, error) {
	return nil, os.NewSyscallError("setsockopt SO_BINDTODEVICE", syscall.EOPNOTSUPP)
}

func hostListenConfig(n *netif.Netif) *net.ListenConfig {
	return &net.ListenConfig{Control: bindToDevice(n.Name())}
}
