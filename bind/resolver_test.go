package bind_test

import (
	"context"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pppdial/pppdial/bind"
	"github.com/pppdial/pppdial/netif/netiftest"
)

func TestResolver(t *testing.T) {
	t.Parallel()
	l := newLink(t, nil, netiftest.Options{})
	ctx := testCtx(t, 10*time.Second)
	r := &bind.Resolver{Interface: "pp0", Registry: l.reg}

	addrs, err := r.LookupNetIP(ctx, "ip", "multi.test")
	require.NoError(t, err)
	assert.Equal(t, []netip.Addr{netip.MustParseAddr("10.64.0.9"), srvAddr}, addrs)

	addrs, err = r.LookupNetIP(ctx, "ip4", "www.cname.test")
	require.NoError(t, err)
	assert.Equal(t, []netip.Addr{srvAddr}, addrs)

	addrs, err = r.LookupNetIP(ctx, "ip6", "six.test")
	require.NoError(t, err)
	assert.Equal(t, []netip.Addr{srvLL}, addrs)

	hosts, err := r.LookupHost(ctx, "PEER.test.")
	require.NoError(t, err)
	assert.Equal(t, []string{"10.64.0.2"}, hosts)

	addrs, err = r.LookupNetIP(ctx, "ip", "192.0.2.7")
	require.NoError(t, err)
	assert.Equal(t, []netip.Addr{netip.MustParseAddr("192.0.2.7")}, addrs)

	_, err = r.LookupNetIP(ctx, "ip", "nope.test")
	var de *net.DNSError
	require.ErrorAs(t, err, &de)
	assert.True(t, de.IsNotFound)
	assert.Equal(t, "nope.test", de.Name)
	assert.Equal(t, "10.64.0.2:53", de.Server)

	_, err = r.LookupNetIP(ctx, "tcp", "peer.test")
	assert.Error(t, err)
}

// The first server never answers: the query moves on to the second after
// the per-query timeout.
func TestResolverFailover(t *testing.T) {
	t.Parallel()
	l := newLink(t, nil, netiftest.Options{})
	ctx := testCtx(t, 10*time.Second)
	r := &bind.Resolver{Interface: "pp0", Registry: l.reg, Timeout: 150 * time.Millisecond,
		Servers: []netip.AddrPort{netip.MustParseAddrPort("10.64.0.99:53"), netip.AddrPortFrom(srvAddr, 0)}}
	start := time.Now()
	addrs, err := r.LookupNetIP(ctx, "ip4", "peer.test")
	require.NoError(t, err)
	assert.Equal(t, []netip.Addr{srvAddr}, addrs)
	assert.GreaterOrEqual(t, time.Since(start), 150*time.Millisecond)

	// Nobody answers at all: a timeout error, bounded by Timeout x servers x attempts.
	r.Servers = r.Servers[:1]
	r.Attempts = 1
	_, err = r.LookupNetIP(ctx, "ip4", "peer.test")
	var de *net.DNSError
	require.ErrorAs(t, err, &de)
	assert.True(t, de.IsTimeout, "%v", err)

	// A cancelled context stops at once.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_, err = r.LookupNetIP(cctx, "ip4", "peer.test")
	assert.ErrorIs(t, err, context.Canceled)
}

func TestResolverNoServers(t *testing.T) {
	t.Parallel()
	l := newLink(t, nil, netiftest.Options{})
	ctx := testCtx(t, 5*time.Second)
	r := &bind.Resolver{Interface: "pp1", Registry: l.reg} // the server side got no DNS from IPCP
	_, err := r.LookupNetIP(ctx, "ip", "peer.test")
	var de *net.DNSError
	require.ErrorAs(t, err, &de)
	assert.Contains(t, de.Err, "no DNS servers")
}
