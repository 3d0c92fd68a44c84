package ppp

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/pppdial/pppdial/hdlc"
)

// Phase is a link phase (RFC 1661 section 3.2).
type Phase uint8

// The phases, in the order a link goes through them.
const (
	PhaseDead         Phase = iota // no link (before Open, after the end)
	PhaseEstablish                 // LCP negotiating
	PhaseAuthenticate              // PAP or CHAP running
	PhaseNetwork                   // network control protocols (IPCP, IPV6CP) running or open
	PhaseTerminate                 // LCP Terminate exchange under way
)

var phaseNames = [...]string{"Dead", "Establish", "Authenticate", "Network", "Terminate"}

// String returns the phase's name.
func (p Phase) String() string {
	if int(p) < len(phaseNames) {
		return phaseNames[p]
	}
	return fmt.Sprintf("Phase(%d)", p)
}

// EventKind says what an Event reports.
type EventKind uint8

// The event kinds.
const (
	// EventPhase: the link entered Event.Phase.
	EventPhase EventKind = iota
	// EventUp: IPCP opened; Event.Status holds the addresses, DNS servers and MTU.
	EventUp
	// EventIPv6Up: IPV6CP opened; Event.Status holds the link-local addresses.
	EventIPv6Up
	// EventNetworkDown: IPCP left the Opened state while the link goes on (renegotiation);
	// IPv4 packets are refused until the next EventUp.
	EventNetworkDown
	// EventDown: the link has ended; Event.Err says why. It is the last event.
	EventDown
	// EventIPv6Down: IPV6CP closed or gave up (the peer rejected it, terminated it, or never
	// answered) while IPCP goes on: the link carries IPv4 only. Event.Err says why.
	EventIPv6Down
	// EventEcho: the peer answered a keepalive Echo-Request; Event.RTT is the round trip.
	// One per answered echo, so an observer can keep a distribution (Stats.EchoRTT holds only
	// the last).
	EventEcho
)

var eventKindNames = [...]string{"phase", "up", "ipv6-up", "network-down", "down", "ipv6-down", "echo"}

// String returns the kind's name.
func (k EventKind) String() string {
	if int(k) < len(eventKindNames) {
		return eventKindNames[k]
	}
	return fmt.Sprintf("EventKind(%d)", k)
}

// Event is something observable that happened to the link.
type Event struct {
	Kind   EventKind
	Time   time.Time
	Phase  Phase  // the phase after the event
	Status Status // the status after the event
	Err    error  // EventDown: why the link ended
	// RTT is EventEcho's round trip: from the latest Echo-Request to its reply (an upper bound
	// when the reply answers an earlier request).
	RTT time.Duration
	// Missed is how many events were dropped just before this one because the observer
	// (Config.OnEvent) was too slow: its view has a gap here. Status is complete whatever it
	// missed.
	Missed uint64
}

// String renders the event for logs.
func (e Event) String() string {
	switch e.Kind {
	case EventUp:
		return fmt.Sprintf("up local=%v peer=%v dns=%v mtu=%d", e.Status.Local, e.Status.Peer, e.Status.DNS, e.Status.MTU)
	case EventIPv6Up:
		return fmt.Sprintf("ipv6-up local=%v peer=%v", e.Status.LocalV6, e.Status.PeerV6)
	case EventDown, EventIPv6Down:
		return fmt.Sprintf("%v: %v", e.Kind, e.Err)
	}
	return fmt.Sprintf("%v %v", e.Kind, e.Phase)
}

// Status is the link's state as the rest of the system needs it.
type Status struct {
	Phase Phase
	// IPv4 and IPv6 report whether IPCP and IPV6CP are open (packets of that family flow).
	IPv4, IPv6 bool
	Local      netip.Addr   // our IPv4 address
	Peer       netip.Addr   // the peer's IPv4 address; invalid if the peer never said (slirp)
	DNS        []netip.Addr // DNS servers learnt (client) or handed out (server)
	// MTU is the link's MTU in both directions: the smallest of the peer's MRU (the most we
	// may send), the MRU we negotiated and Config.MRU (the most we asked to receive).
	MTU     int
	LocalV6 netip.Addr // our IPv6 link-local address
	PeerV6  netip.Addr // the peer's IPv6 link-local address
	// Authenticated reports the authentication protocol the peer passed (server side) and
	// AuthenticatedAs the name it used.
	Authenticated   AuthProto
	AuthenticatedAs string
}

// Counters count frames and information-field bytes of one protocol.
type Counters struct {
	FramesIn, FramesOut uint64
	BytesIn, BytesOut   uint64
}

func (c *Counters) in(n int)  { c.FramesIn++; c.BytesIn += uint64(n) }
func (c *Counters) out(n int) { c.FramesOut++; c.BytesOut += uint64(n) }

// Add returns the sum of c and o.
func (c Counters) Add(o Counters) Counters {
	return Counters{c.FramesIn + o.FramesIn, c.FramesOut + o.FramesOut, c.BytesIn + o.BytesIn, c.BytesOut + o.BytesOut}
}

// Stats holds the link's counters.
type Stats struct {
	// Per protocol, information fields only (no framing).
	LCP, PAP, CHAP, IPCP, IPV6CP, IPv4, IPv6 Counters
	// Other counts frames of protocols we do not run (each answered by a Protocol-Reject).
	Other Counters
	// ProtocolRejects counts Protocol-Rejects sent.
	ProtocolRejects uint64
	// Discarded counts frames dropped by the link: malformed, or not acceptable in the
	// current phase (e.g. IP before IPCP opened).
	Discarded uint64
	// EchoRequests counts keepalive Echo-Requests sent; EchoReplies the replies received.
	EchoRequests, EchoReplies uint64
	// EchoRTT is the round-trip time of the last answered keepalive echo (0 before the first).
	EchoRTT time.Duration
	// TxDropped counts outgoing IP packets dropped by Conn (transmit queue full);
	// RxDropped incoming IP packets dropped (no packet handler set).
	TxDropped, RxDropped uint64
	// Framing is the HDLC encoder and decoder's counters (bytes on the wire, FCS errors, ...).
	Framing hdlc.Stats
}
