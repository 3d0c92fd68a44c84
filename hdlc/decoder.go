package hdlc

import "bytes"

// DefaultMaxLen is the default maximum information field length a
// [Decoder] accepts: the default PPP MRU of RFC 1661, which every
// implementation must be able to receive.
const DefaultMaxLen = 1500

// MaxMaxLen caps [Decoder.SetMaxLen]: PPP's MRU option is a 16-bit field, so
// no negotiated length exceeds it.
const MaxMaxLen = 65535

// frameOverhead is the most a frame adds around its information field:
// address and control (2), protocol (2) and FCS-32 (4).
const frameOverhead = 2 + 2 + 4

// Decoder turns a stream of received bytes into frames. The zero value is
// not usable; call [NewDecoder]. A Decoder is not safe for concurrent use.
type Decoder struct {
	buf     []byte // unescaped bytes of the current frame; cap is the bound
	maxLen  int
	accm    uint32
	special [256]bool // flag, control escape and the ACCM's control characters
	hunting bool      // discarding until the next flag
	esc     bool      // the previous kept octet was a control escape
	fcs32   bool
	stats   Stats
}

// NewDecoder returns a Decoder in the state RFC 1662 mandates before LCP
// negotiates anything: receive ACCM 0xffffffff, FCS-16, and a maximum
// information length of [DefaultMaxLen]. It discards everything up to the
// first flag, so modem chatter before the first frame is ignored silently.
func NewDecoder() *Decoder {
	d := &Decoder{hunting: true}
	d.SetACCM(DefaultACCM)
	d.SetMaxLen(DefaultMaxLen)
	return d
}

// SetACCM sets the receive async control character map: a control character
// (0x00..0x1f) whose bit is set is discarded wherever it appears, as one
// inserted by the DCE (RFC 1662 section 7.1). Escaped control characters are
// unaffected.
func (d *Decoder) SetACCM(accm uint32) {
	d.accm = accm
	for i := range d.special {
		d.special[i] = i == flagSeq || i == ctrlEscape || i < 0x20 && accm&(1<<i) != 0
	}
}

// SetFCS32 selects the 32-bit FCS (on) or the default 16-bit FCS (off) for
// the frames that end from now on.
func (d *Decoder) SetFCS32(on bool) { d.fcs32 = on }

// SetMaxLen sets the largest information field accepted; longer frames are
// dropped and counted as TooLong as soon as they overrun, so the decoder's
// memory stays bounded by n whatever a peer sends. n is clamped to
// [0, MaxMaxLen]. A frame in progress is kept if it still fits.
func (d *Decoder) SetMaxLen(n int) {
	n = min(max(n, 0), MaxMaxLen)
	if n == d.maxLen && d.buf != nil {
		return
	}
	d.maxLen = n
	nb := make([]byte, 0, n+frameOverhead)
	if len(d.buf) <= cap(nb) {
		nb = append(nb, d.buf...)
	} else {
		d.tooLong()
	}
	d.buf = nb
}

// Stats returns the decoder's counters.
func (d *Decoder) Stats() Stats { return d.stats }

// Feed decodes the next chunk p of the received stream, calling fn for each
// good frame in it with the frame's protocol and information field. info
// aliases the decoder's buffer and is valid only until fn returns: copy what
// must outlive the call. Frames may span chunks; how the stream is split
// makes no difference to what comes out. Setters called from inside fn apply
// from the next byte of p on. fn must not call Feed; a nil fn drops the
// frames (they are still counted).
func (d *Decoder) Feed(p []byte, fn func(protocol uint16, info []byte)) {
	d.stats.BytesIn += uint64(len(p))
	for len(p) > 0 {
		if d.hunting {
			i := bytes.IndexByte(p, flagSeq)
			if i < 0 {
				return
			}
			p = p[i+1:]
			d.hunting, d.esc = false, false
			d.buf = d.buf[:0]
			continue
		}
		// Take in frame bytes up to the next flag. The ACCM is read
		// afresh after every frame, as fn may have changed it.
		var n int
		if d.accm == 0 {
			n = d.takeNoACCM(p)
		} else {
			n = d.take(p)
		}
		p = p[n:]
		if len(p) == 0 || d.hunting {
			continue
		}
		p = p[1:] // the flag
		// The frame is complete: the buffer is empty again before fn
		// runs (info still aliases its array), so a SetMaxLen from fn
		// has no frame in progress to carry over or drop.
		frame := d.buf
		d.buf = d.buf[:0]
		if d.esc {
			// 0x7d 0x7e: the sender abandoned the frame.
			d.esc = false
			d.stats.Aborts++
		} else if len(frame) > 0 {
			d.end(frame, fn)
		}
	}
}

// takeNoACCM is take for an empty receive ACCM, when only the flag and the
// control escape are special: it finds them with the vectorised
// [bytes.IndexByte] and copies the runs between them whole.
func (d *Decoder) takeNoACCM(p []byte) int {
	end := bytes.IndexByte(p, flagSeq)
	if end < 0 {
		end = len(p)
	}
	q := p[:end]
	for len(q) > 0 {
		if d.esc {
			d.esc = false
			if !d.put1(q[0] ^ escXOR) {
				return end
			}
			q = q[1:]
			continue
		}
		i := bytes.IndexByte(q, ctrlEscape)
		if i < 0 {
			i = len(q)
		}
		if len(d.buf)+i > cap(d.buf) {
			d.tooLong()
			return end
		}
		d.buf = append(d.buf, q[:i]...)
		if i < len(q) {
			d.esc = true
			i++
		}
		q = q[i:]
	}
	return end
}

// take appends the frame bytes of p to d.buf, unescaping and dropping
// characters in the receive ACCM, up to the first flag; it returns the flag's
// index or len(p). On overrun it gives the frame up (d.hunting is then set).
func (d *Decoder) take(p []byte) int {
	buf := d.buf[:cap(d.buf)]
	n := len(d.buf)
	var x byte // escXOR right after a control escape, else 0
	if d.esc {
		x = escXOR
	}
	sp := &d.special
	for i, c := range p {
		if sp[c] {
			switch {
			case c == flagSeq:
				d.buf, d.esc = buf[:n], x != 0
				return i
			case c < 0x20:
				// Inserted by the DCE: dropped without ending an escape.
				continue
			case x == 0: // c == ctrlEscape
				x = escXOR
				continue
			}
			// An escaped control escape: data, as any escaped octet.
		}
		if n == len(buf) {
			d.buf = buf[:n]
			d.tooLong()
			return i
		}
		buf[n] = c ^ x
		n++
		x = 0
	}
	d.buf, d.esc = buf[:n], x != 0
	return len(p)
}

// put1 appends one unescaped byte, giving up on a frame that overruns.
func (d *Decoder) put1(c byte) bool {
	if len(d.buf) == cap(d.buf) {
		d.tooLong()
		return false
	}
	d.buf = append(d.buf, c)
	return true
}

func (d *Decoder) tooLong() {
	d.stats.TooLong++
	d.hunting, d.esc = true, false
	d.buf = d.buf[:0]
}

// end checks the complete frame b and hands it to fn if good.
func (d *Decoder) end(b []byte, fn func(uint16, []byte)) {
	fcsLen := 2
	if d.fcs32 {
		fcsLen = 4
	}
	if len(b) <= fcsLen {
		d.stats.Runts++
		return
	}
	if d.fcs32 {
		if FCS32(FCS32Init, b) != FCS32Good {
			d.stats.FCSErrors++
			return
		}
	} else if FCS16(FCS16Init, b) != FCS16Good {
		d.stats.FCSErrors++
		return
	}
	b = b[:len(b)-fcsLen]
	if len(b) >= 2 && b[0] == 0xff && b[1] == 0x03 {
		b = b[2:]
	}
	var proto uint16
	switch {
	case len(b) == 0:
		d.stats.Runts++
		return
	case b[0]&1 != 0: // compressed: the high octet 0x00 was omitted
		proto, b = uint16(b[0]), b[1:]
	case len(b) < 2:
		d.stats.Runts++
		return
	case b[1]&1 == 0: // RFC 1661 2: the low octet of a protocol is odd
		d.stats.BadProtocol++
		return
	default:
		proto, b = uint16(b[0])<<8|uint16(b[1]), b[2:]
	}
	if len(b) > d.maxLen {
		d.stats.TooLong++
		return
	}
	d.stats.FramesIn++
	if fn != nil {
		fn(proto, b)
	}
}
