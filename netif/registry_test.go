package netif_test

import (
	"context"
	"errors"
	"net/netip"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pppdial/pppdial/internal/eventq"
	"github.com/pppdial/pppdial/netif"
	"github.com/pppdial/pppdial/netif/netiftest"
)

// addPPP registers a pp interface on a fresh pipe end.
func addPPP(t *testing.T, reg *netif.Registry) *netif.Netif {
	t.Helper()
	a, b := netiftest.Pipe(netiftest.Options{Queue: 4})
	t.Cleanup(func() { _ = a.Close() })
	_ = b
	n, err := reg.AddPPP(a, netif.Options{Logger: quiet})
	require.NoError(t, err)
	t.Cleanup(func() { _ = reg.Remove(n) })
	return n
}

func TestRegistryNaming(t *testing.T) {
	reg := netif.NewRegistry()
	p0, p1, p2 := addPPP(t, reg), addPPP(t, reg), addPPP(t, reg)
	assert.Equal(t, []string{"pp0", "pp1", "pp2"}, []string{p0.Name(), p1.Name(), p2.Name()})
	assert.Equal(t, netif.KindPPP, p0.Kind())

	idx := map[int]bool{}
	for _, n := range []*netif.Netif{p0, p1, p2} {
		assert.NotZero(t, n.Index())
		assert.False(t, idx[n.Index()], "index %d reused", n.Index())
		idx[n.Index()] = true
	}

	// Removing pp1 frees its name: the next interface takes the lowest
	// free number again (lwIP), but not the just-freed index.
	oldIndex := p1.Index()
	require.NoError(t, reg.Remove(p1))
	_, err := reg.ByName("pp1")
	assert.ErrorIs(t, err, syscall.ENODEV)
	_, err = reg.ByIndex(oldIndex)
	assert.ErrorIs(t, err, syscall.ENODEV)
	p1b := addPPP(t, reg)
	assert.Equal(t, "pp1", p1b.Name())
	assert.NotEqual(t, oldIndex, p1b.Index())
	p3 := addPPP(t, reg)
	assert.Equal(t, "pp3", p3.Name())

	got, err := reg.ByName("pp3")
	require.NoError(t, err)
	assert.Same(t, p3, got)
	got, err = reg.ByIndex(p2.Index())
	require.NoError(t, err)
	assert.Same(t, p2, got)
	assert.Equal(t, []*netif.Netif{p0, p2, p1b, p3}, reg.Netifs())

	// Removing twice, or an interface of another registry: ENODEV.
	assert.ErrorIs(t, reg.Remove(p1), syscall.ENODEV)
	assert.ErrorIs(t, netif.NewRegistry().Remove(p0), syscall.ENODEV)
	assert.ErrorIs(t, p1.SetUp(netif.Config{Local: addrA}), syscall.ENODEV)
}

func TestRegistryUnknownIsENODEV(t *testing.T) {
	reg := netif.NewRegistry()
	_, err := reg.ByName("pp9")
	require.Error(t, err)
	assert.ErrorIs(t, err, syscall.ENODEV)
	assert.True(t, netif.IsNoDevice(err))
	var ne *netif.Error
	require.ErrorAs(t, err, &ne)
	assert.Equal(t, "pp9", ne.Name)
	_, err = reg.Lookup("no-such-if0")
	assert.ErrorIs(t, err, syscall.ENODEV)
	_, err = reg.AddHost("no-such-if0")
	assert.ErrorIs(t, err, syscall.ENODEV)
}

func TestRegistryDefault(t *testing.T) {
	reg := netif.NewRegistry()
	assert.Nil(t, reg.Default())
	p0, p1 := addPPP(t, reg), addPPP(t, reg)
	assert.Nil(t, reg.Default(), "no implicit default, as in lwIP")
	require.NoError(t, reg.SetDefault(p1))
	assert.Same(t, p1, reg.Default())
	require.NoError(t, reg.SetDefault(p0))
	assert.Same(t, p0, reg.Default())
	require.NoError(t, reg.Remove(p0))
	assert.Nil(t, reg.Default(), "removing the default leaves none")
	assert.ErrorIs(t, reg.SetDefault(p0), syscall.ENODEV)
	require.NoError(t, reg.SetDefault(nil))

	a, _ := netiftest.Pipe(netiftest.Options{Queue: 4})
	defer a.Close()
	p2, err := reg.AddPPP(a, netif.Options{Logger: quiet, Default: true})
	require.NoError(t, err)
	defer reg.Remove(p2)
	assert.Same(t, p2, reg.Default())
}

func TestRegistryCallbacks(t *testing.T) {
	reg := netif.NewRegistry()
	var mu sync.Mutex
	var got []string
	sub := reg.Subscribe(func(ev netif.Event) {
		mu.Lock()
		defer mu.Unlock()
		s := ev.Kind.String()
		if ev.Netif != nil {
			s = ev.Netif.Name() + " " + s
		}
		if ev.Reason != nil {
			s += " (" + ev.Reason.Error() + ")"
		}
		got = append(got, s)
		// Subscribers may call back into the registry.
		if ev.Kind == netif.EventAdded {
			_ = reg.SetDefault(ev.Netif)
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	n := addPPP(t, reg)
	// The subscriber's SetDefault has run: its event comes next, before SetUp's.
	require.NoError(t, sub.Flush(ctx))
	require.NoError(t, n.SetUp(netif.Config{Local: addrA, Peer: addrB}))
	// Same addresses: only DNS changes, sockets survive, EventUp again.
	require.NoError(t, n.SetUp(netif.Config{Local: addrA, Peer: addrB, DNS: []netip.Addr{addrB}}))
	n.SetDown(errors.New("LCP terminated"))
	n.SetDown(nil) // already down: no event
	require.NoError(t, reg.Remove(n))
	require.NoError(t, sub.Close(ctx), "Close waits until the subscriber has taken what came before")
	_ = addPPP(t, reg) // not seen
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, []string{
		"pp0 added", "pp0 default",
		"pp0 link-up", "pp0 up",
		"pp0 up",
		"pp0 down (LCP terminated)", "pp0 link-down (LCP terminated)",
		"pp0 removed", "default",
	}, got)
}

// TestRegistrySlowSubscriber: a subscriber stuck on an event holds up neither the registry nor
// another subscriber, and when it goes on, the first event after the gap says how many it
// missed.
func TestRegistrySlowSubscriber(t *testing.T) {
	reg := netif.NewRegistry()
	n := addPPP(t, reg)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	stuck, release := make(chan struct{}), make(chan struct{})
	var slow []netif.Event // the slow subscriber's alone until its Flush returns
	slowSub := reg.Subscribe(func(e netif.Event) {
		if len(slow) == 0 {
			close(stuck)
			<-release
		}
		slow = append(slow, e)
	})
	fast := 0
	var fastMissed uint64
	fastSub := reg.Subscribe(func(e netif.Event) { fast++; fastMissed += e.Missed })

	// One event, taken and stuck on; then more than the queue holds.
	toggle := func(i int) {
		def := n
		if i%2 == 1 {
			def = nil
		}
		require.NoError(t, reg.SetDefault(def))
	}
	toggle(0)
	select {
	case <-stuck:
	case <-ctx.Done():
		t.Fatal("the slow subscriber never got its first event")
	}
	const more = eventq.DefaultDepth + 100
	for i := 1; i <= more; i++ {
		toggle(i) // returns at once: the registry does not wait for the stuck subscriber
		if i%100 == 0 {
			// Nor does the other subscriber: it takes everything so far meanwhile (and so
			// never falls a queue behind).
			require.NoError(t, fastSub.Flush(ctx))
		}
	}
	require.NoError(t, fastSub.Flush(ctx))
	assert.Equal(t, 1+more, fast, "the other subscriber got every event")
	assert.Zero(t, fastMissed)

	close(release)
	require.NoError(t, slowSub.Flush(ctx))
	require.Len(t, slow, 1+eventq.DefaultDepth, "the stuck event and a full queue")
	for _, e := range slow {
		assert.Zero(t, e.Missed)
	}
	toggle(more + 1)
	require.NoError(t, slowSub.Close(ctx))
	require.Len(t, slow, 2+eventq.DefaultDepth)
	last := slow[len(slow)-1]
	assert.Equal(t, uint64(more-eventq.DefaultDepth), last.Missed, "the event after the gap counts it")
	assert.Equal(t, netif.EventDefault, last.Kind)
	require.NoError(t, fastSub.Close(ctx))
}

func TestStateAndErrors(t *testing.T) {
	reg := netif.NewRegistry()
	n := addPPP(t, reg)
	assert.Equal(t, netif.FlagPointToPoint, n.Flags())
	assert.False(t, n.IsUp())
	assert.ErrorIs(t, n.CheckUp(), syscall.ENETDOWN)

	assert.ErrorIs(t, n.SetUp(netif.Config{}), netif.ErrInvalidConfig)
	assert.ErrorIs(t, n.SetUp(netif.Config{Local: llA}), netif.ErrInvalidConfig)
	assert.ErrorIs(t, n.SetUp(netif.Config{Local: addrA, MTU: 20}), netif.ErrInvalidConfig)

	require.NoError(t, n.SetUp(netif.Config{Local: addrA, Peer: addrB, MTU: 1280}))
	assert.Equal(t, netif.FlagUp|netif.FlagLinkUp|netif.FlagPointToPoint, n.Flags())
	assert.Equal(t, "up|link-up|point-to-point", n.Flags().String())
	assert.True(t, n.IsUp())
	assert.NoError(t, n.CheckUp())
	st := n.Status()
	assert.Equal(t, "pp0", st.Name)
	assert.Equal(t, 1280, st.MTU)
	assert.Equal(t, addrA, st.Config.Local)
	assert.Nil(t, st.Reason)

	n.SetDown(nil)
	err := n.CheckUp()
	assert.ErrorIs(t, err, syscall.ENETDOWN)
	assert.ErrorIs(t, err, netif.ErrLinkDown)
	assert.Equal(t, netif.Config{}, n.Config())
	assert.ErrorIs(t, n.Reason(), netif.ErrLinkDown)
}

func TestHostInterface(t *testing.T) {
	reg := netif.NewRegistry()
	lo, err := reg.AddHost("lo", netip.MustParseAddr("127.0.0.53"))
	require.NoError(t, err)
	assert.Equal(t, netif.KindHost, lo.Kind())
	assert.Equal(t, "lo", lo.Name())
	assert.NotZero(t, lo.KernelIndex())
	assert.NotZero(t, lo.Index())
	assert.True(t, lo.Flags()&netif.FlagLoopback != 0)
	assert.True(t, lo.IsUp())
	assert.NoError(t, lo.CheckUp())
	assert.Equal(t, netip.MustParseAddr("127.0.0.1"), lo.Config().Local)
	assert.Equal(t, []netip.Addr{netip.MustParseAddr("127.0.0.53")}, lo.DNS())
	assert.Nil(t, lo.Stack())
	assert.ErrorIs(t, lo.SetUp(netif.Config{Local: addrA}), netif.ErrHostInterface)
	_, err = reg.AddHost("lo")
	assert.ErrorIs(t, err, netif.ErrExists)
	got, err := reg.Lookup("lo")
	require.NoError(t, err)
	assert.Same(t, lo, got)
	require.NoError(t, reg.Remove(lo))
	// Unregistered, Lookup still finds it in the kernel (Index 0).
	got, err = reg.Lookup("lo")
	require.NoError(t, err)
	assert.Zero(t, got.Index())
	assert.Equal(t, netif.KindHost, got.Kind())
	_ = got.Counters() // readable; values depend on the host
}
