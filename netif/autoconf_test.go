package netif_test

import (
	"context"
	"io"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gvisor.dev/gvisor/pkg/tcpip/adapters/gonet"
	"gvisor.dev/gvisor/pkg/tcpip/faketime"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"

	"github.com/pppdial/pppdial/netif"
	"github.com/pppdial/pppdial/netif/netiftest"
)

// routerDev is the network's side of a PPP link, played by the test: it records what the
// interface sends and injects what the network would send.
type routerDev struct {
	mu  sync.Mutex
	h   func([]byte)
	out chan []byte
}

func newRouterDev() *routerDev { return &routerDev{out: make(chan []byte, 64)} }

func (d *routerDev) WritePacket(p []byte) error {
	select {
	case d.out <- append([]byte(nil), p...):
	default:
	}
	return nil
}

func (d *routerDev) SetPacketHandler(h func([]byte)) {
	d.mu.Lock()
	d.h = h
	d.mu.Unlock()
}

// send delivers pkt to the interface, as the link would.
func (d *routerDev) send(pkt []byte) {
	d.mu.Lock()
	h := d.h
	d.mu.Unlock()
	h(pkt)
}

// solicitation waits for the interface's next Router Solicitation.
func (d *routerDev) solicitation(t *testing.T) netip.Addr {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case p := <-d.out:
			if src, ok := netiftest.RouterSolicit(p); ok {
				return src
			}
		case <-timeout:
			t.Fatal("no Router Solicitation")
		}
	}
}

var (
	// An interface identifier as IPV6CP gives one: random, not EUI-64 shaped.
	ourLL    = netip.MustParseAddr("fe80::1c2d:3e4f:5a6b:7c8d")
	routerLL = netip.MustParseAddr("fe80::1")
	prefix   = netip.MustParsePrefix("2001:db8:1::/64")
	ourAddr  = netip.MustParsePrefix("2001:db8:1:0:1c2d:3e4f:5a6b:7c8d/64")
	dns6     = netip.MustParseAddr("2001:db8:1::53")
)

type autoconfRig struct {
	n      *netif.Netif
	dev    *routerDev
	clock  *faketime.ManualClock
	events chan netif.EventKind
	sub    *netif.Subscription
}

func newAutoconfRig(t *testing.T) *autoconfRig {
	t.Helper()
	r := &autoconfRig{dev: newRouterDev(), clock: faketime.NewManualClock(), events: make(chan netif.EventKind, 64)}
	reg := netif.NewRegistry()
	n, err := reg.AddPPP(r.dev, netif.Options{Logger: quiet, Clock: r.clock})
	require.NoError(t, err)
	r.n = n
	r.sub = reg.Subscribe(func(e netif.Event) {
		if e.Kind == netif.EventAutoconf {
			r.events <- e.Kind
		}
	})
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		assert.NoError(t, r.sub.Close(ctx))
		_ = reg.Remove(n)
	})
	return r
}

// autoconfEvents counts the autoconf events reported since the last call.
func (r *autoconfRig) autoconfEvents(t *testing.T) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.NoError(t, r.sub.Flush(ctx), "the subscriber takes what the registry reported")
	k := 0
	for {
		select {
		case <-r.events:
			k++
		default:
			return k
		}
	}
}

func TestAutoconfSLAACWithIPV6CPIdentifier(t *testing.T) {
	r := newAutoconfRig(t)
	require.NoError(t, r.n.SetUp(netif.Config{Local: addrA, Peer: addrB, DNS: []netip.Addr{addrB}, LocalV6: ourLL, PeerV6: routerLL}))
	assert.Equal(t, ourLL, r.dev.solicitation(t), "the solicitation comes from the IPV6CP link-local address")

	r.dev.send(netiftest.RA{Src: routerLL, RouterLifetime: 30 * time.Minute,
		Prefixes: []netiftest.RAPrefix{{Prefix: prefix, Valid: 600 * time.Second, Preferred: 300 * time.Second}},
		DNS:      []netip.Addr{dns6}, DNSLifetime: 600 * time.Second}.Marshal())

	cfg := r.n.Config()
	assert.Equal(t, []netip.Prefix{ourAddr}, cfg.ExtraV6, "prefix + the IPV6CP interface identifier")
	assert.Equal(t, []netip.Addr{addrB, dns6}, cfg.DNS, "IPCP's servers first, then the advertised one")
	assert.Equal(t, 1, r.autoconfEvents(t))
	assert.True(t, stackHas(r.n, ourAddr.Addr()), "the address is on the stack")

	// A repeated advertisement refreshes lifetimes; nothing new to report.
	r.dev.send(netiftest.RA{Src: routerLL, Prefixes: []netiftest.RAPrefix{{Prefix: prefix, Valid: 600 * time.Second, Preferred: 300 * time.Second}}}.Marshal())
	assert.Equal(t, 0, r.autoconfEvents(t))
	assert.Len(t, r.n.Config().ExtraV6, 1)

	// The address outlives its preferred lifetime (still there, deprecated), then its valid
	// one; the server goes at the end of its own lifetime.
	r.clock.Advance(301 * time.Second)
	assert.Equal(t, []netip.Prefix{ourAddr}, r.n.Config().ExtraV6)
	r.clock.Advance(300 * time.Second)
	cfg = r.n.Config()
	assert.Empty(t, cfg.ExtraV6)
	assert.Equal(t, []netip.Addr{addrB}, cfg.DNS)
	assert.False(t, stackHas(r.n, ourAddr.Addr()))
	assert.Positive(t, r.autoconfEvents(t))
}

func TestAutoconfIgnoresWhatAHostMust(t *testing.T) {
	r := newAutoconfRig(t)
	require.NoError(t, r.n.SetUp(netif.Config{Local: addrA, LocalV6: ourLL}))
	r.dev.solicitation(t)
	good := netiftest.RA{Src: routerLL, Prefixes: []netiftest.RAPrefix{{Prefix: prefix, Valid: time.Hour, Preferred: time.Hour}}}

	for name, ra := range map[string]netiftest.RA{
		"not autonomous":           {Src: routerLL, Prefixes: []netiftest.RAPrefix{{Prefix: prefix, Valid: time.Hour, Preferred: time.Hour, NotAutonomous: true}}},
		"a /56":                    {Src: routerLL, Prefixes: []netiftest.RAPrefix{{Prefix: netip.MustParsePrefix("2001:db8:100::/56"), Valid: time.Hour, Preferred: time.Hour}}},
		"preferred above valid":    {Src: routerLL, Prefixes: []netiftest.RAPrefix{{Prefix: prefix, Valid: time.Minute, Preferred: time.Hour}}},
		"link-local prefix":        {Src: routerLL, Prefixes: []netiftest.RAPrefix{{Prefix: netip.MustParsePrefix("fe80::/64"), Valid: time.Hour, Preferred: time.Hour}}},
		"zero valid lifetime":      {Src: routerLL, Prefixes: []netiftest.RAPrefix{{Prefix: prefix}}},
		"hop limit 64 (forwarded)": {Src: routerLL, HopLimit: 64, Prefixes: good.Prefixes},
		"global source":            {Src: netip.MustParseAddr("2001:db8::1"), Prefixes: good.Prefixes},
	} {
		r.dev.send(ra.Marshal())
		assert.Empty(t, r.n.Config().ExtraV6, name)
	}
	bad := good.Marshal()
	bad[len(bad)-1] ^= 1 // checksum no longer matches
	r.dev.send(bad)
	assert.Empty(t, r.n.Config().ExtraV6, "bad checksum")
	assert.Equal(t, 0, r.autoconfEvents(t))

	r.dev.send(good.Marshal())
	assert.Equal(t, []netip.Prefix{ourAddr}, r.n.Config().ExtraV6, "the valid one is taken")
}

func TestAutoconfNeedsIPv6AndEndsWithTheLink(t *testing.T) {
	r := newAutoconfRig(t)
	ra := netiftest.RA{Src: routerLL, Prefixes: []netiftest.RAPrefix{{Prefix: prefix, Valid: netiftest.Infinite, Preferred: netiftest.Infinite}},
		DNS: []netip.Addr{dns6}, DNSLifetime: netiftest.Infinite}.Marshal()

	// IPv4 only: no solicitation, and no interface identifier to form an address with.
	require.NoError(t, r.n.SetUp(netif.Config{Local: addrA}))
	r.clock.Advance(time.Minute)
	assert.Empty(t, r.dev.out, "nothing sent on an IPv4-only link")
	r.dev.send(ra)
	assert.Empty(t, r.n.Config().ExtraV6)

	// IPV6CP opens on the interface that is up: the solicitation goes out then.
	require.NoError(t, r.n.SetUp(netif.Config{Local: addrA, LocalV6: ourLL}))
	r.dev.solicitation(t)
	r.dev.send(ra)
	assert.Equal(t, []netip.Prefix{ourAddr}, r.n.Config().ExtraV6)

	// IPV6CP closes while IPv4 stays: what came from the identifier goes with it.
	require.NoError(t, r.n.SetUp(netif.Config{Local: addrA}))
	cfg := r.n.Config()
	assert.Empty(t, cfg.ExtraV6)
	assert.Empty(t, cfg.DNS)
	assert.False(t, stackHas(r.n, ourAddr.Addr()))

	// Down and up again (a redial): nothing learnt survives.
	require.NoError(t, r.n.SetUp(netif.Config{Local: addrA, LocalV6: ourLL}))
	r.dev.send(ra)
	require.Len(t, r.n.Config().ExtraV6, 1)
	r.n.SetDown(nil)
	require.NoError(t, r.n.SetUp(netif.Config{Local: addrA, LocalV6: ourLL}))
	assert.Empty(t, r.n.Config().ExtraV6)
}

// TestAutoconfLifetimeTwoHourRule: an advertisement cannot cut a valid lifetime to less than
// two hours (RFC 4862 5.5.3 e), so a forged one cannot expire an address in use at once.
func TestAutoconfLifetimeTwoHourRule(t *testing.T) {
	r := newAutoconfRig(t)
	require.NoError(t, r.n.SetUp(netif.Config{Local: addrA, LocalV6: ourLL}))
	r.dev.solicitation(t)
	r.dev.send(netiftest.RA{Src: routerLL, Prefixes: []netiftest.RAPrefix{{Prefix: prefix, Valid: 24 * time.Hour, Preferred: time.Hour}}}.Marshal())
	r.dev.send(netiftest.RA{Src: routerLL, Prefixes: []netiftest.RAPrefix{{Prefix: prefix, Valid: 10 * time.Second, Preferred: 0}}}.Marshal())
	r.clock.Advance(time.Hour)
	assert.Len(t, r.n.Config().ExtraV6, 1, "kept for two hours, not ten seconds")
	r.clock.Advance(time.Hour + time.Second)
	assert.Empty(t, r.n.Config().ExtraV6)
}

// TestIPv6AfterIPv4KeepsSockets: IPV6CP usually opens a moment after IPCP, when a program may
// already have connected over IPv4; adding IPv6 must not abort that connection.
func TestIPv6AfterIPv4KeepsSockets(t *testing.T) {
	a, b, _, _ := pairUp(t, netiftest.Options{})
	require.NoError(t, a.SetUp(netif.Config{Local: addrA, Peer: addrB}))
	ln, err := gonet.ListenTCP(b.Stack(), full(addrB, 8081), ipv4.ProtocolNumber)
	require.NoError(t, err)
	defer ln.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := gonet.DialContextTCP(ctx, a.Stack(), full(addrB, 8081), ipv4.ProtocolNumber)
	require.NoError(t, err)
	defer c.Close()
	s, err := ln.Accept()
	require.NoError(t, err)
	defer s.Close()

	require.NoError(t, a.SetUp(netif.Config{Local: addrA, Peer: addrB, LocalV6: llA, PeerV6: llB}))
	_, err = c.Write([]byte("still here"))
	require.NoError(t, err)
	buf := make([]byte, 10)
	require.NoError(t, s.SetReadDeadline(time.Now().Add(5*time.Second)))
	_, err = io.ReadFull(s, buf)
	require.NoError(t, err)
	assert.Equal(t, "still here", string(buf))
}

func stackHas(n *netif.Netif, a netip.Addr) bool {
	for _, pa := range n.Stack().AllAddresses()[n.NICID()] {
		if pa.AddressWithPrefix.Address.String() == a.String() {
			return true
		}
	}
	return false
}
