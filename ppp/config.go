package ppp

import (
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"time"

	"github.com/pppdial/pppdial/lcp"
	"github.com/pppdial/pppdial/ppp/fsm"
)

// Role says which end of the link we are.
type Role int

// The roles.
const (
	// Client asks to be assigned an address and DNS servers (a gateway dialing a modem).
	Client Role = iota
	// Server assigns them (the modem simulator, a test peer).
	Server
)

// String returns "client" or "server".
func (r Role) String() string {
	if r == Server {
		return "server"
	}
	return "client"
}

// AuthProto names an authentication protocol.
type AuthProto = lcp.AuthProto

// The authentication protocols a Config may require.
const (
	AuthNone = lcp.AuthNone // no authentication
	AuthPAP  = lcp.AuthPAP  // PAP (RFC 1334): password in clear
	AuthCHAP = lcp.AuthCHAP // CHAP with MD5 (RFC 1994)
)

// Direction tells whether a traced frame was received or sent. The values match the
// direction byte of pcap's LINKTYPE_PPP_WITH_DIR (0 received, 1 sent).
type Direction uint8

// The directions.
const (
	Received Direction = 0
	Sent     Direction = 1
)

// String returns "rcvd" or "sent", as pppd logs them.
func (d Direction) String() string {
	if d == Sent {
		return "sent"
	}
	return "rcvd"
}

// TraceFunc is called for every frame that passes through a Conn, in both directions, with the
// frame's protocol and information field (after HDLC decoding, before HDLC encoding). info is
// valid only during the call. It is called from the Conn's goroutines (and from WritePacket's
// caller), possibly concurrently and with the transmit lock held, so it must be safe for
// concurrent use, quick, and must not call the Conn; a pcap writer's
// WriteFrame fits: Trace: func(t time.Time, d ppp.Direction, p uint16, b []byte) {
// w.WriteFrame(t, pcap.Direction(d), p, b) }.
type TraceFunc func(t time.Time, dir Direction, protocol uint16, info []byte)

// Config configures a Link or a Conn. The zero value is a client that asks for an address and
// DNS servers, authenticates itself with PAP or CHAP if asked (with empty credentials), uses
// the RFC's timers and has no keepalive.
type Config struct {
	Role Role

	// Username and Password: a client's credentials; for a side that requires
	// authentication, the one account it accepts. The password is never logged.
	Username, Password string
	// Name is the name we send in CHAP challenges; default "pppdial".
	Name string
	// RequireAuth makes us demand that the peer authenticate itself (either role).
	RequireAuth AuthProto
	// RefusePAP and RefuseCHAP stop a client from authenticating with that protocol when the
	// peer asks for it (PAP sends the password in clear).
	RefusePAP, RefuseCHAP bool

	// LocalAddr: a client's wanted address (zero: be assigned one); a server's own address.
	// PeerAddr: the address a server assigns to its peer.
	LocalAddr, PeerAddr netip.Addr
	// DNS: the DNS servers a server hands out (at most two are used).
	DNS []netip.Addr
	// NoPeerDNS stops a client from asking for DNS servers.
	NoPeerDNS bool
	// IPv6 runs IPV6CP beside IPCP; without it IPV6CP is Protocol-Rejected.
	IPv6 bool

	// MRU is what we ask the peer to send at most (LCP's MRU option, asked for when not
	// 1500) and the link's MTU at most (Status.MTU, also bounded by the peer's MRU): an APN
	// that carries less than 1500 bytes sets it, and TCP's MSS follows. Default 1500. Frames up
	// to 1500 are accepted whatever it is (RFC 1661 6.1).
	MRU int
	// ACCM is the async control character map we ask the peer to use; default 0 (no escaping
	// of control characters). Set bits for characters the line eats (e.g. 0x000a0000 for
	// XON/XOFF).
	ACCM uint32
	// NoPFC and NoACFC turn off protocol-field and address-and-control-field compression.
	NoPFC, NoACFC bool

	// EchoInterval is the keepalive interval (LCP Echo-Request); 0 turns keepalive off.
	EchoInterval time.Duration
	// EchoFailures is how many unanswered Echo-Requests mean the peer is gone
	// (ErrPeerNotResponding); default 3.
	EchoFailures int
	// EchoAdaptive skips an Echo-Request when frames arrived since the last one (pppd's
	// lcp-echo-adaptive): no keepalive traffic on a busy link.
	EchoAdaptive bool

	// Restart, MaxTerminate, MaxConfigure and MaxFailure are the automaton's timer and
	// counters (RFC 1661 4.6); zero takes the defaults 3 s, 2, 10, 5. Restart and MaxConfigure
	// also pace PAP and CHAP retransmissions.
	Restart                                time.Duration
	MaxTerminate, MaxConfigure, MaxFailure int
	// FirstRestart is LCP's first restart interval while the peer has not been heard from:
	// a peer whose PPP starts a moment after the modem's CONNECT misses our first
	// Configure-Request, and waiting a full Restart for it would cost seconds of every dial.
	// It doubles on each timeout up to Restart (RFC 1661 4.6); the peer's first packet brings
	// a retransmission still due forward to FirstRestart from then, and after it the timer
	// runs at Restart. Default 250 ms; negative: Restart throughout. The network
	// protocols always use Restart (their peer listens as soon as LCP is open).
	FirstRestart time.Duration
	// AuthTimeout bounds the Authenticate phase; default 30 s.
	AuthTimeout time.Duration
	// ChapInterval makes a side that requires CHAP challenge the peer again at this interval
	// during the session; 0: never.
	ChapInterval time.Duration

	// CloseTimeout bounds Conn.Close (and teardown after the Start context ends); default
	// MaxTerminate*Restart + 1 s.
	CloseTimeout time.Duration
	// WriteTimeout bounds how long Conn.WritePacket waits for room in the transmit queue when
	// the writer is stuck; default 1 s. After it the packet is dropped (ErrTxBusy).
	WriteTimeout time.Duration

	// Rand is the source of magic numbers, CHAP challenges and IPv6 interface identifiers;
	// default crypto/rand.
	Rand io.Reader
	// Logger receives debug logs of every control packet (decoded as pppd does) and info logs
	// of phase changes; nil: no logs.
	Logger *slog.Logger
	// Trace, when set, sees every frame in both directions (Conn only).
	Trace TraceFunc
	// OnEvent, when set, observes a Conn's events: phase changes, EventUp, EventIPv6Up,
	// EventIPv6Down, EventNetworkDown and, last, EventDown (a Link reports its events to its
	// Sink instead). They come in order, on a goroutine of their own: a slow observer never
	// stalls the link, and one that falls 1024 events behind loses the newest ones, the next
	// event it gets saying how many in Event.Missed. EventDown has been delivered (OnEvent has
	// returned from it) when Done is closed, unless OnEvent was still busy a second after the
	// link ended. OnEvent must not call Close or wait for Done.
	OnEvent func(Event)
}

// Defaults.
const (
	DefaultEchoFailures = 3
	DefaultAuthTimeout  = 30 * time.Second
	DefaultWriteTimeout = time.Second
	DefaultName         = "pppdial"
	// DefaultFirstRestart is Config.FirstRestart's default: about twice a round trip through a
	// modem at 115200 baud plus the peer's processing, and well under a second.
	DefaultFirstRestart = 250 * time.Millisecond
)

// withDefaults returns c with its zero fields filled in.
func (c Config) withDefaults() Config {
	if c.MRU <= 0 {
		c.MRU = lcp.DefaultMRU
	}
	if c.MRU < lcp.MinMRU {
		c.MRU = lcp.MinMRU
	}
	if c.MRU > 65535 {
		c.MRU = 65535
	}
	if c.EchoFailures <= 0 {
		c.EchoFailures = DefaultEchoFailures
	}
	if c.Restart <= 0 {
		c.Restart = fsm.DefaultRestart
	}
	if c.FirstRestart == 0 {
		c.FirstRestart = DefaultFirstRestart
	}
	if c.MaxTerminate <= 0 {
		c.MaxTerminate = fsm.DefaultMaxTerminate
	}
	if c.MaxConfigure <= 0 {
		c.MaxConfigure = fsm.DefaultMaxConfigure
	}
	if c.MaxFailure <= 0 {
		c.MaxFailure = fsm.DefaultMaxFailure
	}
	if c.AuthTimeout <= 0 {
		c.AuthTimeout = DefaultAuthTimeout
	}
	if c.CloseTimeout <= 0 {
		c.CloseTimeout = time.Duration(c.MaxTerminate)*c.Restart + time.Second
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = DefaultWriteTimeout
	}
	if c.Rand == nil {
		c.Rand = rand.Reader
	}
	if c.Name == "" {
		c.Name = DefaultName
	}
	return c
}

// Validate reports configuration errors that would make the link fail later in a confusing
// way.
// A link whose Config does not validate ends at once with the Validate error.
func (c Config) Validate() error {
	if c.Role == Server && !c.PeerAddr.Is4() {
		return fmt.Errorf("%w: a server needs an IPv4 PeerAddr to assign", ErrInvalidConfig)
	}
	if c.LocalAddr.IsValid() && !c.LocalAddr.Is4() {
		return fmt.Errorf("%w: LocalAddr %v is not IPv4", ErrInvalidConfig, c.LocalAddr)
	}
	if c.RequireAuth > AuthCHAP {
		return fmt.Errorf("%w: unknown RequireAuth %d", ErrInvalidConfig, c.RequireAuth)
	}
	return nil
}

func (c Config) fsmConfig(name string) fsm.Config {
	return fsm.Config{
		Name:         name,
		Restart:      c.Restart,
		MaxTerminate: c.MaxTerminate,
		MaxConfigure: c.MaxConfigure,
		MaxFailure:   c.MaxFailure,
		Logger:       c.Logger,
	}
}
