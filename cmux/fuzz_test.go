package cmux_test

import (
	"testing"

	"github.com/pppdial/pppdial/cmux"
)

// FuzzDecoder feeds arbitrary bytes, in arbitrary chunks, to a Decoder of arbitrary N1: no
// panic, no frame longer than N1, every frame returned re-encodes to one that decodes the same,
// and the counters add up. Seeds: testdata/fuzz/FuzzDecoder.
func FuzzDecoder(f *testing.F) {
	good, _ := cmux.AppendFrame(nil, cmux.Frame{DLCI: 1, CR: true, Type: cmux.UIH, Info: []byte("AT+CSQ\r")})
	f.Add(good, uint16(127), uint8(0))
	f.Add(append([]byte("junk\xf9\xf9"), good...), uint16(31), uint8(2))
	f.Fuzz(func(t *testing.T, data []byte, n1 uint16, step uint8) {
		max := int(n1)%1600 + 1
		dec := cmux.NewDecoder(max)
		chunk := int(step)%64 + 1
		var frames uint64
		check := func() {
			for {
				fr, ok := dec.Next()
				if !ok {
					return
				}
				frames++
				if len(fr.Info) > max {
					t.Fatalf("frame of %d bytes from a decoder with N1 %d", len(fr.Info), max)
				}
				b, err := cmux.AppendFrame(nil, fr)
				if err != nil {
					t.Fatalf("re-encode %v: %v", fr, err)
				}
				d2 := cmux.NewDecoder(max)
				d2.Feed(b)
				again, ok := d2.Next()
				if !ok || again.DLCI != fr.DLCI || again.CR != fr.CR || again.Type != fr.Type ||
					again.PF != fr.PF || string(again.Info) != string(fr.Info) {
					t.Fatalf("round trip: %v -> %x -> %v (%t)", fr, b, again, ok)
				}
			}
		}
		for len(data) > 0 {
			n := dec.Feed(data[:min(chunk, len(data))])
			data = data[n:]
			check()
		}
		if s := dec.Stats(); s.Frames != frames {
			t.Fatalf("stats say %d frames, %d returned", s.Frames, frames)
		}
	})
}

// FuzzParseMsg: control messages from the modem never panic, and what parses re-encodes to the
// same bytes.
func FuzzParseMsg(f *testing.F) {
	f.Add([]byte{0xE3, 0x05, 0x07, 0x8D})
	f.Add([]byte{0xC3, 0x01})
	f.Fuzz(func(t *testing.T, p []byte) {
		for len(p) > 0 {
			m, rest, err := cmux.ParseMsg(p)
			if err != nil {
				return
			}
			enc := cmux.AppendMsg(nil, m)
			if len(enc) > len(p)-len(rest) {
				t.Fatalf("%x re-encodes longer: %x", p[:len(p)-len(rest)], enc)
			}
			p = rest
		}
	})
}
