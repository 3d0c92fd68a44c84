package bind

import (
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"sync"
	"syscall"
	"time"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/adapters/gonet"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv6"
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"
	"gvisor.dev/gvisor/pkg/tcpip/transport/udp"
	"gvisor.dev/gvisor/pkg/waiter"

	"github.com/pppdial/pppdial/netif"
)

// fullAddr converts to gVisor's address; the unspecified address becomes
// gVisor's wildcard (the empty address).
func fullAddr(n *netif.Netif, ap netip.AddrPort) tcpip.FullAddress {
	f := tcpip.FullAddress{NIC: n.NICID(), Port: ap.Port()}
	if a := ap.Addr(); a.IsValid() && !a.IsUnspecified() {
		f.Addr = tcpip.AddrFromSlice(a.Unmap().AsSlice())
	}
	return f
}

func netProto(a netip.Addr) tcpip.NetworkProtocolNumber {
	if a.Is4() || a.Is4In6() {
		return ipv4.ProtocolNumber
	}
	return ipv6.ProtocolNumber
}

// stackDialTCP connects through n's netstack. It does what gonet.DialTCP
// does, but keeps the gVisor error so that the caller gets an errno.
func stackDialTCP(ctx context.Context, n *netif.Netif, laddr, raddr netip.AddrPort) (net.Conn, error) {
	st := n.Stack()
	var wq waiter.Queue
	ep, terr := st.NewEndpoint(tcp.ProtocolNumber, netProto(raddr.Addr()), &wq)
	if terr != nil {
		return nil, stackErr(n, "socket", terr)
	}
	if laddr.IsValid() {
		if terr := ep.Bind(fullAddr(n, laddr)); terr != nil {
			ep.Close()
			return nil, stackErr(n, "bind", terr)
		}
	}
	entry, notify := waiter.NewChannelEntry(waiter.WritableEvents | waiter.EventHUp | waiter.EventErr)
	wq.EventRegister(&entry)
	defer wq.EventUnregister(&entry)
	terr = ep.Connect(fullAddr(n, raddr))
	if _, ok := terr.(*tcpip.ErrConnectStarted); ok {
		select {
		case <-ctx.Done():
			ep.Close()
			return nil, mapCtxErr(ctx.Err())
		case <-notify:
		}
		terr = ep.LastError()
	}
	if terr != nil {
		ep.Close()
		return nil, stackErr(n, "connect", terr)
	}
	return newStackConn(n, &wq, ep), nil
}

// mapCtxErr turns a context error into the net package's dial error.
func mapCtxErr(err error) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return &timeoutErr{err}
	}
	return err
}

// timeoutErr is a dial deadline, reported as net.Error with Timeout, as
// the net package's dialer does (and matching context.DeadlineExceeded).
type timeoutErr struct{ err error }

// Error returns "i/o timeout", as the net package's timeouts do.
func (e *timeoutErr) Error() string { return "i/o timeout" }

// Timeout implements net.Error.
func (e *timeoutErr) Timeout() bool { return true }

// Temporary implements net.Error.
func (e *timeoutErr) Temporary() bool { return true }

// Unwrap returns context.DeadlineExceeded.
func (e *timeoutErr) Unwrap() error { return e.err }

// stackUDP opens a UDP endpoint on n, bound to laddr (if valid) and
// connected to raddr (if valid).
func stackUDP(n *netif.Netif, laddr, raddr netip.AddrPort) (*stackPacketConn, error) {
	proto := ipv4.ProtocolNumber
	if (raddr.IsValid() && !raddr.Addr().Is4()) || (!raddr.IsValid() && laddr.Addr().Is6()) {
		proto = ipv6.ProtocolNumber
	}
	var wq waiter.Queue
	ep, terr := n.Stack().NewEndpoint(udp.ProtocolNumber, proto, &wq)
	if terr != nil {
		return nil, stackErr(n, "socket", terr)
	}
	if laddr.IsValid() {
		if terr := ep.Bind(fullAddr(n, laddr)); terr != nil {
			ep.Close()
			return nil, stackErr(n, "bind", terr)
		}
	}
	if raddr.IsValid() {
		if terr := ep.Connect(fullAddr(n, raddr)); terr != nil {
			ep.Close()
			return nil, stackErr(n, "connect", terr)
		}
	}
	c := &stackPacketConn{UDPConn: gonet.NewUDPConn(&wq, ep), n: n}
	c.laddr, c.raddr = c.UDPConn.LocalAddr(), c.UDPConn.RemoteAddr()
	return c, nil
}

// stackListenTCP listens on n's netstack.
func stackListenTCP(n *netif.Netif, laddr netip.AddrPort) (net.Listener, error) {
	l := &stackListener{n: n, done: make(chan struct{})}
	ep, terr := n.Stack().NewEndpoint(tcp.ProtocolNumber, netProto(laddr.Addr()), &l.wq)
	if terr != nil {
		return nil, stackErr(n, "socket", terr)
	}
	if terr := ep.Bind(fullAddr(n, laddr)); terr != nil {
		ep.Close()
		return nil, stackErr(n, "bind", terr)
	}
	if terr := ep.Listen(128); terr != nil {
		ep.Close()
		return nil, stackErr(n, "listen", terr)
	}
	l.ep = ep
	return l, nil
}

// stackConn is a TCP connection on a pp<N> netstack whose errors are
// translated to errnos.
type stackConn struct {
	*gonet.TCPConn
	n  *netif.Netif
	ep tcpip.Endpoint
	// laddr and raddr are the addresses when the connection was made: gonet answers nil once
	// the endpoint is gone (a link down), and callers that log c.RemoteAddr().String() after
	// a failed Read would panic on a nil net.Addr.
	laddr, raddr net.Addr
}

func newStackConn(n *netif.Netif, wq *waiter.Queue, ep tcpip.Endpoint) *stackConn {
	c := &stackConn{TCPConn: gonet.NewTCPConn(wq, ep), n: n, ep: ep}
	c.laddr, c.raddr = c.TCPConn.LocalAddr(), c.TCPConn.RemoteAddr()
	return c
}

// LocalAddr implements net.Conn; it stays valid after the link goes down.
func (c *stackConn) LocalAddr() net.Addr { return stableAddr(c.TCPConn.LocalAddr(), c.laddr) }

// RemoteAddr implements net.Conn; it stays valid after the link goes down.
func (c *stackConn) RemoteAddr() net.Addr { return stableAddr(c.TCPConn.RemoteAddr(), c.raddr) }

// stableAddr returns live unless the endpoint no longer knows it.
func stableAddr(live, saved net.Addr) net.Addr {
	if live != nil {
		return live
	}
	return saved
}

// Read implements net.Conn. gonet reports a connection aborted by a link
// down as a clean EOF (the abort error is consumed once, internally); it
// is turned back into ECONNABORTED plus the link's down error here.
func (c *stackConn) Read(b []byte) (int, error) {
	k, err := c.TCPConn.Read(b)
	if err == io.EOF && tcp.EndpointState(c.ep.State()) == tcp.StateError && c.n.CheckUp() != nil {
		return k, &net.OpError{Op: "read", Net: "tcp", Source: c.LocalAddr(), Addr: c.RemoteAddr(),
			Err: withLink(c.n, os.NewSyscallError("read", syscall.ECONNABORTED))}
	}
	return k, fixGonet(c.n, err)
}

// Write implements net.Conn.
func (c *stackConn) Write(b []byte) (int, error) {
	k, err := c.TCPConn.Write(b)
	return k, fixGonet(c.n, err)
}

// Interface returns the interface the connection runs on.
func (c *stackConn) Interface() *netif.Netif { return c.n }

// SetKeepAlive turns TCP keepalive probes on or off, as on
// *net.TCPConn.
func (c *stackConn) SetKeepAlive(on bool) error {
	c.ep.SocketOptions().SetKeepAlive(on)
	return nil
}

// SetKeepAlivePeriod sets the idle time before the first probe and the
// interval between probes, as on *net.TCPConn.
func (c *stackConn) SetKeepAlivePeriod(d time.Duration) error {
	idle := tcpip.KeepaliveIdleOption(d)
	if terr := c.ep.SetSockOpt(&idle); terr != nil {
		return stackErr(c.n, "setsockopt", terr)
	}
	iv := tcpip.KeepaliveIntervalOption(d)
	if terr := c.ep.SetSockOpt(&iv); terr != nil {
		return stackErr(c.n, "setsockopt", terr)
	}
	return nil
}

// stackListener is a TCP listener on a pp<N> netstack (gonet's listener
// hides the accepted endpoints, which stackConn needs).
type stackListener struct {
	n    *netif.Netif
	wq   waiter.Queue
	ep   tcpip.Endpoint
	once sync.Once
	done chan struct{}
}

// Accept implements net.Listener.
func (l *stackListener) Accept() (net.Conn, error) {
	entry, ready := waiter.NewChannelEntry(waiter.ReadableEvents | waiter.EventHUp | waiter.EventErr)
	l.wq.EventRegister(&entry)
	defer l.wq.EventUnregister(&entry)
	for {
		ep, wq, terr := l.ep.Accept(nil)
		if terr == nil {
			return newStackConn(l.n, wq, ep), nil
		}
		if _, ok := terr.(*tcpip.ErrWouldBlock); !ok {
			return nil, l.opErr(stackErr(l.n, "accept", terr))
		}
		select {
		case <-ready:
		case <-l.done:
			return nil, l.opErr(net.ErrClosed)
		}
	}
}

func (l *stackListener) opErr(err error) error {
	return &net.OpError{Op: "accept", Net: "tcp", Addr: l.Addr(), Err: err}
}

// Close implements net.Listener; blocked Accepts return net.ErrClosed.
func (l *stackListener) Close() error {
	l.once.Do(func() {
		close(l.done)
		l.ep.Close()
	})
	return nil
}

// Addr implements net.Listener.
func (l *stackListener) Addr() net.Addr {
	a, err := l.ep.GetLocalAddress()
	if err != nil {
		return &net.TCPAddr{}
	}
	ip, _ := netip.AddrFromSlice(a.Addr.AsSlice())
	return net.TCPAddrFromAddrPort(netip.AddrPortFrom(ip, a.Port))
}

// Interface returns the interface the listener runs on.
func (l *stackListener) Interface() *netif.Netif { return l.n }

// stackPacketConn is a UDP socket on a pp<N> netstack.
type stackPacketConn struct {
	*gonet.UDPConn
	n            *netif.Netif
	laddr, raddr net.Addr // as for stackConn; raddr is nil when not connected
}

// LocalAddr implements net.Conn; it stays valid after the link goes down.
func (c *stackPacketConn) LocalAddr() net.Addr { return stableAddr(c.UDPConn.LocalAddr(), c.laddr) }

// RemoteAddr implements net.Conn; it stays valid after the link goes down.
func (c *stackPacketConn) RemoteAddr() net.Addr {
	if c.raddr == nil {
		return nil
	}
	return stableAddr(c.UDPConn.RemoteAddr(), c.raddr)
}

// Read implements net.Conn.
func (c *stackPacketConn) Read(b []byte) (int, error) {
	k, err := c.UDPConn.Read(b)
	return k, c.fix("read", err)
}

// Write implements net.Conn.
func (c *stackPacketConn) Write(b []byte) (int, error) {
	k, err := c.UDPConn.Write(b)
	return k, fixGonet(c.n, err)
}

// ReadFrom implements net.PacketConn.
func (c *stackPacketConn) ReadFrom(b []byte) (int, net.Addr, error) {
	k, a, err := c.UDPConn.ReadFrom(b)
	return k, a, c.fix("read", err)
}

// fix maps gonet's io.EOF (UDP has no EOF: the endpoint was closed, by the
// user or by a link down) to what a kernel socket reports.
func (c *stackPacketConn) fix(op string, err error) error {
	if err == io.EOF {
		var inner error = net.ErrClosed
		if lerr := c.n.CheckUp(); lerr != nil {
			inner = withLink(c.n, os.NewSyscallError(op, syscall.ECONNABORTED))
		}
		return &net.OpError{Op: op, Net: "udp", Source: c.LocalAddr(), Err: inner}
	}
	return fixGonet(c.n, err)
}

// WriteTo implements net.PacketConn.
func (c *stackPacketConn) WriteTo(b []byte, addr net.Addr) (int, error) {
	k, err := c.UDPConn.WriteTo(b, addr)
	return k, fixGonet(c.n, err)
}

// Interface returns the interface the socket runs on.
func (c *stackPacketConn) Interface() *netif.Netif { return c.n }
