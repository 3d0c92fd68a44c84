package socks

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pppdial/pppdial/internal/socksclient"
)

// associate opens a UDP association on proxy and a client socket on 127.0.0.1 connected to
// its relay.
func associate(t *testing.T, proxy string) (*socksclient.Conn, *net.UDPConn) {
	t.Helper()
	ctl, err := socksclient.Associate(testCtx(t), "tcp", proxy, socksclient.Auth{}, "0.0.0.0:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = ctl.Close() })
	u, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(ctl.Bound))
	require.NoError(t, err)
	t.Cleanup(func() { _ = u.Close() })
	return ctl, u
}

// sendFrom sends a datagram to the relay at relay from a fresh socket bound to laddr.
func sendFrom(t *testing.T, laddr string, relay netip.AddrPort, datagram []byte) {
	t.Helper()
	c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.MustParseAddrPort(laddr)))
	require.NoError(t, err)
	defer c.Close()
	_, err = c.WriteToUDPAddrPort(datagram, relay)
	require.NoError(t, err)
}

func TestUDPRelayHeldToItsClient(t *testing.T) {
	s, proxy, _ := serve(t, Config{}, nil)
	echo := newUDPEcho(t)
	ctl, u := associate(t, proxy)

	// BND.ADDR is the address the control connection reached, which the relay is bound to.
	assert.Equal(t, netip.MustParseAddr("127.0.0.1"), ctl.Bound.Addr(), "BND.ADDR")
	// Not the wildcard: the same port on another loopback address has no socket behind it.
	assert.True(t, portClosed(t, "127.0.0.2:0", netip.AddrPortFrom(netip.MustParseAddr("127.0.0.2"), ctl.Bound.Port()).String()),
		"the relay port answers ICMP port unreachable on 127.0.0.2")

	from, got := relayExchange(t, u, echo.Addr().String(), "first")
	assert.Equal(t, "first", got)
	assert.Equal(t, echo.Addr().String(), from, "the answer names its source")
	first := <-echo.Seen
	assert.Equal(t, "first", first.Payload)

	// Another host (127.0.0.2 stands for one on the LAN) writing to the relay is not carried,
	// and neither is the client's own host from another port once the first datagram fixed it.
	foreign, err := socksclient.Datagram(echo.Addr().String(), []byte("foreign host"))
	require.NoError(t, err)
	sendFrom(t, "127.0.0.2:0", ctl.Bound, foreign)
	otherPort, err := socksclient.Datagram(echo.Addr().String(), []byte("other port"))
	require.NoError(t, err)
	sendFrom(t, "127.0.0.1:0", ctl.Bound, otherPort)
	// Fragments and garbage from the client are dropped too.
	frag, err := socksclient.Datagram(echo.Addr().String(), []byte("fragment"))
	require.NoError(t, err)
	frag[2] = 1
	_, err = u.Write(frag)
	require.NoError(t, err)
	_, err = u.Write([]byte{0, 0, 0, 9, 1, 2, 3, 4, 5, 6, 7})
	require.NoError(t, err)

	// The relay reads its socket in order: by the time this one is echoed, the ones sent
	// before it were dropped or relayed ahead of it.
	_, got = relayExchange(t, u, echo.Addr().String(), "second")
	assert.Equal(t, "second", got)
	second := <-echo.Seen
	assert.Equal(t, "second", second.Payload, "nothing but the client's datagrams reached the echo server")
	assert.Equal(t, first.From, second.From, "one socket per destination")

	st := s.Stats()
	assert.Equal(t, uint64(2), st.Dropped.ForeignSource)
	assert.Equal(t, uint64(1), st.Dropped.Fragmented)
	assert.Equal(t, uint64(1), st.Dropped.Malformed)
	assert.Equal(t, 1, st.Associations)

	// Answers come only from destinations the client wrote to: a datagram sent by a stranger
	// to the association's socket on the link side is not carried back.
	sendFrom(t, "127.0.0.1:0", first.From, []byte("stranger"))
	_, got = relayExchange(t, u, echo.Addr().String(), "third")
	assert.Equal(t, "third", got, "the stranger's datagram did not come first")
}

func TestUDPRelayClosesWithControlConnection(t *testing.T) {
	s, proxy, _ := serve(t, Config{}, nil)
	echo := newUDPEcho(t)
	ctl, u := associate(t, proxy)
	_, got := relayExchange(t, u, echo.Addr().String(), "ping")
	require.Equal(t, "ping", got)

	require.NoError(t, ctl.Close())
	start := time.Now()
	assert.True(t, portClosed(t, "127.0.0.1:0", ctl.Bound.String()), "the relay port is closed within a second")
	t.Logf("relay closed %v after the control connection", time.Since(start).Round(time.Millisecond))
	waitFor(t, func() bool { return s.Stats().Associations == 0 })
	assert.Equal(t, 0, s.Stats().Associations)
}

func TestUDPRelayIdleTimeout(t *testing.T) {
	s, proxy, _ := serve(t, Config{Limits: Limits{UDPIdleTimeout: 150 * time.Millisecond}}, nil)
	ctl, _ := associate(t, proxy)
	require.NoError(t, ctl.SetReadDeadline(time.Now().Add(5*time.Second)))
	_, err := ctl.Read(make([]byte, 1))
	var ne net.Error
	require.False(t, errors.As(err, &ne) && ne.Timeout(), "the server closed the idle association: %v", err)
	assert.True(t, portClosed(t, "127.0.0.1:0", ctl.Bound.String()))
	assert.Equal(t, uint64(1), s.Stats().IdleAssociations)
}

func TestUDPRelayNamedPortOnly(t *testing.T) {
	// A client that names its source port in the request gets datagrams from that port only.
	_, proxy, _ := serve(t, Config{}, nil)
	echo := newUDPEcho(t)
	u, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	require.NoError(t, err)
	defer u.Close()
	ctl, err := socksclient.Associate(testCtx(t), "tcp", proxy, socksclient.Auth{}, u.LocalAddr().String())
	require.NoError(t, err)
	defer ctl.Close()
	d, err := socksclient.Datagram(echo.Addr().String(), []byte("from elsewhere"))
	require.NoError(t, err)
	sendFrom(t, "127.0.0.1:0", ctl.Bound, d)
	d, err = socksclient.Datagram(echo.Addr().String(), []byte("from the named port"))
	require.NoError(t, err)
	_, err = u.WriteToUDPAddrPort(d, ctl.Bound)
	require.NoError(t, err)
	assert.Equal(t, "from the named port", (<-echo.Seen).Payload)
}

func TestUDPRelayEvictsOldestDestination(t *testing.T) {
	_, proxy, _ := serve(t, Config{Limits: Limits{MaxDestinations: 2}}, nil)
	echoes := []*socksclient.UDPEcho{newUDPEcho(t), newUDPEcho(t), newUDPEcho(t)}
	_, u := associate(t, proxy)
	var sources [2][3]netip.AddrPort
	for round := range 2 {
		for i, e := range echoes {
			msg := string(rune('a'+i)) + string(rune('0'+round))
			_, got := relayExchange(t, u, e.Addr().String(), msg)
			assert.Equal(t, msg, got)
			sources[round][i] = (<-e.Seen).From
		}
	}
	// With room for two, the third destination let the first go: in the second round every
	// destination is dialed again, from a new socket.
	for i := range echoes {
		assert.NotEqual(t, sources[0][i], sources[1][i], "destination %d redialed", i)
	}
}

func TestUDPRelayResolvesNames(t *testing.T) {
	echo := newUDPEcho(t)
	ap := netip.MustParseAddrPort(echo.Addr().String())
	_, proxy, _ := serve(t, Config{Resolve: func(_ context.Context, host string) (netip.Addr, error) {
		if host != "echo.test" {
			return netip.Addr{}, errors.New("no such host")
		}
		return ap.Addr(), nil
	}}, nil)
	_, u := associate(t, proxy)
	from, got := relayExchange(t, u, net.JoinHostPort("echo.test", itoa(ap.Port())), "by name")
	assert.Equal(t, "by name", got)
	assert.Equal(t, echo.Addr().String(), from, "the answer names the address it came from")
}

// FuzzRelayDatagram feeds the relay's handling of a client datagram arbitrary bytes from the
// client's address: each is dropped for exactly one counted reason (the dial is refused, so no
// socket is opened) and none panics.
func FuzzRelayDatagram(f *testing.F) {
	for _, seed := range [][]byte{
		{0, 0, 0, 1, 127, 0, 0, 1, 0, 53, 'q'},
		{0, 0, 1, 1, 127, 0, 0, 1, 0, 53, 'q'},
		{0, 0, 0, 3, 4, 'h', 'o', 's', 't', 0, 53, 'q'},
		{0, 0, 0, 3, 255, 'h'},
		{0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 53, 'q'},
		{0, 0, 0, 4, 1},
		{0, 0, 0, 9},
		{},
	} {
		f.Add(seed)
	}
	s, err := New(Config{Dial: func(context.Context, string, string) (net.Conn, error) {
		return nil, errors.New("refused by the fuzz target")
	}})
	require.NoError(f, err)
	f.Cleanup(func() { _ = s.Close(context.Background()) })
	client := netip.MustParseAddrPort("127.0.0.1:5000")
	f.Fuzz(func(t *testing.T, b []byte) {
		cc := &clientConn{}
		cc.ctx, cc.cancel = context.WithCancel(context.Background())
		defer cc.cancel()
		a := &association{s: s, cc: cc, client: client.Addr(), dests: map[string]*destination{}}
		before := total(s.Stats().Dropped)
		a.fromClient(b, client)
		assert.Equal(t, before+1, total(s.Stats().Dropped), "one reason per datagram")
		assert.Empty(t, a.dests)
	})
}

func total(d DroppedDatagrams) uint64 {
	return d.ForeignSource + d.Fragmented + d.Malformed + d.Unreachable
}
