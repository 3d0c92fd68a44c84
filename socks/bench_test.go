package socks

import (
	"context"
	"net"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pppdial/pppdial/internal/socksclient"
)

// BenchmarkUDPRelay: one 1200-byte datagram (a QUIC-sized packet) through the relay to a
// loopback echo server and back, per op.
func BenchmarkUDPRelay(b *testing.B) {
	s, err := New(Config{Dial: loopbackDial})
	require.NoError(b, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(b, err)
	go func() { _ = s.Serve(context.Background(), ln) }()
	defer func() { _ = s.Close(context.Background()) }()
	echo, err := socksclient.NewUDPEcho("127.0.0.1:0")
	require.NoError(b, err)
	defer echo.Close()
	ctl, err := socksclient.Associate(context.Background(), "tcp", ln.Addr().String(), socksclient.Auth{}, "0.0.0.0:0")
	require.NoError(b, err)
	defer ctl.Close()
	u, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(ctl.Bound))
	require.NoError(b, err)
	defer u.Close()
	d, err := socksclient.Datagram(echo.Addr().String(), make([]byte, 1200))
	require.NoError(b, err)
	buf := make([]byte, 2048)
	b.SetBytes(1200)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := u.Write(d); err != nil {
			b.Fatal(err)
		}
		if _, err := u.Read(buf); err != nil {
			b.Fatal(err)
		}
		select { // the echo server's record of it, not needed here
		case <-echo.Seen:
		default:
		}
	}
}
