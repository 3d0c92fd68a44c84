package bind_test

import (
	"context"
	"encoding/binary"
	"math"
	"net"
	"net/netip"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pppdial/pppdial/bind"
	"github.com/pppdial/pppdial/cmux"
	"github.com/pppdial/pppdial/internal/serialline"
	"github.com/pppdial/pppdial/line"
	"github.com/pppdial/pppdial/netif"
	"github.com/pppdial/pppdial/netif/netiftest"
	"github.com/pppdial/pppdial/ppp"
)

// pppLink is a client and a server ppp.Conn on an in-memory serial line,
// each with a pp interface and its netstack, configured from what IPCP
// and IPV6CP negotiated.
type pppLink struct {
	*link
	portCli, portSrv *serialline.Port
	connCli, connSrv *ppp.Conn
}

func newPPPLink(t testing.TB, opts serialline.Options) *pppLink { return newPPPLinkMux(t, opts, 0) }

// newPPPLinkMux is newPPPLink with the PPP link on DLC 2 of a 27.010 multiplexer of frame size
// n1 on the line (host side cmux.New, modem side cmux.NewResponder); n1 0: on the line itself.
func newPPPLinkMux(t testing.TB, opts serialline.Options, n1 int) *pppLink {
	t.Helper()
	pa, pb := serialline.Pipe(opts)
	var la, lb line.Line = pa, pb
	var closeMux func(context.Context)
	if n1 > 0 {
		la, lb, closeMux = muxedLines(t, pa, pb, n1)
	}
	// A short restart timer keeps negotiation under loss and the closing
	// handshake with a vanished peer quick.
	const restart = 200 * time.Millisecond
	cli := ppp.NewConn(la, ppp.Config{Role: ppp.Client, IPv6: true, Logger: quiet, Restart: restart})
	srv := ppp.NewConn(lb, ppp.Config{Role: ppp.Server, IPv6: true, Logger: quiet, Restart: restart,
		LocalAddr: srvAddr, PeerAddr: cliAddr, DNS: []netip.Addr{srvAddr}})
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(func() {
		cctx, ccancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer ccancel()
		_ = cli.Close(cctx)
		_ = srv.Close(cctx)
		cancel()
		if closeMux != nil {
			closeMux(cctx)
		}
		_ = pa.Close()
		_ = pb.Close()
	})
	cli.Start(ctx)
	srv.Start(ctx)
	wctx, wcancel := context.WithTimeout(ctx, 20*time.Second)
	defer wcancel()
	cst, err := cli.WaitUp(wctx)
	require.NoError(t, err)
	sst, err := srv.WaitUp(wctx)
	require.NoError(t, err)
	// IPV6CP may open a moment after IPCP.
	require.Eventually(t, func() bool {
		return cli.Status().LocalV6.IsValid() && srv.Status().LocalV6.IsValid()
	}, 10*time.Second, 10*time.Millisecond)
	cst, sst = cli.Status(), srv.Status()
	require.Equal(t, cliAddr, cst.Local)
	require.Equal(t, []netip.Addr{srvAddr}, cst.DNS)
	cfg := func(st ppp.Status) netif.Config {
		return netif.Config{Local: st.Local, Peer: st.Peer, LocalV6: st.LocalV6, PeerV6: st.PeerV6, DNS: st.DNS, MTU: st.MTU}
	}
	l := newLinkOn(t, nil, cli, srv, cfg(cst), cfg(sst))
	return &pppLink{link: l, portCli: pa, portSrv: pb, connCli: cli, connSrv: srv}
}

// 10 MiB over two ppp.Conns on a serial line that loses 1% of the frames,
// then again with random bit errors (the FCS drops the damaged frames and
// TCP recovers); UDP, DNS and ping work over the same link.
func TestOverPPP(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("10 MiB transfers")
	}
	l := newPPPLink(t, serialline.Options{Seed: 5})
	ctx := testCtx(t, 60*time.Second)

	rtt, err := (&bind.Pinger{Interface: l.cli.Name(), Registry: l.reg}).Ping(ctx, srvAddr, 1)
	require.NoError(t, err)
	t.Logf("ping over ppp: %v", rtt)
	_, err = (&bind.Pinger{Interface: l.cli.Name(), Registry: l.reg}).Ping(ctx, l.srv.Config().LocalV6, 2)
	require.NoError(t, err, "ping6 to the peer's link-local address")

	pc, err := (&bind.ListenConfig{Interface: l.srv.Name(), Registry: l.reg}).ListenPacket(ctx, "udp", ":5000")
	require.NoError(t, err)
	defer pc.Close()
	c, err := (&bind.Dialer{Interface: l.cli.Name(), Registry: l.reg}).DialContext(ctx, "udp", "peer.test:5000")
	require.NoError(t, err, "resolved through the DNS server IPCP handed out")
	_, err = c.Write([]byte("udp over ppp"))
	require.NoError(t, err)
	buf := make([]byte, 64)
	_ = pc.SetReadDeadline(time.Now().Add(5 * time.Second))
	k, _, err := pc.ReadFrom(buf)
	require.NoError(t, err)
	assert.Equal(t, "udp over ppp", string(buf[:k]))
	_ = c.Close()

	for _, tc := range []struct {
		name   string
		faults serialline.Faults
	}{
		{"1% frames dropped", serialline.Faults{DropRate: 0.01}},
		{"bit errors", serialline.Faults{BitErrorRate: 1e-6}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l.portCli.SetFaults(tc.faults)
			l.portSrv.SetFaults(tc.faults)
			defer l.portCli.SetFaults(serialline.Faults{})
			defer l.portSrv.SetFaults(serialline.Faults{})
			fcs := l.connSrv.Stats().Framing.FCSErrors + l.connCli.Stats().Framing.FCSErrors
			lineBefore := l.portCli.TxStats()
			el := transfer(t, l.link, 10<<20, 45*time.Second)
			line := l.portCli.TxStats()
			fcs = l.connSrv.Stats().Framing.FCSErrors + l.connCli.Stats().Framing.FCSErrors - fcs
			dropped := line.BytesDropped - lineBefore.BytesDropped
			flipped := line.BitsFlipped - lineBefore.BitsFlipped
			t.Logf("10 MiB in %v: %d bytes dropped, %d bits flipped on the line, %d FCS errors", el, dropped, flipped, fcs)
			if tc.faults.DropRate > 0 {
				assert.Positive(t, dropped, "the line dropped frames")
			} else {
				assert.Positive(t, flipped, "the line flipped bits")
				assert.Positive(t, fcs, "the FCS caught damaged frames")
			}
		})
	}
}

// The session layer's job, done by hand: when the PPP link dies the
// interface goes down and open connections fail at once.
func TestPPPLinkDown(t *testing.T) {
	t.Parallel()
	l := newPPPLink(t, serialline.Options{Seed: 6})
	ctx := testCtx(t, 20*time.Second)
	ln, err := (&bind.ListenConfig{Interface: l.srv.Name(), Registry: l.reg}).Listen(ctx, "tcp", ":7")
	require.NoError(t, err)
	echoServer(t, ln)
	c, err := (&bind.Dialer{Interface: l.cli.Name(), Registry: l.reg}).DialContext(ctx, "tcp", "10.64.0.2:7")
	require.NoError(t, err)
	defer c.Close()
	readErr := make(chan error, 1)
	go func() { _, err := c.Read(make([]byte, 1)); readErr <- err }()
	// The cable is pulled: the client Conn ends, the session layer takes
	// the interface down with the Conn's reason.
	l.portCli.Cut()
	select {
	case <-l.connCli.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("ppp.Conn did not notice the cut line")
	}
	start := time.Now()
	l.cli.SetDown(l.connCli.Err())
	select {
	case err := <-readErr:
		require.Error(t, err)
		var oe *net.OpError
		assert.ErrorAs(t, err, &oe)
		assert.ErrorIs(t, err, syscall.ENETDOWN)
		if l.connCli.Err() != nil {
			assert.ErrorIs(t, err, l.connCli.Err(), "the PPP reason travels with the socket error")
		}
		assert.Less(t, time.Since(start), time.Second)
	case <-time.After(3 * time.Second):
		t.Fatal("read still blocked after the PPP link went down")
	}
}

// BenchmarkGoodputSerial measures a bulk TCP download through hdlc, ppp
// and netif over a serial line paced at the given baud rate, against the
// line's theoretical payload rate baud/10 x MSS/(MSS+40+framing); the
// cmux variants run the link on DLC 2 of a 27.010 multiplexer of frame size
// N1, whose framing adds per UIH frame what cmux.FrameLen does beside N1
// payload bytes (flag, address, control, 1-byte length, FCS, flag: 6 bytes;
// the standard lets one flag serve two frames, 5, but we send both).
//
// At 921600 baud (92160 bytes/s) with a 1518.7-byte HDLC frame (below):
// plain 92160 x 1460/1518.7 = 88597 B/s; N1 127: 12 UIH frames per PPP
// frame, +72 bytes, 84586 B/s (95.5% of plain); N1 31: 49 frames, +294
// bytes, 74227 B/s (83.8% of plain).
func BenchmarkGoodputSerial(b *testing.B) {
	for _, c := range []struct {
		name string
		baud int
		n1   int
	}{{"921600", 921600, 0}, {"115200", 115200, 0}, {"921600-cmux127", 921600, 127}, {"921600-cmux31", 921600, 31}} {
		b.Run(c.name, func(b *testing.B) {
			l := newPPPLinkMux(b, serialline.Options{Baud: c.baud, Seed: 1}, c.n1)
			size := int64(c.baud / 10 * 3) // about 3 s of line time
			b.SetBytes(size)
			b.ReportAllocs()
			var total netiftest.Result
			for b.Loop() {
				ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
				res, err := netiftest.Download(ctx, l.cli, l.srv, size)
				cancel()
				if err != nil {
					b.Fatal(err)
				}
				total.Bytes += res.Bytes
				total.Elapsed += res.Elapsed
			}
			// MSS 1460; per frame 40 bytes TCP/IP + 7 HDLC/PPP (flag, address,
			// control, 2 protocol, 2 FCS) + escapes of 0x7d/0x7e (2/256 of the
			// random payload); ACFC/PFC, if negotiated, save 3.
			const mss = 1460.0
			frame := mss + 40 + 7 + (mss+40)*2/256
			if c.n1 > 0 {
				frame += math.Ceil(frame/float64(c.n1)) * float64(cmux.FrameLen(c.n1)-c.n1)
			}
			line := float64(c.baud) / 10 * mss / frame
			b.ReportMetric(total.Goodput(), "goodput-B/s")
			b.ReportMetric(100*total.Goodput()/line, "%-of-line")
			b.ReportMetric(100*total.Goodput()/(float64(c.baud)/10), "%-of-raw-line")
		})
	}
}

// muxedLines starts a multiplexer of frame size n1 on the line a-b (a the initiator) and
// returns DLC 2 of each end, and what closes both multiplexers.
func muxedLines(t testing.TB, a, b line.Line, n1 int) (la, lb line.Line, closeMux func(context.Context)) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cfg := cmux.Config{N1: n1, Logger: quiet}
	host, modem := cmux.New(a, cfg), cmux.NewResponder(b, cfg)
	closeMux = func(ctx context.Context) {
		_ = host.Close(ctx)
		_ = modem.Close(ctx)
	}
	require.NoError(t, host.Open(ctx))
	ca, err := host.OpenChannel(ctx, 2)
	require.NoError(t, err)
	cb, err := modem.Accept(ctx)
	require.NoError(t, err)
	return ca, cb, closeMux
}

func baudName(b int) string {
	return map[int]string{921600: "921600", 115200: "115200"}[b]
}

// BenchmarkPPPEchoRoundTrip measures one packet's round trip through the
// whole data path: ppp.Conn (hdlc encode) -> serial line -> ppp.Conn (hdlc
// decode) -> netif -> netstack (ICMP echo) -> netif -> ppp.Conn -> serial
// line -> ppp.Conn. The far end is a bare ppp.Conn whose packet handler
// waits for the reply.
func BenchmarkPPPEchoRoundTrip(b *testing.B) {
	pa, pb := serialline.Pipe(serialline.Options{Seed: 1})
	cli := ppp.NewConn(pa, ppp.Config{Role: ppp.Client, Logger: quiet})
	srv := ppp.NewConn(pb, ppp.Config{Role: ppp.Server, Logger: quiet, LocalAddr: srvAddr, PeerAddr: cliAddr})
	reg := netif.NewRegistry()
	n, err := reg.AddPPP(srv, netif.Options{Logger: quiet})
	require.NoError(b, err)
	replies := make(chan struct{}, 1)
	cli.SetPacketHandler(func(p []byte) {
		if len(p) >= 28 && p[9] == 1 && p[20] == 0 { // ICMP echo reply
			replies <- struct{}{}
		}
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer func() {
		cctx, ccancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer ccancel()
		_ = cli.Close(cctx)
		_ = srv.Close(cctx)
		cancel()
		_ = reg.Remove(n)
		_ = pa.Close()
		_ = pb.Close()
	}()
	cli.Start(ctx)
	srv.Start(ctx)
	wctx, wcancel := context.WithTimeout(ctx, 10*time.Second)
	defer wcancel()
	_, err = cli.WaitUp(wctx)
	require.NoError(b, err)
	st, err := srv.WaitUp(wctx)
	require.NoError(b, err)
	require.NoError(b, n.SetUp(netif.Config{Local: st.Local, Peer: st.Peer, MTU: st.MTU}))

	req := icmpEcho(cliAddr, srvAddr, 56)
	bctx, bcancel := context.WithTimeout(ctx, 2*time.Minute)
	defer bcancel()
	rt := func() {
		if err := cli.WritePacket(req); err != nil {
			b.Fatal(err)
		}
		select { // no timer per packet: it would allocate
		case <-replies:
		case <-bctx.Done():
			b.Fatal("no echo reply")
		}
	}
	rt()
	b.SetBytes(int64(2 * len(req)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		rt()
	}
}

// icmpEcho builds an IPv4 ICMP echo request.
func icmpEcho(src, dst netip.Addr, payload int) []byte {
	p := make([]byte, 28+payload)
	p[0], p[8], p[9] = 0x45, 64, 1
	binary.BigEndian.PutUint16(p[2:], uint16(len(p)))
	s, d := src.As4(), dst.As4()
	copy(p[12:], s[:])
	copy(p[16:], d[:])
	binary.BigEndian.PutUint16(p[10:], ^inetSum(p[:20]))
	p[20] = 8
	binary.BigEndian.PutUint16(p[24:], 0x4242)
	binary.BigEndian.PutUint16(p[26:], 1)
	binary.BigEndian.PutUint16(p[22:], ^inetSum(p[20:]))
	return p
}

func inetSum(b []byte) uint16 {
	var s uint32
	for i := 0; i+1 < len(b); i += 2 {
		s += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if len(b)%2 == 1 {
		s += uint32(b[len(b)-1]) << 8
	}
	for s>>16 != 0 {
		s = s&0xffff + s>>16
	}
	return uint16(s)
}
