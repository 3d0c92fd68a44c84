package ppp

import (
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pppdial/pppdial/lcp"
	"github.com/pppdial/pppdial/ppp/fsm"
)

func requireUp(t *testing.T, w *wire) {
	t.Helper()
	require.True(t, w.run(time.Minute, bothUp(w)), "link did not come up: a=%v b=%v", w.a.Err(), w.b.Err())
	c, s := w.a.Status(), w.b.Status()
	assert.Equal(t, PhaseNetwork, c.Phase)
	assert.Equal(t, addr("10.0.0.2"), c.Local)
	assert.Equal(t, addr("10.0.0.1"), c.Peer)
	assert.Equal(t, []netip.Addr{addr("10.0.0.1"), addr("9.9.9.9")}, c.DNS)
	assert.Equal(t, addr("10.0.0.1"), s.Local)
	assert.Equal(t, addr("10.0.0.2"), s.Peer)
}

func TestLinkUpNoAuth(t *testing.T) {
	w := newWire(t, clientConf, serverConf)
	w.open()
	requireUp(t, w)
	assert.Equal(t, []EventKind{EventPhase, EventPhase, EventUp}, w.sa.kinds(), "Establish, Network, Up")
	assert.Equal(t, PhaseNetwork, w.sa.events[1].Phase)
	assert.Equal(t, addr("10.0.0.2"), w.sa.events[2].Status.Local)
	assert.Equal(t, AuthNone, w.b.Status().Authenticated)
	assert.Less(t, w.now.Sub(time.Unix(1_700_000_000, 0)), time.Second, "no timeout needed")
}

func TestLinkUpPAP(t *testing.T) {
	sc := serverConf
	sc.RequireAuth = AuthPAP
	w := newWire(t, clientConf, sc)
	w.open()
	requireUp(t, w)
	assert.Contains(t, phases(w.sa), PhaseAuthenticate)
	assert.Equal(t, AuthPAP, w.b.Status().Authenticated)
	assert.Equal(t, "user", w.b.Status().AuthenticatedAs)
	assert.Equal(t, uint64(1), w.a.Stats().PAP.FramesOut)
}

func TestLinkUpCHAP(t *testing.T) {
	sc := serverConf
	sc.RequireAuth = AuthCHAP
	w := newWire(t, clientConf, sc)
	w.open()
	requireUp(t, w)
	assert.Contains(t, phases(w.sa), PhaseAuthenticate)
	assert.Equal(t, AuthCHAP, w.b.Status().Authenticated)
	assert.Equal(t, uint64(1), w.a.Stats().CHAP.FramesOut, "one Response")
}

// Both sides demand authentication of each other.
func TestLinkMutualCHAP(t *testing.T) {
	sc, cc := serverConf, clientConf
	sc.RequireAuth, cc.RequireAuth = AuthCHAP, AuthPAP
	w := newWire(t, cc, sc)
	w.open()
	requireUp(t, w)
	assert.Equal(t, AuthPAP, w.a.Status().Authenticated)
	assert.Equal(t, AuthCHAP, w.b.Status().Authenticated)
}

func phases(s *recSink) []Phase {
	var p []Phase
	for _, e := range s.events {
		if e.Kind == EventPhase {
			p = append(p, e.Phase)
		}
	}
	return p
}

func TestLinkWrongCredentials(t *testing.T) {
	for _, proto := range []AuthProto{AuthPAP, AuthCHAP} {
		t.Run(proto.String(), func(t *testing.T) {
			sc, cc := serverConf, clientConf
			sc.RequireAuth = proto
			cc.Password = "wrong"
			w := newWire(t, cc, sc)
			w.open()
			require.True(t, w.run(time.Minute, func() bool { return w.a.Done() && w.b.Done() }))
			msg := map[AuthProto]string{AuthPAP: "Login incorrect", AuthCHAP: "Access denied"}[proto]
			err := w.a.Err()
			assert.EqualError(t, err, "authentication rejected by peer: "+msg)
			assert.ErrorIs(t, err, ErrAuthRejected)
			var ae *AuthError
			require.ErrorAs(t, err, &ae)
			assert.Equal(t, msg, ae.Message)
			assert.Equal(t, proto.String(), ae.Protocol)
			assert.ErrorIs(t, w.b.Err(), ErrAuthFailed)
			assert.False(t, w.a.Status().IPv4)
			last := w.sa.events[len(w.sa.events)-1]
			assert.Equal(t, EventDown, last.Kind)
			assert.Equal(t, err, last.Err)
			assert.Less(t, w.now.Sub(time.Unix(1_700_000_000, 0)), 10*time.Second)
		})
	}
}

// A client that refuses the only protocol the server accepts: the server ends the link.
func TestLinkAuthRefused(t *testing.T) {
	sc, cc := serverConf, clientConf
	sc.RequireAuth = AuthPAP
	cc.RefusePAP, cc.RefuseCHAP = true, true
	w := newWire(t, cc, sc)
	w.open()
	require.True(t, w.run(time.Minute, func() bool { return w.b.Done() }))
	assert.ErrorIs(t, w.b.Err(), ErrAuthFailed)
}

// A server that never answers our PAP request.
func TestLinkPAPNoReply(t *testing.T) {
	sc := serverConf
	sc.RequireAuth = AuthPAP
	w := newWire(t, Config{Restart: time.Second, MaxConfigure: 3}, sc)
	w.filter = func(to string, f frame) (frame, bool) { return f, !(to == "b" && f.proto == ProtoPAP) }
	w.open()
	require.True(t, w.run(time.Minute, func() bool { return w.a.Done() }))
	assert.ErrorIs(t, w.a.Err(), ErrAuthTimeout)
	assert.Equal(t, uint64(3), w.a.Stats().PAP.FramesOut)
}

// A client that never sends credentials: the server gives up after AuthTimeout.
func TestLinkServerAuthTimeout(t *testing.T) {
	sc := serverConf
	sc.RequireAuth = AuthPAP
	sc.AuthTimeout = 5 * time.Second
	w := newWire(t, clientConf, sc)
	w.filter = func(to string, f frame) (frame, bool) { return f, !(to == "b" && f.proto == ProtoPAP) }
	w.open()
	start := w.now
	require.True(t, w.run(time.Minute, func() bool { return w.b.Done() }))
	assert.ErrorIs(t, w.b.Err(), ErrAuthTimeout)
	assert.Less(t, w.now.Sub(start), 10*time.Second)
}

func TestLinkCHAPRechallenge(t *testing.T) {
	sc := serverConf
	sc.RequireAuth, sc.ChapInterval = AuthCHAP, 10*time.Second
	w := newWire(t, clientConf, sc)
	w.open()
	requireUp(t, w)
	w.run(35*time.Second, func() bool { return false })
	assert.True(t, w.a.Status().IPv4)
	assert.Equal(t, uint64(4), w.b.Stats().CHAP.FramesIn, "initial + 3 re-challenges answered")
	// The client's secret changes: the next re-challenge fails and ends the link.
	w.a.cfg.Password = "changed"
	require.True(t, w.run(15*time.Second, func() bool { return w.a.Done() }))
	assert.EqualError(t, w.a.Err(), "authentication rejected by peer: Access denied")
	assert.ErrorIs(t, w.b.Err(), ErrAuthFailed)
}

func TestLinkKeepaliveDetectsSilentPeer(t *testing.T) {
	cc := clientConf
	cc.EchoInterval, cc.EchoFailures = time.Second, 3
	w := newWire(t, cc, serverConf)
	w.open()
	requireUp(t, w)
	// A responsive peer keeps the link up.
	w.run(30*time.Second, func() bool { return false })
	require.False(t, w.a.Done())
	assert.GreaterOrEqual(t, w.a.Stats().EchoRequests, uint64(29))
	assert.Equal(t, w.a.Stats().EchoRequests, w.a.Stats().EchoReplies)
	// Every answered echo is an event with its round trip (the wire answers in the same tick).
	assert.Equal(t, int(w.a.Stats().EchoReplies), countEvents(w.sa, EventEcho))
	echo := lastEvent(t, w.sa, EventEcho)
	assert.Equal(t, w.a.Stats().EchoRTT, echo.RTT)
	assert.Equal(t, PhaseNetwork, echo.Phase)
	// Then it goes silent.
	w.sb.drop = true
	start := w.now
	require.True(t, w.run(time.Minute, func() bool { return w.a.Done() }))
	assert.ErrorIs(t, w.a.Err(), ErrPeerNotResponding)
	assert.EqualError(t, w.a.Err(), "peer not responding")
	// 3 unanswered echoes at 1 s intervals, declared at the 4th interval (interval x failures
	// + one interval), with no Terminate exchange with a peer that is gone.
	assert.Equal(t, 4*time.Second, w.now.Sub(start))
}

func TestLinkKeepaliveAdaptive(t *testing.T) {
	cc := clientConf
	cc.EchoInterval, cc.EchoAdaptive = time.Second, true
	w := newWire(t, cc, serverConf)
	w.open()
	requireUp(t, w)
	// Traffic every 500 ms: no echo needed.
	for range 20 {
		require.NoError(t, w.b.SendPacket(ProtoIPv4, ipv4Packet()))
		w.run(500*time.Millisecond, func() bool { return false })
	}
	assert.Zero(t, w.a.Stats().EchoRequests)
	// Silence: echoes start.
	w.run(5*time.Second, func() bool { return false })
	assert.NotZero(t, w.a.Stats().EchoRequests)
	assert.False(t, w.a.Done())
}

func ipv4Packet() []byte {
	return []byte{0x45, 0, 0, 20, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2}
}

func TestLinkPackets(t *testing.T) {
	w := newWire(t, clientConf, serverConf)
	w.open()
	// Before IPCP opens, IP packets are refused and discarded.
	assert.ErrorIs(t, w.a.SendPacket(ProtoIPv4, ipv4Packet()), ErrNotUp)
	requireUp(t, w)
	require.NoError(t, w.a.SendPacket(ProtoIPv4, ipv4Packet()))
	require.NoError(t, w.b.SendPacket(ProtoIPv4, ipv4Packet()))
	w.pump()
	require.Len(t, w.sb.delivered, 1)
	require.Len(t, w.sa.delivered, 1)
	assert.Equal(t, ipv4Packet(), w.sb.delivered[0].info)
	assert.ErrorIs(t, w.a.SendPacket(ProtoIPv6, []byte{0x60}), ErrNotUp)
	assert.ErrorIs(t, w.a.SendPacket(0x1234, nil), ErrBadPacket)
	assert.ErrorIs(t, w.a.SendPacket(ProtoIPv4, make([]byte, 1501)), ErrPacketTooBig)
	assert.Equal(t, uint64(1), w.a.Stats().IPv4.FramesOut)
	assert.Equal(t, uint64(20), w.a.Stats().IPv4.BytesIn)
}

func TestLinkProtocolRejectsUnknown(t *testing.T) {
	w := newWire(t, clientConf, serverConf)
	w.open()
	requireUp(t, w)
	w.sa.sent = nil
	ccp := []byte{1, 1, 0, 4} // CCP Configure-Request, as slirp sends
	w.a.Input(w.now, 0x80fd, ccp)
	require.Len(t, w.sa.sent, 1)
	f := w.sa.sent[0]
	assert.Equal(t, ProtoLCP, f.proto)
	assert.Equal(t, byte(fsm.ProtocolReject), f.info[0])
	assert.Equal(t, []byte{0x80, 0xfd, 1, 1, 0, 4}, f.info[4:])
	assert.Equal(t, uint64(1), w.a.Stats().ProtocolRejects)
	assert.Equal(t, uint64(1), w.a.Stats().Other.FramesIn)
	// IPv6 without IPV6CP enabled is rejected too.
	w.a.Input(w.now, ProtoIPV6CP, []byte{1, 1, 0, 4})
	assert.Equal(t, uint64(2), w.a.Stats().ProtocolRejects)
	w.pump()
	assert.True(t, w.b.Status().IPv4, "the peer takes Protocol-Reject of CCP in stride")
}

// Only LCP passes before LCP opens; nothing is Protocol-Rejected then.
func TestLinkDiscardsBeforeLCPOpen(t *testing.T) {
	w := newWire(t, clientConf, serverConf)
	w.a.Open(w.now)
	w.sa.sent = nil
	w.a.Input(w.now, ProtoIPCP, []byte{1, 1, 0, 4})
	w.a.Input(w.now, 0x80fd, []byte{1, 1, 0, 4})
	w.a.Input(w.now, ProtoIPv4, ipv4Packet())
	assert.Empty(t, w.sa.sent)
	assert.Equal(t, uint64(3), w.a.Stats().Discarded)
}

func TestLinkIPv6(t *testing.T) {
	cc, sc := clientConf, serverConf
	cc.IPv6, sc.IPv6 = true, true
	w := newWire(t, cc, sc)
	w.open()
	require.True(t, w.run(time.Minute, func() bool { return w.a.Status().IPv6 && w.b.Status().IPv6 && w.a.Status().IPv4 }))
	ca, sb := w.a.Status(), w.b.Status()
	assert.True(t, ca.LocalV6.IsLinkLocalUnicast())
	assert.Equal(t, ca.LocalV6, sb.PeerV6)
	assert.Equal(t, ca.PeerV6, sb.LocalV6)
	assert.NotEqual(t, ca.LocalV6, ca.PeerV6)
	assert.Contains(t, w.sa.kinds(), EventIPv6Up)
	pkt := append([]byte{0x60}, make([]byte, 39)...)
	require.NoError(t, w.a.SendPacket(ProtoIPv6, pkt))
	w.pump()
	require.Len(t, w.sb.delivered, 1)
	assert.Equal(t, ProtoIPv6, w.sb.delivered[0].proto)
}

// A client with IPv6 against a server without: the server Protocol-Rejects IPV6CP and IPv4
// stays up.
func TestLinkIPv6RejectedByPeer(t *testing.T) {
	cc := clientConf
	cc.IPv6 = true
	w := newWire(t, cc, serverConf)
	w.open()
	requireUp(t, w)
	w.run(10*time.Second, func() bool { return false })
	assert.Equal(t, fsm.Stopped, w.a.v6.State())
	assert.False(t, w.a.Status().IPv6)
	assert.True(t, w.a.Status().IPv4)
	assert.False(t, w.a.Done())
	ev := lastEvent(t, w.sa, EventIPv6Down)
	assert.ErrorIs(t, ev.Err, ErrNegotiation)
	assert.ErrorIs(t, ev.Err, fsm.ErrRejected)
	assert.Equal(t, 1, countEvents(w.sa, EventIPv6Down))
}

// A peer that terminates IPV6CP while IPv4 is up: the link goes on with IPv4 and says why
// IPv6 went.
func TestLinkIPv6TerminatedByPeer(t *testing.T) {
	cc, sc := clientConf, serverConf
	cc.IPv6, sc.IPv6 = true, true
	w := newWire(t, cc, sc)
	w.open()
	require.True(t, w.run(time.Minute, func() bool { return w.a.Status().IPv6 && w.a.Status().IPv4 }))
	w.a.Input(w.now, ProtoIPV6CP, []byte{byte(fsm.TerminateRequest), 0x42, 0, 4})
	ev := lastEvent(t, w.sa, EventIPv6Down)
	assert.ErrorIs(t, ev.Err, ErrPeerTerminated)
	assert.False(t, ev.Status.IPv6)
	assert.True(t, ev.Status.IPv4)
	w.run(20*time.Second, func() bool { return false })
	assert.Equal(t, 1, countEvents(w.sa, EventIPv6Down), "reported once, not again when IPV6CP finishes")
	assert.False(t, w.a.Done())
}

func lastEvent(t *testing.T, s *recSink, k EventKind) Event {
	t.Helper()
	for i := len(s.events) - 1; i >= 0; i-- {
		if s.events[i].Kind == k {
			return s.events[i]
		}
	}
	t.Fatalf("no %v event in %v", k, s.kinds())
	return Event{}
}

func countEvents(s *recSink, k EventKind) int {
	n := 0
	for _, e := range s.events {
		if e.Kind == k {
			n++
		}
	}
	return n
}

func TestLinkCloseWithAnsweringPeer(t *testing.T) {
	w := newWire(t, clientConf, serverConf)
	w.open()
	requireUp(t, w)
	start := w.now
	w.a.Close(w.now, nil)
	assert.Equal(t, PhaseTerminate, w.a.Phase())
	require.True(t, w.run(time.Minute, func() bool { return w.a.Done() && w.b.Done() }))
	assert.ErrorIs(t, w.a.Err(), ErrClosed)
	assert.ErrorIs(t, w.b.Err(), ErrPeerTerminated)
	assert.Equal(t, start, w.sa.events[len(w.sa.events)-1].Time, "the closer is done when the Terminate-Ack arrives")
	assert.Equal(t, 3*time.Second, w.now.Sub(start), "the peer waits one restart period (zrc)")
	assert.Equal(t, []EventKind{EventPhase, EventNetworkDown, EventPhase, EventDown}, w.sa.kinds()[3:], "Terminate, network down, Dead, down")
	assert.Equal(t, PhaseDead, w.a.Phase())
	assert.Zero(t, w.a.NextDeadline(), "no timers after Dead")
}

func TestLinkCloseSilentPeerBounded(t *testing.T) {
	cc := clientConf
	cc.Restart = 500 * time.Millisecond
	w := newWire(t, cc, serverConf)
	w.open()
	requireUp(t, w)
	w.sa.drop = true
	start := w.now
	w.a.Close(w.now, errors.New("user asked"))
	require.True(t, w.run(time.Minute, func() bool { return w.a.Done() }))
	assert.Equal(t, time.Second, w.now.Sub(start), "Max-Terminate (2) x Restart")
	assert.EqualError(t, w.a.Err(), "user asked")
}

func TestLinkCloseBeforeOpenAndAbort(t *testing.T) {
	l := NewLink(clientConf, &recSink{})
	l.Close(time.Now(), nil)
	assert.True(t, l.Done())
	assert.ErrorIs(t, l.Err(), ErrClosed)

	w := newWire(t, clientConf, serverConf)
	w.open()
	requireUp(t, w)
	w.a.Abort(w.now, nil)
	assert.True(t, w.a.Done())
	assert.ErrorIs(t, w.a.Err(), ErrClosed)

	w = newWire(t, clientConf, serverConf)
	w.open()
	w.a.LowerDown(w.now, errors.New("EOF"))
	assert.True(t, w.a.Done())
	assert.ErrorIs(t, w.a.Err(), ErrLowerDown)
	assert.EqualError(t, w.a.Err(), "lower layer down: EOF")
}

func TestLinkSilentPeerNegotiationFails(t *testing.T) {
	w := newWire(t, clientConf, serverConf)
	w.sa.drop = true
	w.a.Open(w.now)
	start := w.now
	require.True(t, w.run(time.Hour, func() bool { return w.a.Done() }))
	assert.ErrorIs(t, w.a.Err(), ErrNegotiation)
	assert.ErrorIs(t, w.a.Err(), fsm.ErrNoResponse)
	assert.Equal(t, 21750*time.Millisecond, w.now.Sub(start),
		"10 Configure-Requests, 0.25, 0.5, 1, 2 s, then 3 s apart (FirstRestart doubling to Restart)")
	assert.Equal(t, uint64(10), w.a.Stats().LCP.FramesOut)
}

// A peer whose PPP starts a moment after CONNECT misses our first Configure-Request (issue 13:
// pppd behind a modem, 3 s lost to the restart timer). With the short first restart interval
// the link is up within round trips of the peer's start, not a Restart period later.
func TestLinkLateStartingPeer(t *testing.T) {
	for _, tc := range []struct {
		name   string
		first  time.Duration
		within time.Duration
	}{
		{"default first restart", 0, time.Second},
		{"plain 3 s timer", -1, 4 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cc := clientConf
			cc.FirstRestart = tc.first
			w := newWire(t, cc, serverConf)
			start := w.now
			listening := start.Add(200 * time.Millisecond)
			w.filter = func(to string, f frame) (frame, bool) {
				return f, to == "a" || !w.now.Before(listening) // b hears nothing before it starts
			}
			w.a.Open(w.now)
			w.pump()
			require.False(t, w.run(200*time.Millisecond, func() bool { return false }))
			w.b.Open(w.now) // the peer's PPP starts: its own Configure-Request goes out
			require.True(t, w.run(time.Minute, bothUp(w)))
			took := w.now.Sub(start)
			t.Logf("CONNECT to up: %v", took)
			assert.Less(t, took, tc.within)
			if tc.first < 0 {
				assert.GreaterOrEqual(t, took, 3*time.Second, "without it, the wait is the full Restart")
			}
		})
	}
}

// ACCM, PFC and ACFC take effect when LCP opens: receive side at once, transmit side once the
// peer shows it is open too; the transmit side reverts when LCP closes, the receive map stays
// (the peer's frames in flight use it).
func TestLinkFramingApplied(t *testing.T) {
	cc := clientConf
	cc.ACCM = 0x000a0000
	cc.MRU = 1400
	sc := serverConf
	sc.NoPFC = true
	w := newWire(t, cc, sc)
	w.open()
	requireUp(t, w)
	// Server's view: it must escape XON/XOFF for the client, may compress addresses, not
	// protocols (NoPFC: the server rejected the client's PFC, so it never compresses).
	require.Len(t, w.sb.framings, 3, "defaults, LCP open (receive side), peer seen open (transmit side)")
	early, fs := w.sb.framings[1], w.sb.framings[2]
	assert.Equal(t, DefaultFraming(1500).TxACCM, early.TxACCM)
	assert.False(t, early.ACFC || early.PFC)
	assert.Equal(t, 1400, early.PeerMRU)
	assert.Equal(t, uint32(0x000a0000), fs.TxACCM)
	assert.Equal(t, uint32(0), fs.RxACCM)
	assert.True(t, fs.ACFC)
	assert.False(t, fs.PFC)
	assert.Equal(t, 1400, fs.PeerMRU)
	assert.Equal(t, 1400, w.b.Status().MTU)
	fc := w.sa.framings[len(w.sa.framings)-1]
	assert.Equal(t, uint32(0x000a0000), fc.RxACCM)
	assert.Equal(t, uint32(0), fc.TxACCM)
	assert.False(t, fc.PFC, "the server rejected PFC")
	assert.True(t, fc.ACFC)
	assert.Equal(t, 1500, fc.MRU, "we always accept 1500")
	// The transmit switch came after a non-LCP frame from the peer.
	at := w.sb.framingAt[2]
	assert.Greater(t, at, 0)
	assert.NotZero(t, w.b.Stats().IPCP.FramesIn+w.b.Stats().PAP.FramesIn+w.b.Stats().CHAP.FramesIn)
	w.a.Close(w.now, nil)
	w.run(time.Minute, func() bool { return w.a.Done() })
	down := DefaultFraming(1400)
	down.RxACCM = 0x000a0000
	assert.Equal(t, down, w.sa.framings[len(w.sa.framings)-1])
}

// A peer that opens and then stays silent still gets the negotiated framing after a restart
// period.
func TestLinkTxFramingFallback(t *testing.T) {
	cc := clientConf
	cc.NoPeerDNS = true
	w := newWire(t, cc, serverConf)
	w.filter = func(to string, f frame) (frame, bool) { return f, to != "a" || f.proto == ProtoLCP }
	w.open()
	require.True(t, w.run(time.Minute, func() bool { return w.a.lcp.IsOpened() }))
	assert.True(t, w.sa.framings[len(w.sa.framings)-1].ACFC == false)
	w.run(3*time.Second, func() bool { return false })
	assert.True(t, w.sa.framings[len(w.sa.framings)-1].ACFC)
}

// Our frames coming straight back (a modem echoing): loopback detected.
func TestLinkLoopback(t *testing.T) {
	w := newWire(t, clientConf, serverConf)
	w.sa.queue = &w.qa // a talks to itself
	w.a.Open(w.now)
	require.True(t, w.run(5*time.Minute, func() bool { return w.a.Done() }))
	assert.ErrorIs(t, w.a.Err(), ErrLoopback)
}

func TestLinkPeerRenegotiates(t *testing.T) {
	w := newWire(t, clientConf, serverConf)
	w.open()
	requireUp(t, w)
	// A new Configure-Request from the peer while Opened restarts LCP (RFC 1661 tld,scr,sca).
	req := w.b.lcpN.AppendRequest(nil)
	pkt := append([]byte{1, 200, 0, byte(4 + len(req))}, req...)
	w.a.Input(w.now, ProtoLCP, pkt)
	assert.Contains(t, w.sa.kinds(), EventNetworkDown)
	assert.False(t, w.a.Status().IPv4)
	assert.Equal(t, PhaseEstablish, w.a.Phase())
	requireUp(t, w)
	assert.Equal(t, 2, count(w.sa.kinds(), EventUp))
}

func count[T comparable](s []T, v T) int {
	n := 0
	for _, x := range s {
		if x == v {
			n++
		}
	}
	return n
}

func TestEventAndStringers(t *testing.T) {
	assert.Equal(t, "Network", PhaseNetwork.String())
	assert.Equal(t, "down", EventDown.String())
	assert.Equal(t, "server", Server.String())
	assert.Equal(t, "sent", Sent.String())
	assert.Equal(t, "down: peer not responding", Event{Kind: EventDown, Err: ErrPeerNotResponding}.String())
	assert.Contains(t, Event{Kind: EventUp, Status: Status{Local: addr("10.0.0.2")}}.String(), "local=10.0.0.2")
}

func TestConfigValidate(t *testing.T) {
	assert.NoError(t, clientConf.Validate())
	assert.NoError(t, serverConf.Validate())
	assert.ErrorIs(t, Config{Role: Server}.Validate(), ErrInvalidConfig)
	assert.ErrorIs(t, Config{LocalAddr: addr("::1")}.Validate(), ErrInvalidConfig)
	assert.ErrorIs(t, Config{RequireAuth: 9}.Validate(), ErrInvalidConfig)
	l := NewLink(Config{Role: Server}, &recSink{})
	l.Open(time.Now())
	assert.True(t, l.Done())
	assert.ErrorIs(t, l.Err(), ErrInvalidConfig)
}

func TestLinkEndsAtOnceWhenPeerTerminatesIPCP(t *testing.T) {
	w := newWire(t, clientConf, serverConf)
	w.open()
	requireUp(t, w)
	// The peer (a network that drops the session) closes IPCP, not LCP.
	start := w.now
	w.a.Input(w.now, ProtoIPCP, []byte{byte(fsm.TerminateRequest), 0x42, 0, 4})
	require.True(t, w.run(time.Minute, func() bool { return w.a.Done() }))
	assert.ErrorIs(t, w.a.Err(), ErrPeerTerminated)
	assert.Contains(t, w.a.Err().Error(), "IPCP")
	// No restart period spent in IPCP's Stopping state: LCP's Terminate exchange with the
	// (responsive) peer is all it takes.
	assert.Less(t, w.now.Sub(start), time.Second)
}

// The MTU in force (Status.MTU, reported with EventUp) is the smallest of what we asked to
// receive and what the peer accepts (issue 13): --mtu 1280 asks for MRU 1280 in LCP and the
// link's MTU is then 1280 even though the peer would take 1500; a peer with a smaller MRU
// lowers it further, and nothing larger than the peer's MRU is sent.
func TestLinkMTU(t *testing.T) {
	for _, tc := range []struct {
		name               string
		ours, peers        int
		wantOurs, wantPeer int
	}{
		{"defaults", 0, 0, 1500, 1500},
		{"we ask for 1280", 1280, 0, 1280, 1280},
		{"the peer asks for 576", 1280, 576, 576, 576},
		{"we ask for more than 1500", 2000, 0, 1500, 1500},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cc, sc := clientConf, serverConf
			cc.MRU, sc.MRU = tc.ours, tc.peers
			w := newWire(t, cc, sc)
			w.open()
			requireUp(t, w)
			req, err := lcp.ParseRequest(w.sa.sent[0].info[4:])
			require.NoError(t, err)
			if tc.ours != 0 && tc.ours != 1500 {
				assert.Equal(t, uint16(tc.ours), req.MRU, "our MRU is asked for in LCP")
			} else {
				assert.Zero(t, req.MRU, "the default MRU is not asked for")
			}
			var up *Event
			for i := range w.sa.events {
				if w.sa.events[i].Kind == EventUp {
					up = &w.sa.events[i]
				}
			}
			require.NotNil(t, up)
			assert.Equal(t, tc.wantOurs, up.Status.MTU, "the up event carries the MTU in force")
			assert.Equal(t, tc.wantOurs, w.a.Status().MTU)
			assert.Equal(t, tc.wantPeer, w.b.Status().MTU)
			peerMRU := max(tc.peers, 0)
			if peerMRU == 0 {
				peerMRU = 1500
			}
			pkt := make([]byte, peerMRU+1)
			pkt[0] = 0x45
			assert.ErrorIs(t, w.a.SendPacket(ProtoIPv4, pkt), ErrPacketTooBig, "never more than the peer's MRU")
			assert.NoError(t, w.a.SendPacket(ProtoIPv4, pkt[:peerMRU]))
		})
	}
}
