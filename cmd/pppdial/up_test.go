package main

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pppdial/pppdial/internal/peers"
	"github.com/pppdial/pppdial/modemsim"
	"github.com/pppdial/pppdial/modemsim/carrier"
)

// within is a context that ends after d (or with t): the bound of one call through a SOCKS
// server.
func within(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), d)
	t.Cleanup(cancel)
	return ctx
}

// shortDir is a temporary directory with a short path, for unix sockets (sun_path holds 108
// bytes; t.TempDir's can be longer).
func shortDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "up")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// TestUpLinkAbsentAtStart: a link whose modem is not there when `pppdial up` starts (its by-id
// name points nowhere yet; persist) does not keep the other link from coming up and carrying
// connections; it keeps trying, and comes up once its modem appears.
func TestUpLinkAbsentAtStart(t *testing.T) {
	t.Parallel()
	netA := carrier.New(carrier.Config{})
	netB := carrier.New(carrier.Config{Local: netip.MustParseAddr("10.64.65.1"), Peer: netip.MustParseAddr("10.64.65.2")})
	pp1 := modemPTY(t, modemsim.EC25(), netB.DataFunc())
	byID := peers.NewByID(t, "usb-Quectel_EC25-if02-port0")
	conf := pairConfig(t, byID.Path, pp1, 0)

	p := start(t, nil, "up", "-c", conf, "--json")
	ev := newEventLog(p)
	up1 := ev.wait(t, 0, 30*time.Second, "pp1 up", is("up", "pp1"))
	assert.Equal(t, "10.64.65.2", ev.all[up1]["local"])
	assert.Empty(t, ev.since(0, is("up", "pp0")), "pp0 has no modem")
	// pp0 waits for its port, and says so.
	ev.wait(t, 0, 10*time.Second, "pp0 waiting for its port", func(e map[string]any) bool {
		return is("progress", "pp0")(e) && e["step"] == "port" && strings.Contains(fmt.Sprint(e["detail"]), byID.Path)
	})
	r := ev.wait(t, 0, 10*time.Second, "a route event to pp1", is("route", "pp1"))
	assert.Empty(t, ev.all[r]["from"], "the first choice: pp1, the only member up: %v", ev.all[r])
	i := ev.wait(t, 0, 10*time.Second, "the socks event", is("socks", "*"))
	proxy, _ := ev.all[i]["addr"].(string)
	require.NotEmpty(t, proxy)
	body, bound, err := fetchVia(within(t, 30*time.Second), proxy, carrier.DefaultHost, "/")
	require.NoError(t, err)
	assert.Equal(t, string(carrier.DefaultPage), string(body))
	assert.Equal(t, "10.64.65.2", bound.String(), "over pp1")

	// The modem is plugged in: pp0 comes up on its next attempt.
	require.NoError(t, byID.Point(modemPTY(t, modemsim.EC25(), netA.DataFunc())))
	up0 := ev.wait(t, up1, 30*time.Second, "pp0 up once its modem is there", is("up", "pp0"))
	assert.Equal(t, "10.64.64.2", ev.all[up0]["local"])
	assert.Empty(t, ev.since(0, is("down", "pp1")), "pp1 stayed up throughout")
	stopAndCheckQuick(t, p)
}

// TestUpRefusesABadFile: `pppdial up` checks the file as `pppdial check` does, before anything is
// dialed: exit 2 with FILE:LINE and the reason, and the modem of the valid link is never spoken
// to.
func TestUpRefusesABadFile(t *testing.T) {
	t.Parallel()
	modem := modemsim.New(modemsim.EC25(), nil)
	pty, err := modemsim.ServePTY(t.Context(), modem)
	require.NoError(t, err)
	t.Cleanup(func() { _ = pty.Close() })
	for _, tt := range []struct {
		name, file string
		line       int
		reason     string
	}{
		{"unknown key", "[[link]]\nport = %q\nspeed = 9600\n", 3, `link #1: key "speed": unknown key`},
		{"duplicate port", "[[link]]\nifname = \"pp0\"\nport = %q\n\n[[link]]\nifname = \"pp1\"\nport = %q\n", 7,
			`link "pp1": key "port": %q is also the port of the link at line 3: one modem port serves one link`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			args := []any{pty.Path, pty.Path}[:strings.Count(tt.file, "%q")]
			path := writeConfig(t, t.TempDir(), fmt.Sprintf(tt.file, args...))
			code, stdout, stderr := runToEnd(t, 30*time.Second, "up", "-c", path, "--json")
			assert.Equal(t, exitUsage, code, stderr)
			assert.Empty(t, stdout, "nothing was started")
			reason := tt.reason
			if strings.Contains(reason, "%q") {
				reason = fmt.Sprintf(reason, pty.Path)
			}
			assert.Contains(t, stderr, fmt.Sprintf("%s:%d: %s", path, tt.line, reason))
		})
	}
	assert.Zero(t, modem.Stats().Commands, "no AT command reached the modem")
}

// TestUpReloadInvalidFile: SIGHUP with a broken file reports it (FILE:LINE and the reason) and
// changes nothing: the link stays up and keeps carrying connections.
func TestUpReloadInvalidFile(t *testing.T) {
	t.Parallel()
	network := carrier.New(carrier.Config{})
	port := modemPTY(t, modemsim.EC25(), network.DataFunc())
	text := fmt.Sprintf("[egress]\nsocks = \"127.0.0.1:0\"\ncontrol = %q\n\n[[link]]\nifname = \"pp0\"\nport = %q\nguard = \"100ms\"\n",
		filepath.Join(shortDir(t), "pppdial.sock"), port)
	conf := writeConfig(t, t.TempDir(), text)
	p := start(t, nil, "up", "-c", conf, "--json")
	ev := newEventLog(p)
	ev.wait(t, 0, 30*time.Second, "pp0 up", is("up", "pp0"))
	i := ev.wait(t, 0, 10*time.Second, "the socks event", is("socks", "*"))
	proxy, _ := ev.all[i]["addr"].(string)

	mark := ev.drain()
	require.NoError(t, os.WriteFile(conf, []byte(text+"speed = 9600\n"), 0o644))
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGHUP))
	want := conf + `:9: link "pp0": key "speed": unknown key`
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(p.stderr.String(), want) && len(ev.since(mark, func(e map[string]any) bool {
		return strings.Contains(fmt.Sprint(e["error"]), want)
	})) == 0 {
		require.True(t, time.Now().Before(deadline), "no %q on stderr or in an event; stderr:\n%s\nevents:\n%s", want, p.stderr.String(), ev.dump(mark))
		time.Sleep(100 * time.Millisecond) // real time: the process's output
		ev.drain()
	}
	body, bound, err := fetchVia(within(t, 30*time.Second), proxy, carrier.DefaultHost, "/")
	require.NoError(t, err, "the link still carries connections")
	assert.Equal(t, string(carrier.DefaultPage), string(body))
	assert.Equal(t, "10.64.64.2", bound.String())
	ev.drain()
	assert.Empty(t, ev.since(mark, is("down", "*")), "nothing was hung up: %s", ev.dump(mark))
	assert.Empty(t, ev.since(mark, is("redial", "*")))
	stopAndCheckQuick(t, p)
}

// simModem serves an emulated modem on a pty and returns the modem (for its commands) and path.
func simModem(t *testing.T, p modemsim.Profile, data modemsim.DataFunc) (*modemsim.Modem, string) {
	t.Helper()
	p.GuardTime = 100 * time.Millisecond
	m := modemsim.New(p, data)
	pty, err := modemsim.ServePTY(t.Context(), m)
	require.NoError(t, err)
	t.Cleanup(func() { _ = pty.Close() })
	return m, pty.Path
}

// TestUpReloadRedialsOnlyTheChangedLink is the SIGHUP acceptance on emulated modems (fast, no
// VM; TestCLIInteropGroup does it against pppd-vm): pp1's APN changed in the file, SIGHUP: pp1
// goes down and comes up again with AT+CGDCONT of the new APN; pp0 is not touched (no down, its
// modem not dialed again) and its open echo connection carries on.
func TestUpReloadRedialsOnlyTheChangedLink(t *testing.T) {
	t.Parallel()
	netA := carrier.New(carrier.Config{})
	netB := carrier.New(carrier.Config{Local: netip.MustParseAddr("10.64.65.1"), Peer: netip.MustParseAddr("10.64.65.2")})
	m0, port0 := simModem(t, modemsim.EC25(), netA.DataFunc())
	m1, port1 := simModem(t, modemsim.SIM7600(), netB.DataFunc())
	file := func(apn1 string) string {
		return fmt.Sprintf(`[egress]
socks = "127.0.0.1:0"
control = %q
egress = ["pp0", "pp1"]

[[link]]
ifname = "pp0"
port = %q
apn = "internet"
guard = "100ms"

[[link]]
ifname = "pp1"
port = %q
apn = %q
persist = true
holdoff = "200ms"
guard = "100ms"
`, filepath.Join(shortDir(t), "pppdial.sock"), port0, port1, apn1)
	}
	conf := writeConfig(t, t.TempDir(), file("internet"))
	p := start(t, nil, "up", "-c", conf, "--json")
	ev := newEventLog(p)
	ev.wait(t, 0, 30*time.Second, "pp0 up", is("up", "pp0"))
	ev.wait(t, 0, 30*time.Second, "pp1 up", is("up", "pp1"))
	ev.wait(t, 0, 10*time.Second, "a route event to pp0", is("route", "pp0"))
	i := ev.wait(t, 0, 10*time.Second, "the socks event", is("socks", "*"))
	proxy, _ := ev.all[i]["addr"].(string)
	require.Contains(t, m1.Commands(), `AT+CGDCONT=1,"IP","internet"`)

	echo, bound, err := viaSOCKS(within(t, 30*time.Second), proxy, "10.64.64.1:7")
	require.NoError(t, err)
	defer echo.Close()
	assert.Equal(t, "10.64.64.2", bound.String(), "the echo connection is on pp0")
	require.NoError(t, echoRoundTrip(echo, 64<<10, 30*time.Second))
	dials0 := m0.Stats().Dials
	mark := ev.drain()

	require.NoError(t, os.WriteFile(conf, []byte(file("internet2")), 0o644))
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGHUP))
	rl := ev.wait(t, mark, 10*time.Second, "the reload event", is("reload", "*"))
	assert.Regexp(t, `(^|; )changed[^;]*\bpp1\b`, ev.all[rl]["detail"], "the reload says pp1 changed: %v", ev.all[rl])
	assert.Empty(t, ev.all[rl]["error"])
	down := ev.wait(t, mark, 10*time.Second, "pp1 down", is("down", "pp1"))
	ev.wait(t, down, 30*time.Second, "pp1 up again", is("up", "pp1"))
	assert.Contains(t, m1.Commands(), `AT+CGDCONT=1,"IP","internet2"`, "pp1 dialed with the new APN")

	require.NoError(t, echoRoundTrip(echo, 64<<10, 30*time.Second), "pp0's connection after the reload")
	ev.drain()
	assert.Empty(t, ev.since(mark, is("down", "pp0")), "pp0 did not go down: %s", ev.dump(mark))
	assert.Equal(t, dials0, m0.Stats().Dials, "pp0's modem was not dialed again")
	assert.NotContains(t, m0.Commands(), `AT+CGDCONT=1,"IP","internet2"`)
	stopAndCheckQuick(t, p)
}

// TestUpFailoverEmulated is TestCLIInteropGroup's failover and return on emulated modems, fast
// and without a VM: pp0's modem (behind a by-id name) is unplugged, new connections move to pp1
// with a route event; a new modem is plugged in: pp0 comes up, new connections stay on pp1 until
// pp0 has been healthy for recover-after (real time: the hysteresis is what is tested, 3 s
// here), then a route event moves them back; an echo connection opened over pp1 before the
// return still carries data after it.
func TestUpFailoverEmulated(t *testing.T) {
	t.Parallel()
	const recoverAfter = 3 * time.Second
	netA := carrier.New(carrier.Config{})
	netB := carrier.New(carrier.Config{Local: netip.MustParseAddr("10.64.65.1"), Peer: netip.MustParseAddr("10.64.65.2")})
	pp0 := netip.MustParseAddr("10.64.64.2")
	pp1 := netip.MustParseAddr("10.64.65.2")
	profile := modemsim.EC25()
	profile.GuardTime = 100 * time.Millisecond
	modemA, err := modemsim.ServePTY(t.Context(), modemsim.New(profile, netA.DataFunc()))
	require.NoError(t, err)
	t.Cleanup(func() { _ = modemA.Close() })
	_, portB := simModem(t, modemsim.SIM7600(), netB.DataFunc())
	byID := peers.NewByID(t, "usb-Quectel_EC25-if02-port0")
	require.NoError(t, byID.Point(modemA.Path))
	conf := pairConfig(t, byID.Path, portB, recoverAfter)

	p := start(t, nil, "up", "-c", conf, "--json")
	ev := newEventLog(p)
	ev.wait(t, 0, 30*time.Second, "pp0 up", is("up", "pp0"))
	ev.wait(t, 0, 30*time.Second, "pp1 up", is("up", "pp1"))
	ev.wait(t, 0, 10*time.Second, "a route event to pp0", is("route", "pp0"))
	i := ev.wait(t, 0, 10*time.Second, "the socks event", is("socks", "*"))
	proxy, _ := ev.all[i]["addr"].(string)
	fetch := func(via netip.Addr, why string) {
		t.Helper()
		body, bound, err := fetchVia(within(t, 30*time.Second), proxy, carrier.DefaultHost, "/")
		require.NoError(t, err, why)
		assert.Equal(t, string(carrier.DefaultPage), string(body), why)
		assert.Equal(t, via, bound, why)
	}
	fetch(pp0, "both up: pp0, first in the egress")

	// Unplugged: the by-id name goes, then the modem.
	mark := ev.drain()
	require.NoError(t, byID.Remove())
	require.NoError(t, modemA.Close())
	r := ev.wait(t, mark, 5*time.Second, "a route event to pp1", is("route", "pp1"))
	assert.Equal(t, "pp0", ev.all[r]["from"])
	fetch(pp1, "pp0's modem gone: pp1")

	// Plugged in again (a new pty): pp0 comes up, but new connections wait for recover-after.
	mark = ev.drain()
	_, portA2 := simModem(t, modemsim.EC25(), netA.DataFunc())
	require.NoError(t, byID.Point(portA2))
	up := ev.wait(t, mark, 30*time.Second, "pp0 up again", is("up", "pp0"))
	upAt := eventTime(t, ev.all[up])
	echo, bound, err := viaSOCKS(within(t, 30*time.Second), proxy, "10.64.65.1:7")
	require.NoError(t, err)
	defer echo.Close()
	assert.Equal(t, pp1, bound, "the echo connection goes over pp1")
	require.NoError(t, echoRoundTrip(echo, 32<<10, 10*time.Second))
	fetch(pp1, "pp0 up but not yet healthy for recover-after: pp1")
	require.Less(t, time.Since(upAt), recoverAfter, "the fetch came within recover-after")

	r = ev.wait(t, up, recoverAfter+10*time.Second, "a route event back to pp0", is("route", "pp0"))
	assert.Equal(t, "pp1", ev.all[r]["from"])
	waited := eventTime(t, ev.all[r]).Sub(upAt)
	assert.GreaterOrEqual(t, waited, recoverAfter-200*time.Millisecond, "not before recover-after")
	assert.Less(t, waited, recoverAfter+5*time.Second)
	fetch(pp0, "after recover-after: pp0")
	require.NoError(t, echoRoundTrip(echo, 32<<10, 10*time.Second), "the connection over pp1 after the return")
	ev.drain()
	assert.Empty(t, ev.since(0, is("down", "pp1")), "pp1 never went down")
	stopAndCheckQuick(t, p)
}

// pairConfig writes the file of two links on emulated modems: pp0 on port0, persistent with a
// short back-off, preferred over pp1 on port1; recover-after as given (0: the default).
func pairConfig(t *testing.T, port0, port1 string, recoverAfter time.Duration) string {
	t.Helper()
	ra := ""
	if recoverAfter > 0 {
		ra = fmt.Sprintf("recover-after = %q\n", recoverAfter.String())
	}
	return writeConfig(t, t.TempDir(), fmt.Sprintf(`[egress]
socks = "127.0.0.1:0"
control = %q
egress = ["pp0", "pp1"]
%s
[[link]]
ifname = "pp0"
port = %q
persist = true
holdoff = "200ms"
max-backoff = "500ms"
guard = "100ms"

[[link]]
ifname = "pp1"
port = %q
guard = "100ms"
`, filepath.Join(shortDir(t), "pppdial.sock"), ra, port0, port1))
}
