package hdlc

import (
	"bytes"
	"testing"
)

// fuzzMaxLens are the maximum lengths FuzzDecode picks from, small ones
// included so that over-long frames are common.
var fuzzMaxLens = [...]int{DefaultMaxLen, 0, 1, 4, 16, 64, 300, MaxMaxLen}

// FuzzDecode feeds arbitrary bytes to a decoder configured from cfg: bit 0
// FCS-32, bit 1 receive ACCM 0, bits 2-4 the maximum length, bit 5 a
// callback that changes the ACCM, FCS width and maximum length after every
// frame (as a link does when LCP opens). It checks that decoding never
// panics, that memory stays bounded, that the counters add up, that every
// frame delivered is well formed, and that splitting the input anywhere
// changes nothing — setters from the callback included.
func FuzzDecode(f *testing.F) {
	e := NewEncoder()
	f.Add(uint8(0), e.AppendFrame(nil, protoLCP, []byte{1, 1, 0, 4}))
	f.Add(uint8(2), e.AppendFrame([]byte("CONNECT\r\n"), 0x0021, []byte{0x45, 0x7e, 0x7d, 0x00}))
	f.Add(uint8(0), []byte{0x7e, 0xff, 0x7d, 0x7e, 0x41, 0x7e, 0x7d})
	f.Add(uint8(3<<2), bytes.Repeat([]byte{0x7e, 0x21, 0x41, 0x42, 0x43, 0x44, 0x45}, 3))
	f.Add(uint8(1<<5), bytes.Repeat([]byte{0x7e, 0x21, 0x41, 0x42, 0x43, 0x44, 0x45}, 3))
	e.SetFCS32(true)
	f.Add(uint8(1), e.AppendFrame(nil, 0x8021, []byte{1, 2, 0, 4}))

	f.Fuzz(func(t *testing.T, cfg uint8, data []byte) {
		got, st := fuzzDecode(t, cfg, [][]byte{data})
		if st.BytesIn != uint64(len(data)) || st.FramesIn != uint64(len(got)) || st.FramesOut != 0 || st.BytesOut != 0 {
			t.Fatalf("counters off: %+v for %d bytes, %d frames", st, len(data), len(got))
		}
		// Every frame or error but an overrun ends at a flag, and an
		// overrun needs more bytes than the smallest buffer holds.
		ends := uint64(bytes.Count(data, []byte{flagSeq})) + uint64(len(data)/(frameOverhead+1))
		if cfg&(1<<5) == 0 {
			ends = uint64(bytes.Count(data, []byte{flagSeq})) + uint64(len(data)/(fuzzMaxLens[cfg>>2&7]+frameOverhead+1))
		}
		if st.FramesIn+st.Errors() > ends {
			t.Fatalf("%d frames and errors from %d possible ends: %+v", st.FramesIn+st.Errors(), ends, st)
		}

		// Split in two, and byte by byte: the same frames, the same counts.
		k := 0
		if len(data) > 0 {
			k = int(cfg) * 7919 % (len(data) + 1)
		}
		for _, chunks := range [][][]byte{{data[:k], data[k:]}, splitBytes(data)} {
			got2, st2 := fuzzDecode(t, cfg, chunks)
			if !equalFrames(got, got2) || st2 != st {
				t.Fatalf("split into %d chunks: %v %+v, whole: %v %+v", len(chunks), got2, st2, got, st)
			}
		}

		// What came out goes back in unchanged.
		if cfg&(1<<5) == 0 {
			enc := NewEncoder()
			enc.SetFCS32(cfg&1 != 0)
			for _, fr := range got {
				d := NewDecoder()
				d.SetFCS32(cfg&1 != 0)
				d.SetMaxLen(MaxMaxLen)
				if got3 := feedAll(d, enc.AppendFrame(nil, fr.Proto, fr.Info)); !equalFrames([]frame{fr}, got3) {
					t.Fatalf("re-encoded %v decodes as %v", fr, got3)
				}
			}
		}
	})
}

// fuzzDecode decodes chunks with a decoder set up from cfg (see FuzzDecode)
// and checks every frame and the buffer bound as it goes.
func fuzzDecode(t *testing.T, cfg uint8, chunks [][]byte) ([]frame, Stats) {
	d := NewDecoder()
	d.SetFCS32(cfg&1 != 0)
	if cfg&2 != 0 {
		d.SetACCM(0)
	}
	maxLen := fuzzMaxLens[cfg>>2&7]
	d.SetMaxLen(maxLen)
	var got []frame
	fn := func(p uint16, info []byte) {
		if len(info) > maxLen {
			t.Fatalf("info of %d bytes exceeds max %d", len(info), maxLen)
		}
		if p>>8&1 != 0 || p&1 == 0 {
			t.Fatalf("malformed protocol %#04x delivered", p)
		}
		got = append(got, frame{p, bytes.Clone(info)})
		if cfg&(1<<5) != 0 {
			// Derived from the frame, so every split switches alike.
			h := FCS16(FCS16Init, info)
			d.SetACCM(uint32(h) * 0x9e3779b9 & -uint32(h&1))
			d.SetFCS32(h&2 != 0)
			maxLen = fuzzMaxLens[h>>2&7]
			d.SetMaxLen(maxLen)
		}
	}
	for _, c := range chunks {
		d.Feed(c, fn)
		if cp := cap(d.buf); cp != maxLen+frameOverhead {
			t.Fatalf("buffer capacity %d, bound %d", cp, maxLen+frameOverhead)
		}
	}
	return got, d.Stats()
}

func splitBytes(p []byte) [][]byte {
	out := make([][]byte, len(p))
	for i := range p {
		out[i] = p[i : i+1]
	}
	return out
}

func equalFrames(a, b []frame) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Proto != b[i].Proto || !bytes.Equal(a[i].Info, b[i].Info) {
			return false
		}
	}
	return true
}

// FuzzRoundTrip checks decode(encode(x)) == x for any payload, protocol and
// ACCM, with opts selecting FCS-32 (bit 0), ACFC (bit 1), PFC (bit 2), the
// extra escaped octet (bit 3), garbage before the frame (bit 4) and a
// second frame sharing the flag (bit 5). It also checks the wire: no octet
// that must be escaped is ever sent raw.
func FuzzRoundTrip(f *testing.F) {
	f.Add([]byte("hello"), uint16(0x0021), uint32(0), uint8(0), uint8(0))
	f.Add([]byte{0x7e, 0x7d, 0x00, 0x11, 0x13, 0x20, 0x5d, 0x5e}, uint16(0x0021), uint32(0xffffffff), uint8(0x3f), uint8(0x91))
	f.Add([]byte{1, 1, 0, 8, 2, 6, 0, 0}, uint16(protoLCP), uint32(0), uint8(0x06), uint8(0))
	f.Add([]byte{0x03, 0x41}, uint16(0x00ff), uint32(0x000a0000), uint8(0x06), uint8(0xff))
	f.Add([]byte{}, uint16(0x8021), uint32(0xa5a5a5a5), uint8(0x01), uint8(0x7e))

	f.Fuzz(func(t *testing.T, payload []byte, proto uint16, accm uint32, opts, extra uint8) {
		proto = proto&^0x0100 | 1 // a valid protocol: high octet even, low odd
		if len(payload) > MaxMaxLen {
			payload = payload[:MaxMaxLen]
		}
		e := NewEncoder()
		e.SetACCM(accm)
		e.SetFCS32(opts&1 != 0)
		e.SetACFC(opts&2 != 0)
		e.SetPFC(opts&4 != 0)
		if opts&8 != 0 {
			e.SetEscape(extra, true)
		}
		var wire []byte
		if opts&16 != 0 {
			wire = append(wire, "garbage\x7d"...)
		}
		start := len(wire)
		wire = e.AppendFrame(wire, proto, payload)
		want := []frame{{proto, payload}}
		if opts&32 != 0 {
			wire = e.AppendFrame(wire, 0x0021, payload)
			want = append(want, frame{0x0021, payload})
		}

		// The wire: flags only at frame boundaries, escapes exactly where
		// the map (the default one for LCP Configure..Code-Reject) says.
		txMap := accm
		if proto == protoLCP && len(payload) > 0 && payload[0] >= 1 && payload[0] <= 7 {
			txMap = DefaultACCM
		}
		must := func(b byte) bool {
			return b == flagSeq || b == ctrlEscape || b < 0x20 && txMap&(1<<b) != 0 || opts&8 != 0 && b == extra && escapable(extra)
		}
		body := wire[start:]
		if opts&32 != 0 {
			body = body[:bytes.IndexByte(body[1:], flagSeq)+2] // the first frame
		}
		checkWire(t, body, must)

		d := NewDecoder()
		d.SetACCM(accm & txMap) // all of these were escaped, so dropping them raw is safe
		d.SetFCS32(opts&1 != 0)
		d.SetMaxLen(len(payload))
		k := int(opts) * 31 % (len(wire) + 1)
		got := feedAll(d, wire[:k], wire[k:])
		if !equalFrames(want, got) {
			t.Fatalf("sent %v, got %v (wire % x)", want, got, wire)
		}
		if st := d.Stats(); st.Errors() != 0 || st.FramesIn != uint64(len(want)) {
			t.Fatalf("stats %+v", st)
		}
	})
}
