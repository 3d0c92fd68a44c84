package fsm

import (
	"testing"
	"time"
)

// FuzzInput feeds arbitrary packets (split on a length prefix) to an automaton in every state:
// it must not panic, must stay in a valid state, and must not grow its buffers without bound.
func FuzzInput(f *testing.F) {
	f.Add(byte(6), []byte{1, 1, 0, 8, 1, 4, 5, 0xdc})
	f.Add(byte(9), []byte{9, 3, 0, 8, 0, 0, 0, 1, 7, 1, 0, 5, 1})
	f.Add(byte(7), []byte{2, 1, 0, 8, 1, 4, 5, 0xdc, 3, 1, 0, 8, 1, 4, 5, 0xdd})
	f.Add(byte(3), []byte{4, 1, 0, 6, 99, 2, 5, 2, 0, 4})
	f.Fuzz(func(t *testing.T, state byte, data []byte) {
		h := newHarness(Config{MaxPacket: 64})
		h.f.Open(h.now)
		h.f.Up(h.now)
		h.f.state = State(state % 10)
		h.r.verdict = Code(state % 5)
		for len(data) > 0 {
			n := int(data[0]%40) + 1
			if n > len(data) {
				n = len(data)
			}
			h.f.Input(h.now, data[:n])
			data = data[n:]
			h.now = h.now.Add(time.Second)
			h.f.Tick(h.now)
			if h.f.State() > Opened {
				t.Fatalf("invalid state %d", h.f.State())
			}
			for _, p := range h.sent {
				if len(p) > 64+4 {
					t.Fatalf("sent %d bytes, more than MaxPacket", len(p))
				}
			}
			h.sent = nil
		}
		if cap(h.f.resp) > 1<<12 || cap(h.f.pkt) > 1<<12 {
			t.Fatalf("buffers grew: %d %d", cap(h.f.resp), cap(h.f.pkt))
		}
	})
}

// FuzzOptions checks the option parser and the reply builders on arbitrary bytes.
func FuzzOptions(f *testing.F) {
	f.Add([]byte{1, 4, 5, 0xdc, 7, 2, 8, 2})
	f.Add([]byte{3, 6, 10, 0, 2, 15})
	f.Add([]byte{1, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		valid := ValidOptions(b) == nil
		total := 0
		for _, data := range Options(b) {
			total += 2 + len(data)
		}
		if valid && total != len(b) {
			t.Fatalf("valid options cover %d of %d bytes", total, len(b))
		}
		code, out := nakToReject(b, b, nil)
		if code != ConfigureReject && code != ConfigureAck {
			t.Fatalf("code %v", code)
		}
		if valid && len(b) > 0 && code == ConfigureReject && !isSubsequence(out, b) {
			t.Fatalf("reject %x not a subsequence of %x", out, b)
		}
	})
}
