package pppdial

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pppdial/pppdial/at"
	"github.com/pppdial/pppdial/at/cell"
	"github.com/pppdial/pppdial/internal/serialline"
	"github.com/pppdial/pppdial/line"
	"github.com/pppdial/pppdial/modemsim"
	"github.com/pppdial/pppdial/netif"
	"github.com/pppdial/pppdial/recovery"
)

// plugATPort gives the rig's modem a second AT port, as a USB modem's ttyUSB2 beside the PPP
// port, and returns the session's open function for it.
func (r *rig) plugATPort() func(context.Context) (line.Line, error) {
	host, mdm := serialline.Pipe(serialline.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = r.modem.ServeAT(ctx, mdm)
	}()
	r.t.Cleanup(func() {
		host.Cut()
		cancel()
		<-served
	})
	return func(context.Context) (line.Line, error) { return host, nil }
}

// watchConfig is the rig's config with a second AT port, read every 200 ms of real time (the
// emulated modem runs on real time).
func (r *rig) watchConfig() Config {
	cfg := r.config()
	cfg.OpenAT = r.plugATPort()
	cfg.MonitorInterval = 200 * time.Millisecond
	return cfg
}

// waitEventWhere waits for an event of kind for which ok holds, skipping others.
func (r *rig) waitEventWhere(kind EventKind, within time.Duration, ok func(Event) bool) Event {
	r.t.Helper()
	deadline := time.After(within)
	for {
		select {
		case e := <-r.events:
			if e.Kind == kind && ok(e) {
				return e
			}
		case <-deadline:
			r.t.Fatalf("no matching %s event within %v", kind, within)
		}
	}
}

// TestSessionATPort: PPP on one port, AT on another (a USB modem's two ttys): signal readings
// and AT probes come from the AT port while the link carries data, Exec answers there, and the
// modem's registration changes arrive as modem events.
func TestSessionATPort(t *testing.T) {
	t.Parallel()
	r := newRig(t, modemsim.EC25(), serialline.Options{})
	sess := r.dial(r.watchConfig())

	ch := r.waitEventWhere(EventProgress, 5*time.Second, func(e Event) bool { return e.Step == StepATChannel && e.Done })
	assert.Equal(t, "AT port", ch.Detail)

	sig := r.waitEvent(EventSignal, 5*time.Second)
	require.NotNil(t, sig.Signal)
	require.NotNil(t, sig.Signal.RSSIdBm)
	assert.Equal(t, -113.0+2*24, *sig.Signal.RSSIdBm, "EC25's +CSQ: 24")
	require.NotNil(t, sig.Signal.Operator)
	assert.Equal(t, "Telekom.de", *sig.Signal.Operator)
	probe := r.waitEventWhere(EventProbe, 5*time.Second, func(e Event) bool { return e.Probe == ProbeAT })
	assert.NoError(t, probe.Err)
	assert.Equal(t, recovery.ATAlive, sess.ATHealth())

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	info, err := sess.Exec(ctx, "+CSQ", 2*time.Second)
	require.NoError(t, err)
	assert.Equal(t, "+CSQ: 24,99", info[len(info)-1])
	require.NoError(t, r.echo(ctx, sess, 4096), "the link carries data meanwhile")

	// The AT port turned the registration URCs on; the network moves the modem.
	cmds := strings.Join(r.modem.Commands(), "\n")
	assert.Contains(t, cmds, "AT+CEREG=2")
	r.modem.SetRegistration(5)
	// One event per domain whose URCs are on; +CEREG is the LTE one.
	isCEREG := func(e Event) bool { return e.Detail == "+CEREG" }
	m := r.waitEventWhere(EventModem, 5*time.Second, isCEREG)
	assert.Equal(t, cell.RegRoaming, m.Registration)
	assert.NoError(t, m.Err, "roaming is allowed without NoRoaming")
	require.NotNil(t, m.Signal)
	require.NotNil(t, m.Signal.Cell)
	assert.Equal(t, "1C3D4E5", m.Signal.CellHex())
	r.modem.SetRegistration(1)
	m = r.waitEventWhere(EventModem, 5*time.Second, isCEREG)
	assert.Equal(t, cell.RegHome, m.Registration)
	assert.True(t, sess.Netif().IsUp(), "registration changes leave the link alone")
	require.NoError(t, r.echo(ctx, sess, 4096))
}

// TestSessionNoATChannel: one port without CMUX: the session says once that it has no AT
// channel while connected, not at every redial, and Exec says why it cannot.
func TestSessionNoATChannel(t *testing.T) {
	t.Parallel()
	r := newRig(t, modemsim.SIM7600(), serialline.Options{})
	cfg := r.config()
	cfg.Persist = true
	var mu sync.Mutex
	var said []Event
	next := cfg.OnEvent
	cfg.OnEvent = func(e Event) {
		if e.Kind == EventProgress && e.Step == StepATChannel && e.Done {
			mu.Lock()
			said = append(said, e)
			mu.Unlock()
		}
		next(e)
	}
	sess := r.dial(cfg)
	_, err := sess.Exec(context.Background(), "+CSQ", time.Second)
	assert.ErrorIs(t, err, ErrNoATChannel)
	require.True(t, r.dropCarrier())
	r.waitEvent(EventDown, 5*time.Second)
	r.waitEvent(EventUp, 10*time.Second)

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.NoError(t, sess.Close(ctx))
	mu.Lock()
	defer mu.Unlock()
	require.Len(t, said, 1, "said once, not at every redial")
	assert.Contains(t, said[0].Detail, "none")
}

// TestSessionNoRoamingRefusesDial: a modem registered on a visited network is not dialed with
// NoRoaming: the dial fails at once with a cause that says so, and its code is "roaming".
func TestSessionNoRoamingRefusesDial(t *testing.T) {
	t.Parallel()
	p := modemsim.SIM7600()
	p.Roaming = true
	r := newRig(t, p, serialline.Options{})
	cfg := r.config()
	cfg.NoRoaming = true
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	start := time.Now()
	_, err := Dial(ctx, cfg)
	require.Error(t, err)
	assert.ErrorIs(t, err, at.ErrRoamingRefused)
	assert.Equal(t, CodeRoaming, Code(err))
	assert.Contains(t, err.Error(), "roaming")
	assert.Zero(t, r.modem.Stats().Dials, "no ATD on a visited network")
	assert.Less(t, time.Since(start), 10*time.Second, "refused at once, not after the registration timeout")

	// Without NoRoaming the same modem dials (on a fresh line: the session closed its port).
	r.unplug()
	r.plug()
	cfg.NoRoaming = false
	r.dial(cfg)
}

// TestSessionNoRoamingHangsUp: a link that is up when the modem reports roaming on its AT
// channel is hung up; without Persist the session ends with ErrRoaming.
func TestSessionNoRoamingHangsUp(t *testing.T) {
	t.Parallel()
	r := newRig(t, modemsim.EC25(), serialline.Options{})
	cfg := r.watchConfig()
	cfg.NoRoaming = true
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	sess, err := Dial(ctx, cfg)
	require.NoError(t, err)
	defer func() { _ = sess.Close(ctx) }()
	r.waitEvent(EventSignal, 5*time.Second) // the AT port is set up: its URCs are on

	r.modem.SetRegistration(5)
	m := r.waitEvent(EventModem, 5*time.Second)
	assert.Equal(t, cell.RegRoaming, m.Registration)
	assert.ErrorIs(t, m.Err, ErrRoaming)
	down := r.waitEvent(EventDown, 5*time.Second)
	assert.ErrorIs(t, down.Err, ErrRoaming)
	assert.Equal(t, CodeRoaming, down.Code)
	select {
	case <-sess.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the session did not end")
	}
	assert.ErrorIs(t, sess.Err(), ErrRoaming)
	assert.ErrorIs(t, sess.Err(), ErrLinkLost)
	assert.Equal(t, 1, r.modem.Stats().Hangups, "the call was hung up (ATH)")
}

// TestSessionProbeTCP: the data-path probe over the link. A service that answers keeps the link;
// one that refuses, while LCP echo still answers, ends the link after Probe.Failures probes
// with ErrProbeFailed, and Persist redials.
func TestSessionProbeTCP(t *testing.T) {
	t.Parallel()
	r := newRig(t, modemsim.SIM7600(), serialline.Options{})
	local := r.network.Config().Local
	cfg := r.config()
	cfg.Probe = Probe{Network: "tcp", Addr: net.JoinHostPort(local.String(), "7"), Interval: 100 * time.Millisecond,
		Timeout: 2 * time.Second, Failures: 3}
	sess := r.dial(cfg)
	for range 3 {
		p := r.waitEventWhere(EventProbe, 5*time.Second, func(e Event) bool { return e.Probe == ProbeTCP })
		require.NoError(t, p.Err)
		assert.Equal(t, cfg.Probe.Addr, p.Detail)
	}
	assert.True(t, sess.Netif().IsUp())

	r2 := newRig(t, modemsim.SIM7600(), serialline.Options{})
	cfg = r2.config()
	cfg.Persist = true
	cfg.Probe = Probe{Network: "tcp", Addr: net.JoinHostPort(local.String(), "9"), Interval: 100 * time.Millisecond,
		Timeout: 2 * time.Second, Failures: 3}
	r2.dial(cfg)
	failed := 0
	for failed < 3 {
		p := r2.waitEventWhere(EventProbe, 5*time.Second, func(e Event) bool { return e.Probe == ProbeTCP })
		require.Error(t, p.Err, "nothing listens on port 9")
		failed++
	}
	down := r2.waitEvent(EventDown, 5*time.Second)
	assert.ErrorIs(t, down.Err, ErrProbeFailed)
	assert.Equal(t, CodeLinkLost, down.Code)
	r2.waitEvent(EventUp, 10*time.Second) // Persist: the data path is tried again
}

// TestSessionProbeICMP: the icmp probe through the userspace stack's ICMP endpoint.
func TestSessionProbeICMP(t *testing.T) {
	t.Parallel()
	r := newRig(t, modemsim.SIM7600(), serialline.Options{})
	cfg := r.config()
	cfg.Probe = Probe{Network: "icmp", Addr: r.network.Config().Local.String(), Interval: 100 * time.Millisecond}
	r.dial(cfg)
	p := r.waitEventWhere(EventProbe, 5*time.Second, func(e Event) bool { return e.Probe == ProbeICMP })
	require.NoError(t, p.Err)
	assert.Positive(t, p.Elapsed)
}

func TestParseProbe(t *testing.T) {
	for in, want := range map[string]Probe{
		"tcp:10.0.0.1:80":         {Network: "tcp", Addr: "10.0.0.1:80"},
		"tcp:[2001:db8:1::1]:443": {Network: "tcp", Addr: "[2001:db8:1::1]:443"},
		"icmp:10.0.0.1":           {Network: "icmp", Addr: "10.0.0.1"},
	} {
		got, err := ParseProbe(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got)
		assert.Equal(t, in, got.String())
	}
	for _, bad := range []string{"", "tcp", "tcp:", "tcp:10.0.0.1", "tcp:example.com:80", "icmp:10.0.0.1:80", "udp:10.0.0.1:53", "icmp:host"} {
		_, err := ParseProbe(bad)
		assert.ErrorIs(t, err, ErrUsage, bad)
	}
}

// TestSessionSupervisionUsage: settings that cannot work are refused before anything is opened.
func TestSessionSupervisionUsage(t *testing.T) {
	open := func(context.Context) (line.Line, error) { return nil, errors.New("not reached") }
	for name, cfg := range map[string]Config{
		"probe with an attachment": {Open: open, Probe: Probe{Network: "tcp", Addr: "10.0.0.1:80"},
			Attach: func(netif.Device) error { return nil }},
		"AT port and CMUX": {Open: open, OpenAT: open, CMUX: CMUXOn},
		"bad probe":        {Open: open, Probe: Probe{Network: "udp", Addr: "10.0.0.1:53"}},
	} {
		_, err := Dial(context.Background(), cfg)
		assert.ErrorIs(t, err, ErrUsage, name)
	}
}
