// Package lcp holds the Link Control Protocol's option rules (RFC 1661, RFC 1334/1994 for the
// Authentication-Protocol option) and the codecs of LCP's own packets.
//
// Why it is separate from ppp: what LCP requests, accepts, naks and rejects is policy, and policy
// is where interoperability bugs live (a modem that naks the MRU, a peer that loops back our
// magic number, a server that insists on an authentication protocol we cannot do). Keeping the
// rules as pure functions over option bytes lets each rule be tested on its own and fuzzed,
// while the shared automaton (ppp/fsm) drives the exchange and package ppp wires the result into
// the framer and the authentication phase.
package lcp

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"

	"github.com/pppdial/pppdial/ppp/fsm"
)

// Protocol is LCP's PPP protocol number.
const Protocol uint16 = 0xc021

// Authentication protocol numbers carried in the Authentication-Protocol option.
const (
	ProtoPAP  uint16 = 0xc023
	ProtoCHAP uint16 = 0xc223
	// CHAPMD5 is the CHAP algorithm byte for MD5 (RFC 1994), the only one supported.
	CHAPMD5 byte = 5
)

// LCP configuration option types (RFC 1661 section 6, RFC 1570 for the rest).
const (
	OptMRU          byte = 1
	OptACCM         byte = 2
	OptAuthProtocol byte = 3
	OptQuality      byte = 4
	OptMagicNumber  byte = 5
	OptPFC          byte = 7
	OptACFC         byte = 8
)

// DefaultMRU is the MRU every PPP implementation must accept (RFC 1661 6.1).
const DefaultMRU = 1500

// MinMRU is the smallest MRU we agree to: smaller ones are naked up to it (as pppd does), since
// IPv4 needs 68 bytes and no real link goes below 128.
const MinMRU = 128

// DefaultACCM is the async control character map in force before LCP opens (RFC 1662 7.1).
const DefaultACCM uint32 = 0xffffffff

// AuthProto names an authentication protocol, as required of a peer or agreed to perform.
type AuthProto uint8

// The authentication protocols.
const (
	AuthNone AuthProto = iota // no authentication
	AuthPAP                   // Password Authentication Protocol (RFC 1334)
	AuthCHAP                  // CHAP with MD5 (RFC 1994)
)

// String returns "none", "PAP" or "CHAP".
func (a AuthProto) String() string {
	switch a {
	case AuthNone:
		return "none"
	case AuthPAP:
		return "PAP"
	case AuthCHAP:
		return "CHAP"
	}
	return fmt.Sprintf("AuthProto(%d)", uint8(a))
}

// appendAuth appends the data of an Authentication-Protocol option for a.
func appendAuth(dst []byte, a AuthProto) []byte {
	switch a {
	case AuthPAP:
		return binary.BigEndian.AppendUint16(dst, ProtoPAP)
	case AuthCHAP:
		return append(binary.BigEndian.AppendUint16(dst, ProtoCHAP), CHAPMD5)
	}
	return dst
}

// parseAuth decodes an Authentication-Protocol option's data; ok is false for protocols (or
// CHAP algorithms) we do not implement.
func parseAuth(data []byte) (a AuthProto, ok bool) {
	if len(data) < 2 {
		return AuthNone, false
	}
	switch binary.BigEndian.Uint16(data) {
	case ProtoPAP:
		return AuthPAP, len(data) == 2
	case ProtoCHAP:
		return AuthCHAP, len(data) == 3 && data[2] == CHAPMD5
	}
	return AuthNone, false
}

// Options is one direction's set of LCP option values.
type Options struct {
	MRU     uint16    // 0: not negotiated (the default, 1500)
	ACCM    uint32    // meaningful when HasACCM
	HasACCM bool      // the ACCM option is present
	Auth    AuthProto // authentication protocol demanded of the other side
	Magic   uint32    // 0: no Magic-Number option
	PFC     bool      // Protocol-Field-Compression
	ACFC    bool      // Address-and-Control-Field-Compression
}

// EffectiveMRU returns the MRU these options stand for (1500 when not negotiated).
func (o Options) EffectiveMRU() int {
	if o.MRU == 0 {
		return DefaultMRU
	}
	return int(o.MRU)
}

// EffectiveACCM returns the ACCM these options stand for (all control characters escaped when
// the option was not negotiated).
func (o Options) EffectiveACCM() uint32 {
	if !o.HasACCM {
		return DefaultACCM
	}
	return o.ACCM
}

// AppendRequest appends a Configure-Request's options for o to dst (in type order, as pppd
// does).
func AppendRequest(dst []byte, o Options) []byte {
	if o.MRU != 0 {
		dst = fsm.AppendOption(dst, OptMRU, binary.BigEndian.AppendUint16(nil, o.MRU))
	}
	if o.HasACCM {
		dst = fsm.AppendOption(dst, OptACCM, binary.BigEndian.AppendUint32(nil, o.ACCM))
	}
	if o.Auth != AuthNone {
		dst = fsm.AppendOption(dst, OptAuthProtocol, appendAuth(nil, o.Auth))
	}
	if o.Magic != 0 {
		dst = fsm.AppendOption(dst, OptMagicNumber, binary.BigEndian.AppendUint32(nil, o.Magic))
	}
	if o.PFC {
		dst = fsm.AppendOption(dst, OptPFC, nil)
	}
	if o.ACFC {
		dst = fsm.AppendOption(dst, OptACFC, nil)
	}
	return dst
}

// Policy is what we are willing to negotiate.
type Policy struct {
	MRU         uint16    // our MRU; 0 or 1500: not requested
	ACCM        uint32    // the ACCM we ask the peer to use when sending to us
	NoACCM      bool      // do not request an ACCM (the peer then escapes all control chars)
	RequireAuth AuthProto // authentication we demand of the peer
	AcceptPAP   bool      // we agree to authenticate ourselves with PAP
	AcceptCHAP  bool      // we agree to authenticate ourselves with CHAP-MD5
	NoPFC       bool      // neither request nor accept Protocol-Field-Compression
	NoACFC      bool      // neither request nor accept Address-and-Control-Field-Compression
	NoMagic     bool      // do not request a Magic-Number
}

// Initial returns the options of our first Configure-Request under p; magic is a fresh non-zero
// random number.
func (p Policy) Initial(magic uint32) Options {
	o := Options{Auth: p.RequireAuth, PFC: !p.NoPFC, ACFC: !p.NoACFC}
	if p.MRU != 0 && p.MRU != DefaultMRU {
		o.MRU = p.MRU
	}
	if !p.NoACCM {
		o.ACCM, o.HasACCM = p.ACCM, true
	}
	if !p.NoMagic {
		o.Magic = magic
	}
	return o
}

// preferredAuth returns the authentication protocol we suggest in a Nak, best first.
func (p Policy) preferredAuth() (AuthProto, bool) {
	switch {
	case p.AcceptCHAP:
		return AuthCHAP, true
	case p.AcceptPAP:
		return AuthPAP, true
	}
	return AuthNone, false
}

// Verdict summarises CheckRequest for the caller beyond the reply itself.
type Verdict struct {
	Peer     Options // the peer's values (meaningful when the reply is an Ack)
	Loopback bool    // the peer's magic number equals ours: possibly a looped-back line
}

// CheckRequest answers each option of a peer's Configure-Request under policy p into r: the
// peer's values are acked when acceptable, naked with the value we want otherwise, and unknown
// or unwanted options are rejected. ourMagic is the magic number we are requesting (0: none);
// newMagic supplies a fresh random number for a Nak of a looped-back magic.
func CheckRequest(opts []byte, p Policy, ourMagic uint32, newMagic func() uint32, r *fsm.Responder) Verdict {
	var v Verdict
	seen := [256]bool{}
	for typ, data := range fsm.Options(opts) {
		if seen[typ] { // a repeated option is as good as an unknown one
			r.Reject(typ, data)
			continue
		}
		seen[typ] = true
		switch typ {
		case OptMRU:
			if len(data) != 2 {
				r.Reject(typ, data)
				continue
			}
			mru := binary.BigEndian.Uint16(data)
			if mru < MinMRU {
				r.Nak(typ, binary.BigEndian.AppendUint16(nil, MinMRU))
				continue
			}
			v.Peer.MRU = mru
			r.Ack(typ, data)
		case OptACCM:
			if len(data) != 4 {
				r.Reject(typ, data)
				continue
			}
			v.Peer.ACCM, v.Peer.HasACCM = binary.BigEndian.Uint32(data), true
			r.Ack(typ, data)
		case OptAuthProtocol:
			a, ok := parseAuth(data)
			if ok && ((a == AuthPAP && p.AcceptPAP) || (a == AuthCHAP && p.AcceptCHAP)) {
				v.Peer.Auth = a
				r.Ack(typ, data)
				continue
			}
			if pref, can := p.preferredAuth(); can {
				r.Nak(typ, appendAuth(nil, pref))
			} else {
				r.Reject(typ, data)
			}
		case OptMagicNumber:
			if len(data) != 4 {
				r.Reject(typ, data)
				continue
			}
			m := binary.BigEndian.Uint32(data)
			if m == 0 || (m == ourMagic && ourMagic != 0) {
				v.Loopback = m != 0
				r.Nak(typ, binary.BigEndian.AppendUint32(nil, nonZero(newMagic, ourMagic)))
				continue
			}
			v.Peer.Magic = m
			r.Ack(typ, data)
		case OptPFC, OptACFC:
			if len(data) != 0 || (typ == OptPFC && p.NoPFC) || (typ == OptACFC && p.NoACFC) {
				r.Reject(typ, data)
				continue
			}
			if typ == OptPFC {
				v.Peer.PFC = true
			} else {
				v.Peer.ACFC = true
			}
			r.Ack(typ, data)
		default: // Quality-Protocol, callback, multilink, ...: not negotiated
			r.Reject(typ, data)
		}
	}
	return v
}

// nonZero returns a random number from gen that is neither 0 nor avoid.
func nonZero(gen func() uint32, avoid uint32) uint32 {
	for i := 0; i < 16; i++ {
		if m := gen(); m != 0 && m != avoid {
			return m
		}
	}
	return avoid ^ 0x5a5a5a5a | 1
}

// NakResult tells the caller what a Nak or Reject meant beyond the new request.
type NakResult struct {
	AuthRefused bool // the peer will not authenticate with the protocol we demand
	Loopback    bool // the peer naked our magic number: it saw its own (or ours looped back)
}

// ApplyNak returns our next request after the peer naked want with opts. Values the peer
// suggests are taken when we can live with them: a smaller or larger MRU (not below MinMRU), more
// ACCM bits; a naked magic number is replaced by a fresh one. A Nak of the authentication protocol
// we demand cannot be satisfied by switching protocols (that would be a downgrade), so the
// option is dropped and AuthRefused reported: the caller ends the link if it needs the peer to
// authenticate.
func ApplyNak(want Options, opts []byte, p Policy, newMagic func() uint32) (Options, NakResult, error) {
	var res NakResult
	if err := fsm.ValidOptions(opts); err != nil {
		return want, res, err
	}
	for typ, data := range fsm.Options(opts) {
		switch typ {
		case OptMRU:
			if len(data) == 2 {
				if mru := binary.BigEndian.Uint16(data); mru >= MinMRU {
					want.MRU = mru
				}
			}
		case OptACCM:
			if len(data) == 4 {
				want.ACCM |= binary.BigEndian.Uint32(data)
				want.HasACCM = true
			}
		case OptAuthProtocol:
			if want.Auth != AuthNone {
				if a, ok := parseAuth(data); !ok || a != want.Auth {
					want.Auth = AuthNone
					res.AuthRefused = true
				}
			}
		case OptMagicNumber:
			if want.Magic != 0 && len(data) == 4 {
				res.Loopback = true
				want.Magic = nonZero(newMagic, want.Magic)
			}
		}
	}
	return want, res, nil
}

// ApplyReject returns our next request after the peer rejected the options in opts: each
// rejected option is no longer requested. Rejecting the authentication protocol we demand is
// reported as AuthRefused.
func ApplyReject(want Options, opts []byte) (Options, NakResult, error) {
	var res NakResult
	if err := fsm.ValidOptions(opts); err != nil {
		return want, res, err
	}
	for typ := range fsm.Options(opts) {
		switch typ {
		case OptMRU:
			want.MRU = 0
		case OptACCM:
			want.HasACCM = false
		case OptAuthProtocol:
			if want.Auth != AuthNone {
				res.AuthRefused = true
			}
			want.Auth = AuthNone
		case OptMagicNumber:
			want.Magic = 0
		case OptPFC:
			want.PFC = false
		case OptACFC:
			want.ACFC = false
		}
	}
	return want, res, nil
}

// ParseRequest decodes a Configure-Request's (or Ack's) options into Options, ignoring options
// it does not know. It is used to read back what was acked and for logs.
func ParseRequest(opts []byte) (Options, error) {
	var o Options
	if err := fsm.ValidOptions(opts); err != nil {
		return o, err
	}
	for typ, data := range fsm.Options(opts) {
		switch {
		case typ == OptMRU && len(data) == 2:
			o.MRU = binary.BigEndian.Uint16(data)
		case typ == OptACCM && len(data) == 4:
			o.ACCM, o.HasACCM = binary.BigEndian.Uint32(data), true
		case typ == OptAuthProtocol:
			o.Auth, _ = parseAuth(data)
		case typ == OptMagicNumber && len(data) == 4:
			o.Magic = binary.BigEndian.Uint32(data)
		case typ == OptPFC:
			o.PFC = true
		case typ == OptACFC:
			o.ACFC = true
		}
	}
	return o, nil
}

// FormatOptions renders LCP options the way pppd logs them ("<mru 1500> <magic 0x1234>"), for
// debug logs.
func FormatOptions(opts []byte) string {
	var b strings.Builder
	for typ, data := range fsm.Options(opts) {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		switch {
		case typ == OptMRU && len(data) == 2:
			fmt.Fprintf(&b, "<mru %d>", binary.BigEndian.Uint16(data))
		case typ == OptACCM && len(data) == 4:
			fmt.Fprintf(&b, "<asyncmap %#x>", binary.BigEndian.Uint32(data))
		case typ == OptAuthProtocol && len(data) >= 2:
			a, ok := parseAuth(data)
			if ok {
				fmt.Fprintf(&b, "<auth %v>", a)
			} else {
				fmt.Fprintf(&b, "<auth %x>", data)
			}
		case typ == OptMagicNumber && len(data) == 4:
			fmt.Fprintf(&b, "<magic %#x>", binary.BigEndian.Uint32(data))
		case typ == OptPFC:
			b.WriteString("<pcomp>")
		case typ == OptACFC:
			b.WriteString("<accomp>")
		default:
			fmt.Fprintf(&b, "<opt %d %x>", typ, data)
		}
	}
	return b.String()
}

// ErrShort reports an LCP packet too short for its code.
var ErrShort = errors.New("lcp: packet too short")

// ParseProtocolReject splits a Protocol-Reject's data into the rejected protocol and the start
// of the rejected packet's information field.
func ParseProtocolReject(data []byte) (protocol uint16, info []byte, err error) {
	if len(data) < 2 {
		return 0, nil, ErrShort
	}
	return binary.BigEndian.Uint16(data), data[2:], nil
}

// AppendProtocolReject appends a Protocol-Reject's data (rejected protocol, then as much of the
// rejected information field as fits in maxLen bytes of data) to dst.
func AppendProtocolReject(dst []byte, protocol uint16, info []byte, maxLen int) []byte {
	dst = binary.BigEndian.AppendUint16(dst, protocol)
	if room := maxLen - 2; len(info) > room {
		info = info[:max(room, 0)]
	}
	return append(dst, info...)
}

// ParseEcho splits an Echo-Request's, Echo-Reply's or Discard-Request's data into the sender's
// magic number and the rest.
func ParseEcho(data []byte) (magic uint32, rest []byte, err error) {
	if len(data) < 4 {
		return 0, nil, ErrShort
	}
	return binary.BigEndian.Uint32(data), data[4:], nil
}
