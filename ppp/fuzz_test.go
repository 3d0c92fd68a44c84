package ppp

import (
	"encoding/binary"
	"testing"
	"time"
)

// FuzzParseAuth checks the PAP and CHAP parsers and the packet formatter on arbitrary bytes.
func FuzzParseAuth(f *testing.F) {
	f.Add([]byte{1, 1, 0, 16, 4, 'u', 's', 'e', 'r', 6, 's', 'e', 'c', 'r', 'e', 't'})
	f.Add([]byte{2, 1, 0, 13, 8, 'L', 'o', 'g', 'i', 'n', ' ', 'o', 'k'})
	f.Add([]byte{1, 7, 0, 12, 4, 1, 2, 3, 4, 'n', 'a', 'm'})
	f.Add([]byte{3, 1, 0, 5, 200})
	f.Fuzz(func(t *testing.T, b []byte) {
		if code, _, data, err := parsePacket(b); err == nil {
			if len(data)+4 > len(b) {
				t.Fatal("data beyond packet")
			}
			if user, pass, err := ParsePAPRequest(data); err == nil && len(user)+len(pass)+2 > len(data) {
				t.Fatal("PAP fields beyond data")
			}
			if msg := ParsePAPReply(data); len(msg) > len(data) {
				t.Fatal("PAP message beyond data")
			}
			if v, n, err := ParseCHAP(data); err == nil && (len(v) == 0 || len(v)+len(n)+1 != len(data)) {
				t.Fatalf("CHAP split %d+%d of %d", len(v), len(n), len(data))
			}
			_ = code
		}
		for _, p := range []uint16{ProtoLCP, ProtoPAP, ProtoCHAP, ProtoIPCP, ProtoIPV6CP, 0x80fd} {
			_ = FormatPacket(p, b)
		}
	})
}

// FuzzLinkInput feeds arbitrary frames to a client Link whose network phase is open, with a
// real server Link answering: no panic, no unbounded growth, and the link's state stays
// consistent (Dead only with a reason, IPv4 only in the network phase).
func FuzzLinkInput(f *testing.F) {
	frame := func(proto uint16, info ...byte) []byte {
		b := binary.BigEndian.AppendUint16(nil, proto)
		return append(append(b, byte(len(info))), info...)
	}
	f.Add(frame(0x80fd, 1, 1, 0, 4))                                               // CCP (slirp)
	f.Add(frame(ProtoIPCP, 1, 9, 0, 16, 2, 6, 0, 0x2d, 0x0f, 1, 3, 6, 0, 0, 0, 0)) // VJ + 0.0.0.0
	f.Add(frame(ProtoLCP, 1, 9, 0, 14, 1, 4, 5, 0xdc, 5, 6, 1, 2, 3, 4))           // renegotiation
	f.Add(frame(ProtoLCP, 5, 9, 0, 4))                                             // Terminate-Request
	f.Add(frame(ProtoLCP, 9, 9, 0, 8, 0, 0, 0, 0))                                 // Echo-Request
	f.Add(frame(ProtoLCP, 8, 9, 0, 10, 0x80, 0x21, 1, 1, 0, 4))                    // Protocol-Reject IPCP
	f.Add(frame(ProtoLCP, 7, 9, 0, 8, 1, 1, 0, 4))                                 // Code-Reject ConfReq
	f.Add(frame(ProtoCHAP, 1, 3, 0, 9, 4, 1, 2, 3, 4))                             // Challenge nobody asked for
	f.Add(frame(ProtoIPv4, 0x45, 0, 0, 20, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2))
	f.Add(append(frame(ProtoIPCP, 5, 1, 0, 4), frame(ProtoLCP, 0x42, 1, 0, 4)...)) // two frames
	f.Fuzz(func(t *testing.T, data []byte) {
		cc := clientConf
		cc.EchoInterval, cc.IPv6 = 2*time.Second, true
		sc := serverConf
		sc.RequireAuth, sc.ChapInterval, sc.IPv6 = AuthCHAP, 5*time.Second, true
		w := newWire(t, cc, sc)
		w.open()
		if !w.run(time.Minute, bothUp(w)) {
			t.Fatal("link did not come up")
		}
		for len(data) >= 3 {
			proto := binary.BigEndian.Uint16(data)
			n := min(int(data[2]), len(data)-3)
			info := data[3 : 3+n]
			data = data[3+n:]
			w.a.Input(w.now, proto, info)
			if len(w.qa)+len(w.qb) > 64 {
				t.Fatalf("one frame produced %d frames", len(w.qa)+len(w.qb))
			}
			w.run(time.Second, func() bool { return false })
			checkLink(t, w.a)
			checkLink(t, w.b)
		}
		w.run(time.Minute, func() bool { return w.a.Done() && w.b.Done() })
		checkLink(t, w.a)
	})
}

func checkLink(t *testing.T, l *Link) {
	t.Helper()
	st := l.Status()
	if l.Done() != (l.Phase() == PhaseDead) && l.opened {
		t.Fatalf("done=%v phase=%v", l.Done(), l.Phase())
	}
	if l.Done() && l.Err() == nil {
		t.Fatal("dead without a reason")
	}
	if st.IPv4 && (l.Phase() != PhaseNetwork || !l.ipcp.IsOpened()) {
		t.Fatalf("IPv4 up in phase %v", l.Phase())
	}
	if st.Phase != l.Phase() {
		t.Fatalf("status phase %v, link phase %v", st.Phase, l.Phase())
	}
	if cap(l.buf) > 1<<16 {
		t.Fatalf("scratch buffer grew to %d", cap(l.buf))
	}
	if l.framing.PeerMRU < 128 || l.framing.PeerMRU > 65535 {
		t.Fatalf("peer MRU %d", l.framing.PeerMRU)
	}
}
