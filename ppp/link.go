package ppp

import (
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/pppdial/pppdial/ipcp"
	"github.com/pppdial/pppdial/ipcp/ipv6cp"
	"github.com/pppdial/pppdial/lcp"
	"github.com/pppdial/pppdial/ppp/fsm"
)

// Sink receives everything a Link produces. Its methods are called synchronously from the
// Link's methods, in order (so a SetFraming takes effect exactly between the frames around it);
// they must not call back into the Link. Slices passed in are valid only during the call.
type Sink interface {
	// SendFrame transmits one frame (protocol and information field).
	SendFrame(protocol uint16, info []byte)
	// Deliver hands up one received IPv4 or IPv6 packet.
	Deliver(protocol uint16, pkt []byte)
	// SetFraming changes the HDLC parameters (after LCP opens, and back when it goes down).
	SetFraming(f Framing)
	// Event reports phase changes, network up/down and the end of the link.
	Event(e Event)
}

// Framing is the set of HDLC parameters LCP negotiates (RFC 1662): they apply from the moment
// LCP opens, and revert to the defaults when it leaves Opened.
type Framing struct {
	TxACCM  uint32 // control characters to escape when sending (the peer's ACCM)
	RxACCM  uint32 // control characters to discard when received unescaped (our ACCM)
	PFC     bool   // we may compress the protocol field
	ACFC    bool   // we may omit the address and control fields
	MRU     int    // largest information field we accept
	PeerMRU int    // largest information field we may send
}

// DefaultFraming returns the framing in force before LCP opens, for a link whose MRU is mru.
func DefaultFraming(mru int) Framing {
	return Framing{TxACCM: lcp.DefaultACCM, RxACCM: lcp.DefaultACCM, MRU: max(mru, lcp.DefaultMRU), PeerMRU: lcp.DefaultMRU}
}

// Link is the PPP link state machine: LCP, authentication, IPCP and IPV6CP, keepalive, and the
// protocol demultiplexer. It does no I/O and reads no clock: every method takes the current
// time, and NextDeadline says when Tick must be called next. A Link is used by one goroutine;
// Conn is the runner that binds it to a serial stream.
type Link struct {
	// ncpEnded is the reason to end the link once the current event is handled: the peer
	// terminated the last open network protocol.
	ncpEnded error
	// v6Gone: EventIPv6Down was sent for this network phase; v6Rejected: the peer
	// Protocol-Rejected IPV6CP.
	v6Gone, v6Rejected bool
	// echoSent is when the last keepalive Echo-Request went out (for Stats.EchoRTT).
	echoSent time.Time
	cfg      Config
	sink     Sink
	log      *slog.Logger
	now      time.Time

	phase  Phase
	opened bool
	dead   bool
	err    error

	lcp   *fsm.FSM
	lcpN  *lcp.Negotiator
	ipcp  *fsm.FSM
	ipcpN *ipcp.Negotiator
	v6    *fsm.FSM // nil unless cfg.IPv6
	v6N   *ipv6cp.Negotiator

	auth authState

	echoNext    time.Time
	echoPending int
	rxSinceEcho bool

	// negotiated transmit framing not applied yet, and when it will be at the latest
	txPending  Framing
	txDeadline time.Time

	status  Status
	framing Framing
	stats   Stats
	buf     []byte
	rnd     [16]byte
}

// NewLink returns a Link in the Dead phase; nothing happens until Open.
func NewLink(cfg Config, sink Sink) *Link {
	cfg = cfg.withDefaults()
	l := &Link{cfg: cfg, sink: sink, log: cfg.Logger}
	l.framing = DefaultFraming(cfg.MRU)
	l.status.MTU = lcp.DefaultMRU

	lp := lcp.Policy{
		MRU:         uint16(cfg.MRU),
		ACCM:        cfg.ACCM,
		RequireAuth: cfg.RequireAuth,
		AcceptPAP:   !cfg.RefusePAP,
		AcceptCHAP:  !cfg.RefuseCHAP,
		NoPFC:       cfg.NoPFC,
		NoACFC:      cfg.NoACFC,
	}
	l.lcpN = lcp.NewNegotiator(lp, l.rand32)
	lc := cfg.fsmConfig("LCP")
	lc.EchoMagic = l.lcpN.Magic
	lc.FirstRestart = max(cfg.FirstRestart, 0)
	l.lcp = fsm.New(lc, l.lcpN, (*lcpLayer)(l), func(p []byte) { l.sendControl(ProtoLCP, p) })

	ip := ipcp.Policy{
		Server:    cfg.Role == Server,
		LocalAddr: cfg.LocalAddr,
		PeerAddr:  cfg.PeerAddr,
		AskDNS:    cfg.Role == Client && !cfg.NoPeerDNS,
		DNS:       cfg.DNS,
	}
	l.ipcpN = ipcp.NewNegotiator(ip)
	l.ipcp = fsm.New(cfg.fsmConfig("IPCP"), l.ipcpN, &ncpLayer{l: l}, func(p []byte) { l.sendControl(ProtoIPCP, p) })
	if cfg.IPv6 {
		l.v6N = ipv6cp.NewNegotiator(ipv6cp.IID{}, l.randBytes)
		l.v6 = fsm.New(cfg.fsmConfig("IPV6CP"), l.v6N, &ncpLayer{l: l, v6: true}, func(p []byte) { l.sendControl(ProtoIPV6CP, p) })
	}
	return l
}

// rand32 returns a random 32-bit number from cfg.Rand.
func (l *Link) rand32() uint32 {
	l.randBytes(l.rnd[:4])
	return binary.BigEndian.Uint32(l.rnd[:4])
}

// randBytes fills b from cfg.Rand. A failing source (never crypto/rand) falls back to the
// clock, which is still good enough to tell two ends apart.
func (l *Link) randBytes(b []byte) {
	if _, err := io.ReadFull(l.cfg.Rand, b); err != nil {
		t := uint64(time.Now().UnixNano())
		for i := range b {
			t = t*6364136223846793005 + 1442695040888963407
			b[i] = byte(t >> 56)
		}
	}
}

// Phase returns the current phase.
func (l *Link) Phase() Phase { return l.phase }

// Status returns the current status.
func (l *Link) Status() Status { return l.status }

// Done reports whether the link has ended (Dead after having been opened).
func (l *Link) Done() bool { return l.dead }

// Err returns why the link ended, or nil while it has not.
func (l *Link) Err() error { return l.err }

// Stats returns the link's counters (Framing, TxDropped and RxDropped are Conn's).
func (l *Link) Stats() Stats { return l.stats }

// LCPState returns the LCP automaton's state (for tests and diagnostics).
func (l *Link) LCPState() fsm.State { return l.lcp.State() }

// Open starts the link on a lower layer that is up: LCP begins negotiating.
func (l *Link) Open(now time.Time) {
	l.now = now
	if l.opened || l.dead {
		return
	}
	l.opened = true
	if err := l.cfg.Validate(); err != nil {
		l.finish(err)
		return
	}
	l.setFraming(DefaultFraming(l.cfg.MRU))
	l.setPhase(PhaseEstablish)
	l.lcp.Open(now)
	l.lcp.Up(now)
	l.sync()
}

// Close ends the link administratively: LCP sends Terminate-Request and the link is Dead after
// the Terminate-Ack or Max-Terminate restarts. reason becomes Err; nil means ErrClosed.
func (l *Link) Close(now time.Time, reason error) {
	l.now = now
	if reason == nil {
		reason = ErrClosed
	}
	if !l.opened {
		l.opened = true
		l.finish(reason)
		return
	}
	l.fail(reason)
	l.sync()
}

// LowerDown reports that the serial stream is gone: the link ends at once with ErrLowerDown
// (wrapping cause, if any).
func (l *Link) LowerDown(now time.Time, cause error) {
	l.now = now
	if l.dead {
		return
	}
	err := ErrLowerDown
	if cause != nil {
		err = fmt.Errorf("%w: %w", ErrLowerDown, cause)
	}
	if l.err == nil {
		l.err = err
	}
	l.lcp.Down(now)
	l.finish(l.err)
}

// Abort ends the link at once without a Terminate exchange (a Close whose deadline passed).
func (l *Link) Abort(now time.Time, reason error) {
	l.now = now
	if l.dead {
		return
	}
	if reason == nil {
		reason = ErrClosed
	}
	if l.err == nil {
		l.err = reason
	}
	l.lcp.Down(now)
	l.finish(l.err)
}

// NextDeadline returns the earliest time Tick must be called, or the zero time if no timer is
// running.
func (l *Link) NextDeadline() time.Time {
	if l.dead {
		return time.Time{}
	}
	var d time.Time
	add := func(t time.Time) {
		if !t.IsZero() && (d.IsZero() || t.Before(d)) {
			d = t
		}
	}
	add(l.lcp.Deadline())
	add(l.ipcp.Deadline())
	if l.v6 != nil {
		add(l.v6.Deadline())
	}
	if l.lcp.IsOpened() {
		add(l.txDeadline)
		add(l.echoNext)
		add(l.auth.nextDeadline())
	}
	return d
}

// Tick runs the timers that have expired at now.
func (l *Link) Tick(now time.Time) {
	l.now = now
	if l.dead {
		return
	}
	l.lcp.Tick(now)
	l.ipcp.Tick(now)
	if l.v6 != nil {
		l.v6.Tick(now)
	}
	if l.lcp.IsOpened() && !l.dead {
		if !l.txDeadline.IsZero() && !now.Before(l.txDeadline) {
			l.applyTxFraming()
		}
		l.authTick(now)
		l.echoTick(now)
	}
	l.sync()
}

// Input processes one received frame.
func (l *Link) Input(now time.Time, protocol uint16, info []byte) {
	l.now = now
	if l.dead || !l.opened {
		l.stats.Discarded++
		return
	}
	l.rxSinceEcho = true
	l.counters(protocol).in(len(info))
	if !l.txDeadline.IsZero() && l.lcp.IsOpened() && (protocol != ProtoLCP || len(info) == 0 || info[0] > byte(fsm.CodeReject)) {
		l.applyTxFraming() // anything but LCP negotiation from the peer: it is open
	}
	if l.log != nil && protocol != ProtoIPv4 && protocol != ProtoIPv6 {
		l.logPacket(Received, protocol, info)
	}
	if protocol == ProtoLCP {
		l.lcp.Input(now, info)
		l.sync()
		return
	}
	if !l.lcp.IsOpened() {
		// RFC 1661 3.4/5: only LCP may pass before LCP is open.
		l.stats.Discarded++
		return
	}
	switch protocol {
	case ProtoIPv4:
		if l.ipcp.IsOpened() {
			l.sink.Deliver(protocol, info)
		} else {
			l.stats.Discarded++
		}
	case ProtoIPv6:
		switch {
		case l.v6 != nil && l.v6.IsOpened():
			l.sink.Deliver(protocol, info)
		case l.v6 == nil:
			l.protocolReject(protocol, info)
		default:
			l.stats.Discarded++
		}
	case ProtoPAP:
		l.papInput(info)
	case ProtoCHAP:
		l.chapInput(info)
	case ProtoIPCP:
		if l.phase == PhaseNetwork {
			l.ipcp.Input(now, info)
		} else {
			l.stats.Discarded++ // NCPs wait for authentication (RFC 1661 3.5)
		}
	case ProtoIPV6CP:
		switch {
		case l.v6 == nil:
			l.protocolReject(protocol, info)
		case l.phase == PhaseNetwork:
			l.v6.Input(now, info)
		default:
			l.stats.Discarded++
		}
	default:
		l.protocolReject(protocol, info)
	}
	l.sync()
}

// SendPacket sends one IPv4 or IPv6 packet through the sink if its network protocol is open.
// (Conn writes packets through its own fast path; this is for other runners and tests.)
func (l *Link) SendPacket(protocol uint16, pkt []byte) error {
	switch {
	case protocol == ProtoIPv4 && l.ipcp.IsOpened():
	case protocol == ProtoIPv6 && l.v6 != nil && l.v6.IsOpened():
	case protocol != ProtoIPv4 && protocol != ProtoIPv6:
		return ErrBadPacket
	default:
		return ErrNotUp
	}
	if len(pkt) > l.framing.PeerMRU {
		return ErrPacketTooBig
	}
	l.counters(protocol).out(len(pkt))
	l.sink.SendFrame(protocol, pkt)
	return nil
}

// counters returns the per-protocol counters for protocol.
func (l *Link) counters(protocol uint16) *Counters {
	switch protocol {
	case ProtoIPv4:
		return &l.stats.IPv4
	case ProtoIPv6:
		return &l.stats.IPv6
	case ProtoLCP:
		return &l.stats.LCP
	case ProtoPAP:
		return &l.stats.PAP
	case ProtoCHAP:
		return &l.stats.CHAP
	case ProtoIPCP:
		return &l.stats.IPCP
	case ProtoIPV6CP:
		return &l.stats.IPV6CP
	}
	return &l.stats.Other
}

func (l *Link) sendControl(protocol uint16, pkt []byte) {
	l.counters(protocol).out(len(pkt))
	if l.log != nil {
		l.logPacket(Sent, protocol, pkt)
	}
	l.sink.SendFrame(protocol, pkt)
}

// protocolReject answers a frame of a protocol we do not run (RFC 1661 5.7): Protocol-Reject
// with as much of the frame as fits the peer's MRU.
func (l *Link) protocolReject(protocol uint16, info []byte) {
	l.stats.ProtocolRejects++
	l.buf = lcp.AppendProtocolReject(l.buf[:0], protocol, info, l.framing.PeerMRU-4)
	l.lcp.SendCode(fsm.ProtocolReject, l.buf)
}

func (l *Link) setPhase(p Phase) {
	if l.phase == p {
		return
	}
	l.phase = p
	l.status.Phase = p
	if l.log != nil {
		l.log.Info("ppp: phase", "phase", p)
	}
	l.emit(EventPhase, nil)
}

func (l *Link) emit(kind EventKind, err error) {
	l.sink.Event(Event{Kind: kind, Time: l.now, Phase: l.phase, Status: l.status, Err: err})
}

func (l *Link) setFraming(f Framing) {
	l.framing = f
	l.lcp.SetMaxPacket(f.PeerMRU)
	l.ipcp.SetMaxPacket(f.PeerMRU)
	if l.v6 != nil {
		l.v6.SetMaxPacket(f.PeerMRU)
	}
	l.sink.SetFraming(f)
}

// applyTxFraming switches the transmit side to the negotiated ACCM, PFC and ACFC, once the
// peer has shown it is open (a frame other than LCP negotiation) or a restart period after LCP
// opened.
func (l *Link) applyTxFraming() {
	l.txDeadline = time.Time{}
	l.setFraming(l.txPending)
}

// sync keeps the phase in step with LCP's state after an event: a Terminate exchange under way
// is the Terminate phase.
func (l *Link) sync() {
	if l.dead {
		return
	}
	if err := l.ncpEnded; err != nil {
		// Outside the automaton's action: closing LCP from inside IPCP's This-Layer-Down
		// would re-enter IPCP while it handles the Terminate-Request.
		l.ncpEnded = nil
		l.fail(err)
	}
	switch l.lcp.State() {
	case fsm.Closing, fsm.Stopping:
		l.setPhase(PhaseTerminate)
	}
}

// fail ends the link with reason err (the first reason given wins): LCP closes, sending a
// Terminate-Request if it was negotiating or open.
func (l *Link) fail(err error) {
	if l.dead {
		return
	}
	if l.err == nil {
		l.err = err
	}
	if l.log != nil {
		l.log.Info("ppp: closing", "reason", l.err)
	}
	if alive(l.lcp) {
		l.setPhase(PhaseTerminate) // before LCP's This-Layer-Down, which must not say Establish
	}
	l.lcp.Close(l.now)
	switch l.lcp.State() {
	case fsm.Initial, fsm.Closed:
		l.finish(l.err)
	}
}

// finish makes the link Dead for good and reports EventDown.
func (l *Link) finish(err error) {
	if l.dead {
		return
	}
	if l.err == nil {
		l.err = err
	}
	l.dead = true
	l.status.IPv4, l.status.IPv6 = false, false
	l.setPhase(PhaseDead)
	if l.log != nil {
		l.log.Info("ppp: link down", "reason", l.err)
	}
	l.emit(EventDown, l.err)
}

// reasonFrom maps an automaton's reason for finishing to the link's typed errors.
func reasonFrom(name string, r error) error {
	switch {
	case errors.Is(r, fsm.ErrTerminatedByPeer):
		return fmt.Errorf("%w (%s)", ErrPeerTerminated, name)
	case r != nil:
		return fmt.Errorf("%w: %s: %w", ErrNegotiation, name, r)
	}
	return fmt.Errorf("%w: %s finished", ErrNegotiation, name)
}

// lcpLayer receives LCP's layer actions and extra codes.
type lcpLayer Link

// Up: LCP opened. Apply the negotiated framing, then authenticate or go to the network phase.
func (x *lcpLayer) Up() {
	l := (*Link)(x)
	ours, peer := l.lcpN.Ours(), l.lcpN.Peer()
	if l.lcpN.Loopbacks() >= l.cfg.MaxFailure {
		l.fail(ErrLoopback)
		return
	}
	if l.cfg.RequireAuth != AuthNone && ours.Auth != l.cfg.RequireAuth {
		l.fail(fmt.Errorf("%w: it refused %v", ErrAuthFailed, l.cfg.RequireAuth))
		return
	}
	negotiated := Framing{
		TxACCM:  peer.EffectiveACCM(),
		RxACCM:  ours.EffectiveACCM(),
		PFC:     peer.PFC,
		ACFC:    peer.ACFC,
		MRU:     max(ours.EffectiveMRU(), lcp.DefaultMRU),
		PeerMRU: peer.EffectiveMRU(),
	}
	// The transmit side keeps the default (escape every control character, no compression)
	// until the peer shows it has opened too (see applyTxFraming): when our Configure-Ack is
	// the exchange's last packet, the peer switches its receive ACCM only on reading it, and a
	// frame sent right behind it with the new map would reach a peer (pppd's kernel) still
	// discarding control characters, and be lost to an FCS error.
	early := negotiated
	early.TxACCM, early.PFC, early.ACFC = lcp.DefaultACCM, false, false
	l.setFraming(early)
	l.txPending, l.txDeadline = negotiated, l.now.Add(l.cfg.Restart)
	// The MTU serves both directions: the interface's MTU sets the MSS our TCP advertises, so
	// it must not exceed what we asked to receive, nor what the peer accepts.
	l.status.MTU = min(peer.EffectiveMRU(), ours.EffectiveMRU(), l.cfg.MRU)
	if l.cfg.EchoInterval > 0 {
		l.echoNext = l.now.Add(l.cfg.EchoInterval)
		l.echoPending = 0
		l.rxSinceEcho = false
	}
	l.authStart(ours.Auth, peer.Auth)
}

// Down: LCP left Opened. Network protocols go down and the transmit framing reverts to the
// defaults.
func (x *lcpLayer) Down() {
	l := (*Link)(x)
	if l.err == nil && errors.Is(l.lcp.Reason(), fsm.ErrTerminatedByPeer) {
		l.err = ErrPeerTerminated // decided now, whatever happens during the wait that follows
	}
	l.echoNext = time.Time{}
	l.txDeadline = time.Time{}
	l.auth = authState{}
	l.ipcp.Down(l.now)
	if l.v6 != nil {
		l.v6.Down(l.now)
	}
	// The receive side keeps the map LCP negotiated, as pppd does (lcp_down): the peer's
	// frames already on their way were sent with it (data behind our Terminate-Request or
	// Configure-Request, which the peer has not read yet), and once the peer knows LCP is down
	// it escapes every control character anyway. Only until LCP first opens is the receive map
	// RFC 1662's default.
	f := DefaultFraming(l.cfg.MRU)
	f.RxACCM = l.framing.RxACCM
	l.setFraming(f)
	if !l.dead {
		switch l.lcp.State() {
		case fsm.Closing, fsm.Stopping:
			l.setPhase(PhaseTerminate)
		default:
			l.setPhase(PhaseEstablish) // renegotiating
		}
	}
}

// Started: nothing to do, the lower layer is up whenever the Link runs.
func (x *lcpLayer) Started() {}

// Finished: LCP is done; so is the link.
func (x *lcpLayer) Finished() {
	l := (*Link)(x)
	l.finish(reasonFrom("LCP", l.lcp.Reason()))
}

// HandleCode takes LCP's extra codes: Protocol-Reject (8), Identification (12) and
// Time-Remaining (13), which are only informative.
func (x *lcpLayer) HandleCode(now time.Time, code fsm.Code, id uint8, data []byte) bool {
	l := (*Link)(x)
	switch code {
	case fsm.ProtocolReject:
		if !l.lcp.IsOpened() {
			l.stats.Discarded++
			return true
		}
		proto, _, err := lcp.ParseProtocolReject(data)
		if err != nil {
			l.stats.Discarded++
			return true
		}
		switch proto {
		case ProtoLCP:
			l.lcp.RXJ(now, true)
		case ProtoIPCP:
			l.ipcp.RXJ(now, true)
		case ProtoIPV6CP:
			if l.v6 != nil {
				l.v6Rejected = true
				l.v6.RXJ(now, true)
			}
		case ProtoPAP, ProtoCHAP:
			if l.phase == PhaseAuthenticate {
				l.fail(fmt.Errorf("%w: peer rejected protocol %#04x", ErrNegotiation, proto))
			}
		default:
			l.lcp.RXJ(now, false)
		}
		return true
	case 12, 13:
		return true
	}
	return false
}

// EchoReply: a keepalive answer (unless it carries our own magic number: a looped line).
func (x *lcpLayer) EchoReply(id uint8, data []byte) {
	l := (*Link)(x)
	magic, _, err := lcp.ParseEcho(data)
	if err != nil || (magic != 0 && magic == l.lcpN.Magic()) {
		l.stats.Discarded++
		return
	}
	l.stats.EchoReplies++
	if !l.echoSent.IsZero() {
		// The reply answers the latest request or an earlier one: an upper bound either way.
		l.stats.EchoRTT = l.now.Sub(l.echoSent)
		l.sink.Event(Event{Kind: EventEcho, Time: l.now, Phase: l.phase, Status: l.status, RTT: l.stats.EchoRTT})
	}
	l.echoPending = 0
}

// CodeRejected: a peer that rejects Echo-Request cannot be kept alive by echoes; stop them
// rather than declare it dead.
func (x *lcpLayer) CodeRejected(code fsm.Code) {
	l := (*Link)(x)
	if code == fsm.EchoRequest {
		l.echoNext = time.Time{}
		if l.log != nil {
			l.log.Warn("ppp: peer rejects LCP Echo-Request; keepalive off")
		}
	}
}

func (l *Link) echoTick(now time.Time) {
	if l.cfg.EchoInterval <= 0 || l.echoNext.IsZero() || now.Before(l.echoNext) {
		return
	}
	l.echoNext = now.Add(l.cfg.EchoInterval)
	if l.cfg.EchoAdaptive && l.rxSinceEcho {
		l.rxSinceEcho = false
		l.echoPending = 0
		return
	}
	l.rxSinceEcho = false
	if l.echoPending >= l.cfg.EchoFailures {
		// The peer has stopped answering: a Terminate exchange would only wait Max-Terminate
		// restart periods for an Ack that cannot come, keeping a dead link "up" for seconds
		// more. End at once so that the session can redial.
		l.Abort(now, ErrPeerNotResponding)
		return
	}
	l.echoPending++
	l.stats.EchoRequests++
	l.echoSent = now
	binary.BigEndian.PutUint32(l.rnd[:4], l.lcpN.Magic())
	l.lcp.SendCode(fsm.EchoRequest, l.rnd[:4])
}

// ncpLayer receives IPCP's or IPV6CP's layer actions.
type ncpLayer struct {
	l  *Link
	v6 bool
}

// Up: the network protocol opened.
func (n *ncpLayer) Up() {
	l := n.l
	if n.v6 {
		l.status.LocalV6, l.status.PeerV6, l.status.IPv6 = l.v6N.Local(), l.v6N.Peer(), true
		if l.log != nil {
			l.log.Info("ppp: IPv6 up", "local", l.status.LocalV6, "peer", l.status.PeerV6)
		}
		l.emit(EventIPv6Up, nil)
		return
	}
	res, ok := l.ipcpN.Result()
	if !ok {
		l.fail(fmt.Errorf("%w: IPCP: no IPv4 address assigned", ErrNegotiation))
		return
	}
	l.status.Local, l.status.Peer, l.status.DNS, l.status.IPv4 = res.Local, res.Peer, res.DNS, true
	if l.log != nil {
		l.log.Info("ppp: IPv4 up", "local", res.Local, "peer", res.Peer, "dns", res.DNS)
	}
	l.emit(EventUp, nil)
}

// Down: the network protocol left Opened.
func (n *ncpLayer) Down() {
	l := n.l
	if n.v6 {
		l.status.IPv6 = false
		// A peer's Terminate-Request gives a reason at once; a renegotiation gives none and
		// ends in EventIPv6Up again.
		if !l.dead && alive(l.ipcp) && l.v6.Reason() != nil {
			l.v6Gone = true
			l.emit(EventIPv6Down, reasonFrom("IPV6CP", l.v6.Reason()))
		}
		return
	}
	l.status.IPv4 = false
	if !l.dead {
		l.emit(EventNetworkDown, nil)
	}
	// The peer closed IPCP with a Terminate-Request and no other network protocol is open: the
	// link carries nothing any more. End it now rather than after IPCP's Stopping timer and
	// Finished (a restart period later), so that the session notices at once and redials.
	if errors.Is(l.ipcp.Reason(), fsm.ErrTerminatedByPeer) && (l.v6 == nil || !l.v6.IsOpened()) {
		l.ncpEnded = reasonFrom("IPCP", l.ipcp.Reason())
	}
}

// Started: nothing to do; NCPs are opened when the network phase begins.
func (n *ncpLayer) Started() {}

// Finished: this network protocol gave up. When none is left running, the link ends
// (pppd: "No network protocols running").
func (n *ncpLayer) Finished() {
	l := n.l
	if l.dead || l.phase != PhaseNetwork {
		return
	}
	if n.v6 && alive(l.ipcp) && !l.v6Gone {
		// IPV6CP never opened (rejected, refused, unanswered): IPv4 carries on alone.
		l.v6Gone = true
		reason := l.v6.Reason()
		if reason == nil && l.v6Rejected {
			reason = fmt.Errorf("%w (Protocol-Reject)", fsm.ErrRejected)
		}
		l.emit(EventIPv6Down, reasonFrom("IPV6CP", reason))
	}
	if alive(l.ipcp) || (l.v6 != nil && alive(l.v6)) {
		return
	}
	f, name := l.ipcp, "IPCP"
	if n.v6 {
		f, name = l.v6, "IPV6CP"
	}
	l.fail(reasonFrom(name, f.Reason()))
}

// alive reports whether an automaton is negotiating, open or terminating.
func alive(f *fsm.FSM) bool {
	switch f.State() {
	case fsm.ReqSent, fsm.AckRcvd, fsm.AckSent, fsm.Opened, fsm.Closing, fsm.Stopping:
		return true
	}
	return false
}

// enterNetwork starts the network control protocols.
func (l *Link) enterNetwork() {
	l.setPhase(PhaseNetwork)
	l.v6Gone, l.v6Rejected = false, false
	l.ipcp.Open(l.now)
	l.ipcp.Up(l.now)
	if l.v6 != nil && !l.dead {
		l.v6.Open(l.now)
		l.v6.Up(l.now)
	}
}

// equal compares secrets in constant time.
func equal(a []byte, b string) bool {
	return subtle.ConstantTimeCompare(a, []byte(b)) == 1
}
