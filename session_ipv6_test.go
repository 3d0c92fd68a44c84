package pppdial

import (
	"context"
	"crypto/sha256"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pppdial/pppdial/internal/serialline"
	"github.com/pppdial/pppdial/modemsim"
	"github.com/pppdial/pppdial/modemsim/carrier"
	"github.com/pppdial/pppdial/ppp"
)

var carrierPrefix = netip.MustParsePrefix("2001:db8:64::/64")

// TestSessionIPv6Autoconf: with IPv6 on, the ipv6-up event carries the global address the
// interface formed from the network's Router Advertisement with the IPV6CP interface
// identifier, and a program reaches an IPv6 host beyond the link over it.
func TestSessionIPv6Autoconf(t *testing.T) {
	t.Parallel()
	r := newRig(t, modemsim.EC25(), serialline.Options{Baud: 921600})
	r.setNetwork(carrier.Config{PPP: ppp.Config{IPv6: true}, IPv6Prefix: carrierPrefix})
	cfg := r.config()
	cfg.PPP.IPv6 = true
	sess := r.dial(cfg)

	ev := r.waitEvent(EventIPv6Up, 20*time.Second)
	ll := ev.Status.LocalV6
	require.True(t, ll.IsLinkLocalUnicast(), "%v", ll)
	ll16, want := ll.As16(), carrierPrefix.Addr().As16()
	copy(want[8:], ll16[8:])
	assert.Equal(t, []netip.Prefix{netip.PrefixFrom(netip.AddrFrom16(want), 64)}, ev.GlobalV6)
	assert.Empty(t, ev.Detail)
	assert.Equal(t, ev.GlobalV6, sess.Netif().Config().ExtraV6)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sum, err := r.fetchFrom(ctx, sess, "["+carrierPrefix.Addr().Next().String()+"]", "/256k")
	require.NoError(t, err)
	assert.Equal(t, sha256.Sum256(bigPage[:256<<10]), sum)
}

// TestSessionIPv6WithoutAdvertisement: a network that runs IPV6CP but sends no Router
// Advertisement: ipv6-up still comes, once the solicitation window is over, and says why it
// has no global address.
func TestSessionIPv6WithoutAdvertisement(t *testing.T) {
	t.Parallel()
	defer func(w time.Duration) { raWindow = w }(raWindow)
	raWindow = 300 * time.Millisecond
	r := newRig(t, modemsim.EC25(), serialline.Options{Baud: 921600})
	r.setNetwork(carrier.Config{PPP: ppp.Config{IPv6: true}})
	cfg := r.config()
	cfg.PPP.IPv6 = true
	r.dial(cfg)
	ev := r.waitEvent(EventIPv6Up, 10*time.Second)
	assert.True(t, ev.Status.LocalV6.IsLinkLocalUnicast())
	assert.Empty(t, ev.GlobalV6)
	assert.Equal(t, "no Router Advertisement: link-local only", ev.Detail)
}

// TestSessionIPv6RefusedFallsBackToIPv4: a network that does not run IPV6CP (it
// Protocol-Rejects it) leaves the link up on IPv4, and the session says so.
func TestSessionIPv6RefusedFallsBackToIPv4(t *testing.T) {
	t.Parallel()
	r := newRig(t, modemsim.EC25(), serialline.Options{Baud: 921600})
	cfg := r.config()
	cfg.PPP.IPv6 = true
	sess := r.dial(cfg)

	var ev Event
	for ev = r.waitEvent(EventProgress, 10*time.Second); ev.Step != StepIPv6; ev = r.waitEvent(EventProgress, 10*time.Second) {
	}
	assert.True(t, strings.Contains(ev.Detail, "IPv6 refused by the network") && strings.HasSuffix(ev.Detail, "IPv4 only"), ev.Detail)
	assert.Contains(t, ev.Detail, "IPV6CP")
	assert.True(t, sess.Netif().IsUp())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sum, err := r.fetch(ctx, sess, "/")
	require.NoError(t, err)
	assert.Equal(t, sha256.Sum256(carrier.DefaultPage), sum)
}
