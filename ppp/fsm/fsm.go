package fsm

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// State is one of the ten automaton states of RFC 1661 section 4.2.
type State uint8

// The automaton states, numbered as in RFC 1661's state transition table.
const (
	Initial  State = iota // lower layer down, no Open
	Starting              // Open, waiting for the lower layer
	Closed                // lower layer up, no Open
	Stopped               // negotiation ended (failed or peer terminated); waiting for the peer
	Closing               // Terminate-Request sent after Close
	Stopping              // Terminate-Request sent (or received) while not closed by us
	ReqSent               // Configure-Request sent
	AckRcvd               // Configure-Request sent and acked, peer's request not yet acked
	AckSent               // peer's request acked, ours not yet
	Opened                // both requests acked: the layer is up
)

var stateNames = [...]string{"Initial", "Starting", "Closed", "Stopped", "Closing", "Stopping",
	"Req-Sent", "Ack-Rcvd", "Ack-Sent", "Opened"}

// String returns the state's name as the RFC spells it.
func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return fmt.Sprintf("State(%d)", s)
}

// Code is a control packet code (RFC 1661 section 5).
type Code uint8

// Packet codes shared by the control protocols; 8 to 11 are LCP only.
const (
	ConfigureRequest Code = 1
	ConfigureAck     Code = 2
	ConfigureNak     Code = 3
	ConfigureReject  Code = 4
	TerminateRequest Code = 5
	TerminateAck     Code = 6
	CodeReject       Code = 7
	ProtocolReject   Code = 8
	EchoRequest      Code = 9
	EchoReply        Code = 10
	DiscardRequest   Code = 11
)

var codeNames = [...]string{"", "ConfReq", "ConfAck", "ConfNak", "ConfRej", "TermReq", "TermAck",
	"CodeRej", "ProtRej", "EchoReq", "EchoRep", "DiscReq"}

// String returns the short name pppd uses in its logs.
func (c Code) String() string {
	if int(c) > 0 && int(c) < len(codeNames) {
		return codeNames[c]
	}
	return fmt.Sprintf("code=%#x", uint8(c))
}

// Event is an automaton event (RFC 1661 section 4.3). It is exported so that logs and tests can
// name events; the FSM's methods are how events are delivered.
type Event uint8

// The automaton events.
const (
	Up       Event = iota // lower layer is up
	Down                  // lower layer is down
	Open                  // administrative Open
	Close                 // administrative Close
	TOPlus                // restart timer expired, counter > 0
	TOMinus               // restart timer expired, counter exhausted
	RCRPlus               // good Configure-Request received
	RCRMinus              // bad Configure-Request received
	RCA                   // Configure-Ack received
	RCN                   // Configure-Nak or Configure-Reject received
	RTR                   // Terminate-Request received
	RTA                   // Terminate-Ack received
	RUC                   // unknown code received
	RXJPlus               // permitted Code-Reject or Protocol-Reject received
	RXJMinus              // catastrophic Code-Reject or Protocol-Reject received
	RXR                   // Echo-Request, Echo-Reply or Discard-Request received
)

var eventNames = [...]string{"Up", "Down", "Open", "Close", "TO+", "TO-", "RCR+", "RCR-", "RCA",
	"RCN", "RTR", "RTA", "RUC", "RXJ+", "RXJ-", "RXR"}

// String returns the event's name as the RFC spells it.
func (e Event) String() string {
	if int(e) < len(eventNames) {
		return eventNames[e]
	}
	return fmt.Sprintf("Event(%d)", e)
}

// Reasons recorded when the automaton gives up (see FSM.Reason).
var (
	// ErrNoResponse: Max-Configure Configure-Requests went unanswered (TO- while negotiating).
	ErrNoResponse = errors.New("no response to Configure-Request")
	// ErrTerminatedByPeer: the peer sent a Terminate-Request.
	ErrTerminatedByPeer = errors.New("terminated by peer")
	// ErrRejected: the peer sent a catastrophic Code-Reject or Protocol-Reject.
	ErrRejected = errors.New("rejected by peer")
	// ErrNotConverging: the peer sent Max-Configure Naks or Rejects in a row without ever
	// acking; further ones are ignored so that the restart counter runs out (TO-).
	ErrNotConverging = errors.New("negotiation not converging")
)

// Defaults from RFC 1661 section 4.6.
const (
	DefaultRestart      = 3 * time.Second
	DefaultMaxTerminate = 2
	DefaultMaxConfigure = 10
	DefaultMaxFailure   = 5
	// DefaultMaxPacket is the default MRU: the largest control packet sent (Code-Rejects are
	// truncated to it).
	DefaultMaxPacket = 1500
)

// Config holds the automaton's timers and counters. Zero fields take the RFC defaults.
type Config struct {
	Name    string        // protocol name for logs, e.g. "LCP"
	Restart time.Duration // restart timer; default 3 s
	// FirstRestart, when set below Restart, is the restart timer's first interval for a
	// Configure-Request sent while the peer has not been heard from yet (its PPP may start a
	// moment after the modem's CONNECT and miss our first request). It doubles on every
	// timeout up to Restart, as RFC 1661 4.6 allows ("MAY begin at an initial small value and
	// increase to the configured final value"); once any packet from the peer has arrived the
	// peer is known to listen, and a missing answer means a slow peer, so the timer runs at
	// Restart: duplicates of a request it is still working on would only make it renegotiate.
	// The peer's first packet, when our request is still unanswered, brings the timer forward
	// to FirstRestart from then (the peer has just started and probably missed it).
	// Terminate-Requests always wait Restart. 0: Restart throughout.
	FirstRestart time.Duration
	MaxTerminate int // Terminate-Requests sent before giving up; default 2
	MaxConfigure int // Configure-Requests sent before giving up; default 10
	MaxFailure   int // Configure-Naks sent without an Ack before naks become rejects; default 5
	MaxPacket    int // largest packet to send (peer's MRU); default 1500
	// EchoMagic, when set, makes codes 9 to 11 (Echo-Request, Echo-Reply, Discard-Request)
	// part of this protocol (LCP): an Echo-Request received in Opened is answered with an
	// Echo-Reply carrying the returned magic number (the ser action).
	EchoMagic func() uint32
	Logger    *slog.Logger // nil: no logs
}

func (c *Config) setDefaults() {
	if c.Restart <= 0 {
		c.Restart = DefaultRestart
	}
	if c.MaxTerminate <= 0 {
		c.MaxTerminate = DefaultMaxTerminate
	}
	if c.MaxConfigure <= 0 {
		c.MaxConfigure = DefaultMaxConfigure
	}
	if c.MaxFailure <= 0 {
		c.MaxFailure = DefaultMaxFailure
	}
	if c.MaxPacket <= 0 {
		c.MaxPacket = DefaultMaxPacket
	}
}

// Rules is what a control protocol supplies about its options: what to request and how to
// answer and apply the peer's answers. The automaton calls them from its owner's goroutine.
type Rules interface {
	// Reset starts a fresh negotiation: forget what earlier Naks and Rejects taught about our
	// request. It is called before the first Configure-Request of each negotiation.
	Reset()
	// AppendRequest appends the options of our next Configure-Request to dst.
	AppendRequest(dst []byte) []byte
	// CheckRequest answers the peer's Configure-Request options: it appends the reply's options
	// to dst and returns ConfigureAck (dst gets the request's options), ConfigureNak or
	// ConfigureReject. It records the peer's values for use when the layer comes up.
	CheckRequest(opts, dst []byte) (Code, []byte)
	// Acked is called when the peer acknowledged our last request (opts equal what we sent).
	Acked(opts []byte)
	// Naked applies a Configure-Nak to our next request. An error discards the packet.
	Naked(opts []byte) error
	// Rejected applies a Configure-Reject (opts are a validated subset of our request). An
	// error discards the packet.
	Rejected(opts []byte) error
}

// Layer receives the automaton's layer actions (tlu, tld, tls, tlf).
type Layer interface {
	Up()       // This-Layer-Up: the protocol is open
	Down()     // This-Layer-Down: it is no longer open
	Started()  // This-Layer-Started: the lower layer is needed
	Finished() // This-Layer-Finished: the lower layer is no longer needed
}

// CodeHandler may be implemented by a Layer to take packets with codes the automaton does not
// handle itself (Protocol-Reject for LCP). Returning false makes it an unknown code (RUC), which
// is answered with a Code-Reject.
type CodeHandler interface {
	HandleCode(now time.Time, code Code, id uint8, data []byte) bool
}

// EchoHandler may be implemented by a Layer to see Echo-Replies received in Opened (for
// keepalive); data starts with the peer's magic number.
type EchoHandler interface {
	EchoReply(id uint8, data []byte)
}

// CodeRejectHandler may be implemented by a Layer to learn which codes the peer rejected (for
// example to stop sending Echo-Requests the peer does not understand).
type CodeRejectHandler interface {
	CodeRejected(code Code)
}

// Stats counts packets through one automaton.
type Stats struct {
	PacketsIn  uint64 // well-formed packets received (any state)
	PacketsOut uint64 // packets sent
	Discarded  uint64 // packets dropped: malformed, wrong identifier, not expected in this state
	Timeouts   uint64 // restart timer expiries
}

// FSM is one instance of the option-negotiation automaton. The zero value is not usable; use New.
type FSM struct {
	cfg   Config
	rules Rules
	layer Layer
	send  func(pkt []byte)

	state    State
	restarts int           // restart counter (irc / zrc; decremented on every scr and str)
	failures int           // Configure-Naks sent since the last Configure-Ack we sent
	deadline time.Time     // restart timer; zero when stopped
	interval time.Duration // the next Configure-Request's restart interval
	heard    bool          // a well-formed packet has arrived from the peer

	id      uint8  // last identifier we used
	reqID   uint8  // identifier of our outstanding Configure-Request
	req     []byte // its options
	replied bool   // a valid Ack/Nak/Reject for reqID has been processed
	naks    int    // Naks and Rejects received since the last Ack or the negotiation's start
	termID  uint8

	// reply to the peer's Configure-Request being processed
	respCode Code
	respID   uint8
	resp     []byte

	pkt    []byte // scratch for outgoing packets
	reason error
	stats  Stats

	layerAct action // layer action of the current transition (actTLU..actTLF), or actNone

	actionHook func(a action) // tests: observe every RFC action
}

// New returns an automaton in the Initial state. send is called with every packet to transmit
// (code, identifier, length, data); it must not retain the slice.
func New(cfg Config, rules Rules, layer Layer, send func(pkt []byte)) *FSM {
	cfg.setDefaults()
	return &FSM{cfg: cfg, rules: rules, layer: layer, send: send, interval: cfg.Restart}
}

// CopyState makes f carry on from src's protocol state: automaton state, counters,
// identifiers, timers, the outstanding request, the maximum packet size and the statistics.
// What New bound to f stays f's (rules, layer, send function, EchoMagic), so f and src run on
// independently. A fuzz target negotiates once and starts every input from a copy.
func (f *FSM) CopyState(src *FSM) {
	keep := *f
	*f = *src
	f.cfg.EchoMagic = keep.cfg.EchoMagic
	f.rules, f.layer, f.send, f.actionHook = keep.rules, keep.layer, keep.send, keep.actionHook
	f.req = append(keep.req[:0], src.req...)
	f.resp = append(keep.resp[:0], src.resp...)
	f.pkt = keep.pkt[:0]
}

// State returns the current state.
func (f *FSM) State() State { return f.state }

// IsOpened reports whether the automaton is in the Opened state.
func (f *FSM) IsOpened() bool { return f.state == Opened }

// Reason returns why the automaton last gave up (ErrNoResponse, ErrTerminatedByPeer,
// ErrRejected), or nil. It is cleared when the layer comes up again.
func (f *FSM) Reason() error { return f.reason }

// Stats returns the packet counters.
func (f *FSM) Stats() Stats { return f.stats }

// Config returns the configuration in use (with defaults filled in).
func (f *FSM) Config() Config { return f.cfg }

// SetMaxPacket changes the largest packet the automaton sends (after LCP learns the peer's MRU).
func (f *FSM) SetMaxPacket(n int) {
	if n > 0 {
		f.cfg.MaxPacket = n
	}
}

// Deadline returns when the restart timer expires, or the zero time if it is not running.
func (f *FSM) Deadline() time.Time { return f.deadline }

// Up delivers the Up event: the lower layer is ready.
func (f *FSM) Up(now time.Time) {
	f.reason = nil
	f.handle(now, Up)
}

// Down delivers the Down event: the lower layer is gone.
func (f *FSM) Down(now time.Time) { f.handle(now, Down) }

// Open delivers the administrative Open event.
func (f *FSM) Open(now time.Time) {
	f.reason = nil
	f.handle(now, Open)
}

// Close delivers the administrative Close event.
func (f *FSM) Close(now time.Time) { f.handle(now, Close) }

// RXJ delivers a Protocol-Reject event received on behalf of this protocol (by LCP):
// catastrophic (RXJ-) when the rejected protocol is this one and cannot work without it.
func (f *FSM) RXJ(now time.Time, catastrophic bool) {
	if f.state == Initial || f.state == Starting {
		return
	}
	if catastrophic {
		f.handle(now, RXJMinus)
	} else {
		f.handle(now, RXJPlus)
	}
}

// Tick fires the restart timer if it has expired at now (TO+ or TO-).
func (f *FSM) Tick(now time.Time) {
	if f.deadline.IsZero() || now.Before(f.deadline) {
		return
	}
	f.deadline = time.Time{}
	f.stats.Timeouts++
	if f.restarts > 0 {
		f.handle(now, TOPlus)
	} else {
		f.handle(now, TOMinus)
	}
}

// Input processes one received control packet (code, identifier, length, data; trailing
// padding beyond the length field is ignored). It never retains pkt.
func (f *FSM) Input(now time.Time, pkt []byte) {
	if len(pkt) < 4 {
		f.stats.Discarded++
		return
	}
	n := int(binary.BigEndian.Uint16(pkt[2:4]))
	if n < 4 || n > len(pkt) {
		f.stats.Discarded++
		return
	}
	pkt = pkt[:n]
	f.stats.PacketsIn++
	if !f.heard {
		f.heard = true
		defer f.peerHeard(now)
	}
	f.input(now, pkt)
}

// peerHeard runs after the first packet from the peer was handled. If our Configure-Request is
// still unanswered, the peer has probably just started listening and missed it (a PPP that
// starts a moment after CONNECT announces itself with its own Configure-Request): the restart
// timer, which may have grown while the peer was silent, is brought forward to FirstRestart
// from now. It is still the restart timer firing (TO+); only its value is chosen, as RFC 1661
// 4.6 leaves it to the implementation.
func (f *FSM) peerHeard(now time.Time) {
	first := f.cfg.FirstRestart
	if first <= 0 || first >= f.cfg.Restart || f.replied || f.deadline.IsZero() {
		return
	}
	switch f.state {
	case ReqSent, AckSent:
		if soon := now.Add(first); soon.Before(f.deadline) {
			f.deadline = soon
		}
	}
}

func (f *FSM) input(now time.Time, pkt []byte) {
	code, id, data := Code(pkt[0]), pkt[1], pkt[4:]
	if f.state == Initial || f.state == Starting {
		// The lower layer is not up: no packet can legitimately arrive (RFC 1661 4.1 "-").
		f.stats.Discarded++
		return
	}
	switch code {
	case ConfigureRequest:
		f.rcr(now, id, data)
	case ConfigureAck:
		f.rca(now, id, data)
	case ConfigureNak, ConfigureReject:
		f.rcn(now, code, id, data)
	case TerminateRequest:
		f.respID = id
		if f.state == Opened && f.reason == nil {
			f.reason = ErrTerminatedByPeer
		}
		f.handle(now, RTR)
	case TerminateAck:
		f.handle(now, RTA)
	case CodeReject:
		if len(data) < 1 {
			f.stats.Discarded++
			return
		}
		rejected := Code(data[0])
		if h, ok := f.layer.(CodeRejectHandler); ok {
			h.CodeRejected(rejected)
		}
		if rejected >= ConfigureRequest && rejected <= CodeReject {
			f.reason = ErrRejected
			f.handle(now, RXJMinus)
		} else {
			f.handle(now, RXJPlus)
		}
	case EchoRequest, EchoReply, DiscardRequest:
		if f.cfg.EchoMagic == nil {
			f.unknown(now, code, id, data, pkt)
			return
		}
		f.rxr(now, code, id, data)
	default:
		f.unknown(now, code, id, data, pkt)
	}
}

func (f *FSM) unknown(now time.Time, code Code, id uint8, data, pkt []byte) {
	if h, ok := f.layer.(CodeHandler); ok && h.HandleCode(now, code, id, data) {
		return
	}
	f.resp = append(f.resp[:0], pkt...)
	f.handle(now, RUC)
}

func (f *FSM) rcr(now time.Time, id uint8, data []byte) {
	if ValidOptions(data) != nil {
		f.stats.Discarded++
		return
	}
	f.respID = id
	switch f.state {
	case Closed, Closing, Stopping:
		// No reply needed (sta/2, 4, 5): do not let the rules record the peer's values.
		f.handle(now, RCRPlus)
		return
	}
	code, resp := f.rules.CheckRequest(data, f.resp[:0])
	if code == ConfigureNak && f.failures >= f.cfg.MaxFailure {
		code, resp = nakToReject(data, resp, f.resp[:0])
	}
	f.respCode, f.resp = code, resp
	if code == ConfigureAck {
		f.handle(now, RCRPlus)
	} else {
		f.handle(now, RCRMinus)
	}
}

// replyExpected validates the identifier of an Ack/Nak/Reject against our outstanding request.
func (f *FSM) replyExpected(id uint8) bool {
	switch f.state {
	case ReqSent, AckRcvd, AckSent, Opened:
		return id == f.reqID && !f.replied
	}
	return true // Closed, Stopped, Closing, Stopping: answered (or ignored) without looking
}

func (f *FSM) rca(now time.Time, id uint8, data []byte) {
	if !f.replyExpected(id) {
		f.stats.Discarded++
		return
	}
	switch f.state {
	case ReqSent, AckRcvd, AckSent, Opened:
		if !bytes.Equal(data, f.req) {
			f.stats.Discarded++ // an Ack must repeat our request exactly (RFC 1661 5.2)
			return
		}
		f.replied = true
		f.naks = 0
		f.rules.Acked(data)
	}
	f.respID = id
	f.handle(now, RCA)
}

func (f *FSM) rcn(now time.Time, code Code, id uint8, data []byte) {
	if !f.replyExpected(id) || ValidOptions(data) != nil {
		f.stats.Discarded++
		return
	}
	switch f.state {
	case ReqSent, AckRcvd, AckSent, Opened:
		if f.naks >= f.cfg.MaxConfigure {
			// A Nak loop the rules cannot end (the RFC leaves it open): stop listening, let
			// the retransmissions run out, and finish with a reason.
			f.stats.Discarded++
			if f.reason == nil {
				f.reason = ErrNotConverging
			}
			return
		}
		var err error
		if code == ConfigureNak {
			err = f.rules.Naked(data)
		} else if !isSubsequence(data, f.req) {
			err = ErrMalformed
		} else {
			err = f.rules.Rejected(data)
		}
		if err != nil {
			f.stats.Discarded++
			f.log("discarding reply", "code", code, "err", err)
			return
		}
		f.replied = true
		f.naks++
	}
	f.respID = id
	f.handle(now, RCN)
}

func (f *FSM) rxr(now time.Time, code Code, id uint8, data []byte) {
	f.respCode, f.respID = code, id
	f.resp = append(f.resp[:0], data...)
	f.handle(now, RXR)
}

// handle performs one cell of the RFC 1661 state transition table: the actions, then the new
// state. Packet-driven actions use the reply prepared in respCode/respID/resp.
func (f *FSM) handle(now time.Time, ev Event) {
	old := f.state
	f.layerAct = actNone
	next, ok := f.transition(now, ev)
	if !ok {
		f.stats.Discarded++
		return
	}
	f.state = next
	switch next {
	case Closing, Stopping, ReqSent, AckRcvd, AckSent:
	default:
		f.deadline = time.Time{} // the restart timer only runs while waiting for a reply
	}
	if old != next {
		f.log("state", "event", ev, "from", old, "to", next)
	}
	// The layer action runs last, in the new state (as pppd does): a layer that reacts by
	// delivering another event to this automaton (a Close from This-Layer-Up) then finds it
	// consistent, and nothing is left to overwrite the state afterwards.
	switch f.layerAct {
	case actTLU:
		f.layer.Up()
	case actTLD:
		f.layer.Down()
	case actTLS:
		f.layer.Started()
	case actTLF:
		f.layer.Finished()
	}
}

// transition is the state transition table. It returns false for the cells the RFC marks
// illegal ("-"), which are ignored.
func (f *FSM) transition(now time.Time, ev Event) (State, bool) {
	s := f.state
	switch ev {
	case Up:
		switch s {
		case Initial:
			return Closed, true
		case Starting:
			f.irc(false)
			f.scr(now)
			return ReqSent, true
		}
	case Down:
		switch s {
		case Closed, Closing:
			return Initial, true
		case Stopped:
			f.tls()
			return Starting, true
		case Stopping, ReqSent, AckRcvd, AckSent:
			return Starting, true
		case Opened:
			f.tld()
			return Starting, true
		}
	case Open:
		switch s {
		case Initial:
			f.tls()
			return Starting, true
		case Starting:
			return Starting, true
		case Closed:
			f.irc(false)
			f.scr(now)
			return ReqSent, true
		case Stopped, ReqSent, AckRcvd, AckSent, Opened:
			return s, true
		case Closing, Stopping:
			return Stopping, true
		}
	case Close:
		switch s {
		case Initial:
			return Initial, true
		case Starting:
			f.tlf()
			return Initial, true
		case Closed, Stopped:
			return Closed, true
		case Closing, Stopping:
			return Closing, true
		case ReqSent, AckRcvd, AckSent:
			f.irc(true)
			f.str(now)
			return Closing, true
		case Opened:
			f.tld()
			f.irc(true)
			f.str(now)
			return Closing, true
		}
	case TOPlus:
		switch s {
		case Closing, Stopping:
			f.str(now)
			return s, true
		case ReqSent, AckRcvd:
			f.retransmit(now)
			return ReqSent, true
		case AckSent:
			f.retransmit(now)
			return AckSent, true
		}
	case TOMinus:
		switch s {
		case Closing:
			f.tlf()
			return Closed, true
		case Stopping:
			f.tlf()
			return Stopped, true
		case ReqSent, AckRcvd, AckSent:
			if f.reason == nil {
				f.reason = ErrNoResponse
			}
			f.tlf()
			return Stopped, true
		}
	case RCRPlus:
		switch s {
		case Closed:
			f.sta()
			return Closed, true
		case Stopped:
			f.irc(false)
			f.scr(now)
			f.sca()
			return AckSent, true
		case Closing, Stopping:
			return s, true
		case ReqSent, AckSent:
			f.sca()
			return AckSent, true
		case AckRcvd:
			f.sca()
			f.tlu()
			return Opened, true
		case Opened:
			f.tld()
			f.scr(now)
			f.sca()
			return AckSent, true
		}
	case RCRMinus:
		switch s {
		case Closed:
			f.sta()
			return Closed, true
		case Stopped:
			f.irc(false)
			f.scr(now)
			f.scn()
			return ReqSent, true
		case Closing, Stopping:
			return s, true
		case ReqSent, AckSent:
			f.scn()
			return ReqSent, true
		case AckRcvd:
			f.scn()
			return AckRcvd, true
		case Opened:
			f.tld()
			f.scr(now)
			f.scn()
			return ReqSent, true
		}
	case RCA:
		switch s {
		case Closed, Stopped:
			f.sta()
			return s, true
		case Closing, Stopping:
			return s, true
		case ReqSent:
			f.irc(false)
			return AckRcvd, true
		case AckRcvd: // crossed connection
			f.scr(now)
			return ReqSent, true
		case AckSent:
			f.irc(false)
			f.tlu()
			return Opened, true
		case Opened:
			f.tld()
			f.scr(now)
			return ReqSent, true
		}
	case RCN:
		switch s {
		case Closed, Stopped:
			f.sta()
			return s, true
		case Closing, Stopping:
			return s, true
		case ReqSent:
			f.irc(false)
			f.scr(now)
			return ReqSent, true
		case AckRcvd:
			f.scr(now)
			return ReqSent, true
		case AckSent:
			f.irc(false)
			f.scr(now)
			return AckSent, true
		case Opened:
			f.tld()
			f.scr(now)
			return ReqSent, true
		}
	case RTR:
		switch s {
		case Closed, Stopped, Closing, Stopping:
			f.sta()
			return s, true
		case ReqSent, AckRcvd, AckSent:
			f.sta()
			return ReqSent, true
		case Opened:
			f.tld()
			f.zrc(now)
			f.sta()
			return Stopping, true
		}
	case RTA:
		switch s {
		case Closed, Stopped:
			return s, true
		case Closing:
			f.tlf()
			return Closed, true
		case Stopping:
			f.tlf()
			return Stopped, true
		case ReqSent, AckRcvd:
			return ReqSent, true
		case AckSent:
			return AckSent, true
		case Opened:
			f.tld()
			f.scr(now)
			return ReqSent, true
		}
	case RUC:
		if s == Initial || s == Starting {
			return s, false
		}
		f.scj()
		return s, true
	case RXJPlus:
		switch s {
		case Initial, Starting:
			return s, false
		case AckRcvd:
			return ReqSent, true
		}
		return s, true
	case RXJMinus:
		switch s {
		case Closed, Closing:
			f.tlf()
			return Closed, true
		case Stopped, Stopping, ReqSent, AckRcvd, AckSent:
			f.tlf()
			return Stopped, true
		case Opened:
			f.tld()
			f.irc(true)
			f.str(now)
			return Stopping, true
		}
	case RXR:
		switch s {
		case Initial, Starting:
			return s, false
		case Opened:
			f.ser()
		}
		return s, true
	}
	return s, false
}

// irc: Initialize-Restart-Count, to Max-Terminate before a Terminate-Request, else Max-Configure.
func (f *FSM) irc(terminate bool) {
	f.act(actIRC)
	if terminate {
		f.restarts = f.cfg.MaxTerminate
	} else {
		f.restarts = f.cfg.MaxConfigure
		f.interval = f.cfg.Restart
		if f.cfg.FirstRestart > 0 && f.cfg.FirstRestart < f.cfg.Restart {
			f.interval = f.cfg.FirstRestart // lengthened in sendConfReq once the peer is heard
		}
	}
}

// The layer actions are recorded here and performed by handle once the state is updated; no
// cell of the table has more than one.
func (f *FSM) tlu() {
	f.act(actTLU)
	f.reason = nil
	f.layerAct = actTLU
}

func (f *FSM) tld() {
	f.act(actTLD)
	f.layerAct = actTLD
}

func (f *FSM) tls() {
	f.act(actTLS)
	f.layerAct = actTLS
}

func (f *FSM) tlf() {
	f.act(actTLF)
	f.layerAct = actTLF
}

// zrc: Zero-Restart-Count, so that the next timeout (one restart period from now) is TO-: the
// peer gets time to see our Terminate-Ack before the layer finishes.
func (f *FSM) zrc(now time.Time) {
	f.act(actZRC)
	f.restarts = 0
	f.deadline = now.Add(f.cfg.Restart)
}

// action is one of RFC 1661 section 4.4's actions, named in String as the state transition
// table writes them.
type action uint8

// The actions; actNone marks a transition without a layer action.
const (
	actNone action = iota
	actTLU         // This-Layer-Up
	actTLD         // This-Layer-Down
	actTLS         // This-Layer-Started
	actTLF         // This-Layer-Finished
	actIRC         // Initialize-Restart-Count
	actZRC         // Zero-Restart-Count
	actSCR         // Send-Configure-Request
	actSCA         // Send-Configure-Ack
	actSCN         // Send-Configure-Nak or -Reject
	actSTR         // Send-Terminate-Request
	actSTA         // Send-Terminate-Ack
	actSCJ         // Send-Code-Reject
	actSER         // Send-Echo-Reply
	numActions
)

var actionNames = [numActions]string{"none", "tlu", "tld", "tls", "tlf", "irc", "zrc", "scr", "sca", "scn", "str", "sta", "scj", "ser"}

// String returns the action's name in RFC 1661's table ("tlu", "scr", ...).
func (a action) String() string {
	if a < numActions {
		return actionNames[a]
	}
	return fmt.Sprintf("action(%d)", uint8(a))
}

// layer reports whether a is one of the four layer actions (This-Layer-Up/Down/Started/Finished).
func (a action) layer() bool { return a >= actTLU && a <= actTLF }

// act reports an action to the test hook.
func (f *FSM) act(a action) {
	if f.actionHook != nil {
		f.actionHook(a)
	}
}

// scr: Send-Configure-Request with a new identifier. Outside a negotiation (from Closed,
// Stopped, Starting or Opened) it first resets the option rules and the failure counter.
func (f *FSM) scr(now time.Time) {
	switch f.state {
	case ReqSent, AckRcvd, AckSent:
	default:
		f.rules.Reset()
		f.failures = 0
		f.naks = 0
	}
	f.act(actSCR)
	f.id++
	f.reqID = f.id
	f.req = f.rules.AppendRequest(f.req[:0])
	f.sendConfReq(now)
}

// retransmit: the scr of a TO+ event, same identifier and options (RFC 1661 5.1 allows it, and a
// late reply to the previous transmission then still counts).
func (f *FSM) retransmit(now time.Time) {
	f.act(actSCR)
	f.sendConfReq(now)
}

func (f *FSM) sendConfReq(now time.Time) {
	f.replied = false
	f.restarts--
	if f.heard {
		f.interval = f.cfg.Restart
	}
	f.deadline = now.Add(f.interval)
	f.interval = min(2*f.interval, f.cfg.Restart)
	f.output(ConfigureRequest, f.reqID, f.req)
}

// sca: Send-Configure-Ack echoing the peer's request.
func (f *FSM) sca() {
	f.act(actSCA)
	f.failures = 0
	f.output(ConfigureAck, f.respID, f.resp)
}

// scn: Send-Configure-Nak or -Reject as decided by the rules.
func (f *FSM) scn() {
	f.act(actSCN)
	if f.respCode == ConfigureNak {
		f.failures++
	}
	f.output(f.respCode, f.respID, f.resp)
}

func (f *FSM) str(now time.Time) {
	f.act(actSTR)
	f.id++
	f.termID = f.id
	f.restarts--
	f.deadline = now.Add(f.cfg.Restart)
	f.output(TerminateRequest, f.termID, nil)
}

func (f *FSM) sta() {
	f.act(actSTA)
	f.output(TerminateAck, f.respID, nil)
}

// scj: Send-Code-Reject carrying the offending packet, truncated to the peer's MRU.
func (f *FSM) scj() {
	f.act(actSCJ)
	data := f.resp
	if maxData := f.cfg.MaxPacket - 4; len(data) > maxData {
		data = data[:max(maxData, 0)]
	}
	f.id++
	f.output(CodeReject, f.id, data)
}

// ser: Send-Echo-Reply for an Echo-Request; Echo-Replies go to the layer; Discard-Requests are
// dropped.
func (f *FSM) ser() {
	f.act(actSER)
	switch f.respCode {
	case EchoRequest:
		if len(f.resp) < 4 {
			f.stats.Discarded++
			return
		}
		binary.BigEndian.PutUint32(f.resp[:4], f.cfg.EchoMagic())
		data := f.resp
		if maxData := f.cfg.MaxPacket - 4; len(data) > maxData {
			data = data[:max(maxData, 0)]
		}
		f.output(EchoReply, f.respID, data)
	case EchoReply:
		if h, ok := f.layer.(EchoHandler); ok {
			h.EchoReply(f.respID, f.resp)
		}
	}
}

// SendCode sends a packet with an arbitrary code and a fresh identifier (LCP uses it for
// Protocol-Reject, Echo-Request and Discard-Request) and returns the identifier used.
func (f *FSM) SendCode(code Code, data []byte) uint8 {
	f.id++
	if maxData := f.cfg.MaxPacket - 4; len(data) > maxData {
		data = data[:max(maxData, 0)]
	}
	f.output(code, f.id, data)
	return f.id
}

func (f *FSM) output(code Code, id uint8, data []byte) {
	f.pkt = append(f.pkt[:0], byte(code), id, 0, 0)
	f.pkt = append(f.pkt, data...)
	binary.BigEndian.PutUint16(f.pkt[2:4], uint16(len(f.pkt)))
	f.stats.PacketsOut++
	f.send(f.pkt)
}

func (f *FSM) log(msg string, args ...any) {
	if f.cfg.Logger != nil {
		f.cfg.Logger.Debug(f.cfg.Name+": "+msg, args...)
	}
}
