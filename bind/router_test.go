package bind_test

import (
	"context"
	"io"
	"net"
	"net/netip"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pppdial/pppdial/bind"
	"github.com/pppdial/pppdial/netif"
	"github.com/pppdial/pppdial/netif/netiftest"
)

// nameServer answers every connection on ln with name and closes it.
func nameServer(t *testing.T, ln net.Listener, name string) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			_, _ = c.Write([]byte(name))
			_ = c.Close()
		}
	}()
	t.Cleanup(func() { _ = ln.Close(); <-done })
}

// via dials through the router and returns which server answered.
func via(ctx context.Context, r *bind.Router, addr string) (string, error) {
	c, err := r.DialContext(ctx, "tcp", addr)
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	b, err := io.ReadAll(c)
	return string(b), err
}

// Two cellular links (pp0->pp1, pp2->pp3) reach the "same" 10.64.0.2: the
// answer says which link carried the connection.
func TestRouterPolicies(t *testing.T) {
	t.Parallel()
	reg := netif.NewRegistry()
	l1 := newLink(t, reg, netiftest.Options{})
	l2 := newLink(t, reg, netiftest.Options{})
	require.Equal(t, []string{"pp0", "pp1", "pp2", "pp3"}, []string{l1.cli.Name(), l1.srv.Name(), l2.cli.Name(), l2.srv.Name()})
	ctx := testCtx(t, 20*time.Second)
	for _, srv := range []string{"pp1", "pp3"} {
		ln, err := (&bind.ListenConfig{Interface: srv, Registry: reg}).Listen(ctx, "tcp", ":80")
		require.NoError(t, err)
		nameServer(t, ln, "via "+srv)
	}

	r := bind.NewRouter(reg)
	_, err := via(ctx, r, "10.64.0.2:80")
	assert.ErrorIs(t, err, syscall.ENETUNREACH, "no preference, no default")

	// Default interface.
	require.NoError(t, reg.SetDefault(l2.cli))
	got, err := via(ctx, r, "10.64.0.2:80")
	require.NoError(t, err)
	assert.Equal(t, "via pp3", got)

	// Ordered preference with failover and return.
	r.SetPreference("pp0", "pp2")
	got, err = via(ctx, r, "peer.test:80")
	require.NoError(t, err)
	assert.Equal(t, "via pp1", got)
	l1.cli.SetDown(nil)
	got, err = via(ctx, r, "peer.test:80")
	require.NoError(t, err)
	assert.Equal(t, "via pp3", got, "fail over while pp0 is down")
	require.NoError(t, l1.cli.SetUp(netif.Config{Local: cliAddr, Peer: srvAddr, DNS: []netip.Addr{srvAddr}}))
	got, err = via(ctx, r, "peer.test:80")
	require.NoError(t, err)
	assert.Equal(t, "via pp1", got, "back to pp0 when it returns")

	// A prefix route beats the preference; a down route is skipped.
	r.AddRoute(netip.MustParsePrefix("10.64.0.0/24"), "pp2")
	got, err = via(ctx, r, "10.64.0.2:80")
	require.NoError(t, err)
	assert.Equal(t, "via pp3", got)
	r.AddRoute(netip.MustParsePrefix("10.64.0.2/32"), "pp0")
	assert.Equal(t, netip.MustParsePrefix("10.64.0.2/32"), r.Routes()[0].Prefix, "longest first")
	got, err = via(ctx, r, "10.64.0.2:80")
	require.NoError(t, err)
	assert.Equal(t, "via pp1", got)
	l1.cli.SetDown(nil)
	got, err = via(ctx, r, "10.64.0.2:80")
	require.NoError(t, err)
	assert.Equal(t, "via pp3", got)

	// Explicit choice in the context wins, even when it fails.
	got, err = via(bind.WithInterface(ctx, "pp2"), r, "10.64.0.2:80")
	require.NoError(t, err)
	assert.Equal(t, "via pp3", got)
	_, err = via(bind.WithInterface(ctx, "pp0"), r, "10.64.0.2:80")
	assert.ErrorIs(t, err, syscall.ENETDOWN)
	_, err = via(bind.WithInterface(ctx, "pp8"), r, "10.64.0.2:80")
	assert.ErrorIs(t, err, syscall.ENODEV)

	r.RemoveRoute(netip.MustParsePrefix("10.64.0.2/32"))
	assert.Len(t, r.Routes(), 1)

	// Custom health: pp2 is "unhealthy" and everything is down -> unreachable.
	r.Healthy = func(n *netif.Netif) bool { return n.IsUp() && n.Name() != "pp2" }
	_, err = r.Pick(ctx, srvAddr)
	assert.ErrorIs(t, err, syscall.ENETUNREACH)
	assert.ErrorIs(t, err, bind.ErrNoRoute)
}
