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
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pppdial/pppdial/hdlc"
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
		gr.addRig(name, modemsim.EC25())
	}
	return gr
}

// addRig adds the emulated modem of the link name.
func (gr *groupRig) addRig(name string, profile modemsim.Profile) {
	r := newRig(gr.t, profile, serialline.Options{})
	r.reg = gr.reg
	pages := maps.Clone(r.network.Config().Pages)
	pages["/who"] = []byte(name)
	r.setNetwork(carrier.Config{Pages: pages})
	gr.rigs[name] = r
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
// RecoverAfter is short (2 s) but real: the real clock is what is under test (gVisor's stack
// does not run under testing/synctest).
func TestGroupFailoverAndReturn(t *testing.T) {
	t.Parallel()
	const recoverAfter = 2 * time.Second
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
		t.Logf("route %s -> %s: %s", e.From, e.Ifname, e.Detail)
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

// TestGroupLinkProbe: a link's own probe is its member probe: when it fails Failures times in a
// row, new connections leave the link at once (the session then ends the link too).
func TestGroupLinkProbe(t *testing.T) {
	t.Parallel()
	gr := newGroupRig(t, "pp0", "pp1")
	pp0 := gr.link("pp0")
	// The echo service answers for a while, then the test points the probe's port away... the
	// carrier has no switch for that: the probe aims at a port nothing listens on, and the first
	// choice is made on EventUp, before the first probe.
	pp0.Probe = Probe{Network: "tcp", Addr: net.JoinHostPort(carrier.New(carrier.Config{}).Config().Local.String(), "9"),
		Interval: 100 * time.Millisecond, Timeout: time.Second, Failures: 3}
	g := gr.start(GroupConfig{Links: []Config{pp0, gr.link("pp1")}, RecoverAfter: time.Minute})
	route := gr.wait(30*time.Second, "route away from pp0", func(e Event) bool {
		return e.Kind == EventRoute && e.From == "pp0"
	})
	assert.True(t, strings.HasPrefix(route.Detail, "pp0 probe tcp "+pp0.Probe.Addr+" failed 3 times"), route.Detail)
	down := gr.waitKind(EventDown, "pp0", 10*time.Second)
	assert.ErrorIs(t, down.Err, ErrProbeFailed)
	require.Eventually(t, func() bool { return g.Active() == "pp1" }, 30*time.Second, 10*time.Millisecond)
	gr.requireWho("pp1")
}

// TestGroupDoneWhenEveryLinkEnded: links without Persist whose ports do not exist end at once;
// Done is closed when the last one has, and the group's events name each.
func TestGroupDoneWhenEveryLinkEnded(t *testing.T) {
	t.Parallel()
	gr := newGroupRig(t)
	dir := t.TempDir()
	g := gr.start(GroupConfig{Links: []Config{
		{IfName: "pp0", Port: filepath.Join(dir, "ttyUSB0")},
		{IfName: "pp1", Port: filepath.Join(dir, "ttyUSB1")},
	}})
	select {
	case <-g.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("Done not closed after every link ended")
	}
	// A session's last event is taken before it is done: the group's Done comes after both.
	errs := map[string]error{}
	gr.mu.Lock()
	for _, e := range gr.seen {
		if e.Kind == EventError {
			errs[e.Ifname] = e.Err
		}
	}
	gr.mu.Unlock()
	for _, name := range []string{"pp0", "pp1"} {
		assert.ErrorIs(t, errs[name], ErrPort, name)
		assert.Nil(t, g.Session(name))
	}
	assert.Equal(t, []string{"pp0", "pp1"}, g.Links(), "ended links stay listed until removed")
	assert.Equal(t, "", g.Active())
	assert.Empty(t, gr.routes(), "no member ever carried traffic")
	assert.ErrorIs(t, g.Add(context.Background(), Config{IfName: "pp2", Port: filepath.Join(dir, "ttyUSB2")}), os.ErrClosed)
}

// TestGroupClose: Close hangs every link up in parallel within its deadline: each hang-up takes
// its escape's guard times (1 s here, on purpose), and the two together take about as long as
// one. Real time is what is under test.
func TestGroupClose(t *testing.T) {
	t.Parallel()
	gr := newGroupRig(t, "pp0", "pp1")
	slow := func(name string) Config {
		cfg := gr.link(name)
		cfg.Hangup.Guard = time.Second
		return cfg
	}
	g := gr.start(GroupConfig{Links: []Config{slow("pp0"), slow("pp1")}})
	gr.waitRoute("pp0", 30*time.Second)
	require.Eventually(t, func() bool { return g.Session("pp1") != nil }, 30*time.Second, 10*time.Millisecond, "pp1 up")
	onPP0 := gr.echoConn()
	readErr := make(chan error, 1)
	go func() {
		_, err := onPP0.Read(make([]byte, 1))
		readErr <- err
	}()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	start := time.Now()
	require.NoError(t, g.Close(ctx))
	took := time.Since(start)
	t.Logf("Close took %v", took)
	assert.GreaterOrEqual(t, took, 2*time.Second, "the hang-up's two guard times")
	// One after the other, the two would take at least four guard times.
	assert.Less(t, took, 3900*time.Millisecond, "both links hung up at once, not one after the other")
	for name, r := range gr.rigs {
		assert.Equal(t, 1, r.modem.Stats().Hangups, "%s hung up", name)
	}
	select {
	case err := <-readErr:
		// Aborted with the link; whether the error also says ENETDOWN or ENODEV depends on
		// whether the interface was already removed when the reader woke.
		assert.ErrorIs(t, err, syscall.ECONNABORTED)
	default:
		t.Fatal("a read on a closed link is still blocked after Close")
	}
	assert.Empty(t, gr.reg.Netifs())
	select {
	case <-g.Done():
	default:
		t.Fatal("Done not closed after Close")
	}
	require.NoError(t, g.Close(ctx), "closing twice is fine")
	assert.ErrorIs(t, g.Add(ctx, Config{IfName: "pp2", Port: "/dev/ttyUSB9"}), os.ErrClosed)
	assert.ErrorIs(t, g.SetEgress(nil, nil, 0), os.ErrClosed)
}

// TestGroupLinkPortAppears: the link whose port was absent comes up once the port appears (a
// stable path, as a by-id one, pointed at the modem's pty), and as a member that never failed,
// preferred, it takes new connections at once.
func TestGroupLinkPortAppears(t *testing.T) {
	t.Parallel()
	gr := newGroupRig(t, "pp1")
	network := carrier.New(carrier.Config{Pages: map[string][]byte{"/who": []byte("pp0")}})
	profile := modemsim.EC25()
	profile.GuardTime = testGuard
	pty, err := modemsim.ServePTY(context.Background(), modemsim.New(profile, network.DataFunc()))
	require.NoError(t, err)
	t.Cleanup(func() { _ = pty.Close() }) // after the group's Close (cleanups run last first)

	pp0 := gr.link("pp1") // the rig's timings
	pp0.IfName, pp0.Open, pp0.Port = "pp0", nil, filepath.Join(t.TempDir(), "usb-Quectel_EC25-if03-port0")
	g := gr.start(GroupConfig{Links: []Config{pp0, gr.link("pp1")}, RecoverAfter: time.Minute})
	gr.waitRoute("pp1", 30*time.Second)
	gr.requireWho("pp1")

	require.NoError(t, os.Symlink(pty.Path, pp0.Port))
	gr.waitKind(EventUp, "pp0", 30*time.Second)
	route := gr.waitRoute("pp0", 5*time.Second)
	assert.Equal(t, "pp1", route.From)
	assert.Equal(t, "pp0 up, preferred", route.Detail)
	assert.Equal(t, "pp0", g.Active())
	gr.requireWho("pp0")
}

// TestGroupHostMemberWithoutProbe: a host member without a probe is as healthy as the kernel
// says its interface is; a single member makes no route events.
func TestGroupHostMemberWithoutProbe(t *testing.T) {
	t.Parallel()
	gr := newGroupRig(t)
	g := gr.start(GroupConfig{Egress: []string{"lo"}})
	require.Eventually(t, func() bool { return g.Active() == "lo" }, 5*time.Second, 10*time.Millisecond)
	require.NotNil(t, gr.reg.Default())
	assert.Equal(t, "lo", gr.reg.Default().Name())
	assert.Empty(t, gr.routes(), "no route events with a single member")
	assert.Empty(t, g.Links())
	assert.Nil(t, g.Session("lo"), "not a link")
}

// TestGroupNoFlapping: pp0's calls drop a second after they connect, and it redials at once:
// healthy again and again, never for RecoverAfter (3 s). After it lost new connections the first
// time, they never go back to it, however often it comes up. Real time is what is under test.
func TestGroupNoFlapping(t *testing.T) {
	t.Parallel()
	gr := newGroupRig(t, "pp1")
	flappy := modemsim.EC25()
	flappy.CarrierDropAfter = time.Second
	gr.addRig("pp0", flappy)
	g := gr.start(GroupConfig{Links: []Config{gr.link("pp0"), gr.link("pp1")}, RecoverAfter: 3 * time.Second})
	// pp0, preferred and never failed, carried new connections until its first drop; from then
	// on pp1 takes them (at once, or when it comes up if it was not up yet).
	gr.waitKind(EventDown, "pp0", 30*time.Second)
	away := gr.waitRoute("pp1", 30*time.Second)
	ups := 0
	gr.wait(30*time.Second, "pp0 up three times more", func(e Event) bool {
		if e.Kind == EventUp && e.Ifname == "pp0" && e.Time.After(away.Time) {
			ups++
		}
		return ups == 3
	})
	assert.Equal(t, "pp1", g.Active())
	gr.requireWho("pp1")
	for _, e := range gr.routes() {
		if e.Time.After(away.Time) && e.Ifname == "pp0" {
			t.Errorf("traffic went back to pp0: %s -> %s: %s", e.From, e.Ifname, e.Detail)
		}
	}
	assert.GreaterOrEqual(t, gr.rigs["pp0"].modem.Stats().CarrierDrops, 3)
}

// TestGroupPeerRenegotiates: the network restarts LCP on pp0's call (a Configure-Request while
// the link is open): IPCP closes and pp0's interface is down until it opens again, its
// connections aborted as at a drop. New connections move to pp1 at once, and come back after
// RecoverAfter once pp0 is up again. Real time is what is under test.
func TestGroupPeerRenegotiates(t *testing.T) {
	t.Parallel()
	const recoverAfter = time.Second
	gr := newGroupRig(t, "pp0", "pp1")
	g := gr.start(GroupConfig{Links: []Config{gr.link("pp0"), gr.link("pp1")}, RecoverAfter: recoverAfter})
	gr.waitRoute("pp0", 30*time.Second)
	require.Eventually(t, func() bool { return g.Session("pp1") != nil }, 30*time.Second, 10*time.Millisecond, "pp1 up")

	r := gr.rigs["pp0"]
	r.mu.Lock()
	call := r.call
	r.mu.Unlock()
	require.NotNil(t, call)
	// LCP Configure-Request, identifier 200, no options.
	_, err := call.w.Write(hdlc.NewEncoder().AppendFrame(nil, 0xc021, []byte{1, 200, 0, 4}))
	require.NoError(t, err)

	away := gr.waitRoute("pp1", 5*time.Second)
	assert.Equal(t, "pp0 down: the network renegotiated the link (IPCP closed)", away.Detail)
	up := gr.waitKind(EventUp, "pp0", 10*time.Second)
	back := gr.waitRoute("pp0", recoverAfter+5*time.Second)
	assert.GreaterOrEqual(t, back.Time.Sub(up.Time), recoverAfter)
	gr.requireWho("pp0")
	assert.Equal(t, 1, g.Session("pp0").Stats().Links, "the same PPP link all along: no redial")
}
