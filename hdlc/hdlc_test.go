package hdlc

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// frame is a decoded frame with its info copied out of the decoder.
type frame struct {
	Proto uint16
	Info  []byte
}

func (f frame) String() string { return fmt.Sprintf("%#04x % x", f.Proto, f.Info) }

// collect returns a Feed callback appending copies of the frames to *out.
func collect(out *[]frame) func(uint16, []byte) {
	return func(p uint16, info []byte) {
		*out = append(*out, frame{p, bytes.Clone(info)})
	}
}

func feedAll(d *Decoder, chunks ...[]byte) []frame {
	var got []frame
	for _, c := range chunks {
		d.Feed(c, collect(&got))
	}
	return got
}

// bitFCS16 and bitFCS32 are the bit-at-a-time definitions the tables must
// agree with.
func bitFCS16(fcs uint16, p []byte) uint16 {
	for _, b := range p {
		fcs ^= uint16(b)
		for range 8 {
			if fcs&1 != 0 {
				fcs = fcs>>1 ^ 0x8408
			} else {
				fcs >>= 1
			}
		}
	}
	return fcs
}

func bitFCS32(fcs uint32, p []byte) uint32 {
	for _, b := range p {
		fcs ^= uint32(b)
		for range 8 {
			if fcs&1 != 0 {
				fcs = fcs>>1 ^ 0xedb88320
			} else {
				fcs >>= 1
			}
		}
	}
	return fcs
}

func TestFCSKnownValues(t *testing.T) {
	check := []byte("123456789")
	// The catalogued check values of CRC-16/X-25 and CRC-32/ISO-HDLC,
	// which are RFC 1662's FCS-16 and FCS-32 with the final complement.
	assert.Equal(t, uint16(0x906e), ^FCS16(FCS16Init, check))
	assert.Equal(t, uint32(0xcbf43926), ^FCS32(FCS32Init, check))

	// RFC 1662 C.2/C.3: the FCS run over data plus its complemented FCS,
	// least significant octet first, gives the good final value.
	for _, data := range [][]byte{nil, {0}, check, bytes.Repeat([]byte{0xa5}, 100)} {
		f16 := ^FCS16(FCS16Init, data)
		assert.Equal(t, FCS16Good, FCS16(FCS16Init, append(bytes.Clone(data), byte(f16), byte(f16>>8))))
		f32 := ^FCS32(FCS32Init, data)
		assert.Equal(t, FCS32Good, FCS32(FCS32Init, append(bytes.Clone(data), byte(f32), byte(f32>>8), byte(f32>>16), byte(f32>>24))))
	}
	assert.Equal(t, uint16(0xf0b8), FCS16Good)
	assert.Equal(t, uint32(0xdebb20e3), FCS32Good)
}

func TestFCSTablesMatchBitwise(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for n := range 200 {
		p := make([]byte, n)
		for i := range p {
			p[i] = byte(r.Uint32())
		}
		init16, init32 := uint16(r.Uint32()), r.Uint32()
		require.Equal(t, bitFCS16(init16, p), FCS16(init16, p), "len %d", n)
		require.Equal(t, bitFCS32(init32, p), FCS32(init32, p), "len %d", n)
		// Chaining over a split gives the same as one pass.
		k := r.IntN(n + 1)
		require.Equal(t, FCS16(init16, p), FCS16(FCS16(init16, p[:k]), p[k:]))
	}
}

// FCS16 folds long inputs with carry-less multiplication where the CPU has
// it: check it against the portable tables at every length around the
// folding steps (16 and 64 bytes), at odd alignments, up to beyond an MRU.
func TestFCS16Folding(t *testing.T) {
	t.Logf("carry-less multiply in use: %v", useCLMUL)
	r := rand.New(rand.NewPCG(9, 10))
	buf := make([]byte, 2100)
	for i := range buf {
		buf[i] = byte(r.Uint32())
	}
	for n := 0; n <= 2000; n++ {
		off := n % 7
		p := buf[off : off+n]
		init := uint16(r.Uint32())
		require.Equal(t, fcs16Tables(init, p), FCS16(init, p), "len %d", n)
	}
	for _, n := range []int{64, 65, 127, 128, 1500, 2000} {
		require.Equal(t, bitFCS16(FCS16Init, buf[:n]), FCS16(FCS16Init, buf[:n]), "len %d", n)
		require.Equal(t, bitFCS16(0, buf[:n]), FCS16(0, buf[:n]), "len %d", n)
	}
	// All-ones and all-zero data, where a wrong constant shows at once.
	for _, v := range []byte{0x00, 0xff} {
		p := bytes.Repeat([]byte{v}, 1000)
		require.Equal(t, bitFCS16(FCS16Init, p), FCS16(FCS16Init, p))
	}
}

// checkWire asserts that wire is one frame whose only raw flags are the
// first and last octets, in which every octet that must be escaped appears
// escaped and nothing else is escaped.
func checkWire(t *testing.T, wire []byte, mustEscape func(byte) bool) {
	t.Helper()
	require.GreaterOrEqual(t, len(wire), 2)
	require.Equal(t, byte(flagSeq), wire[0])
	require.Equal(t, byte(flagSeq), wire[len(wire)-1])
	body := wire[1 : len(wire)-1]
	for i := 0; i < len(body); i++ {
		b := body[i]
		if b == ctrlEscape {
			require.Less(t, i+1, len(body), "escape at end of frame")
			i++
			o := body[i] ^ escXOR
			require.True(t, mustEscape(o), "octet %#02x escaped needlessly", o)
			continue
		}
		require.False(t, mustEscape(b), "octet %#02x at %d sent raw", b, i)
	}
}

func escapeSet(accm uint32, extra ...byte) func(byte) bool {
	return func(b byte) bool {
		if b == flagSeq || b == ctrlEscape || b < 0x20 && accm&(1<<b) != 0 {
			return true
		}
		return bytes.IndexByte(extra, b) >= 0
	}
}

func TestEscapingEveryOctet(t *testing.T) {
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	cases := []struct {
		accm  uint32
		extra []byte
	}{
		{0, nil},
		{0xffffffff, nil},
		{0x000a0000, nil}, // XON/XOFF only
		{0, []byte{0x91, 0x93, 0xff}},
		{0x000a0000, []byte{0x91, 0x93}},
		{0xffffffff, []byte{0x80, 0x7e}},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("accm=%#08x/extra=% x", c.accm, c.extra), func(t *testing.T) {
			e := NewEncoder()
			e.SetACCM(c.accm)
			for _, b := range c.extra {
				e.SetEscape(b, true)
			}
			must := escapeSet(c.accm, c.extra...)
			d := NewDecoder()
			d.SetACCM(c.accm)
			// Each value alone, then all of them in one frame, in both
			// orders, so every octet is seen at every kind of position.
			for i := range 256 {
				wire := e.AppendFrame(nil, 0x0021, []byte{byte(i), byte(i), 0x41})
				checkWire(t, wire, must)
				assert.Equal(t, []frame{{0x0021, []byte{byte(i), byte(i), 0x41}}}, feedAll(d, wire))
			}
			rev := bytes.Clone(all)
			for i := range rev {
				rev[i] = all[255-i]
			}
			for _, info := range [][]byte{all, rev} {
				wire := e.AppendFrame(nil, 0x0021, info)
				checkWire(t, wire, must)
				assert.Equal(t, []frame{{0x0021, info}}, feedAll(d, wire))
			}
		})
	}
}

func TestSetEscapeOff(t *testing.T) {
	e := NewEncoder()
	e.SetACCM(0)
	e.SetEscape(0x91, true)
	e.SetEscape(0x91, false)
	e.SetEscape(flagSeq, false) // flag and escape cannot be turned off
	e.SetEscape(ctrlEscape, false)
	checkWire(t, e.AppendFrame(nil, 0x0021, []byte{0x91, 0x7e, 0x7d, 0x00}), escapeSet(0))

	// Octets whose escaped form would be a control character, the escape
	// or the flag are refused: 0x5e escaped would be an abort sequence.
	for _, b := range []byte{0x20, 0x2f, 0x3f, 0x5d, 0x5e} {
		e.SetEscape(b, true)
	}
	e.SetACCM(0xffffffff)
	info := []byte{0x20, 0x2f, 0x3f, 0x5d, 0x5e}
	wire := e.AppendFrame(nil, 0x0021, info)
	checkWire(t, wire, escapeSet(0xffffffff))
	d := NewDecoder()
	assert.Equal(t, []frame{{0x21, info}}, feedAll(d, wire))
	assert.Zero(t, d.Stats().Errors())
}

func TestLCPUsesDefaultACCMAndNoCompression(t *testing.T) {
	e := NewEncoder()
	e.SetACCM(0)
	e.SetACFC(true)
	e.SetPFC(true)
	info := []byte{0, 1, 0x02, 0x11, 0x13, 0x1f}
	for code := range 12 {
		info[0] = byte(code)
		wire := e.AppendFrame(nil, protoLCP, info)
		want := escapeSet(0)
		if code >= 1 && code <= 7 {
			want = escapeSet(0xffffffff)
		}
		checkWire(t, wire, want)
		// Address, control and a 2-byte protocol always.
		hdr := []byte{0x7e, 0xff, 0x03, 0xc0, 0x21}
		if code >= 1 && code <= 7 {
			hdr = []byte{0x7e, 0xff, 0x7d, 0x23, 0xc0, 0x21}
		}
		assert.Equal(t, hdr, wire[:len(hdr)], "code %d", code)
		d := NewDecoder()
		d.SetACCM(0)
		assert.Equal(t, []frame{{protoLCP, info}}, feedAll(d, wire))
	}
	// Empty LCP info (malformed, but must not crash the encoder).
	checkWire(t, e.AppendFrame(nil, protoLCP, nil), escapeSet(0))
}

func TestCompression(t *testing.T) {
	info := []byte{0x45, 0, 0, 20}
	cases := []struct {
		acfc, pfc bool
		proto     uint16
		header    []byte // wire after the opening flag
	}{
		{false, false, 0x0021, []byte{0xff, 0x03, 0x00, 0x21}},
		{true, false, 0x0021, []byte{0x00, 0x21}},
		{false, true, 0x0021, []byte{0xff, 0x03, 0x21}},
		{true, true, 0x0021, []byte{0x21}},
		{true, true, 0x8021, []byte{0x80, 0x21}}, // no PFC for protocols >= 0x100
		{true, true, 0x00ff, []byte{0x00, 0xff}}, // never 0xff alone
		{true, true, 0x003d, []byte{0x3d}},       // multilink
		{false, true, 0x8021, []byte{0xff, 0x03, 0x80, 0x21}},
	}
	for _, c := range cases {
		e := NewEncoder()
		e.SetACCM(0) // the header bytes as they are, unescaped
		e.SetACFC(c.acfc)
		e.SetPFC(c.pfc)
		wire := e.AppendFrame(nil, c.proto, info)
		assert.Equal(t, c.header, wire[1:1+len(c.header)], "%+v", c)
		// The decoder takes every form whatever its own settings.
		d := NewDecoder()
		d.SetACCM(0)
		assert.Equal(t, []frame{{c.proto, info}}, feedAll(d, wire), "%+v", c)
	}
	// 0x00ff with info starting 0x03 still round-trips with both on.
	e := NewEncoder()
	e.SetACFC(true)
	e.SetPFC(true)
	assert.Equal(t, []frame{{0x00ff, []byte{0x03, 0x01}}}, feedAll(NewDecoder(), e.AppendFrame(nil, 0x00ff, []byte{0x03, 0x01})))
}

// rawFrame builds a frame by hand around body (address, control, protocol
// and info as the test wants them), with a correct FCS-16 and full escaping.
func rawFrame(body []byte) []byte {
	f := ^FCS16(FCS16Init, body)
	b := append(bytes.Clone(body), byte(f), byte(f>>8))
	out := []byte{flagSeq}
	for _, c := range b {
		if c < 0x20 || c == flagSeq || c == ctrlEscape {
			out = append(out, ctrlEscape, c^escXOR)
		} else {
			out = append(out, c)
		}
	}
	return append(out, flagSeq)
}

func TestDecoderHeaderForms(t *testing.T) {
	cases := []struct {
		body  []byte
		proto uint16
		info  []byte
	}{
		{[]byte{0xff, 0x03, 0xc0, 0x21, 9, 1, 0, 4}, 0xc021, []byte{9, 1, 0, 4}},
		{[]byte{0xc0, 0x21, 9, 1, 0, 4}, 0xc021, []byte{9, 1, 0, 4}},
		{[]byte{0xff, 0x03, 0x21, 0x45}, 0x0021, []byte{0x45}},
		{[]byte{0x21, 0x45}, 0x0021, []byte{0x45}},
		{[]byte{0x21}, 0x0021, []byte{}},
		{[]byte{0xff, 0x05, 0x45}, 0x00ff, []byte{0x05, 0x45}}, // not ff 03: compressed, and 0xff is a 1-octet protocol
	}
	for _, c := range cases {
		d := NewDecoder()
		got := feedAll(d, rawFrame(c.body))
		require.Len(t, got, 1, "% x", c.body)
		assert.Equal(t, c.proto, got[0].Proto)
		assert.Equal(t, c.info, got[0].Info)
	}
}

func TestRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for i := range 500 {
		e, d := NewEncoder(), NewDecoder()
		accm := []uint32{0, 0xffffffff, 0x000a0000, r.Uint32()}[i%4]
		e.SetACCM(accm)
		d.SetACCM(accm)
		fcs32 := i%3 == 0
		e.SetFCS32(fcs32)
		d.SetFCS32(fcs32)
		e.SetACFC(i%5 < 2)
		e.SetPFC(i%7 < 3)
		if i%11 == 0 {
			e.SetEscape(byte(r.Uint32()), true)
		}
		proto := uint16(r.Uint32())&^0x0100 | 1
		info := make([]byte, r.IntN(DefaultMaxLen+1))
		for j := range info {
			info[j] = byte(r.Uint32())
		}
		wire := e.AppendFrame(nil, proto, info)
		require.Equal(t, []frame{{proto, info}}, feedAll(d, wire), "case %d", i)
		assert.Equal(t, Stats{FramesOut: 1, BytesOut: uint64(len(wire))}, e.Stats())
		assert.Equal(t, Stats{FramesIn: 1, BytesIn: uint64(len(wire))}, d.Stats())
	}
}

func TestFlagSharing(t *testing.T) {
	e := NewEncoder()
	wire := e.AppendFrame(nil, 0x0021, []byte{1})
	n := len(wire)
	wire = e.AppendFrame(wire, 0x0021, []byte{2})
	assert.NotEqual(t, byte(flagSeq), wire[n], "second frame must reuse the closing flag")
	assert.Equal(t, 3, bytes.Count(wire, []byte{flagSeq}), "three flags for two frames")
	// dst not ending in a flag gets an opening flag.
	wire2 := e.AppendFrame([]byte("AT"), 0x0021, []byte{3})
	assert.Equal(t, []byte("AT~"), wire2[:3])
	assert.Equal(t, []frame{{0x21, []byte{1}}, {0x21, []byte{2}}}, feedAll(NewDecoder(), wire))
	assert.Equal(t, uint64(3), e.Stats().FramesOut)
	assert.Equal(t, uint64(len(wire)+len(wire2)-2), e.Stats().BytesOut, "BytesOut counts what was appended")
}

// stream is a mixed byte stream: modem chatter, frames with and without
// shared flags, noise between flags, an abort, a runt, an FCS error and an
// over-long frame; along with what decoding it must yield.
func stream(t *testing.T) ([]byte, []frame, Stats) {
	t.Helper()
	e := NewEncoder()
	var s []byte
	s = append(s, "\r\nCONNECT 150000000\r\n"...)
	s = e.AppendFrame(s, protoLCP, []byte{1, 1, 0, 4})
	s = e.AppendFrame(s, 0x0021, []byte{0x45, 0x7e, 0x7d, 0x00, 0x11})
	s = append(s, "noise"...) // between flags: an FCS error
	s = e.AppendFrame(s, 0x8021, nil)
	s = append(s, 0x7e, 0x41, 0x7e)             // runt
	s = append(s, 0x7e, 0xff, 0x03, 0x7d, 0x7e) // aborted frame
	s = append(s, 0xff, 0x7e)                   // runt
	big := e.AppendFrame(nil, 0x0021, make([]byte, DefaultMaxLen+1))
	s = append(s, big...)
	bad := e.AppendFrame(nil, 0x0057, []byte{6, 6, 6})
	bad[len(bad)-3] ^= 0x40 // corrupt the FCS
	s = append(s, bad...)
	s = e.AppendFrame(s, 0x0057, bytes.Repeat([]byte{0x7d}, 40))
	s = e.AppendFrame(s, 0x0021, make([]byte, DefaultMaxLen))
	want := []frame{
		{protoLCP, []byte{1, 1, 0, 4}},
		{0x0021, []byte{0x45, 0x7e, 0x7d, 0x00, 0x11}},
		{0x8021, []byte{}},
		{0x0057, bytes.Repeat([]byte{0x7d}, 40)},
		{0x0021, make([]byte, DefaultMaxLen)},
	}
	stats := Stats{FramesIn: 5, BytesIn: uint64(len(s)), FCSErrors: 2, Aborts: 1, TooLong: 1, Runts: 2}
	return s, want, stats
}

func TestStream(t *testing.T) {
	s, want, stats := stream(t)
	d := NewDecoder()
	assert.Equal(t, want, feedAll(d, s))
	assert.Equal(t, stats, d.Stats())
	assert.Equal(t, uint64(6), d.Stats().Errors())
}

func TestSplitAtEveryBoundary(t *testing.T) {
	s, want, stats := stream(t)
	for i := 0; i <= len(s); i++ {
		d := NewDecoder()
		got := feedAll(d, s[:i], s[i:])
		require.Equal(t, want, got, "split at %d", i)
		require.Equal(t, stats, d.Stats(), "split at %d", i)
	}
	// Every byte on its own, and a few three-way splits.
	chunks := make([][]byte, len(s))
	for i := range s {
		chunks[i] = s[i : i+1]
	}
	d := NewDecoder()
	require.Equal(t, want, feedAll(d, chunks...))
	require.Equal(t, stats, d.Stats())
	r := rand.New(rand.NewPCG(7, 8))
	for range 200 {
		i := r.IntN(len(s) + 1)
		j := i + r.IntN(len(s)-i+1)
		d := NewDecoder()
		require.Equal(t, want, feedAll(d, s[:i], s[i:j], s[j:]), "split at %d, %d", i, j)
	}
}

func TestGarbage(t *testing.T) {
	e := NewEncoder()
	good := e.AppendFrame(nil, 0x0021, []byte("payload"))
	// Chatter before the first flag is dropped and not counted.
	d := NewDecoder()
	got := feedAll(d, []byte("\x00\x11junk\x7d"), good)
	assert.Equal(t, []frame{{0x21, []byte("payload")}}, got)
	assert.Equal(t, uint64(0), d.Stats().Errors())
	// Garbage between two frames is one bad frame, and resync follows.
	// (0x12 is in the receive ACCM and dropped; 0x99 0x98 is too short
	// for an FCS.)
	garbage := []byte{0x7e, 0x12, 0x34, 0x56, 0x78, 0x9a, 0x7e}
	got = feedAll(d, garbage, good, []byte{0x99, 0x98}, good)
	assert.Equal(t, []frame{{0x21, []byte("payload")}, {0x21, []byte("payload")}}, got)
	assert.Equal(t, uint64(1), d.Stats().FCSErrors)
	assert.Equal(t, uint64(1), d.Stats().Runts)
}

func TestAbort(t *testing.T) {
	e := NewEncoder()
	good := e.AppendFrame(nil, 0x0021, []byte("abcdef"))
	half := good[:9]
	require.NotEqual(t, byte(ctrlEscape), half[len(half)-1])
	// A half-sent frame aborted with 0x7d 0x7e, then a good one; the 0x7e
	// of the abort also opens the next frame.
	d := NewDecoder()
	got := feedAll(d, half, []byte{0x7d, 0x7e}, good[1:])
	assert.Equal(t, []frame{{0x21, []byte("abcdef")}}, got)
	assert.Equal(t, uint64(1), d.Stats().Aborts)
	assert.Equal(t, uint64(1), d.Stats().Errors())
	// The abort split across chunks.
	d = NewDecoder()
	got = feedAll(d, half, []byte{0x7d}, []byte{0x7e}, good[1:])
	assert.Equal(t, []frame{{0x21, []byte("abcdef")}}, got)
	assert.Equal(t, uint64(1), d.Stats().Aborts)
	// An abort right after a flag is still an abort.
	d = NewDecoder()
	d.Feed([]byte{0x7e, 0x7d, 0x7e}, nil)
	assert.Equal(t, uint64(1), d.Stats().Aborts)
}

func TestRunts(t *testing.T) {
	for _, fcs32 := range []bool{false, true} {
		d := NewDecoder()
		d.SetFCS32(fcs32)
		d.Feed([]byte{0x7e, 0x41, 0x7e, 0x41, 0x42, 0x7e, 0x7e, 0x7e}, func(uint16, []byte) { t.Fatal("runt delivered") })
		assert.Equal(t, uint64(2), d.Stats().Runts)
	}
	// A good FCS around nothing but address and control.
	d := NewDecoder()
	d.Feed(rawFrame([]byte{0xff, 0x03}), func(uint16, []byte) { t.Fatal("runt delivered") })
	d.Feed(rawFrame([]byte{0xff, 0x03, 0xc0}), func(uint16, []byte) { t.Fatal("runt delivered") })
	assert.Equal(t, Stats{Runts: 2, BytesIn: d.Stats().BytesIn}, d.Stats())
}

func TestBadProtocol(t *testing.T) {
	d := NewDecoder()
	d.Feed(rawFrame([]byte{0xff, 0x03, 0x00, 0x20, 1}), func(uint16, []byte) { t.Fatal("delivered") })
	assert.Equal(t, uint64(1), d.Stats().BadProtocol)
}

func TestTooLong(t *testing.T) {
	e := NewEncoder()
	d := NewDecoder()
	d.SetMaxLen(10)
	var got []frame
	d.Feed(e.AppendFrame(nil, 0x0021, make([]byte, 11)), collect(&got))
	d.Feed(e.AppendFrame(nil, 0x0021, make([]byte, 10)), collect(&got))
	// Fits the buffer (no header, short protocol) but the info is too long.
	e.SetACFC(true)
	e.SetPFC(true)
	d.Feed(e.AppendFrame(nil, 0x0021, make([]byte, 11)), collect(&got))
	assert.Equal(t, []frame{{0x21, make([]byte, 10)}}, got)
	assert.Equal(t, uint64(2), d.Stats().TooLong)

	// A hostile peer sending no flag for a megabyte grows nothing.
	c := cap(d.buf)
	junk := bytes.Repeat([]byte{0x55}, 1<<20)
	d.Feed([]byte{0x7e}, nil)
	d.Feed(junk, nil)
	d.Feed(junk, nil)
	assert.Equal(t, c, cap(d.buf))
	assert.Equal(t, uint64(3), d.Stats().TooLong)
	d.Feed(e.AppendFrame(nil, 0x0021, []byte{1}), collect(&got))
	assert.Len(t, got, 2, "resynchronised after the long frame")

	// Clamping.
	d.SetMaxLen(-5)
	assert.Equal(t, frameOverhead, cap(d.buf))
	d.SetMaxLen(math.MaxInt)
	assert.Equal(t, MaxMaxLen+frameOverhead, cap(d.buf))
}

func TestSetMaxLenMidFrame(t *testing.T) {
	e := NewEncoder()
	wire := e.AppendFrame(nil, 0x0021, make([]byte, 100))
	// Shrinking below what is buffered drops the frame; growing keeps it.
	d := NewDecoder()
	var got []frame
	d.Feed(wire[:60], collect(&got))
	d.SetMaxLen(3000)
	d.Feed(wire[60:], collect(&got))
	assert.Len(t, got, 1)
	d.Feed(wire[:60], collect(&got))
	d.SetMaxLen(20)
	d.Feed(wire[60:], collect(&got))
	assert.Len(t, got, 1)
	assert.Equal(t, uint64(1), d.Stats().TooLong)
}

func TestFCSErrors(t *testing.T) {
	e := NewEncoder()
	wire := e.AppendFrame(nil, 0x0021, []byte("some payload"))
	for i := 1; i < len(wire)-1; i++ {
		for bit := range 8 {
			bad := bytes.Clone(wire)
			bad[i] ^= 1 << bit
			if bad[i] == flagSeq || bad[i] == ctrlEscape || wire[i] == ctrlEscape || bad[i] < 0x20 {
				continue // changes the framing, not just the data
			}
			d := NewDecoder()
			d.Feed(bad, func(uint16, []byte) { t.Fatalf("corrupted frame delivered (byte %d bit %d)", i, bit) })
			require.Equal(t, uint64(1), d.Stats().FCSErrors)
		}
	}
}

func TestFCS32(t *testing.T) {
	e, d := NewEncoder(), NewDecoder()
	e.SetFCS32(true)
	wire := e.AppendFrame(nil, 0x0021, []byte{1, 2, 3})
	// ff 03 00 21 01 02 03 + 4 FCS octets (some may be escaped) + flags.
	assert.GreaterOrEqual(t, len(wire), 2+7+4)
	assert.Equal(t, uint64(1), feedAndCount(NewDecoder(), wire).FCSErrors, "an FCS-16 decoder rejects it")
	d.SetFCS32(true)
	assert.Equal(t, []frame{{0x21, []byte{1, 2, 3}}}, feedAll(d, wire))
	// FCS-32 frames shorter than 5 octets are runts.
	d.Feed(rawFrame([]byte{1, 2}), nil)
	assert.Equal(t, uint64(1), d.Stats().Runts)
}

func feedAndCount(d *Decoder, p []byte) Stats {
	d.Feed(p, func(uint16, []byte) {})
	return d.Stats()
}

func TestReceiveACCM(t *testing.T) {
	e := NewEncoder()
	e.SetACCM(0)
	info := []byte{0x00, 0x11, 0x13, 0x41, 0x1f}
	wire := e.AppendFrame(nil, 0x0021, info)
	// A DCE inserting XON/XOFF: raw 0x11/0x13 inside the frame are noise.
	noisy := []byte{wire[0], 0x11}
	for _, b := range wire[1 : len(wire)-1] {
		noisy = append(noisy, b, 0x13)
	}
	noisy = append(noisy, 0x11, flagSeq)
	d := NewDecoder()
	d.SetACCM(0x000a0000)
	// The info's own 0x11 and 0x13 were sent raw (tx ACCM 0): they go too,
	// so the frame fails; sent escaped, they survive.
	assert.Empty(t, feedAll(d, noisy))
	e.SetACCM(0x000a0000)
	wire = e.AppendFrame(nil, 0x0021, info)
	noisy = noisy[:0]
	for _, b := range wire {
		noisy = append(noisy, b, 0x11)
	}
	assert.Equal(t, []frame{{0x21, info}}, feedAll(d, noisy))
	// An escape followed by a discarded character still escapes the next.
	assert.Equal(t, []frame{{0x21, []byte{0x00}}}, feedAll(NewDecoder(), withDiscardAfterEscape(rawFrame([]byte{0xff, 0x03, 0x00, 0x21, 0x00}))))
}

// withDiscardAfterEscape inserts a raw 0x01 after every control escape.
func withDiscardAfterEscape(w []byte) []byte {
	var out []byte
	for _, b := range w {
		out = append(out, b)
		if b == ctrlEscape {
			out = append(out, 0x01)
		}
	}
	return out
}

func TestSettersInsideCallback(t *testing.T) {
	// The peer's LCP Configure-Ack, then frames sent under what it acked:
	// ACCM 0 (raw control characters) and FCS-32, all in one chunk, as a
	// serial read returns them.
	e := NewEncoder()
	s := e.AppendFrame(nil, protoLCP, []byte{2, 1, 0, 4})
	e.SetACCM(0)
	e.SetFCS32(true)
	data := []byte{0x00, 0x01, 0x02, 0x7e, 0x10}
	s = e.AppendFrame(s, 0x0021, data)
	s = e.AppendFrame(s, 0x0021, data)

	for _, split := range []int{len(s), 3, 11, 12} {
		d := NewDecoder()
		var got []frame
		fn := func(p uint16, info []byte) {
			got = append(got, frame{p, bytes.Clone(info)})
			if p == protoLCP && info[0] == 2 {
				d.SetACCM(0)
				d.SetFCS32(true)
			}
		}
		d.Feed(s[:split], fn)
		d.Feed(s[split:], fn)
		require.Equal(t, []frame{{protoLCP, []byte{2, 1, 0, 4}}, {0x21, data}, {0x21, data}}, got, "split %d", split)
		require.Equal(t, uint64(0), d.Stats().Errors())
	}

	// And back: a setter turning the ACCM on mid-chunk drops later raw
	// control characters.
	e = NewEncoder()
	e.SetACCM(0)
	s = e.AppendFrame(nil, 0x0021, []byte{0x41})
	s = e.AppendFrame(s, 0x0021, []byte{0x05, 0x41})
	d := NewDecoder()
	d.SetACCM(0)
	var got []frame
	d.Feed(s, func(p uint16, info []byte) {
		got = append(got, frame{p, bytes.Clone(info)})
		d.SetACCM(0xffffffff)
	})
	assert.Equal(t, []frame{{0x21, []byte{0x41}}}, got)
	assert.Equal(t, uint64(1), d.Stats().FCSErrors)

	// SetMaxLen inside the callback: the info slice stays valid until fn
	// returns, and the next frame obeys the new bound.
	d = NewDecoder()
	e = NewEncoder()
	s = e.AppendFrame(nil, 0x0021, []byte("0123456789"))
	s = e.AppendFrame(s, 0x0021, []byte("0123456789"))
	s = e.AppendFrame(s, 0x0021, []byte("01234"))
	got = got[:0]
	d.Feed(s, func(p uint16, info []byte) {
		d.SetMaxLen(5)
		got = append(got, frame{p, bytes.Clone(info)})
	})
	assert.Equal(t, []frame{{0x21, []byte("0123456789")}, {0x21, []byte("01234")}}, got)
	assert.Equal(t, Stats{FramesIn: 2, BytesIn: uint64(len(s)), TooLong: 1}, d.Stats())
}

func TestStatsAdd(t *testing.T) {
	a := Stats{FramesIn: 1, BytesIn: 2, FCSErrors: 3, Aborts: 4, TooLong: 5, Runts: 6, BadProtocol: 7}
	b := Stats{FramesOut: 10, BytesOut: 20, FCSErrors: 1}
	assert.Equal(t, Stats{FramesIn: 1, BytesIn: 2, FramesOut: 10, BytesOut: 20, FCSErrors: 4, Aborts: 4, TooLong: 5, Runts: 6, BadProtocol: 7}, a.Add(b))
	assert.Equal(t, uint64(3+4+5+6+7), a.Errors())
}

func TestAppendFrameDoesNotAllocateWithRoom(t *testing.T) {
	e := NewEncoder()
	info := make([]byte, 1500)
	dst := make([]byte, 0, 4000)
	for _, accm := range []uint32{0, 0xffffffff} {
		e.SetACCM(accm)
		n := testing.AllocsPerRun(20, func() { _ = e.AppendFrame(dst[:0], 0x21, info) })
		assert.Zero(t, n, "accm %#x", accm)
	}
	d := NewDecoder()
	wire := e.AppendFrame(nil, 0x21, info)
	n := testing.AllocsPerRun(20, func() { d.Feed(wire, func(uint16, []byte) {}) })
	assert.Zero(t, n)
}
