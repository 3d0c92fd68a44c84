package pppdial

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pppdial/pppdial/internal/serialline"
	"github.com/pppdial/pppdial/modemsim"
	"github.com/pppdial/pppdial/modemsim/carrier"
	"github.com/pppdial/pppdial/netif"
)

// groupRig is a Group over emulated modems, each with its carrier network behind it, all in one
// registry. Each network answers /who with the name of the link it serves, so that a fetch says
// which link carried it.
type groupRig struct {
	t      *testing.T
	reg    *netif.Registry
	rigs   map[string]*rig
	events chan Event
	g      *Group

	mu   sync.Mutex
	seen []Event // every event the group delivered, for failure messages and later checks
}

func newGroupRig(t *testing.T, names ...string) *groupRig {
	gr := &groupRig{t: t, reg: netif.NewRegistry(), rigs: map[string]*rig{}, events: make(chan Event, 4096)}
	for _, name := range names {
		r := newRig(t, modemsim.EC25(), serialline.Options{})
		r.reg = gr.reg
		pages := maps.Clone(r.network.Config().Pages)
		pages["/who"] = []byte(name)
		r.setNetwork(carrier.Config{Pages: pages})
		gr.rigs[name] = r
	}
	return gr
}

// link is the config of the named link: its rig's, persistent, with the name.
func (gr *groupRig) link(name string) Config {
	cfg := gr.rigs[name].config()
	cfg.IfName, cfg.Persist = name, true
	return cfg
}

func (gr *groupRig) onEvent(e Event) {
	gr.mu.Lock()
	gr.seen = append(gr.seen, e)
	gr.mu.Unlock()
	select {
	case gr.events <- e:
	default:
	}
}

// start starts the group with cfg (its registry and observer the rig's), closed at the test's end.
func (gr *groupRig) start(cfg GroupConfig) *Group {
	gr.t.Helper()
	cfg.Registry, cfg.OnEvent = gr.reg, gr.onEvent
	g, err := StartGroup(context.Background(), cfg)
	require.NoError(gr.t, err)
	gr.g = g
	gr.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), defaultTeardown+5*time.Second)
		defer cancel()
		assert.NoError(gr.t, g.Close(ctx))
	})
	return g
}

// wait waits for an event that ok accepts, skipping others.
func (gr *groupRig) wait(within time.Duration, what string, ok func(Event) bool) Event {
	gr.t.Helper()
	deadline := time.After(within)
	var seen recentEvents
	for {
		select {
		case e := <-gr.events:
			if ok(e) {
				return e
			}
			seen.add(e)
		case <-deadline:
			gr.t.Fatalf("no %s within %v; the last events instead:\n%s", what, within, &seen)
		}
	}
}

func (gr *groupRig) waitKind(kind EventKind, ifname string, within time.Duration) Event {
	gr.t.Helper()
	return gr.wait(within, fmt.Sprintf("%s event of %s", kind, ifname), func(e Event) bool { return e.Kind == kind && e.Ifname == ifname })
}

// waitRoute waits for the route event to `to`.
func (gr *groupRig) waitRoute(to string, within time.Duration) Event {
	gr.t.Helper()
	return gr.wait(within, "route to "+to, func(e Event) bool { return e.Kind == EventRoute && e.Ifname == to })
}

// routes returns the route events delivered so far.
func (gr *groupRig) routes() []Event {
	gr.mu.Lock()
	defer gr.mu.Unlock()
	return slices.DeleteFunc(slices.Clone(gr.seen), func(e Event) bool { return e.Kind != EventRoute })
}

// who fetches /who through the group's router: the name of the link that carried it.
func (gr *groupRig) who() (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	client := &http.Client{Transport: &http.Transport{DialContext: gr.g.Router().DialContext}}
	defer client.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+carrier.New(carrier.Config{}).Config().Local.String()+"/who", nil)
	if err != nil {
		return "", err
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

func (gr *groupRig) requireWho(want string) {
	gr.t.Helper()
	got, err := gr.who()
	require.NoError(gr.t, err)
	require.Equal(gr.t, want, got, "the link that carried a new connection")
}

// echoConn is a connection to the carrier's TCP echo service, opened through the group's router.
func (gr *groupRig) echoConn() net.Conn {
	gr.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := gr.g.Router().DialContext(ctx, "tcp4", net.JoinHostPort(carrier.New(carrier.Config{}).Config().Local.String(), "7"))
	require.NoError(gr.t, err)
	gr.t.Cleanup(func() { _ = c.Close() })
	return c
}

// roundTrip sends n bytes on an echo connection and reads them back, within 10 s.
func roundTrip(c net.Conn, n int) error {
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	out := []byte(strings.Repeat("x", n))
	if _, err := c.Write(out); err != nil {
		return err
	}
	in := make([]byte, n)
	if _, err := io.ReadFull(c, in); err != nil {
		return err
	}
	if string(in) != string(out) {
		return errCorrupt
	}
	return nil
}

// TestGroupFailoverAndReturn: two links up, new connections take pp0; pp0's call drops (NO
// CARRIER): a route event moves them to pp1, and a connection open on pp0 fails at once with
// ENETDOWN; pp0 redials, and traffic stays on pp1 until pp0 has been up for RecoverAfter, then
// comes back with a route event, while a connection opened on pp1 meanwhile keeps working.
// RecoverAfter is short (1.5 s) but real: the real clock is what is under test (gVisor's stack
// does not run under testing/synctest).
func TestGroupFailoverAndReturn(t *testing.T) {
	t.Parallel()
	const recoverAfter = 1500 * time.Millisecond
	gr := newGroupRig(t, "pp0", "pp1")
	g := gr.start(GroupConfig{Links: []Config{gr.link("pp0"), gr.link("pp1")}, RecoverAfter: recoverAfter})
	assert.Equal(t, []string{"pp0", "pp1"}, g.Links())
	gr.waitKind(EventUp, "pp0", 30*time.Second)
	gr.waitRoute("pp0", 5*time.Second)
	require.Eventually(t, func() bool { return g.Session("pp1") != nil }, 30*time.Second, 10*time.Millisecond, "pp1 up")
	assert.Equal(t, "pp0", g.Active())
	require.NotNil(t, g.Session("pp0"))
	assert.Equal(t, "pp0", gr.reg.Default().Name(), "the registry's default follows the active member")
	gr.requireWho("pp0")

	onPP0 := gr.echoConn()
	require.NoError(t, roundTrip(onPP0, 1000))
	readErr := make(chan error, 1)
	go func() {
		_, err := onPP0.Read(make([]byte, 1))
		readErr <- err
	}()

	before := len(gr.routes()) // the first choice: pp0, or pp1 then pp0 if pp1 came up first
	require.True(t, gr.rigs["pp0"].dropCarrier())
	down := gr.waitKind(EventDown, "pp0", 10*time.Second)
	route := gr.waitRoute("pp1", 5*time.Second)
	assert.Equal(t, "pp0", route.From)
	assert.True(t, strings.HasPrefix(route.Detail, "pp0 down: link lost"), route.Detail)
	select {
	case err := <-readErr:
		assert.ErrorIs(t, err, syscall.ENETDOWN, "a connection on the link that went down")
		assert.Less(t, time.Since(down.Time), 2*time.Second, "it failed with the link, not at a timeout")
	case <-time.After(5 * time.Second):
		t.Fatal("a read on the dead link is still blocked")
	}
	assert.Equal(t, "pp1", g.Active())
	assert.Equal(t, "pp1", gr.reg.Default().Name())
	gr.requireWho("pp1")
	onPP1 := gr.echoConn()
	require.NoError(t, roundTrip(onPP1, 1000))

	// pp0 redials (Persist): healthy, but not trusted yet.
	up := gr.waitKind(EventUp, "pp0", 15*time.Second)
	assert.Equal(t, "pp1", g.Active(), "right after pp0 is back")
	gr.requireWho("pp1")
	back := gr.waitRoute("pp0", recoverAfter+5*time.Second)
	assert.Equal(t, "pp1", back.From)
	assert.Equal(t, fmt.Sprintf("pp0 healthy for %v, preferred", recoverAfter), back.Detail)
	assert.GreaterOrEqual(t, back.Time.Sub(up.Time), recoverAfter, "traffic came back only after RecoverAfter")
	gr.requireWho("pp0")
	assert.Equal(t, "pp0", gr.reg.Default().Name())
	require.NoError(t, roundTrip(onPP1, 100_000), "the connection opened on pp1 outlives the return to pp0")

	var moves []string
	for _, e := range gr.routes() {
		moves = append(moves, e.From+">"+e.Ifname)
	}
	if before == 1 {
		assert.Equal(t, []string{">pp0", "pp0>pp1", "pp1>pp0"}, moves, "one route event per change, the first choice included")
	} else {
		assert.Equal(t, []string{">pp1", "pp1>pp0", "pp0>pp1", "pp1>pp0"}, moves, "one route event per change, the first choice included")
	}
}

// TestGroupLinkAbsentAtStart: a link whose port does not exist (Persist: it waits for it) does not
// keep the other from coming up, and the other carries the traffic.
func TestGroupLinkAbsentAtStart(t *testing.T) {
	t.Parallel()
	gr := newGroupRig(t, "pp1")
	absent := Config{IfName: "pp0", Port: filepath.Join(t.TempDir(), "ttyUSB9"), Persist: true}
	g := gr.start(GroupConfig{Links: []Config{absent, gr.link("pp1")}, RecoverAfter: time.Minute})
	gr.wait(10*time.Second, "pp0 waiting for its port", func(e Event) bool {
		return e.Kind == EventProgress && e.Ifname == "pp0" && e.Step == "port" && strings.Contains(e.Detail, "waiting for")
	})
	route := gr.waitRoute("pp1", 30*time.Second)
	assert.Equal(t, "", route.From, "the first choice")
	assert.Equal(t, "pp1 up", route.Detail)
	assert.Equal(t, "pp1", g.Active())
	assert.Nil(t, g.Session("pp0"), "still waiting for its port")
	assert.NotNil(t, g.Session("pp1"))
	gr.requireWho("pp1")
	n, err := gr.reg.ByName("pp0")
	require.NoError(t, err, "the waiting link's interface is registered")
	assert.False(t, n.IsUp())

	// Close ends the wait for the port too, within its deadline.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	start := time.Now()
	require.NoError(t, g.Close(ctx))
	assert.Less(t, time.Since(start), 4*time.Second)
	select {
	case <-g.Done():
	default:
		t.Fatal("Done is not closed after Close")
	}
	assert.Empty(t, gr.reg.Netifs(), "every link's interface is removed")
	assert.Nil(t, gr.reg.Default())
}

// TestGroupRemoveAdd: Remove moves new connections away first, then hangs the link up (its
// connections fail with ENETDOWN at once); Add brings it back (a reload that changed it), and as
// a member that failed it takes traffic back only after RecoverAfter.
func TestGroupRemoveAdd(t *testing.T) {
	t.Parallel()
	const recoverAfter = time.Second
	gr := newGroupRig(t, "pp0", "pp1")
	g := gr.start(GroupConfig{Links: []Config{gr.link("pp0"), gr.link("pp1")}, Egress: []string{"pp0", "pp1"},
		RecoverAfter: recoverAfter})
	gr.waitRoute("pp0", 30*time.Second)
	require.Eventually(t, func() bool { return g.Session("pp1") != nil }, 30*time.Second, 10*time.Millisecond, "pp1 up")

	onPP0 := gr.echoConn()
	require.NoError(t, roundTrip(onPP0, 100))
	readErr := make(chan error, 1)
	go func() {
		_, err := onPP0.Read(make([]byte, 1))
		readErr <- err
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	assert.ErrorIs(t, g.Remove(ctx, "pp9"), ErrUnknownLink)
	require.NoError(t, g.Remove(ctx, "pp0"))
	route := gr.waitRoute("pp1", time.Second)
	assert.Equal(t, "pp0 removed", route.Detail)
	select {
	case err := <-readErr:
		assert.ErrorIs(t, err, syscall.ENETDOWN)
	case <-time.After(5 * time.Second):
		t.Fatal("a read on the removed link is still blocked")
	}
	assert.Equal(t, []string{"pp1"}, g.Links())
	assert.Nil(t, g.Session("pp0"))
	_, err := gr.reg.ByName("pp0")
	assert.Error(t, err, "the removed link's interface is gone")
	gr.requireWho("pp1")
	assert.ErrorIs(t, g.Remove(ctx, "pp0"), ErrUnknownLink)

	assert.ErrorIs(t, g.Add(ctx, gr.link("pp1")), ErrUsage, "a second pp1")
	require.NoError(t, g.Add(ctx, gr.link("pp0")))
	assert.Equal(t, []string{"pp1", "pp0"}, g.Links())
	up := gr.waitKind(EventUp, "pp0", 30*time.Second)
	back := gr.waitRoute("pp0", recoverAfter+5*time.Second)
	assert.GreaterOrEqual(t, back.Time.Sub(up.Time), recoverAfter)
	gr.requireWho("pp0")
}

// TestGroupSetEgress: a reload that reorders the egress moves new connections at once; one that
// leaves a single member makes no route events (a single-link group prints none).
func TestGroupSetEgress(t *testing.T) {
	t.Parallel()
	gr := newGroupRig(t, "pp0", "pp1")
	g := gr.start(GroupConfig{Links: []Config{gr.link("pp0"), gr.link("pp1")}})
	gr.waitRoute("pp0", 30*time.Second)
	require.Eventually(t, func() bool { return g.Session("pp1") != nil }, 30*time.Second, 10*time.Millisecond, "pp1 up")

	require.NoError(t, g.SetEgress([]string{"pp1", "pp0"}, nil, 0))
	route := gr.waitRoute("pp1", time.Second)
	assert.Equal(t, "egress changed", route.Detail)
	gr.requireWho("pp1")
	assert.ErrorIs(t, g.SetEgress([]string{"pp1", "pp1"}, nil, 0), ErrUsage)
	assert.Equal(t, "pp1", g.Active(), "a refused egress changes nothing")

	require.NoError(t, g.SetEgress([]string{"pp0"}, nil, 0))
	require.Eventually(t, func() bool { return g.Active() == "pp0" }, time.Second, 10*time.Millisecond)
	gr.requireWho("pp0")
	n := len(gr.routes())
	require.NoError(t, g.Remove(context.Background(), "pp0"))
	assert.Equal(t, "", g.Active())
	_, err := gr.who()
	assert.ErrorIs(t, err, syscall.ENETUNREACH, "pp1 is up but not in the egress")
	assert.Len(t, gr.routes(), n, "no route event with one member")
}

// TestGroupHostMember: a host interface as a member, with its probe (the same probe a link
// runs): the loopback interface, probed at a TCP listener that goes away and comes back.
func TestGroupHostMember(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	gr := newGroupRig(t)
	probe := Probe{Network: "tcp", Addr: addr, Interval: 50 * time.Millisecond, Timeout: time.Second, Failures: 2}
	// nosuch0 is a member that the kernel does not have: never healthy.
	g := gr.start(GroupConfig{Egress: []string{"nosuch0", "lo"}, Probes: map[string]Probe{"lo": probe}, RecoverAfter: 30 * time.Second})
	route := gr.waitRoute("lo", 5*time.Second)
	assert.Equal(t, "lo probe ok", route.Detail)
	p := gr.waitKind(EventProbe, "lo", 5*time.Second)
	assert.Equal(t, ProbeTCP, p.Probe)
	assert.Equal(t, addr, p.Detail)
	require.NotNil(t, gr.reg.Default())
	assert.Equal(t, "lo", gr.reg.Default().Name(), "the host member was registered to be the default")
	n, err := g.Router().Pick(context.Background(), netip.MustParseAddr("127.0.0.1"))
	require.NoError(t, err)
	assert.Equal(t, "lo", n.Name())

	require.NoError(t, ln.Close())
	gone := gr.waitRoute("", 5*time.Second)
	assert.Equal(t, "lo", gone.From)
	assert.Contains(t, gone.Detail, "lo probe tcp "+addr+" failed 2 times")
	_, err = g.Router().Pick(context.Background(), netip.MustParseAddr("127.0.0.1"))
	assert.ErrorIs(t, err, syscall.ENETUNREACH)

	ln, err = net.Listen("tcp4", addr)
	require.NoError(t, err)
	defer ln.Close()
	// Still in its recovery time, but no other member works: it carries the traffic.
	again := gr.waitRoute("lo", 5*time.Second)
	assert.Contains(t, again.Detail, "recovering")

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.NoError(t, g.Close(ctx))
	assert.Empty(t, gr.reg.Netifs(), "the host interface the group registered is removed")
}

// TestGroupConfigErrors: configurations that cannot work are refused before anything starts.
func TestGroupConfigErrors(t *testing.T) {
	t.Parallel()
	port := Config{Port: "/dev/ttyUSB3"}
	named := func(name string) Config { c := port; c.IfName = name; return c }
	tcp := Probe{Network: "tcp", Addr: "192.0.2.1:443"}
	for name, cfg := range map[string]GroupConfig{
		"no IfName":                {Links: []Config{port}},
		"two links named pp0":      {Links: []Config{named("pp0"), named("pp0")}},
		"a link without port":      {Links: []Config{{IfName: "pp0"}}},
		"a probe for a non-member": {Links: []Config{named("pp0")}, Probes: map[string]Probe{"wlan0": tcp}},
		"a probe for a link":       {Links: []Config{named("pp0")}, Egress: []string{"pp0", "wlan0"}, Probes: map[string]Probe{"pp0": tcp}},
		"a probe without network":  {Links: []Config{named("pp0")}, Egress: []string{"pp0", "wlan0"}, Probes: map[string]Probe{"wlan0": {}}},
		"a bad probe":              {Links: []Config{named("pp0")}, Egress: []string{"pp0", "wlan0"}, Probes: map[string]Probe{"wlan0": {Network: "tcp", Addr: "wlan0.example:80"}}},
		"a member twice":           {Links: []Config{named("pp0")}, Egress: []string{"pp0", "pp0"}},
		"a member without name":    {Links: []Config{named("pp0")}, Egress: []string{"pp0", ""}},
		"negative RecoverAfter":    {Links: []Config{named("pp0")}, RecoverAfter: -time.Second},
	} {
		cfg.Registry = netif.NewRegistry()
		_, err := StartGroup(context.Background(), cfg)
		assert.ErrorIs(t, err, ErrUsage, name)
		assert.Empty(t, cfg.Registry.Netifs(), "%s: nothing registered", name)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := StartGroup(ctx, GroupConfig{Links: []Config{named("pp0")}, Registry: netif.NewRegistry()})
	assert.ErrorIs(t, err, context.Canceled)

	// A name the registry already has (another user of it): refused, and the links started
	// before it are closed.
	reg := netif.NewRegistry()
	_, err = reg.AddHost("lo")
	require.NoError(t, err)
	_, err = StartGroup(context.Background(), GroupConfig{Links: []Config{named("pp0"), named("lo")}, Registry: reg})
	assert.ErrorIs(t, err, ErrUsage)
	assert.True(t, errors.Is(err, netif.ErrExists), "%v", err)
	assert.Equal(t, []string{"lo"}, netifNames(reg), "pp0 was taken away again")
}

func netifNames(reg *netif.Registry) []string {
	var names []string
	for _, n := range reg.Netifs() {
		names = append(names, n.Name())
	}
	return names
}
