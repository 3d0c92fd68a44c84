// Package ipcp holds the IP Control Protocol's option rules (RFC 1332, with the DNS options of
// RFC 1877) for both roles: a client that asks to be given an address and DNS servers, and a
// server that hands them out.
//
// Why pure functions: IPCP is where real peers disagree most. slirp asks for VJ compression and
// for 0.0.0.0 as its own address, and neither acks nor rejects the secondary-DNS option; pppd
// asks for VJ too; modems nak whatever the network assigned. Each of those rules is a small
// function here, tested and fuzzed on its own; the shared automaton (ppp/fsm) runs the exchange.
package ipcp

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/pppdial/pppdial/ppp/fsm"
)

// Protocol is IPCP's PPP protocol number.
const Protocol uint16 = 0x8021

// IPCP configuration option types.
const (
	OptIPAddresses   byte = 1   // deprecated (RFC 1172); rejected
	OptCompression   byte = 2   // IP-Compression-Protocol (Van Jacobson); rejected
	OptIPAddress     byte = 3   // IP-Address
	OptPrimaryDNS    byte = 129 // RFC 1877
	OptPrimaryNBNS   byte = 130 // RFC 1877; rejected
	OptSecondaryDNS  byte = 131 // RFC 1877
	OptSecondaryNBNS byte = 132 // RFC 1877; rejected
)

var unspecified = netip.IPv4Unspecified()

// FallbackPeerAddr is the address a client suggests to a peer that asks for 0.0.0.0 for itself
// when no PeerAddr is configured: pppd's default remote address. Rejecting the option instead
// (what pppd does during negotiation) makes slirp close IPCP right after opening it ("could not
// determine local IP address"), so the peer is given this one; it only names the far end of a
// point-to-point link.
var FallbackPeerAddr = netip.AddrFrom4([4]byte{10, 64, 64, 64})

// Options is one direction's set of IPCP option values. An invalid (zero) netip.Addr means the
// option is absent; 0.0.0.0 means "please tell me".
type Options struct {
	Addr netip.Addr // IP-Address
	DNS1 netip.Addr // Primary-DNS-Address
	DNS2 netip.Addr // Secondary-DNS-Address
}

// Policy is what we request and hand out.
type Policy struct {
	// Server selects the server role: the peer is assigned PeerAddr and offered DNS.
	Server bool
	// LocalAddr is the address we request for ourselves; invalid or 0.0.0.0 asks the peer to
	// assign one (client). A server without one sends no IP-Address option.
	LocalAddr netip.Addr
	// PeerAddr is the address the server assigns to the peer. For a client it is only used to
	// answer a peer that asks 0.0.0.0 for itself; without it that option is rejected (as pppd
	// does).
	PeerAddr netip.Addr
	// AskDNS makes a client request the primary and secondary DNS addresses.
	AskDNS bool
	// DNS holds the server's DNS addresses, handed out for options 129 and 131.
	DNS []netip.Addr
}

// Initial returns the options of our first Configure-Request.
func (p Policy) Initial() Options {
	var o Options
	switch {
	case p.LocalAddr.Is4() && !p.LocalAddr.IsUnspecified():
		o.Addr = p.LocalAddr
	case !p.Server:
		o.Addr = unspecified
	}
	if !p.Server && p.AskDNS {
		o.DNS1, o.DNS2 = unspecified, unspecified
	}
	return o
}

func appendAddrOpt(dst []byte, typ byte, a netip.Addr) []byte {
	b := a.As4()
	return fsm.AppendOption(dst, typ, b[:])
}

// AppendRequest appends a Configure-Request's options for o to dst.
func AppendRequest(dst []byte, o Options) []byte {
	if o.Addr.Is4() {
		dst = appendAddrOpt(dst, OptIPAddress, o.Addr)
	}
	if o.DNS1.Is4() {
		dst = appendAddrOpt(dst, OptPrimaryDNS, o.DNS1)
	}
	if o.DNS2.Is4() {
		dst = appendAddrOpt(dst, OptSecondaryDNS, o.DNS2)
	}
	return dst
}

func addr4(data []byte) (netip.Addr, bool) {
	if len(data) != 4 {
		return netip.Addr{}, false
	}
	return netip.AddrFrom4([4]byte(data)), true
}

// CheckRequest answers each option of the peer's Configure-Request under p into r and returns
// the peer's values (meaningful when the reply is an Ack).
//
// IP-Address: a server acks PeerAddr and naks anything else to it; a client acks the peer's
// own non-zero address, and for 0.0.0.0 (slirp asks that) naks to PeerAddr if configured, else
// to FallbackPeerAddr. DNS options: a server acks its
// configured addresses and naks to them, rejecting what it has none for; a client rejects them.
// VJ compression, the deprecated IP-Addresses option, NBNS and anything unknown are rejected.
func CheckRequest(opts []byte, p Policy, r *fsm.Responder) Options {
	var peer Options
	seen := [256]bool{}
	for typ, data := range fsm.Options(opts) {
		if seen[typ] {
			r.Reject(typ, data)
			continue
		}
		seen[typ] = true
		a, ok := addr4(data)
		switch {
		case typ == OptIPAddress && ok:
			switch {
			case p.Server && p.PeerAddr.Is4():
				if a == p.PeerAddr {
					peer.Addr = a
					r.Ack(typ, data)
				} else {
					r.Nak(typ, p.PeerAddr.AsSlice())
				}
			case !a.IsUnspecified():
				peer.Addr = a
				r.Ack(typ, data)
			case usable(p.PeerAddr):
				r.Nak(typ, p.PeerAddr.AsSlice())
			default:
				r.Nak(typ, FallbackPeerAddr.AsSlice())
			}
		case (typ == OptPrimaryDNS || typ == OptSecondaryDNS) && ok && p.Server:
			i := 0
			if typ == OptSecondaryDNS {
				i = 1
			}
			if i >= len(p.DNS) || !p.DNS[i].Is4() {
				r.Reject(typ, data)
				continue
			}
			if a != p.DNS[i] {
				r.Nak(typ, p.DNS[i].AsSlice())
				continue
			}
			if i == 0 {
				peer.DNS1 = a
			} else {
				peer.DNS2 = a
			}
			r.Ack(typ, data)
		default:
			r.Reject(typ, data)
		}
	}
	// A server whose client sent no IP-Address option (and so wants no address from us) is
	// left alone: RFC 1332 makes the option optional.
	return peer
}

// ApplyNak returns our next request after the peer naked want with opts. A non-zero address or
// DNS server the peer suggests is taken (that is how a client is assigned them). A DNS option we
// asked for with 0.0.0.0 that the Nak does not mention is dropped from the next request: the peer
// has no value for it, and a peer like slirp, which neither naks nor rejects option 131, would
// otherwise be asked for ever.
func ApplyNak(want Options, opts []byte) (Options, error) {
	if err := fsm.ValidOptions(opts); err != nil {
		return want, err
	}
	var sawDNS1, sawDNS2 bool
	for typ, data := range fsm.Options(opts) {
		a, ok := addr4(data)
		if !ok {
			continue
		}
		switch typ {
		case OptIPAddress:
			if !a.IsUnspecified() && want.Addr.IsValid() {
				want.Addr = a
			}
		case OptPrimaryDNS:
			sawDNS1 = true
			if !a.IsUnspecified() && want.DNS1.IsValid() {
				want.DNS1 = a
			}
		case OptSecondaryDNS:
			sawDNS2 = true
			if !a.IsUnspecified() && want.DNS2.IsValid() {
				want.DNS2 = a
			}
		}
	}
	if len(opts) > 0 {
		if !sawDNS1 && want.DNS1 == unspecified {
			want.DNS1 = netip.Addr{}
		}
		if !sawDNS2 && want.DNS2 == unspecified {
			want.DNS2 = netip.Addr{}
		}
	}
	return want, nil
}

// ApplyReject returns our next request without the options the peer rejected.
func ApplyReject(want Options, opts []byte) (Options, error) {
	if err := fsm.ValidOptions(opts); err != nil {
		return want, err
	}
	for typ := range fsm.Options(opts) {
		switch typ {
		case OptIPAddress:
			want.Addr = netip.Addr{}
		case OptPrimaryDNS:
			want.DNS1 = netip.Addr{}
		case OptSecondaryDNS:
			want.DNS2 = netip.Addr{}
		}
	}
	return want, nil
}

// ParseRequest decodes the IPCP options it knows from opts.
func ParseRequest(opts []byte) (Options, error) {
	var o Options
	if err := fsm.ValidOptions(opts); err != nil {
		return o, err
	}
	for typ, data := range fsm.Options(opts) {
		a, ok := addr4(data)
		if !ok {
			continue
		}
		switch typ {
		case OptIPAddress:
			o.Addr = a
		case OptPrimaryDNS:
			o.DNS1 = a
		case OptSecondaryDNS:
			o.DNS2 = a
		}
	}
	return o, nil
}

// FormatOptions renders IPCP options the way pppd logs them, for debug logs.
func FormatOptions(opts []byte) string {
	var b strings.Builder
	for typ, data := range fsm.Options(opts) {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		a, ok := addr4(data)
		switch {
		case typ == OptIPAddress && ok:
			fmt.Fprintf(&b, "<addr %v>", a)
		case typ == OptPrimaryDNS && ok:
			fmt.Fprintf(&b, "<ms-dns1 %v>", a)
		case typ == OptSecondaryDNS && ok:
			fmt.Fprintf(&b, "<ms-dns2 %v>", a)
		case typ == OptCompression && len(data) >= 2:
			fmt.Fprintf(&b, "<compress %#04x>", binary.BigEndian.Uint16(data))
		default:
			fmt.Fprintf(&b, "<opt %d %x>", typ, data)
		}
	}
	return b.String()
}

// Result is what an opened IPCP gives the link.
type Result struct {
	Local netip.Addr   // our address
	Peer  netip.Addr   // the peer's address; invalid when the peer never said (slirp)
	DNS   []netip.Addr // DNS servers learnt (client) or handed out (server)
}

// Negotiator implements fsm.Rules for IPCP.
type Negotiator struct {
	Policy Policy

	want Options
	ours Options
	peer Options
	resp fsm.Responder
}

// NewNegotiator returns a Negotiator for policy p.
func NewNegotiator(p Policy) *Negotiator {
	n := &Negotiator{Policy: p}
	n.Reset()
	return n
}

// Reset starts a new negotiation from the policy.
func (n *Negotiator) Reset() { n.want = n.Policy.Initial() }

// AppendRequest appends our Configure-Request options.
func (n *Negotiator) AppendRequest(dst []byte) []byte { return AppendRequest(dst, n.want) }

// CheckRequest answers the peer's Configure-Request.
func (n *Negotiator) CheckRequest(opts, dst []byte) (fsm.Code, []byte) {
	n.resp.Reset()
	peer := CheckRequest(opts, n.Policy, &n.resp)
	code, out := n.resp.Result(dst)
	if code == fsm.ConfigureAck {
		n.peer = peer
	}
	return code, out
}

// Acked records that the peer acked our request.
func (n *Negotiator) Acked([]byte) { n.ours = n.want }

// Naked applies a Configure-Nak.
func (n *Negotiator) Naked(opts []byte) error {
	want, err := ApplyNak(n.want, opts)
	if err == nil {
		n.want = want
	}
	return err
}

// Rejected applies a Configure-Reject.
func (n *Negotiator) Rejected(opts []byte) error {
	want, err := ApplyReject(n.want, opts)
	if err == nil {
		n.want = want
	}
	return err
}

// Result returns the addresses the negotiation produced. ok is false when we have no usable
// address of our own (the peer rejected IP-Address and none is configured, or acked 0.0.0.0).
func (n *Negotiator) Result() (res Result, ok bool) {
	res.Local = n.ours.Addr
	if !usable(res.Local) {
		res.Local = n.Policy.LocalAddr
	}
	res.Peer = n.peer.Addr
	if !usable(res.Peer) && usable(n.Policy.PeerAddr) {
		res.Peer = n.Policy.PeerAddr
	}
	if !usable(res.Peer) {
		res.Peer = netip.Addr{}
	}
	if n.Policy.Server {
		for _, d := range n.Policy.DNS {
			if d.IsValid() {
				res.DNS = append(res.DNS, d)
			}
		}
	} else {
		for _, d := range []netip.Addr{n.ours.DNS1, n.ours.DNS2} {
			if usable(d) && !slices.Contains(res.DNS, d) { // pppd hands out one server twice
				res.DNS = append(res.DNS, d)
			}
		}
	}
	return res, usable(res.Local)
}

func usable(a netip.Addr) bool { return a.Is4() && !a.IsUnspecified() }
