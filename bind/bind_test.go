package bind_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pppdial/pppdial/bind"
	"github.com/pppdial/pppdial/netif"
	"github.com/pppdial/pppdial/netif/netiftest"
)

func testCtx(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// echoServer accepts connections on ln and echoes them until ln closes;
// the returned function closes ln and waits for the goroutines.
func echoServer(t *testing.T, ln net.Listener) {
	done := make(chan struct{})
	conns := make(chan net.Conn, 16)
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns <- c
			go func() { _, _ = io.Copy(c, c); _ = c.Close() }()
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		<-done
		close(conns)
		for c := range conns {
			_ = c.Close()
		}
	})
}

func TestDialTCPByName(t *testing.T) {
	t.Parallel()
	l := newLink(t, nil, netiftest.Options{})
	ctx := testCtx(t, 10*time.Second)
	ln, err := (&bind.ListenConfig{Interface: "pp1", Registry: l.reg}).Listen(ctx, "tcp", ":7")
	require.NoError(t, err)
	echoServer(t, ln)

	d := &bind.Dialer{Interface: "pp0", Registry: l.reg}
	c, err := d.DialContext(ctx, "tcp", "peer.test:7")
	require.NoError(t, err)
	defer c.Close()
	assert.Equal(t, "10.64.0.2:7", c.RemoteAddr().String())
	assert.Equal(t, cliAddr.String(), c.LocalAddr().(*net.TCPAddr).IP.String())
	_, err = c.Write([]byte("ping over pp0"))
	require.NoError(t, err)
	buf := make([]byte, 13)
	_, err = io.ReadFull(c, buf)
	require.NoError(t, err)
	assert.Equal(t, "ping over pp0", string(buf))
	// Only A was asked (no global IPv6 on pp0), of the interface's server.
	assert.Equal(t, []string{"TypeA peer.test."}, l.dns.seen())

	// Deadlines behave as on kernel sockets.
	require.NoError(t, c.SetReadDeadline(time.Now().Add(20*time.Millisecond)))
	_, err = c.Read(buf)
	assert.ErrorIs(t, err, os.ErrDeadlineExceeded)
	var ne net.Error
	require.ErrorAs(t, err, &ne)
	assert.True(t, ne.Timeout())
}

func TestDialIPv6LinkLocal(t *testing.T) {
	t.Parallel()
	l := newLink(t, nil, netiftest.Options{})
	ctx := testCtx(t, 10*time.Second)
	ln, err := (&bind.ListenConfig{Interface: "pp1", Registry: l.reg}).Listen(ctx, "tcp6", "[fe80::2]:7")
	require.NoError(t, err)
	echoServer(t, ln)
	c, err := (&bind.Dialer{Interface: "pp0", Registry: l.reg}).DialContext(ctx, "tcp", "[fe80::2%pp0]:7")
	require.NoError(t, err)
	defer c.Close()
	_, err = c.Write([]byte("v6"))
	require.NoError(t, err)
	buf := make([]byte, 2)
	_, err = io.ReadFull(c, buf)
	require.NoError(t, err)
	assert.Equal(t, "v6", string(buf))
}

func TestHTTPThroughDialer(t *testing.T) {
	t.Parallel()
	l := newLink(t, nil, netiftest.Options{})
	ctx := testCtx(t, 20*time.Second)
	body := make([]byte, 1<<20)
	_, _ = rand.Read(body)
	ln, err := (&bind.ListenConfig{Interface: "pp1", Registry: l.reg}).Listen(ctx, "tcp4", "10.64.0.2:80")
	require.NoError(t, err)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write(body)
	}), ReadHeaderTimeout: 5 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	defer func() {
		_ = srv.Close()
		<-served
	}()

	tr := &http.Transport{DialContext: (&bind.Dialer{Interface: "pp0", Registry: l.reg}).DialContext}
	defer tr.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://peer.test/big.bin", nil)
	require.NoError(t, err)
	resp, err := (&http.Client{Transport: tr}).Do(req)
	require.NoError(t, err)
	got, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	require.NoError(t, err)
	assert.Equal(t, sha256.Sum256(body), sha256.Sum256(got))
}

func TestUDP(t *testing.T) {
	t.Parallel()
	l := newLink(t, nil, netiftest.Options{})
	ctx := testCtx(t, 10*time.Second)
	pc, err := (&bind.ListenConfig{Interface: "pp1", Registry: l.reg}).ListenPacket(ctx, "udp4", ":5000")
	require.NoError(t, err)
	defer pc.Close()
	c, err := (&bind.Dialer{Interface: "pp0", Registry: l.reg}).DialContext(ctx, "udp", "10.64.0.2:5000")
	require.NoError(t, err)
	defer c.Close()
	_, err = c.Write([]byte("datagram"))
	require.NoError(t, err)
	buf := make([]byte, 100)
	require.NoError(t, pc.SetReadDeadline(time.Now().Add(5*time.Second)))
	k, from, err := pc.ReadFrom(buf)
	require.NoError(t, err)
	assert.Equal(t, "datagram", string(buf[:k]))
	assert.Equal(t, c.LocalAddr().String(), from.String())
	_, err = pc.WriteTo([]byte("reply"), from)
	require.NoError(t, err)
	require.NoError(t, c.SetReadDeadline(time.Now().Add(5*time.Second)))
	k, err = c.Read(buf)
	require.NoError(t, err)
	assert.Equal(t, "reply", string(buf[:k]))
}

func TestPing(t *testing.T) {
	t.Parallel()
	l := newLink(t, nil, netiftest.Options{})
	ctx := testCtx(t, 10*time.Second)
	p := bind.Pinger{Interface: "pp0", Registry: l.reg}
	for i, dst := range []netip.Addr{srvAddr, srvLL} {
		rtt, err := p.Ping(ctx, dst, uint16(i+1))
		require.NoError(t, err, dst)
		assert.Positive(t, rtt)
	}
	// Nobody answers for an address beyond the peer (the pipe's far end
	// has no route): the context bounds the wait.
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	_, err := p.Ping(short, netip.MustParseAddr("192.0.2.1"), 9)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
}

func TestUnknownInterfaceIsENODEV(t *testing.T) {
	t.Parallel()
	l := newLink(t, nil, netiftest.Options{})
	ctx := testCtx(t, 5*time.Second)
	const bad = "pp7"
	_, err := (&bind.Dialer{Interface: bad, Registry: l.reg}).DialContext(ctx, "tcp", "10.64.0.2:7")
	assert.ErrorIs(t, err, syscall.ENODEV)
	var oe *net.OpError
	assert.ErrorAs(t, err, &oe)
	_, err = (&bind.ListenConfig{Interface: bad, Registry: l.reg}).Listen(ctx, "tcp", ":7")
	assert.ErrorIs(t, err, syscall.ENODEV)
	_, err = (&bind.ListenConfig{Interface: bad, Registry: l.reg}).ListenPacket(ctx, "udp", ":7")
	assert.ErrorIs(t, err, syscall.ENODEV)
	_, err = (&bind.Pinger{Interface: bad, Registry: l.reg}).Ping(ctx, srvAddr, 1)
	assert.ErrorIs(t, err, syscall.ENODEV)
	_, err = (&bind.Resolver{Interface: bad, Registry: l.reg}).LookupNetIP(ctx, "ip", "peer.test")
	assert.ErrorIs(t, err, syscall.ENODEV)
	// Package-level functions use netif.DefaultRegistry, where no such
	// interface exists either (host interfaces are looked up too).
	_, err = bind.Dial(ctx, "no-such-if9", "tcp", "127.0.0.1:1")
	assert.ErrorIs(t, err, syscall.ENODEV)
}

func TestDownInterfaceIsENETDOWN(t *testing.T) {
	t.Parallel()
	l := newLink(t, nil, netiftest.Options{})
	ctx := testCtx(t, 5*time.Second)
	why := errors.New("NO CARRIER")
	l.cli.SetDown(why)
	_, err := (&bind.Dialer{Interface: "pp0", Registry: l.reg}).DialContext(ctx, "tcp", "10.64.0.2:7")
	assert.ErrorIs(t, err, syscall.ENETDOWN)
	assert.ErrorIs(t, err, why)
	_, err = (&bind.ListenConfig{Interface: "pp0", Registry: l.reg}).Listen(ctx, "tcp", ":7")
	assert.ErrorIs(t, err, syscall.ENETDOWN)
	_, err = (&bind.ListenConfig{Interface: "pp0", Registry: l.reg}).ListenPacket(ctx, "udp", ":7")
	assert.ErrorIs(t, err, syscall.ENETDOWN)
	_, err = (&bind.Pinger{Interface: "pp0", Registry: l.reg}).Ping(ctx, srvAddr, 1)
	assert.ErrorIs(t, err, syscall.ENETDOWN)
}

func TestConnectionRefused(t *testing.T) {
	t.Parallel()
	l := newLink(t, nil, netiftest.Options{})
	ctx := testCtx(t, 5*time.Second)
	_, err := (&bind.Dialer{Interface: "pp0", Registry: l.reg}).DialContext(ctx, "tcp", "10.64.0.2:9")
	assert.ErrorIs(t, err, syscall.ECONNREFUSED)
	var oe *net.OpError
	require.ErrorAs(t, err, &oe)
	assert.Equal(t, "dial", oe.Op)
	assert.Equal(t, "10.64.0.2:9", oe.Addr.String())
}

// Link down: a blocked read and later writes fail at once, with errors
// saying the network is down and why; after a redial with new addresses
// the interface works again.
func TestLinkDownFailsOpenConns(t *testing.T) {
	t.Parallel()
	l := newLink(t, nil, netiftest.Options{})
	ctx := testCtx(t, 10*time.Second)
	ln, err := (&bind.ListenConfig{Interface: "pp1", Registry: l.reg}).Listen(ctx, "tcp", ":7")
	require.NoError(t, err)
	echoServer(t, ln)
	pc, err := (&bind.ListenConfig{Interface: "pp0", Registry: l.reg}).ListenPacket(ctx, "udp", ":6000")
	require.NoError(t, err)
	defer pc.Close()
	c, err := (&bind.Dialer{Interface: "pp0", Registry: l.reg}).DialContext(ctx, "tcp", "10.64.0.2:7")
	require.NoError(t, err)
	defer c.Close()

	lnCli, err := (&bind.ListenConfig{Interface: "pp0", Registry: l.reg}).Listen(ctx, "tcp", ":8000")
	require.NoError(t, err)
	defer lnCli.Close()
	errs := make(chan error, 3)
	go func() { _, err := c.Read(make([]byte, 1)); errs <- err }()
	go func() { _, _, err := pc.ReadFrom(make([]byte, 1)); errs <- err }()
	go func() { _, err := lnCli.Accept(); errs <- err }()
	// All three calls blocked before the link goes down: that is the path under test.
	for _, frame := range []string{"gonet.(*TCPConn).Read", "gonet.(*UDPConn).ReadFrom", ").Accept("} {
		require.NoError(t, netiftest.WaitBlocked(ctx, "TestLinkDownFailsOpenConns.func", frame), frame)
	}
	why := errors.New("LCP terminated by peer")
	start := time.Now()
	l.cli.SetDown(why)
	for range 3 {
		select {
		case err := <-errs:
			require.Error(t, err)
			assert.ErrorIs(t, err, syscall.ENETDOWN)
			assert.ErrorIs(t, err, why)
		case <-time.After(3 * time.Second):
			t.Fatal("blocked socket did not fail after link down")
		}
	}
	assert.Less(t, time.Since(start), time.Second)
	_, err = c.Write([]byte("x"))
	assert.ErrorIs(t, err, syscall.ENETDOWN)

	// Redial: new addresses.
	newCli, newSrv := netip.MustParseAddr("10.70.0.1"), netip.MustParseAddr("10.70.0.2")
	l.srv.SetDown(nil)
	require.NoError(t, l.srv.SetUp(netif.Config{Local: newSrv, Peer: newCli}))
	require.NoError(t, l.cli.SetUp(netif.Config{Local: newCli, Peer: newSrv, DNS: []netip.Addr{newSrv}}))
	ln2, err := (&bind.ListenConfig{Interface: "pp1", Registry: l.reg}).Listen(ctx, "tcp", ":8")
	require.NoError(t, err)
	echoServer(t, ln2)
	c2, err := (&bind.Dialer{Interface: "pp0", Registry: l.reg}).DialContext(ctx, "tcp", "10.70.0.2:8")
	require.NoError(t, err)
	defer c2.Close()
	assert.Equal(t, "10.70.0.1", c2.LocalAddr().(*net.TCPAddr).IP.String())
	_, err = c2.Write([]byte("back"))
	require.NoError(t, err)
	buf := make([]byte, 4)
	_, err = io.ReadFull(c2, buf)
	require.NoError(t, err)
	assert.Equal(t, "back", string(buf))
}

// transfer sends size random bytes from pp0 to pp1 and checks them. The server listens on a
// port of the stack's choosing: a fixed one is still held by the last transfer's connection
// while it closes (a lossy line makes that slow), and the next Listen on it fails.
func transfer(t testing.TB, l *link, size int, timeout time.Duration) time.Duration {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	ln, err := (&bind.ListenConfig{Interface: l.srv.Name(), Registry: l.reg}).Listen(ctx, "tcp", ":0")
	require.NoError(t, err)
	defer ln.Close()
	payload := make([]byte, size)
	_, _ = rand.Read(payload)
	type result struct {
		sum [32]byte
		n   int64
		err error
	}
	res := make(chan result, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			res <- result{err: err}
			return
		}
		defer c.Close()
		stop := context.AfterFunc(ctx, func() { _ = c.Close() })
		defer stop()
		h := sha256.New()
		n, err := io.Copy(h, c)
		var s [32]byte
		copy(s[:], h.Sum(nil))
		res <- result{s, n, err}
	}()
	start := time.Now()
	port := ln.Addr().(*net.TCPAddr).Port
	require.NotZero(t, port)
	c, err := (&bind.Dialer{Interface: l.cli.Name(), Registry: l.reg}).DialContext(ctx, "tcp", net.JoinHostPort("10.64.0.2", strconv.Itoa(port)))
	require.NoError(t, err)
	stop := context.AfterFunc(ctx, func() { _ = c.Close() })
	defer stop()
	_, err = io.Copy(c, bytes.NewReader(payload))
	require.NoError(t, err)
	require.NoError(t, c.Close())
	r := <-res
	require.NoError(t, r.err)
	require.Equal(t, int64(size), r.n)
	require.Equal(t, sha256.Sum256(payload), r.sum, "payload corrupted")
	return time.Since(start)
}

// 10 MiB arrive intact with 1% of the packets lost in each direction: TCP
// (SACK, RACK) repairs the losses.
func TestTransferLossy(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("10 MiB transfer")
	}
	l := newLink(t, nil, netiftest.Options{DropRate: 0.01, Seed: 42})
	el := transfer(t, l, 10<<20, 40*time.Second)
	s := l.devCli.Stats()
	t.Logf("10 MiB with 1%% loss in %v; client sent %d packets, %d lost", el, s.Sent, s.Lost)
	assert.Positive(t, s.Lost)
}

// A dial in progress (the peer never answers the SYN) fails as soon as the
// link goes down, not at the dial timeout.
func TestLinkDownAbortsDial(t *testing.T) {
	t.Parallel()
	l := newLink(t, nil, netiftest.Options{})
	ctx := testCtx(t, 20*time.Second)
	l.devCli.SetDropRate(1)
	errc := make(chan error, 1)
	go func() {
		_, err := (&bind.Dialer{Interface: "pp0", Registry: l.reg}).DialContext(ctx, "tcp", "10.64.0.2:7")
		errc <- err
	}()
	// The dial is in progress once its SYN went out (and was lost).
	require.Eventually(t, func() bool { return l.devCli.Stats().Lost > 0 }, 5*time.Second, time.Millisecond)
	start := time.Now()
	l.cli.SetDown(errors.New("modem hung up"))
	select {
	case err := <-errc:
		assert.ErrorIs(t, err, syscall.ENETDOWN)
		assert.Less(t, time.Since(start), time.Second)
	case <-time.After(5 * time.Second):
		t.Fatal("dial still blocked after link down")
	}
}
