package bind_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pppdial/pppdial/bind"
	"github.com/pppdial/pppdial/internal/peers"
	"github.com/pppdial/pppdial/netif"
	"github.com/pppdial/pppdial/ppp"
)

// Through pppd 2.4.9 with +ipv6: once IPV6CP is up the interface solicits, takes the prefix
// dnsmasq advertises (2001:db8:1::/64) with the IPV6CP interface identifier, and fetches
// big.bin from [2001:db8:1::1] over IPv6; peer.test's AAAA resolves over the link.
func TestInteropPPPDVMIPv6(t *testing.T) {
	vm := peers.PPPDVM(t, "+ipv6")
	want, err := vm.BigSHA256()
	require.NoError(t, err)
	reg, n, conn := dialPeer(t, vm.Port, ppp.Config{IPv6: true})
	autoconf := make(chan struct{}, 1)
	sub := reg.Subscribe(func(e netif.Event) {
		if e.Kind == netif.EventAutoconf {
			select {
			case autoconf <- struct{}{}:
			default:
			}
		}
	})
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = sub.Close(ctx)
	}()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("netif %s: %+v, config %+v; ppp: %+v, status %+v, err %v", n.Name(), n.Counters(), n.Config(), conn.Stats(), conn.Status(), conn.Err())
		}
	})

	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	// IPV6CP may open a moment after IPCP: the session layer then reconfigures the interface.
	for !conn.Status().IPv6 {
		select {
		case <-ctx.Done():
			t.Fatal("IPV6CP did not open")
		case <-time.After(50 * time.Millisecond):
		}
	}
	st := conn.Status()
	require.NoError(t, n.SetUp(netif.Config{Local: st.Local, Peer: st.Peer, LocalV6: st.LocalV6,
		PeerV6: st.PeerV6, DNS: st.DNS, MTU: st.MTU}))

	prefix := netip.MustParsePrefix("2001:db8:1::/64")
	var global netip.Prefix
	for !global.IsValid() {
		select {
		case <-autoconf:
		case <-time.After(netif.RouterSolicitationWindow):
			t.Fatalf("no global address within %v: %+v", netif.RouterSolicitationWindow, n.Config())
		}
		for _, p := range n.Config().ExtraV6 {
			if prefix.Contains(p.Addr()) {
				global = p
			}
		}
	}
	ll, g := st.LocalV6.As16(), global.Addr().As16()
	assert.Equal(t, ll[8:], g[8:], "the global address carries the IPV6CP interface identifier")
	assert.Equal(t, 64, global.Bits())
	t.Logf("global address %v, DNS %v", global, n.DNS())

	peer6 := netip.MustParseAddr("2001:db8:1::1")
	addrs, err := (&bind.Resolver{Interface: n.Name(), Registry: reg}).LookupNetIP(ctx, "ip6", "peer.test")
	require.NoError(t, err)
	assert.Equal(t, []netip.Addr{peer6}, addrs)
	// The server the advertisement announced (RDNSS) answers over IPv6 too.
	var rdnss []netip.AddrPort
	for _, d := range n.DNS() {
		if d.Is6() {
			rdnss = append(rdnss, netip.AddrPortFrom(d, 53))
		}
	}
	require.NotEmpty(t, rdnss, "dnsmasq announces a DNS server in its advertisement")
	addrs, err = (&bind.Resolver{Interface: n.Name(), Registry: reg, Servers: rdnss}).LookupNetIP(ctx, "ip", "peer.test")
	require.NoError(t, err)
	assert.Equal(t, []netip.Addr{netip.MustParseAddr("10.0.0.1"), peer6}, addrs, "A, then AAAA: the link has a global IPv6 address")

	start := time.Now()
	got := httpGet(ctx, t, &bind.Dialer{Interface: n.Name(), Registry: reg}, "http://[2001:db8:1::1]/big.bin")
	sum := sha256.Sum256(got)
	assert.Equal(t, want, hex.EncodeToString(sum[:]), "big.bin arrives intact over IPv6")
	t.Logf("%d bytes over IPv6 in %v", len(got), time.Since(start).Round(time.Millisecond))
}
