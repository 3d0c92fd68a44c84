package bind

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/pppdial/pppdial/netif"
)

// Socket constants for Netdev, with Linux's values (TinyGo's net package
// uses the same ones), whatever the host system.
const (
	AF_INET         = 0x2
	AF_INET6        = 0xa
	SOCK_STREAM     = 0x1
	SOCK_DGRAM      = 0x2
	IPPROTO_TCP     = 0x6
	IPPROTO_UDP     = 0x11
	SOL_SOCKET      = 0x1
	SO_KEEPALIVE    = 0x9
	SO_BINDTODEVICE = 0x19
)

// DefaultMaxSockets is the descriptor table size of NewNetdev(reg, 0).
const DefaultMaxSockets = 16

// Netdev is a BSD-socket facade shaped like TinyGo's netdev (Netdever):
// integer descriptors from a bounded table, Socket/Bind/Connect/Listen/
// Accept/Send/Recv/Close, and SetSockOpt(SOL_SOCKET, SO_BINDTODEVICE,
// "pp0") to put a socket on an interface, as MicroPython does on lwIP.
//
// It is safe for concurrent use. Following the netdev notes, no lock is
// held while an operation blocks: a Recv waiting for data does not stop a
// Send, a Close, or another socket; Close unblocks the socket's pending
// operations.
type Netdev struct {
	// Registry holds the interfaces; nil means netif.DefaultRegistry.
	Registry *netif.Registry
	// Interface is used by sockets without SO_BINDTODEVICE; empty means
	// Router (if set), else the registry's default interface.
	Interface string
	// Router, if set and Interface is empty, picks the interface per
	// destination for sockets without SO_BINDTODEVICE.
	Router *Router
	// ConnectTimeout bounds Connect (which has no deadline argument); 0
	// means 30 s.
	ConnectTimeout time.Duration

	mu    sync.Mutex
	socks []*socket // index = descriptor; nil = free
}

// NewNetdev returns a Netdev with maxSockets descriptors (0:
// DefaultMaxSockets).
func NewNetdev(reg *netif.Registry, maxSockets int) *Netdev {
	if maxSockets <= 0 {
		maxSockets = DefaultMaxSockets
	}
	return &Netdev{Registry: reg, socks: make([]*socket, maxSockets)}
}

type socket struct {
	mu        sync.Mutex
	domain    int
	typ       int
	ifname    string // SO_BINDTODEVICE
	keepAlive bool
	laddr     netip.AddrPort
	conn      net.Conn
	ln        net.Listener
	pc        net.PacketConn
	cancel    context.CancelFunc // of a Connect in progress
	closed    bool
}

func sockErr(call string, errno syscall.Errno) error { return os.NewSyscallError(call, errno) }

func (d *Netdev) registry() *netif.Registry {
	if d.Registry == nil {
		return netif.DefaultRegistry
	}
	return d.Registry
}

// Socket creates a socket: domain AF_INET or AF_INET6, type SOCK_STREAM
// (protocol 0 or IPPROTO_TCP) or SOCK_DGRAM (0 or IPPROTO_UDP). It returns
// the lowest free descriptor, or EMFILE when the table is full.
func (d *Netdev) Socket(domain int, stype int, protocol int) (int, error) {
	if domain != AF_INET && domain != AF_INET6 {
		return -1, sockErr("socket", syscall.EAFNOSUPPORT)
	}
	switch {
	case stype == SOCK_STREAM && (protocol == 0 || protocol == IPPROTO_TCP):
	case stype == SOCK_DGRAM && (protocol == 0 || protocol == IPPROTO_UDP):
	default:
		return -1, sockErr("socket", syscall.EPROTONOSUPPORT)
	}
	return d.alloc(&socket{domain: domain, typ: stype})
}

func (d *Netdev) alloc(s *socket) (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.socks == nil {
		d.socks = make([]*socket, DefaultMaxSockets)
	}
	for fd, x := range d.socks {
		if x == nil {
			d.socks[fd] = s
			return fd, nil
		}
	}
	return -1, sockErr("socket", syscall.EMFILE)
}

func (d *Netdev) get(fd int) (*socket, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if fd < 0 || fd >= len(d.socks) || d.socks[fd] == nil {
		return nil, sockErr("socket", syscall.EBADF)
	}
	return d.socks[fd], nil
}

// network returns "tcp4", "udp6", ... for s.
func (s *socket) network() string {
	n := "tcp"
	if s.typ == SOCK_DGRAM {
		n = "udp"
	}
	if s.domain == AF_INET6 {
		return n + "6"
	}
	return n + "4"
}

// iface picks the interface for s towards dst.
func (d *Netdev) iface(ctx context.Context, ifname string, dst netip.Addr) (string, error) {
	if ifname != "" {
		return ifname, nil
	}
	if d.Interface != "" {
		return d.Interface, nil
	}
	if d.Router != nil {
		n, err := d.Router.Pick(ctx, dst)
		if err != nil {
			return "", err
		}
		return n.Name(), nil
	}
	if n := d.registry().Default(); n != nil {
		return n.Name(), nil
	}
	return "", fmt.Errorf("%w: no default interface: %w", ErrNoRoute, syscall.ENETUNREACH)
}

// SetSockOpt sets an option. SOL_SOCKET/SO_BINDTODEVICE takes the
// interface name (string or []byte; "" unbinds) and fails with ENODEV for
// an unknown interface; SO_KEEPALIVE takes a bool or int. Others:
// ENOPROTOOPT.
func (d *Netdev) SetSockOpt(sockfd int, level int, opt int, value any) error {
	s, err := d.get(sockfd)
	if err != nil {
		return err
	}
	if level != SOL_SOCKET {
		return sockErr("setsockopt", syscall.ENOPROTOOPT)
	}
	switch opt {
	case SO_BINDTODEVICE:
		var name string
		switch v := value.(type) {
		case string:
			name = v
		case []byte:
			name = string(v)
		default:
			return sockErr("setsockopt", syscall.EINVAL)
		}
		name = strings.TrimRight(name, "\x00")
		if name != "" {
			if _, err := d.registry().Lookup(name); err != nil {
				return fmt.Errorf("setsockopt SO_BINDTODEVICE %q: %w", name, err)
			}
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.conn != nil || s.ln != nil || s.pc != nil {
			// The socket already lives on an interface.
			return sockErr("setsockopt", syscall.EISCONN)
		}
		s.ifname = name
		return nil
	case SO_KEEPALIVE:
		var on bool
		switch v := value.(type) {
		case bool:
			on = v
		case int:
			on = v != 0
		default:
			return sockErr("setsockopt", syscall.EINVAL)
		}
		s.mu.Lock()
		s.keepAlive = on
		c := s.conn
		s.mu.Unlock()
		if ka, ok := c.(interface{ SetKeepAlive(bool) error }); ok {
			return ka.SetKeepAlive(on)
		}
		return nil
	}
	return sockErr("setsockopt", syscall.ENOPROTOOPT)
}

// Bind sets the local address. A UDP socket is opened at once (so that
// RecvFrom works); a TCP socket uses it on Connect or Listen.
func (d *Netdev) Bind(sockfd int, ip netip.AddrPort) error {
	s, err := d.get(sockfd)
	if err != nil {
		return err
	}
	s.mu.Lock()
	if s.conn != nil || s.ln != nil || s.pc != nil || s.laddr.IsValid() {
		s.mu.Unlock()
		return sockErr("bind", syscall.EINVAL)
	}
	s.laddr = ip
	typ, ifname, network := s.typ, s.ifname, s.network()
	s.mu.Unlock()
	if typ != SOCK_DGRAM {
		return nil
	}
	name, err := d.iface(context.Background(), ifname, netip.Addr{})
	if err != nil {
		return err
	}
	pc, err := (&ListenConfig{Interface: name, Registry: d.registry()}).ListenPacket(context.Background(), network, ip.String())
	if err != nil {
		s.mu.Lock()
		s.laddr = netip.AddrPort{}
		s.mu.Unlock()
		return err
	}
	return s.install(func() { s.pc = pc }, pc)
}

// install stores a new connection/listener unless s was closed meanwhile.
func (s *socket) install(set func(), c interface{ Close() error }) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		_ = c.Close()
		return sockErr("socket", syscall.EBADF)
	}
	set()
	return nil
}

// Connect connects the socket to ip, or to host resolved through the
// socket's interface when host is not empty (ip's port is used). It blocks
// without holding any lock; Close aborts it.
func (d *Netdev) Connect(sockfd int, host string, ip netip.AddrPort) error {
	s, err := d.get(sockfd)
	if err != nil {
		return err
	}
	timeout := d.ConnectTimeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	s.mu.Lock()
	if s.conn != nil || s.ln != nil || s.cancel != nil {
		s.mu.Unlock()
		return sockErr("connect", syscall.EISCONN)
	}
	s.cancel = cancel
	ifname, network, laddr, pc, keepAlive := s.ifname, s.network(), s.laddr, s.pc, s.keepAlive
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.cancel = nil
		s.mu.Unlock()
	}()

	name, err := d.iface(ctx, ifname, ip.Addr())
	if err != nil {
		return err
	}
	addr := ip.String()
	if host != "" {
		addr = net.JoinHostPort(host, fmt.Sprint(ip.Port()))
	}
	if pc != nil {
		// A bound UDP socket becomes a connected one on the same port.
		if ap, ok := addrPortOf(pc.LocalAddr()); ok {
			laddr = ap
		}
		_ = pc.Close()
	}
	dl := &Dialer{Interface: name, Registry: d.registry(), LocalAddr: laddr}
	c, err := dl.DialContext(ctx, network, addr)
	if err != nil {
		return err
	}
	if ka, ok := c.(interface{ SetKeepAlive(bool) error }); ok && keepAlive {
		_ = ka.SetKeepAlive(true)
	}
	return s.install(func() { s.conn, s.pc = c, nil }, c)
}

// Listen makes a TCP socket listen on its bound address (any address, an
// ephemeral port if unbound). backlog is accepted for compatibility.
func (d *Netdev) Listen(sockfd int, backlog int) error {
	s, err := d.get(sockfd)
	if err != nil {
		return err
	}
	s.mu.Lock()
	if s.typ != SOCK_STREAM {
		s.mu.Unlock()
		return sockErr("listen", syscall.EOPNOTSUPP)
	}
	if s.conn != nil || s.ln != nil {
		s.mu.Unlock()
		return sockErr("listen", syscall.EISCONN)
	}
	ifname, network, laddr := s.ifname, s.network(), s.laddr
	s.mu.Unlock()
	if !laddr.IsValid() {
		laddr = netip.AddrPortFrom(netip.IPv4Unspecified(), 0)
		if network == "tcp6" {
			laddr = netip.AddrPortFrom(netip.IPv6Unspecified(), 0)
		}
	}
	name, err := d.iface(context.Background(), ifname, netip.Addr{})
	if err != nil {
		return err
	}
	ln, err := (&ListenConfig{Interface: name, Registry: d.registry()}).Listen(context.Background(), network, laddr.String())
	if err != nil {
		return err
	}
	return s.install(func() { s.ln = ln }, ln)
}

// Accept waits for a connection on a listening socket and returns its new
// descriptor and the peer's address. If the table is full the connection
// is closed and EMFILE returned.
func (d *Netdev) Accept(sockfd int) (int, netip.AddrPort, error) {
	s, err := d.get(sockfd)
	if err != nil {
		return -1, netip.AddrPort{}, err
	}
	s.mu.Lock()
	ln, domain := s.ln, s.domain
	s.mu.Unlock()
	if ln == nil {
		return -1, netip.AddrPort{}, sockErr("accept", syscall.EINVAL)
	}
	c, err := ln.Accept()
	if err != nil {
		return -1, netip.AddrPort{}, err
	}
	peer, _ := addrPortOf(c.RemoteAddr())
	fd, err := d.alloc(&socket{domain: domain, typ: SOCK_STREAM, conn: c})
	if err != nil {
		_ = c.Close()
		return -1, netip.AddrPort{}, err
	}
	return fd, peer, nil
}

// Send writes buf on a connected socket; a non-zero deadline bounds it.
// flags are accepted for compatibility and ignored.
func (d *Netdev) Send(sockfd int, buf []byte, flags int, deadline time.Time) (int, error) {
	s, err := d.get(sockfd)
	if err != nil {
		return 0, err
	}
	s.mu.Lock()
	c := s.conn
	s.mu.Unlock()
	if c == nil {
		return 0, sockErr("send", syscall.ENOTCONN)
	}
	_ = c.SetWriteDeadline(deadline)
	return c.Write(buf)
}

// SendTo sends a datagram to a UDP socket's destination to; an unbound
// socket is bound to an ephemeral port on the interface chosen for to.
func (d *Netdev) SendTo(sockfd int, buf []byte, flags int, to netip.AddrPort, deadline time.Time) (int, error) {
	s, err := d.get(sockfd)
	if err != nil {
		return 0, err
	}
	s.mu.Lock()
	typ, c, pc, ifname, network := s.typ, s.conn, s.pc, s.ifname, s.network()
	s.mu.Unlock()
	if typ != SOCK_DGRAM {
		if c == nil {
			return 0, sockErr("sendto", syscall.ENOTCONN)
		}
		_ = c.SetWriteDeadline(deadline)
		return c.Write(buf)
	}
	if c != nil {
		return 0, sockErr("sendto", syscall.EISCONN)
	}
	if pc == nil {
		name, err := d.iface(context.Background(), ifname, to.Addr())
		if err != nil {
			return 0, err
		}
		laddr := "0.0.0.0:0"
		if network == "udp6" {
			laddr = "[::]:0"
		}
		npc, err := (&ListenConfig{Interface: name, Registry: d.registry()}).ListenPacket(context.Background(), network, laddr)
		if err != nil {
			return 0, err
		}
		s.mu.Lock()
		switch {
		case s.closed:
			s.mu.Unlock()
			_ = npc.Close()
			return 0, sockErr("sendto", syscall.EBADF)
		case s.pc != nil: // a concurrent SendTo won
			_ = npc.Close()
		default:
			s.pc = npc
		}
		pc = s.pc
		s.mu.Unlock()
	}
	_ = pc.SetWriteDeadline(deadline)
	return pc.WriteTo(buf, udpAddr(to))
}

// Recv reads from a socket; a non-zero deadline bounds the wait. It
// returns 0, io.EOF when a TCP peer has closed.
func (d *Netdev) Recv(sockfd int, buf []byte, flags int, deadline time.Time) (int, error) {
	k, _, err := d.RecvFrom(sockfd, buf, flags, deadline)
	return k, err
}

// RecvFrom reads from a socket and reports the sender.
func (d *Netdev) RecvFrom(sockfd int, buf []byte, flags int, deadline time.Time) (int, netip.AddrPort, error) {
	s, err := d.get(sockfd)
	if err != nil {
		return 0, netip.AddrPort{}, err
	}
	s.mu.Lock()
	c, pc := s.conn, s.pc
	s.mu.Unlock()
	switch {
	case c != nil:
		_ = c.SetReadDeadline(deadline)
		k, err := c.Read(buf)
		from, _ := addrPortOf(c.RemoteAddr())
		return k, from, err
	case pc != nil:
		_ = pc.SetReadDeadline(deadline)
		k, a, err := pc.ReadFrom(buf)
		from, _ := addrPortOf(a)
		return k, from, err
	}
	return 0, netip.AddrPort{}, sockErr("recv", syscall.ENOTCONN)
}

// Close frees the descriptor at once and closes the socket, which makes
// its blocked operations (Recv, Accept, Connect) return.
func (d *Netdev) Close(sockfd int) error {
	d.mu.Lock()
	if sockfd < 0 || sockfd >= len(d.socks) || d.socks[sockfd] == nil {
		d.mu.Unlock()
		return sockErr("close", syscall.EBADF)
	}
	s := d.socks[sockfd]
	d.socks[sockfd] = nil
	d.mu.Unlock()

	s.mu.Lock()
	s.closed = true
	c, ln, pc, cancel := s.conn, s.ln, s.pc, s.cancel
	s.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	var errs []error
	for _, x := range []interface{ Close() error }{c, ln, pc} {
		if x != nil {
			errs = append(errs, x.Close())
		}
	}
	return errors.Join(errs...)
}

// GetHostByName resolves name through the default interface's DNS servers
// (IPv4 preferred).
func (d *Netdev) GetHostByName(name string) (netip.Addr, error) {
	ifname, err := d.iface(context.Background(), "", netip.Addr{})
	if err != nil {
		return netip.Addr{}, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	r := &Resolver{Interface: ifname, Registry: d.registry()}
	addrs, err := r.LookupNetIP(ctx, "ip", name)
	if err != nil {
		return netip.Addr{}, err
	}
	for _, a := range addrs {
		if a.Is4() {
			return a, nil
		}
	}
	return addrs[0], nil
}

// Addr returns the default interface's IPv4 address (its IPv6 link-local
// one if it has no IPv4).
func (d *Netdev) Addr() (netip.Addr, error) {
	ifname, err := d.iface(context.Background(), "", netip.Addr{})
	if err != nil {
		return netip.Addr{}, err
	}
	n, err := lookup(d.Registry, ifname)
	if err != nil {
		return netip.Addr{}, err
	}
	cfg := n.Config()
	if cfg.Local.IsValid() {
		return cfg.Local, nil
	}
	if cfg.LocalV6.IsValid() {
		return cfg.LocalV6, nil
	}
	return netip.Addr{}, sockErr("getsockname", syscall.EADDRNOTAVAIL)
}
