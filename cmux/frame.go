package cmux

import (
	"bytes"
	"errors"
	"fmt"
)

// Flag opens and closes every basic-option frame (27.010 clause 5.2.6). The basic option has no
// transparency: 0xF9 may occur inside a frame, which is why frames carry a length and an FCS.
const Flag = 0xF9

// Field bits of the address and control octets (27.010 clauses 5.2.1.2 and 5.2.1.3).
const (
	bitEA = 0x01 // extension bit: 1 in the last octet of a field
	bitCR = 0x02 // command/response bit of the address octet
	bitPF = 0x10 // poll/final bit of the control octet
)

// MaxDLCI is the highest data link connection identifier the 6-bit address field holds.
const MaxDLCI = 63

// MaxN1 is the largest information field a basic-option frame can carry: the two-octet length
// field holds 15 bits.
const MaxN1 = 1<<15 - 1

// DefaultN1 is the frame size used when none is configured: 27.010's default for the basic
// option is 31, but every current modem accepts 127 and the larger frames halve the overhead.
const DefaultN1 = 127

// FrameType is the control octet of a frame without its P/F bit.
type FrameType byte

// The frame types of the basic option (27.010 clause 5.2.1.3). I frames (error recovery mode)
// are not supported: n_gsm and the modems in the quirks table do not use them either.
const (
	SABM FrameType = 0x2F // set asynchronous balanced mode: opens a DLC
	UA   FrameType = 0x63 // unnumbered acknowledgement
	DM   FrameType = 0x0F // disconnected mode: the DLC is closed (or refused)
	DISC FrameType = 0x43 // disconnect: closes a DLC (DLC 0: the whole multiplexer)
	UIH  FrameType = 0xEF // unnumbered information, FCS over the header only: the data frames
	UI   FrameType = 0x03 // unnumbered information, FCS over the whole frame
)

// String names the frame type as 27.010 does ("SABM", "UIH").
func (t FrameType) String() string {
	switch t {
	case SABM:
		return "SABM"
	case UA:
		return "UA"
	case DM:
		return "DM"
	case DISC:
		return "DISC"
	case UIH:
		return "UIH"
	case UI:
		return "UI"
	}
	return fmt.Sprintf("FrameType(%#02x)", byte(t))
}

// Frame is one 27.010 basic-option frame.
type Frame struct {
	DLCI uint8     // 0 is the control channel
	CR   bool      // the address octet's C/R bit as sent (its meaning depends on the sender's role)
	Type FrameType // control octet without P/F
	PF   bool      // poll (in a command) or final (in a response) bit
	// Info is the information field. In a decoded frame it points into the Decoder's buffer and
	// is valid until the next call to the Decoder.
	Info []byte
}

// String describes the frame for logs (the information field by its length only).
func (f Frame) String() string {
	return fmt.Sprintf("%v dlci=%d cr=%t pf=%t len=%d", f.Type, f.DLCI, f.CR, f.PF, len(f.Info))
}

// Errors of AppendFrame.
var (
	ErrBadDLCI   = errors.New("cmux: DLCI out of range 0..63")
	ErrFrameSize = errors.New("cmux: information field longer than 32767 bytes")
)

// FrameLen is the encoded size of a frame with an information field of n bytes.
func FrameLen(n int) int {
	if n > 127 {
		return n + 7
	}
	return n + 6
}

// AppendFrame appends f, encoded with both flags, to dst. It allocates only when dst lacks
// the capacity.
func AppendFrame(dst []byte, f Frame) ([]byte, error) {
	if f.DLCI > MaxDLCI {
		return dst, ErrBadDLCI
	}
	n := len(f.Info)
	if n > MaxN1 {
		return dst, ErrFrameSize
	}
	addr := f.DLCI<<2 | bitEA
	if f.CR {
		addr |= bitCR
	}
	ctrl := byte(f.Type)
	if f.PF {
		ctrl |= bitPF
	}
	start := len(dst) + 1 // the FCS covers from the address octet on
	dst = append(dst, Flag, addr, ctrl)
	if n <= 127 {
		dst = append(dst, byte(n)<<1|bitEA)
	} else {
		dst = append(dst, byte(n<<1), byte(n>>7))
	}
	var fcs byte
	if f.Type == UI {
		dst = append(dst, f.Info...)
		fcs = fcsOf(dst[start:])
	} else {
		fcs = fcsOf(dst[start:])
		dst = append(dst, f.Info...)
	}
	return append(dst, fcs, Flag), nil
}

// DecoderStats counts what a Decoder saw. Dropped input is counted, never returned.
type DecoderStats struct {
	Frames   uint64 // good frames returned
	BadFCS   uint64 // frames dropped for a bad FCS
	Oversize uint64 // frames dropped for an information field longer than N1
	// Truncated counts frames dropped because no closing flag followed where their length said
	// the frame ended: cut short, or a length octet hurt on the line.
	Truncated uint64
	Malformed uint64 // headers that cannot open a frame (an address octet without EA)
	Garbage   uint64 // bytes skipped while hunting for an opening flag
}

// Decoder splits a byte stream into basic-option frames. It checks the FCS, enforces N1,
// resynchronises after garbage and damaged frames (counting them in Stats) and returns good
// frames one at a time. It does no I/O, starts no goroutines and allocates only in NewDecoder.
//
// Bytes go in either by Feed (copied) or by reading straight into Space and calling Commit.
type Decoder struct {
	n1    int
	buf   []byte
	r, w  int
	stats DecoderStats
}

// NewDecoder returns a Decoder that accepts information fields up to n1 bytes (n1 <= 0:
// DefaultN1; values above MaxN1 are clamped).
func NewDecoder(n1 int) *Decoder {
	if n1 <= 0 {
		n1 = DefaultN1
	}
	n1 = min(n1, MaxN1)
	// Room for two whole frames and a useful read size: a frame never waits for space.
	size := max(2*FrameLen(n1), 4096)
	return &Decoder{n1: n1, buf: make([]byte, size)}
}

// N1 is the largest information field the Decoder accepts.
func (d *Decoder) N1() int { return d.n1 }

// Stats returns the counters so far.
func (d *Decoder) Stats() DecoderStats { return d.stats }

// Buffered is the number of bytes fed and not yet consumed by Next.
func (d *Decoder) Buffered() int { return d.w - d.r }

// Space returns the free part of the buffer, to read into; tell the Decoder how much was read
// with Commit. It is never empty after Next has returned false.
func (d *Decoder) Space() []byte {
	d.compact()
	return d.buf[d.w:]
}

// Commit takes n bytes written into the slice Space returned.
func (d *Decoder) Commit(n int) {
	d.w += min(n, len(d.buf)-d.w)
}

// Feed copies bytes from p into the Decoder and returns how many it took: less than len(p)
// only when the buffer is full, that is when Next has frames to return first.
func (d *Decoder) Feed(p []byte) int {
	n := copy(d.Space(), p)
	d.w += n
	return n
}

func (d *Decoder) compact() {
	if d.r == 0 {
		return
	}
	d.w = copy(d.buf, d.buf[d.r:d.w])
	d.r = 0
}

// Next returns the next good frame from the bytes fed so far, or false when it needs more
// bytes. The returned Info points into the Decoder's buffer: it is valid until the next call to
// any Decoder method.
func (d *Decoder) Next() (Frame, bool) {
	for {
		b := d.buf[d.r:d.w]
		// Hunt for an opening flag.
		i := bytes.IndexByte(b, Flag)
		if i < 0 {
			i = len(b)
		}
		d.stats.Garbage += uint64(i)
		d.r += i
		b = b[i:]
		// Flags in a row: a closing flag followed by the next frame's opening one, or fill.
		// (So the address 0xF9, DLCI 62 with C/R clear, cannot open a frame: DLCI 62 is not used.)
		for len(b) > 1 && b[1] == Flag {
			d.r++
			b = b[1:]
		}
		if len(b) < 4 {
			return Frame{}, false
		}
		f, total, st := parseFrame(b, d.n1)
		switch st {
		case parseShort:
			return Frame{}, false
		case parseOK:
			d.stats.Frames++
			// Keep the closing flag: it may be the next frame's opening flag as well.
			d.r += total - 1
			return f, true
		case parseMalformed:
			d.stats.Malformed++
		case parseOversize:
			d.stats.Oversize++
		case parseBadFCS:
			d.stats.BadFCS++
		case parseTruncated:
			d.stats.Truncated++
		}
		// Resynchronise from the byte after this false opening flag.
		d.r++
	}
}

type parseStatus int

const (
	parseOK    parseStatus = iota
	parseShort             // more bytes needed
	parseMalformed
	parseOversize
	parseBadFCS
	parseTruncated
)

// parseFrame reads the frame that starts at the flag b[0]: the frame and its length including
// both flags, or why b does not start one.
func parseFrame(b []byte, n1 int) (Frame, int, parseStatus) {
	if len(b) < 4 {
		return Frame{}, 0, parseShort
	}
	addr, ctrl, l0 := b[1], b[2], b[3]
	if addr&bitEA == 0 {
		return Frame{}, 0, parseMalformed
	}
	hl, n := 4, int(l0>>1)
	if l0&bitEA == 0 {
		if len(b) < 5 {
			return Frame{}, 0, parseShort
		}
		// The second octet carries the length's bits 8..15 whole, without an EA bit: the
		// basic option has no third length octet.
		hl, n = 5, n|int(b[4])<<7
	}
	if n > n1 {
		return Frame{}, 0, parseOversize
	}
	total := hl + n + 2 // header, info, FCS, closing flag
	if len(b) < total {
		return Frame{}, 0, parseShort
	}
	t := FrameType(ctrl &^ bitPF)
	covered := b[1:hl]
	if t == UI {
		covered = b[1 : hl+n]
	}
	if fcsTable[fcsUpdate(fcsInit, covered)^b[hl+n]] != fcsGood {
		return Frame{}, 0, parseBadFCS
	}
	if b[total-1] != Flag {
		return Frame{}, 0, parseTruncated
	}
	return Frame{
		DLCI: addr >> 2,
		CR:   addr&bitCR != 0,
		Type: t,
		PF:   ctrl&bitPF != 0,
		Info: b[hl : hl+n : hl+n],
	}, total, parseOK
}
