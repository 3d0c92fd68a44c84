package hdlc

import (
	"bytes"
	"slices"
)

// Octets with a fixed meaning on the wire (RFC 1662 section 4.2).
const (
	flagSeq    = 0x7e // flag sequence: opens and closes every frame
	ctrlEscape = 0x7d // control escape: the next octet was XORed with escXOR
	escXOR     = 0x20
)

// DefaultACCM is the async control character map in force until LCP
// negotiates another: all 32 control characters are escaped on transmission
// and discarded on reception (RFC 1662 section 7.1).
const DefaultACCM uint32 = 0xffffffff

// protoLCP is the Link Control Protocol, whose frames never use ACFC or PFC
// and whose Configure..Code-Reject packets always use the default ACCM.
const protoLCP = 0xc021

// escTable says how each octet goes on the wire: the low byte of an entry
// is the first wire byte (the octet itself, or the control escape) and the
// high byte is the wire length, 1 or 2; the second byte of an escaped octet
// is always the octet XOR escXOR. One load per octet gives the encoder all it
// needs, with no branch.
type escTable [256]uint16

// build fills t from a control character map and a 256-bit set of extra
// octets; flag and control escape are always escaped. It reports whether
// flag and escape are the only escaped octets, which enables the IndexByte
// scan of appendEscapedFlagEsc.
func (t *escTable) build(accm uint32, extra *[8]uint32) (onlyFlagEsc bool) {
	onlyFlagEsc = true
	for i := range 256 {
		esc := extra[i>>5]&(1<<(i&31)) != 0 || i < 0x20 && accm&(1<<i) != 0
		if esc && i != flagSeq && i != ctrlEscape {
			onlyFlagEsc = false
		}
		if esc || i == flagSeq || i == ctrlEscape {
			t[i] = 2<<8 | ctrlEscape
		} else {
			t[i] = 1<<8 | uint16(i)
		}
	}
	return onlyFlagEsc
}

// Encoder builds RFC 1662 frames. The zero value is not usable; call
// [NewEncoder]. An Encoder is not safe for concurrent use.
type Encoder struct {
	accm   uint32
	extra  [8]uint32 // extra escaped octets, one bit each
	esc    escTable  // escapes under the negotiated ACCM
	escLCP escTable  // escapes under DefaultACCM, for LCP codes 1..7
	fast   bool      // esc holds only flag and control escape
	fcs32  bool
	acfc   bool
	pfc    bool
	stats  Stats
}

// NewEncoder returns an Encoder in the state RFC 1662 mandates before LCP
// negotiates anything: transmit ACCM 0xffffffff, FCS-16, address and control
// fields 0xff 0x03 present, and 2-byte protocol fields.
func NewEncoder() *Encoder {
	e := &Encoder{}
	e.SetACCM(DefaultACCM)
	return e
}

func (e *Encoder) rebuild() {
	e.fast = e.esc.build(e.accm, &e.extra)
	e.escLCP.build(DefaultACCM, &e.extra)
}

// SetACCM sets the transmit async control character map: bit n set means
// control character n (0x00..0x1f) is sent escaped. LCP Configure-Request
// through Code-Reject packets ignore it and always use [DefaultACCM].
func (e *Encoder) SetACCM(accm uint32) {
	e.accm = accm
	e.rebuild()
}

// SetEscape adds (on) or removes (off) octet b from the set of octets
// escaped in addition to the ACCM, for links that mangle some octets, e.g.
// XON and XOFF with the high bit set (0x91, 0x93). The flag and control
// escape octets are always escaped whatever this says. Octets 0x20..0x3f,
// 0x5d and 0x5e cannot be escaped and are ignored, as in pppd's "escape"
// option: their escaped forms would be a control character (which the peer
// may discard under its ACCM), the control escape, or the flag (turning the
// pair into an abort sequence).
func (e *Encoder) SetEscape(b byte, on bool) {
	if !escapable(b) {
		return
	}
	if on {
		e.extra[b>>5] |= 1 << (b & 31)
	} else {
		e.extra[b>>5] &^= 1 << (b & 31)
	}
	e.rebuild()
}

// escapable reports whether b's escaped form b^0x20 is safe on the wire.
func escapable(b byte) bool {
	x := b ^ escXOR
	return x >= 0x20 && x != flagSeq && x != ctrlEscape
}

// SetFCS32 selects the 32-bit FCS (on) or the default 16-bit FCS (off) for
// the frames built from now on.
func (e *Encoder) SetFCS32(on bool) { e.fcs32 = on }

// SetACFC turns address-and-control-field compression on or off: when on,
// the 0xff 0x03 header is omitted, except on LCP frames (RFC 1661 6.6).
func (e *Encoder) SetACFC(on bool) { e.acfc = on }

// SetPFC turns protocol field compression on or off: when on, protocols
// below 0x100 go out as a single octet, except on LCP frames (RFC 1661 6.5)
// and protocol 0x00ff (reserved as "compression inefficient", and
// ambiguous with the 0xff address field).
func (e *Encoder) SetPFC(on bool) { e.pfc = on }

// Stats returns the encoder's counters (FramesOut and BytesOut).
func (e *Encoder) Stats() Stats { return e.stats }

// AppendFrame appends one complete frame carrying info under protocol to
// dst and returns the extended slice. The opening flag is omitted when dst
// already ends in a flag, so back-to-back frames share one flag. info is not
// retained or modified.
func (e *Encoder) AppendFrame(dst []byte, protocol uint16, info []byte) []byte {
	start := len(dst)
	lcp := protocol == protoLCP
	tab, fast := &e.esc, e.fast
	if lcp && len(info) > 0 && info[0] >= 1 && info[0] <= 7 {
		// RFC 1662 7.1: Configure-Request..Code-Reject use the default
		// map, so they get through whatever the peer believes.
		tab, fast = &e.escLCP, false
	}

	// The header is at most 4 bytes; it lives in an array on the stack.
	var hbuf [4]byte
	h := 0
	if !e.acfc || lcp {
		hbuf[0], hbuf[1] = 0xff, 0x03
		h = 2
	}
	// 0x00ff is never compressed: alone before info starting 0x03 it
	// would read as the address and control fields.
	if e.pfc && !lcp && protocol < 0x100 && protocol != 0xff {
		hbuf[h] = byte(protocol)
		h++
	} else {
		hbuf[h], hbuf[h+1] = byte(protocol>>8), byte(protocol)
		h += 2
	}
	hdr := hbuf[:h]

	var tbuf [4]byte
	var trailer []byte
	if e.fcs32 {
		f := FCS32Init
		for _, c := range hdr {
			f = fcs32Byte(f, c)
		}
		f = ^FCS32(f, info)
		tbuf[0], tbuf[1], tbuf[2], tbuf[3] = byte(f), byte(f>>8), byte(f>>16), byte(f>>24)
		trailer = tbuf[:4]
	} else {
		f := ^FCS16(FCS16(FCS16Init, hdr), info)
		tbuf[0], tbuf[1] = byte(f), byte(f>>8)
		trailer = tbuf[:2]
	}

	if len(dst) == 0 || dst[len(dst)-1] != flagSeq {
		dst = append(dst, flagSeq)
	}
	dst = appendEscaped(dst, hdr, tab, false)
	dst = appendEscaped(dst, info, tab, fast)
	dst = appendEscaped(dst, trailer, tab, false)
	dst = append(dst, flagSeq)

	e.stats.FramesOut++
	e.stats.BytesOut += uint64(len(dst) - start)
	return dst
}

// appendEscaped appends p to dst, escaping the octets marked in tab.
func appendEscaped(dst, p []byte, tab *escTable, fast bool) []byte {
	if fast {
		return appendEscapedFlagEsc(dst, p)
	}
	// Worst case every byte doubles. Growing once up front lets the loop
	// below store without append's checks, and branch-free: it always
	// writes two bytes and advances by one or two, which beats a
	// mispredicted branch on every escaped byte when escapes are common.
	dst = slices.Grow(dst, 2*len(p))
	n := len(dst)
	out := dst[n : n+2*len(p)]
	j := 0
	for _, c := range p {
		if j+1 >= len(out) {
			break // never: out holds 2*len(p); this tells the compiler so
		}
		v := tab[c]
		out[j] = byte(v)
		out[j+1] = c ^ escXOR
		j += int(v >> 8)
	}
	return dst[:n+j]
}

// appendEscapedFlagEsc is appendEscaped when only the flag and the control
// escape need escaping (ACCM 0, no extras): a clean run ends only at one of
// those two octets, so it tracks the next position of each with the
// vectorised [bytes.IndexByte] and copies every clean run with one append.
// Each byte is scanned once per octet value, however the runs fall.
func appendEscapedFlagEsc(dst, p []byte) []byte {
	nextEsc := indexFrom(p, 0, ctrlEscape)
	nextFlag := indexFrom(p, 0, flagSeq)
	start := 0
	for {
		n := min(nextEsc, nextFlag)
		dst = append(dst, p[start:n]...)
		if n == len(p) {
			return dst
		}
		dst = append(dst, ctrlEscape, p[n]^escXOR)
		start = n + 1
		if n == nextEsc {
			nextEsc = indexFrom(p, start, ctrlEscape)
		} else {
			nextFlag = indexFrom(p, start, flagSeq)
		}
	}
}

// indexFrom returns the index of the first c in p at or after from, or
// len(p) if there is none.
func indexFrom(p []byte, from int, c byte) int {
	if i := bytes.IndexByte(p[from:], c); i >= 0 {
		return from + i
	}
	return len(p)
}
