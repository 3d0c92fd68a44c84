package hdlc

import (
	"fmt"
	"math/rand/v2"
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
	fcs  uint16
	out  []byte
}

func (e *baseEncoder) put(c byte) {
	e.fcs = e.fcs>>8 ^ baseFCSTab[byte(e.fcs)^c]
	e.putRaw(c)
}

func (e *baseEncoder) putRaw(c byte) {
	if (c < 0x20 && e.accm&(1<<c) != 0) || c == 0x7d || c == 0x7e {
		e.out = append(e.out, 0x7d, c^0x20)
	} else {
		e.out = append(e.out, c)
	}
}

func (e *baseEncoder) frame(dst []byte, proto uint16, info []byte) []byte {
	e.out, e.fcs = append(dst, 0x7e), 0xffff
	e.put(0xff)
	e.put(0x03)
	e.put(byte(proto >> 8))
	e.put(byte(proto))
	for _, c := range info {
		e.put(c)
	}
	f := ^e.fcs
	e.putRaw(byte(f))
	e.putRaw(byte(f >> 8))
	return append(e.out, 0x7e)
}

type baseDecoder struct {
	accm uint32
	buf  []byte
	fcs  uint16
	esc  bool
}

func (d *baseDecoder) feed(p []byte, fn func(uint16, []byte)) {
	for _, c := range p {
		switch {
		case c == 0x7e:
			if !d.esc && len(d.buf) >= 6 && d.fcs == 0xf0b8 && d.buf[0] == 0xff && d.buf[1] == 0x03 {
				fn(uint16(d.buf[2])<<8|uint16(d.buf[3]), d.buf[4:len(d.buf)-2])
			}
			d.buf, d.fcs, d.esc = d.buf[:0], 0xffff, false
		case c < 0x20 && d.accm&(1<<c) != 0:
		case c == 0x7d:
			d.esc = true
		default:
			if d.esc {
				c ^= 0x20
				d.esc = false
			}
			if len(d.buf) < cap(d.buf) {
				d.buf = append(d.buf, c)
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
			d := &baseDecoder{accm: accm, buf: make([]byte, 0, 1510)}
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
		bd := &baseDecoder{accm: accm, buf: make([]byte, 0, 1510)}
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
