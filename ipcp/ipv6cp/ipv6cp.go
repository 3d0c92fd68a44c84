// Package ipv6cp holds the IPv6 Control Protocol's option rules (RFC 5072): the
// Interface-Identifier each end uses for its link-local address, with collision handling.
//
// Why a package of its own: IPV6CP runs beside IPCP on the same automaton (ppp/fsm) but
// negotiates a different thing; pppd offers it by default, so even an IPv4-only client must
// either run it or Protocol-Reject it, and when it runs, two ends that pick the same identifier
// must end up with different ones.
package ipv6cp

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/pppdial/pppdial/ppp/fsm"
)

// Protocol is IPV6CP's PPP protocol number.
const Protocol uint16 = 0x8057

// IPV6CP option types.
const (
	OptInterfaceID byte = 1 // Interface-Identifier (8 bytes)
	OptCompression byte = 2 // IPv6-Compression-Protocol; rejected
)

// IID is a 64-bit interface identifier; the zero value means "none".
type IID [8]byte

// IsZero reports whether id is all zeros (no identifier).
func (id IID) IsZero() bool { return id == IID{} }

// LinkLocal returns fe80::id, the link-local address built from the identifier.
func (id IID) LinkLocal() netip.Addr {
	var b [16]byte
	b[0], b[1] = 0xfe, 0x80
	copy(b[8:], id[:])
	return netip.AddrFrom16(b)
}

// String renders the identifier as pppd does (four groups of hex digits).
func (id IID) String() string {
	return fmt.Sprintf("%02x%02x:%02x%02x:%02x%02x:%02x%02x", id[0], id[1], id[2], id[3], id[4], id[5], id[6], id[7])
}

// NewIID returns a random non-zero identifier from rand that differs from every id in avoid.
// rand fills b with random bytes.
func NewIID(rand func(b []byte), avoid ...IID) IID {
	for {
		var id IID
		rand(id[:])
		id[0] &^= 0x02 // universal/local bit cleared: a locally generated identifier (RFC 4291)
		if id.IsZero() {
			continue
		}
		clash := false
		for _, a := range avoid {
			clash = clash || a == id
		}
		if !clash {
			return id
		}
	}
}

// CheckRequest answers each option of the peer's Configure-Request into r. ours is the
// identifier we are requesting; fresh returns a new random identifier that differs from ours
// (and from the peer's). A zero or colliding identifier from the peer is naked with a fresh one
// (RFC 5072 4.1); the compression option and unknown options are rejected. It returns the peer's
// identifier when acceptable.
func CheckRequest(opts []byte, ours IID, fresh func(avoid ...IID) IID, r *fsm.Responder) (peer IID) {
	seen := [256]bool{}
	for typ, data := range fsm.Options(opts) {
		if seen[typ] || typ != OptInterfaceID || len(data) != 8 {
			r.Reject(typ, data)
			seen[typ] = true
			continue
		}
		seen[typ] = true
		id := IID(data)
		if id.IsZero() || id == ours {
			s := fresh(ours, id)
			r.Nak(typ, s[:])
			continue
		}
		peer = id
		r.Ack(typ, data)
	}
	return peer
}

// Negotiator implements fsm.Rules for IPV6CP.
type Negotiator struct {
	// Rand fills b with random bytes; it must be set.
	Rand func(b []byte)
	// Fixed, when non-zero, is our identifier, kept even when the peer naks it.
	Fixed IID

	local  IID // our identifier (generated once, kept across negotiations)
	want   IID // requested: zero when the peer rejected the option
	ours   IID
	peer   IID
	resp   fsm.Responder
	noSend bool
}

// NewNegotiator returns a Negotiator; fixed may be zero to draw a random identifier.
func NewNegotiator(fixed IID, rand func(b []byte)) *Negotiator {
	n := &Negotiator{Rand: rand, Fixed: fixed, local: fixed}
	if n.local.IsZero() {
		n.local = NewIID(rand)
	}
	n.Reset()
	return n
}

func (n *Negotiator) fresh(avoid ...IID) IID { return NewIID(n.Rand, avoid...) }

// Reset starts a new negotiation.
func (n *Negotiator) Reset() {
	n.want = n.local
	n.noSend = false
}

// AppendRequest appends our Configure-Request options.
func (n *Negotiator) AppendRequest(dst []byte) []byte {
	if n.noSend {
		return dst
	}
	return fsm.AppendOption(dst, OptInterfaceID, n.want[:])
}

// CheckRequest answers the peer's Configure-Request.
func (n *Negotiator) CheckRequest(opts, dst []byte) (fsm.Code, []byte) {
	n.resp.Reset()
	peer := CheckRequest(opts, n.want, n.fresh, &n.resp)
	code, out := n.resp.Result(dst)
	if code == fsm.ConfigureAck {
		n.peer = peer
	}
	return code, out
}

// Acked records that the peer acked our request.
func (n *Negotiator) Acked([]byte) {
	n.ours = n.want
	if n.noSend {
		n.ours = n.local
	}
}

// Naked takes the identifier the peer suggests for us, unless ours is fixed, or the suggestion
// is zero or equals the peer's, in which case a fresh one is drawn.
func (n *Negotiator) Naked(opts []byte) error {
	if err := fsm.ValidOptions(opts); err != nil {
		return err
	}
	for typ, data := range fsm.Options(opts) {
		if typ != OptInterfaceID || len(data) != 8 || !n.Fixed.IsZero() {
			continue
		}
		id := IID(data)
		if id.IsZero() || id == n.peer {
			id = n.fresh(n.want, n.peer)
		}
		n.want, n.local = id, id
	}
	return nil
}

// Rejected stops requesting the identifier; ours is then used without agreement.
func (n *Negotiator) Rejected(opts []byte) error {
	if err := fsm.ValidOptions(opts); err != nil {
		return err
	}
	if fsm.HasOption(opts, OptInterfaceID) {
		n.noSend = true
	}
	return nil
}

// Local returns our link-local address (valid once IPV6CP is opened).
func (n *Negotiator) Local() netip.Addr { return n.ours.LinkLocal() }

// Peer returns the peer's link-local address, or an invalid Addr if it sent no identifier.
func (n *Negotiator) Peer() netip.Addr {
	if n.peer.IsZero() {
		return netip.Addr{}
	}
	return n.peer.LinkLocal()
}

// FormatOptions renders IPV6CP options the way pppd logs them.
func FormatOptions(opts []byte) string {
	var b strings.Builder
	for typ, data := range fsm.Options(opts) {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		if typ == OptInterfaceID && len(data) == 8 {
			fmt.Fprintf(&b, "<addr fe80::%v>", IID(data))
		} else {
			fmt.Fprintf(&b, "<opt %d %x>", typ, data)
		}
	}
	return b.String()
}
