package lcp

import (
	"bytes"
	"testing"

	"github.com/pppdial/pppdial/ppp/fsm"
)

// FuzzCheckRequest: any option bytes get a well-formed reply; an Ack echoes the request; a
// Reject only names options of the request.
func FuzzCheckRequest(f *testing.F) {
	f.Add(slirpReq, uint32(0x12345678))
	f.Add([]byte{3, 5, 0xc2, 0x23, 0x81, 1, 4, 0, 1}, uint32(0))
	f.Add([]byte{2, 6, 0, 0x0a, 0, 0, 13, 3, 6}, uint32(7))
	f.Fuzz(func(t *testing.T, opts []byte, magic uint32) {
		if fsm.ValidOptions(opts) != nil {
			return // the automaton discards malformed requests before the rules see them
		}
		for _, p := range []Policy{clientPolicy, {}, {NoPFC: true, NoACFC: true, RequireAuth: AuthCHAP}} {
			var r fsm.Responder
			CheckRequest(opts, p, magic, seq(1, 2), &r)
			code, out := r.Result(nil)
			if err := fsm.ValidOptions(out); err != nil {
				t.Fatalf("malformed reply %x", out)
			}
			switch code {
			case fsm.ConfigureAck:
				if !bytes.Equal(out, opts) {
					t.Fatalf("ack %x differs from request %x", out, opts)
				}
			case fsm.ConfigureReject:
				for typ := range fsm.Options(out) {
					if !fsm.HasOption(opts, typ) {
						t.Fatalf("rejected option %d not in request", typ)
					}
				}
			}
		}
	})
}

// FuzzApplyNakReject: arbitrary Naks and Rejects never panic and keep the request encodable.
func FuzzApplyNakReject(f *testing.F) {
	f.Add([]byte{1, 4, 2, 0x40, 2, 6, 0, 0x0a, 0, 0})
	f.Add([]byte{3, 4, 0xc0, 0x23, 5, 6, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, opts []byte) {
		p := Policy{RequireAuth: AuthCHAP, MRU: 1400}
		want := p.Initial(9)
		got, _, err := ApplyNak(want, opts, p, seq(3))
		if err == nil {
			if got.MRU != 0 && got.MRU < MinMRU {
				t.Fatalf("MRU %d", got.MRU)
			}
			if _, err := ParseRequest(AppendRequest(nil, got)); err != nil {
				t.Fatal(err)
			}
		}
		if _, _, err := ApplyReject(want, opts); (err == nil) != (fsm.ValidOptions(opts) == nil) {
			t.Fatalf("ApplyReject validity mismatch")
		}
		_ = FormatOptions(opts)
		_, _ = ParseRequest(opts)
	})
}

// FuzzPacketCodecs: Protocol-Reject and Echo parsers on arbitrary data.
func FuzzPacketCodecs(f *testing.F) {
	f.Add([]byte{0x80, 0xfd, 1, 1, 0, 4})
	f.Add([]byte{1, 2, 3, 4, 5})
	f.Fuzz(func(t *testing.T, data []byte) {
		if proto, info, err := ParseProtocolReject(data); err == nil {
			again := AppendProtocolReject(nil, proto, info, 1500)
			if !bytes.Equal(again, data[:min(len(data), 1500)]) {
				t.Fatalf("round trip %x -> %x", data, again)
			}
		}
		if m, rest, err := ParseEcho(data); err == nil && len(rest)+4 != len(data) {
			t.Fatalf("echo %x %x", m, rest)
		}
	})
}
