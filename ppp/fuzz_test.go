package ppp

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pppdial/pppdial/ppp/fsm"
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
// consistent (Dead only with a reason, IPv4 only in the network phase). The pair is negotiated
// once; every input starts from a copy of it (wire.clone), which costs a fraction of a
// negotiation.
func FuzzLinkInput(f *testing.F) {
	for _, seed := range linkInputSeeds() {
		f.Add(seed)
	}
	up := upWire(f)
	w := up.clone(f) // reset to up's state for every input: inputs run one at a time
	f.Fuzz(func(t *testing.T, data []byte) {
		up.copyTo(w, t)
		feedLink(t, w, data)
	})
}

// linkInputSeeds are FuzzLinkInput's seeds: frames as protocol (2 bytes), length (1) and
// information field.
func linkInputSeeds() [][]byte {
	frame := func(proto uint16, info ...byte) []byte {
		b := binary.BigEndian.AppendUint16(nil, proto)
		return append(append(b, byte(len(info))), info...)
	}
	return [][]byte{
		frame(0x80fd, 1, 1, 0, 4), // CCP (slirp)
		frame(ProtoIPCP, 1, 9, 0, 16, 2, 6, 0, 0x2d, 0x0f, 1, 3, 6, 0, 0, 0, 0), // VJ + 0.0.0.0
		frame(ProtoLCP, 1, 9, 0, 14, 1, 4, 5, 0xdc, 5, 6, 1, 2, 3, 4),           // renegotiation
		frame(ProtoLCP, 5, 9, 0, 4),                                             // Terminate-Request
		frame(ProtoLCP, 9, 9, 0, 8, 0, 0, 0, 0),                                 // Echo-Request
		frame(ProtoLCP, 8, 9, 0, 10, 0x80, 0x21, 1, 1, 0, 4),                    // Protocol-Reject IPCP
		frame(ProtoLCP, 7, 9, 0, 8, 1, 1, 0, 4),                                 // Code-Reject ConfReq
		frame(ProtoCHAP, 1, 3, 0, 9, 4, 1, 2, 3, 4),                             // Challenge nobody asked for
		frame(ProtoIPv4, 0x45, 0, 0, 20, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2),
		append(frame(ProtoIPCP, 5, 1, 0, 4), frame(ProtoLCP, 0x42, 1, 0, 4)...), // two frames
	}
}

// feedLink takes at most maxInputFrames frames and maxInputBytes bytes of an input: each frame
// brings a second of traffic and timers, and what lies beyond would only make every run of a
// long input slower, and its minimization (which tries removing every span of it) take the
// fuzzer's workers away for seconds, without reaching further.
const (
	maxInputFrames = 16
	maxInputBytes  = 512
)

// settledFor is how long feedLink's last run goes on once both links are back in their steady
// up state: long enough for several keepalive echoes and a CHAP re-challenge, after which more
// time only repeats them.
const settledFor = 10 * time.Second

// feedLink gives the client Link of w the frames in data (within the limits above), one at a
// time with a second of traffic and timers after each, then up to a minute more (until both
// links are dead, or settled for settledFor), checking both links throughout.
func feedLink(t testing.TB, w *wire, data []byte) {
	data = data[:min(len(data), maxInputBytes)]
	for i := 0; len(data) >= 3 && i < maxInputFrames; i++ {
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
	var since time.Time // when both links were last seen settled
	w.run(time.Minute, func() bool {
		switch {
		case w.a.Done() && w.b.Done():
			return true
		case !settled(w.a) || !settled(w.b):
			since = time.Time{}
		case since.IsZero():
			since = w.now
		}
		return !since.IsZero() && w.now.Sub(since) >= settledFor
	})
	checkLink(t, w.a)
}

// settled reports whether l is in its steady up state: every protocol open, no restart timer
// running, nothing but keepalive and re-challenge timers left.
func settled(l *Link) bool {
	for _, f := range []*fsm.FSM{l.lcp, l.ipcp, l.v6} {
		if f != nil && (!f.IsOpened() || !f.Deadline().IsZero()) {
			return false
		}
	}
	return l.phase == PhaseNetwork && l.txDeadline.IsZero()
}

// BenchmarkLinkInput measures one FuzzLinkInput input (the seeds in turn), from the reset to
// the negotiated copy to the last check: the target's own share of the fuzzer's time.
func BenchmarkLinkInput(b *testing.B) {
	up := upWire(b)
	w := up.clone(b)
	seeds := linkInputSeeds()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		up.copyTo(w, b)
		feedLink(b, w, seeds[i%len(seeds)])
	}
}

// A copy of the negotiated pair behaves exactly as a pair negotiated afresh: same frames out,
// same events, same state, for every seed and every stored input of FuzzLinkInput, the copy
// reset to the original after each input, as FuzzLinkInput does.
func TestWireCloneMatchesFresh(t *testing.T) {
	inputs := linkInputSeeds()
	stored, err := filepath.Glob("testdata/fuzz/FuzzLinkInput/*")
	require.NoError(t, err)
	for _, name := range stored {
		b, err := os.ReadFile(name)
		require.NoError(t, err)
		// go test fuzz v1, then []byte("...")
		_, lit, ok := strings.Cut(strings.TrimSpace(string(b)), "[]byte(")
		require.True(t, ok, name)
		s, err := strconv.Unquote(strings.TrimSuffix(lit, ")"))
		require.NoError(t, err, name)
		inputs = append(inputs, []byte(s))
	}
	require.Greater(t, len(inputs), 20)
	up := upWire(t)
	copied := up.clone(t)
	for i, data := range inputs {
		fresh := upWire(t)
		fresh.sa.sent, fresh.sa.events, fresh.sa.framings, fresh.sa.framingAt = nil, nil, nil, nil
		fresh.sb.sent, fresh.sb.events, fresh.sb.framings, fresh.sb.framingAt = nil, nil, nil, nil
		up.copyTo(copied, t)
		feedLink(t, fresh, data)
		feedLink(t, copied, data)
		for _, side := range []struct {
			name       string
			want, got  *Link
			wsink, snk *recSink
		}{{"client", fresh.a, copied.a, fresh.sa, copied.sa}, {"server", fresh.b, copied.b, fresh.sb, copied.sb}} {
			msg := fmt.Sprintf("input %d, %s", i, side.name)
			assert.Equal(t, orNil(side.wsink.sent), orNil(side.snk.sent), msg)
			assert.Equal(t, orNil(side.wsink.events), orNil(side.snk.events), msg)
			assert.Equal(t, orNil(side.wsink.delivered), orNil(side.snk.delivered), msg)
			assert.Equal(t, orNil(side.wsink.framings), orNil(side.snk.framings), msg)
			assert.Equal(t, side.want.Status(), side.got.Status(), msg)
			assert.Equal(t, side.want.Stats(), side.got.Stats(), msg)
			assert.Equal(t, side.want.Err(), side.got.Err(), msg)
			assert.Equal(t, side.want.NextDeadline(), side.got.NextDeadline(), msg)
		}
		assert.Equal(t, fresh.now, copied.now)
	}
}

// upWire returns FuzzLinkInput's starting point: a client and a CHAP-demanding server with
// keepalive and IPv6, negotiated up to IPCP open on both sides.
func upWire(tb testing.TB) *wire {
	cc := clientConf
	cc.EchoInterval, cc.IPv6 = 2*time.Second, true
	sc := serverConf
	sc.RequireAuth, sc.ChapInterval, sc.IPv6 = AuthCHAP, 5*time.Second, true
	w := newWire(tb, cc, sc)
	w.open()
	if !w.run(time.Minute, bothUp(w)) {
		tb.Fatal("link did not come up")
	}
	return w
}

func checkLink(t testing.TB, l *Link) {
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

// orNil makes an empty slice nil, for comparisons where the two mean the same.
func orNil[T any](s []T) []T {
	if len(s) == 0 {
		return nil
	}
	return s
}
