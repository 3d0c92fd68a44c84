package bind_test

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pppdial/pppdial/bind"
	"github.com/pppdial/pppdial/netif/netiftest"
)

// Addresses stay readable after the link goes down: code that logs conn.RemoteAddr() after a
// failed Read (a SOCKS server's relay does) must not find a nil net.Addr.
func TestConnAddressesSurviveLinkDown(t *testing.T) {
	t.Parallel()
	l := newLink(t, nil, netiftest.Options{Queue: 64})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ln, err := (&bind.ListenConfig{Interface: l.srv.Name(), Registry: l.reg}).Listen(ctx, "tcp", ":9")
	require.NoError(t, err)
	defer ln.Close()
	go func() {
		if c, err := ln.Accept(); err == nil {
			defer c.Close()
			_, _ = c.Read(make([]byte, 1))
		}
	}()
	d := &bind.Dialer{Interface: l.cli.Name(), Registry: l.reg}
	tcp, err := d.DialContext(ctx, "tcp", srvAddr.String()+":9")
	require.NoError(t, err)
	defer tcp.Close()
	udp, err := d.DialContext(ctx, "udp", srvAddr.String()+":53")
	require.NoError(t, err)
	defer udp.Close()
	wantTCP, wantUDP := tcp.RemoteAddr().String(), udp.RemoteAddr().String()

	l.cli.SetDown(nil)
	_, err = tcp.Read(make([]byte, 1))
	require.Error(t, err)
	for _, c := range []net.Conn{tcp, udp} {
		require.NotNil(t, c.RemoteAddr())
		require.NotNil(t, c.LocalAddr())
	}
	assert.Equal(t, wantTCP, tcp.RemoteAddr().String())
	assert.Equal(t, wantUDP, udp.RemoteAddr().String())
}
