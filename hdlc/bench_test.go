package hdlc

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// benchACCMs are the maps the speed targets are stated for: 0 (negotiated
// on a clean 8-bit link) and 0xffffffff (the default before LCP opens).
var benchACCMs = []uint32{0, 0xffffffff}

func benchPayload() []byte {
	r := rand.New(rand.NewPCG(1, 2))
	p := make([]byte, 1500)
	for i := range p {
		p[i] = byte(r.Uint32())
	}
	return p
}

// Throughput is reported in payload bytes (b.SetBytes(1500)) for encoder and
// decoder alike, so figures compare directly whatever the escaping overhead.

func BenchmarkEncode(b *testing.B) {
	payload := benchPayload()
	for _, accm := range benchACCMs {
		b.Run(fmt.Sprintf("accm=%#08x", accm), func(b *testing.B) {
			e := NewEncoder()
			e.SetACCM(accm)
			dst := e.AppendFrame(nil, 0x0021, payload)
			b.SetBytes(int64(len(payload)))
			b.ReportAllocs()
			for b.Loop() {
				dst = e.AppendFrame(dst[:0], 0x0021, payload)
			}
		})
	}
}

func BenchmarkDecode(b *testing.B) {
	payload := benchPayload()
	for _, accm := range benchACCMs {
		b.Run(fmt.Sprintf("accm=%#08x", accm), func(b *testing.B) {
			e := NewEncoder()
			e.SetACCM(accm)
			wire := e.AppendFrame(nil, 0x0021, payload)
			d := NewDecoder()
			d.SetACCM(accm)
			n := 0
			fn := func(_ uint16, info []byte) { n += len(info) }
			b.SetBytes(int64(len(payload)))
			b.ReportAllocs()
			for b.Loop() {
				d.Feed(wire, fn)
			}
			if want := b.N * len(payload); n != want {
				b.Fatalf("decoded %d bytes, want %d", n, want)
			}
		})
	}
}

// The baseline is the classic framer of RFC 1662's appendix and most C
// stacks: one table look-up for the FCS and one escape decision per byte.
// It exists only to measure the real framer against.

var baseFCSTab = func() (t [256]uint16) {
	for i := range t {
		v := uint16(i)
		for range 8 {
			if v&1 != 0 {
				v = v>>1 ^ 0x8408
			} else {
				v >>= 1
			}
		}
		t[i] = v
	}
	return t
}()

type baseEncoder struct {
	accm uint32
}

// put writes c (escaped if need be) at out[j] and returns the next index.
// Writing through an index into a pre-sized buffer, not append, keeps the
// baseline as fast as its C original.
func (e *baseEncoder) put(out []byte, j int, c byte) int {
	if (c < 0x20 && e.accm&(1<<c) != 0) || c == 0x7d || c == 0x7e {
		out[j], out[j+1] = 0x7d, c^0x20
		return j + 2
	}
	out[j] = c
	return j + 1
}

func (e *baseEncoder) frame(dst []byte, proto uint16, info []byte) []byte {
	n := len(dst)
	dst = slices.Grow(dst, 2*(len(info)+6)+2)
	out := dst[n : n+2*(len(info)+6)+2]
	out[0] = 0x7e
	j := 1
	fcs := uint16(0xffff)
	for _, c := range [4]byte{0xff, 0x03, byte(proto >> 8), byte(proto)} {
		fcs = fcs>>8 ^ baseFCSTab[byte(fcs)^c]
		j = e.put(out, j, c)
	}
	for _, c := range info {
		fcs = fcs>>8 ^ baseFCSTab[byte(fcs)^c]
		j = e.put(out, j, c)
	}
	fcs = ^fcs
	j = e.put(out, j, byte(fcs))
	j = e.put(out, j, byte(fcs>>8))
	out[j] = 0x7e
	return dst[:n+j+1]
}

type baseDecoder struct {
	accm uint32
	buf  [1510]byte
	n    int
	fcs  uint16
	esc  bool
}

func (d *baseDecoder) feed(p []byte, fn func(uint16, []byte)) {
	for _, c := range p {
		switch {
		case c == 0x7e:
			b := d.buf[:d.n]
			if !d.esc && len(b) >= 6 && d.fcs == 0xf0b8 && b[0] == 0xff && b[1] == 0x03 {
				fn(uint16(b[2])<<8|uint16(b[3]), b[4:len(b)-2])
			}
			d.n, d.fcs, d.esc = 0, 0xffff, false
		case c < 0x20 && d.accm&(1<<c) != 0:
		case c == 0x7d:
			d.esc = true
		default:
			if d.esc {
				c ^= 0x20
				d.esc = false
			}
			if d.n < len(d.buf) {
				d.buf[d.n] = c
				d.n++
				d.fcs = d.fcs>>8 ^ baseFCSTab[byte(d.fcs)^c]
			}
		}
	}
}

func BenchmarkBaselineEncode(b *testing.B) {
	payload := benchPayload()
	for _, accm := range benchACCMs {
		b.Run(fmt.Sprintf("accm=%#08x", accm), func(b *testing.B) {
			e := &baseEncoder{accm: accm}
			dst := e.frame(nil, 0x0021, payload)
			b.SetBytes(int64(len(payload)))
			b.ReportAllocs()
			for b.Loop() {
				dst = e.frame(dst[:0], 0x0021, payload)
			}
		})
	}
}

func BenchmarkBaselineDecode(b *testing.B) {
	payload := benchPayload()
	for _, accm := range benchACCMs {
		b.Run(fmt.Sprintf("accm=%#08x", accm), func(b *testing.B) {
			e := &baseEncoder{accm: accm}
			wire := e.frame(nil, 0x0021, payload)
			d := &baseDecoder{accm: accm}
			n := 0
			fn := func(_ uint16, info []byte) { n += len(info) }
			b.SetBytes(int64(len(payload)))
			b.ReportAllocs()
			for b.Loop() {
				d.feed(wire, fn)
			}
			if want := b.N * len(payload); n != want {
				b.Fatalf("decoded %d bytes, want %d", n, want)
			}
		})
	}
}

// The baseline must agree with the real framer, or its figures mean nothing.
func TestBaselineAgrees(t *testing.T) {
	payload := benchPayload()
	for _, accm := range benchACCMs {
		e := NewEncoder()
		e.SetACCM(accm)
		be := &baseEncoder{accm: accm}
		want := e.AppendFrame(nil, 0x0021, payload)
		if got := be.frame(nil, 0x0021, payload); string(got) != string(want) {
			t.Fatalf("accm %#x: baseline encoder differs", accm)
		}
		bd := &baseDecoder{accm: accm}
		frames := 0
		bd.feed(want, func(p uint16, info []byte) {
			frames++
			if p != 0x0021 || string(info) != string(payload) {
				t.Fatalf("accm %#x: baseline decoder differs", accm)
			}
		})
		if frames != 1 {
			t.Fatalf("accm %#x: baseline decoded %d frames", accm, frames)
		}
	}
}
