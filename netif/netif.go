package netif

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
)

// Device is the link under a pp<N> interface: it carries raw IPv4 and IPv6
// packets. ppp.Conn satisfies it.
type Device interface {
	// WritePacket sends one IPv4 or IPv6 packet. It must not retain pkt
	// after it returns (the caller reuses the buffer).
	WritePacket(pkt []byte) error
	// SetPacketHandler installs the function called for every inbound IP
	// packet; pkt is valid only during the call. A nil handler drops
	// inbound packets.
	SetPacketHandler(h func(pkt []byte))
}

// Kind tells what backs a Netif.
type Kind int

const (
	// KindPPP is a pp<N> interface with a userspace netstack on a Device.
	KindPPP Kind = iota
	// KindHost is an interface of the host kernel (wlan0, eth0); sockets on
	// it are kernel sockets bound with SO_BINDTODEVICE.
	KindHost
)

// String returns "ppp" or "host".
func (k Kind) String() string {
	switch k {
	case KindPPP:
		return "ppp"
	case KindHost:
		return "host"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Flags are the interface flags, modelled on lwIP's NETIF_FLAG_*.
type Flags uint32

const (
	// FlagUp means the interface is administratively up and has addresses
	// (lwIP NETIF_FLAG_UP; Linux IFF_UP).
	FlagUp Flags = 1 << iota
	// FlagLinkUp means the link under the interface is up
	// (lwIP NETIF_FLAG_LINK_UP; Linux IFF_RUNNING).
	FlagLinkUp
	// FlagPointToPoint means the interface has a single peer and no
	// neighbour resolution (Linux IFF_POINTOPOINT).
	FlagPointToPoint
	// FlagLoopback marks a host loopback interface.
	FlagLoopback
)

// String lists the set flags, e.g. "up|link-up|point-to-point".
func (f Flags) String() string {
	var parts []string
	for _, x := range []struct {
		f Flags
		s string
	}{{FlagUp, "up"}, {FlagLinkUp, "link-up"}, {FlagPointToPoint, "point-to-point"}, {FlagLoopback, "loopback"}} {
		if f&x.f != 0 {
			parts = append(parts, x.s)
		}
	}
	if len(parts) == 0 {
		return "0"
	}
	return strings.Join(parts, "|")
}

// DefaultMTU is the MTU used when a Config leaves it zero (the PPP default
// MRU, RFC 1661 section 6.1).
const DefaultMTU = 1500

// Config is what the PPP network control protocols negotiated: the session
// layer passes it to SetUp.
type Config struct {
	// Local and Peer are the IPv4 addresses from IPCP. Local may be zero
	// when only IPv6 was negotiated.
	Local, Peer netip.Addr
	// LocalV6 and PeerV6 are the IPv6 link-local addresses built from the
	// interface identifiers IPV6CP negotiated (fe80::/64).
	LocalV6, PeerV6 netip.Addr
	// ExtraV6 are further IPv6 addresses. Netif.Config adds the global
	// ones the interface formed from Router Advertisements (SLAAC).
	ExtraV6 []netip.Prefix
	// DNS are the name servers IPCP handed out (RFC 1877). Netif.Config
	// adds, after them, those Router Advertisements announced (RDNSS).
	DNS []netip.Addr
	// MTU of the link; 0 means DefaultMTU.
	MTU int
}

// sameAddrs reports whether c and o configure the same addresses, so that
// a reconfiguration can keep the sockets open.
func (c Config) sameAddrs(o Config) bool {
	return c.Local == o.Local && c.Peer == o.Peer && c.LocalV6 == o.LocalV6 &&
		c.PeerV6 == o.PeerV6 && slices.Equal(c.ExtraV6, o.ExtraV6)
}

// addrs lists the addresses c puts on the interface, with their prefix
// lengths: the IPv4 address as a /32, the link-local and extra IPv6 ones.
func (c Config) addrs() []netip.Prefix {
	var out []netip.Prefix
	if c.Local.IsValid() {
		out = append(out, netip.PrefixFrom(c.Local, 32))
	}
	if c.LocalV6.IsValid() {
		out = append(out, netip.PrefixFrom(c.LocalV6, 64))
	}
	return append(out, c.ExtraV6...)
}

func (c Config) clone() Config {
	c.DNS = slices.Clone(c.DNS)
	c.ExtraV6 = slices.Clone(c.ExtraV6)
	return c
}

func (c Config) validate() error {
	if !c.Local.IsValid() && !c.LocalV6.IsValid() && len(c.ExtraV6) == 0 {
		return fmt.Errorf("%w: no local address", ErrInvalidConfig)
	}
	if c.Local.IsValid() && !c.Local.Is4() {
		return fmt.Errorf("%w: local address %v is not IPv4", ErrInvalidConfig, c.Local)
	}
	if c.Peer.IsValid() && !c.Peer.Is4() {
		return fmt.Errorf("%w: peer address %v is not IPv4", ErrInvalidConfig, c.Peer)
	}
	if c.LocalV6.IsValid() && (!c.LocalV6.Is6() || c.LocalV6.Is4In6()) {
		return fmt.Errorf("%w: local address %v is not IPv6", ErrInvalidConfig, c.LocalV6)
	}
	for _, p := range c.ExtraV6 {
		if !p.IsValid() || !p.Addr().Is6() {
			return fmt.Errorf("%w: extra address %v is not IPv6", ErrInvalidConfig, p)
		}
	}
	if c.MTU != 0 && (c.MTU < 68 || c.MTU > 65535) {
		return fmt.Errorf("%w: MTU %d out of range", ErrInvalidConfig, c.MTU)
	}
	return nil
}

// Counters are the interface's packet statistics. For host interfaces they
// come from the kernel (/sys/class/net/<name>/statistics).
type Counters struct {
	PacketsIn, BytesIn   uint64
	PacketsOut, BytesOut uint64
	// DropsIn counts inbound packets discarded while the interface was down
	// or not attached; DropsOut outbound packets discarded while down.
	DropsIn, DropsOut uint64
	// ErrorsIn counts malformed inbound packets (neither IPv4 nor IPv6);
	// ErrorsOut counts packets the Device failed to send.
	ErrorsIn, ErrorsOut uint64
}

type counters struct {
	packetsIn, bytesIn   atomic.Uint64
	packetsOut, bytesOut atomic.Uint64
	dropsIn, dropsOut    atomic.Uint64
	errorsIn, errorsOut  atomic.Uint64
}

func (c *counters) snapshot() Counters {
	return Counters{
		PacketsIn: c.packetsIn.Load(), BytesIn: c.bytesIn.Load(),
		PacketsOut: c.packetsOut.Load(), BytesOut: c.bytesOut.Load(),
		DropsIn: c.dropsIn.Load(), DropsOut: c.dropsOut.Load(),
		ErrorsIn: c.errorsIn.Load(), ErrorsOut: c.errorsOut.Load(),
	}
}

// Status is a consistent snapshot of a Netif.
type Status struct {
	Name     string
	Index    int
	Kind     Kind
	Flags    Flags
	MTU      int
	Config   Config // addresses and DNS (for host interfaces: Local/LocalV6 from the kernel, DNS as registered)
	Counters Counters
	// Reason is why the interface went down last (nil while up or never up).
	Reason error
}

// Netif is a network interface: a pp<N> interface with a userspace stack,
// or a host interface looked up in the kernel. All methods are safe for
// concurrent use.
type Netif struct {
	name  string
	index int // registry index, 0 when not registered
	kind  Kind
	reg   *Registry
	log   *slog.Logger

	// pp<N> only.
	dev   Device
	st    *stack.Stack
	ep    *linkEndpoint
	nicID tcpip.NICID
	up    atomic.Bool // data-path gate, mirrors FlagUp
	ctr   counters

	// mu serializes SetUp/SetDown/remove and guards the fields below.
	mu      sync.Mutex
	flags   Flags
	cfg     Config   // as SetUp gave it
	ac      autoconf // learnt from Router Advertisements
	reason  error
	removed bool

	// host only.
	kernelIndex int
	hostDNS     []netip.Addr
}

// Name returns the interface name ("pp0", "wlan0"); it is what
// MicroPython's config('ifname') answers and what SO_BINDTODEVICE takes.
func (n *Netif) Name() string { return n.name }

// Index returns the registry index: unique among registered interfaces,
// 0 for an interface that is not registered.
func (n *Netif) Index() int { return n.index }

// Kind tells whether the interface is a pp<N> interface or a host one.
func (n *Netif) Kind() Kind { return n.kind }

// KernelIndex returns the host kernel's ifindex for a host interface, 0
// for a pp<N> interface.
func (n *Netif) KernelIndex() int { return n.kernelIndex }

// Stack returns the gVisor stack of a pp<N> interface (nil for a host
// interface). Package bind opens its sockets there.
func (n *Netif) Stack() *stack.Stack { return n.st }

// NICID returns the NIC of this interface inside Stack.
func (n *Netif) NICID() tcpip.NICID { return n.nicID }

// Flags returns the current flags. For a host interface they are read from
// the kernel on every call, so they follow `ip link set ... down` at once.
func (n *Netif) Flags() Flags {
	if n.kind == KindHost {
		f, _ := n.hostFlags()
		return f
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.flags
}

// IsUp reports whether the interface can carry traffic: up and link up.
func (n *Netif) IsUp() bool {
	f := n.Flags()
	return f&FlagUp != 0 && f&FlagLinkUp != 0
}

// CheckUp returns nil when the interface is up, or an error matching
// syscall.ENETDOWN (and the down reason, if any) when it is not. A removed
// interface answers ENODEV.
func (n *Netif) CheckUp() error {
	if n.kind == KindHost {
		f, err := n.hostFlags()
		if err != nil {
			return err
		}
		if f&FlagUp == 0 || f&FlagLinkUp == 0 {
			return &Error{Name: n.name, Err: syscall.ENETDOWN}
		}
		return nil
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.removed {
		return &Error{Name: n.name, Err: syscall.ENODEV}
	}
	if n.flags&FlagUp == 0 {
		return &Error{Name: n.name, Err: syscall.ENETDOWN, Reason: n.reason}
	}
	return nil
}

// MTU returns the link MTU.
func (n *Netif) MTU() int {
	if n.kind == KindHost {
		if ifi, err := net.InterfaceByName(n.name); err == nil {
			return ifi.MTU
		}
		return 0
	}
	return int(n.ep.MTU())
}

// Config returns the addresses and DNS servers in use (the zero Config
// while a pp<N> interface is down). For a host interface, Local and
// LocalV6 are the kernel's first IPv4 and IPv6 addresses and DNS is what
// was given to AddHost.
func (n *Netif) Config() Config {
	if n.kind == KindHost {
		return n.hostConfig()
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.configLocked()
}

// configLocked is the configuration in force: SetUp's, plus what was learnt
// from Router Advertisements (addresses in ExtraV6, servers after IPCP's in DNS).
func (n *Netif) configLocked() Config {
	c := n.cfg.clone()
	for _, a := range n.ac.addrs {
		c.ExtraV6 = append(c.ExtraV6, a.addr)
	}
	for _, d := range n.ac.dns {
		if !slices.Contains(c.DNS, d.addr) {
			c.DNS = append(c.DNS, d.addr)
		}
	}
	return c
}

// DNS returns the interface's name servers.
func (n *Netif) DNS() []netip.Addr { return n.Config().DNS }

// Counters returns the packet statistics.
func (n *Netif) Counters() Counters {
	if n.kind == KindHost {
		return n.hostCounters()
	}
	return n.ctr.snapshot()
}

// Reason returns why the interface went down last, nil while it is up.
func (n *Netif) Reason() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.reason
}

// Status returns a snapshot of everything above.
func (n *Netif) Status() Status {
	s := Status{Name: n.name, Index: n.index, Kind: n.kind, MTU: n.MTU(), Counters: n.Counters()}
	if n.kind == KindHost {
		s.Flags = n.Flags()
		s.Config = n.hostConfig()
		return s
	}
	n.mu.Lock()
	s.Flags, s.Config, s.Reason = n.flags, n.configLocked(), n.reason
	n.mu.Unlock()
	return s
}

// String returns the name ("<nil>" for a nil *Netif).
func (n *Netif) String() string {
	if n == nil {
		return "<nil>"
	}
	return n.name
}

// Sentinel errors. Lookups of unknown interfaces and use of down ones
// return *Error values that match syscall.ENODEV / syscall.ENETDOWN.
var (
	// ErrInvalidConfig is returned by SetUp for an unusable Config.
	ErrInvalidConfig = errors.New("netif: invalid config")
	// ErrLinkDown is the default down reason when SetDown gets nil.
	ErrLinkDown = errors.New("netif: link down")
	// ErrRemoved is the down reason of an interface removed from its registry.
	ErrRemoved = errors.New("netif: interface removed")
	// ErrReconfigured is the down reason given to sockets aborted because
	// SetUp changed the addresses of an interface that was already up.
	ErrReconfigured = errors.New("netif: addresses changed")
	// ErrHostInterface is returned by SetUp/SetDown on a host interface,
	// whose state belongs to the kernel.
	ErrHostInterface = errors.New("netif: host interface state is managed by the kernel")
	// ErrFull is returned when the registry has no free index or name.
	ErrFull = errors.New("netif: registry full")
	// ErrExists is returned when a host interface is registered twice.
	ErrExists = errors.New("netif: interface already registered")
)

// Error is an interface error: Err is a syscall.Errno (ENODEV for an
// unknown or removed interface, ENETDOWN for one that is down) and Reason,
// when set, is why the interface went down. errors.Is matches both.
type Error struct {
	Name   string
	Err    error
	Reason error
}

// Error formats as "netif pp0: network is down: <reason>".
func (e *Error) Error() string {
	s := "netif " + e.Name + ": " + e.Err.Error()
	if e.Reason != nil {
		s += ": " + e.Reason.Error()
	}
	return s
}

// Unwrap returns the errno and the reason, for errors.Is and errors.As.
func (e *Error) Unwrap() []error {
	if e.Reason != nil {
		return []error{e.Err, e.Reason}
	}
	return []error{e.Err}
}
