//go:build linux

package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pppdial/pppdial/internal/peers"
	"github.com/pppdial/pppdial/internal/socksclient"
)

// The two links' addresses: VM A's pppd hands out its default, VM B's is told another, so that
// the address a connection leaves from says which link carries it.
var (
	addrPP0 = netip.MustParseAddr("10.0.0.2")
	addrPP1 = netip.MustParseAddr("10.0.0.3")
)

// groupConfig is the file of TestCLIInteropGroup: pp0 on a stable by-id name (persist, short
// holdoff, a tcp probe every second), pp1 on VM B's pty with the given APN.
func groupConfig(ctl, pp0Port, pp1Port, pp1APN string, recoverAfter time.Duration) string {
	return fmt.Sprintf(`# two pppd-vm modems side by side (TestCLIInteropGroup)
[egress]
socks = "127.0.0.1:0"
control = %q
egress = ["pp0", "pp1"]
recover-after = %q

[[link]]
ifname = "pp0"
port = %q
apn = "internet"
persist = true
holdoff = "1s"
max-backoff = "2s"
guard = "100ms"
probe = "tcp:10.0.0.1:80"
probe-interval = "1s"
lcp-echo-interval = "1s"

[[link]]
ifname = "pp1"
port = %q
apn = %q
persist = true
holdoff = "1s"
max-backoff = "2s"
guard = "100ms"
lcp-echo-interval = "1s"
`, ctl, recoverAfter.String(), pp0Port, pp1Port, pp1APN)
}

// TestCLIInteropGroup is issue 14's acceptance through the binary, against two pppd-vm modems
// (VM A for pp0 behind a stable by-id name, VM B for pp1, which hands out 10.0.0.3), in one
// `pppdial up -c FILE` process and in the order a gateway lives it:
//  1. both links come up; a fetch through SOCKS goes over pp0;
//  2. VM A is stopped: within the detection time a route event moves new connections to pp1,
//     and fetches succeed over pp1;
//  3. VM A is started again (a new pty; the by-id name pointed at it): pp0 comes up, but new
//     connections stay on pp1 until pp0 has been healthy for recover-after; then a route event
//     moves them back; a big.bin transfer over pp1 running at that moment completes intact, and
//     an echo connection opened over pp1 before the return still works after it;
//  4. SIGHUP with pp1's APN changed: pp1 redials with the new APN (VM B's modem hears it in
//     AT+CGDCONT); pp0 is not touched: no down event, no new dial, its open echo connection
//     carries on.
//
// Then SIGINT ends the process within 5 s.
func TestCLIInteropGroup(t *testing.T) {
	const recoverAfter = 20 * time.Second
	// The link's loss is seen at once (the pty of a stopped VM fails its reads), at the latest
	// by the probe (3 failures a second apart); the rest is a margin for a loaded machine.
	const detection = 3*time.Second + 7*time.Second

	vms := peers.PPPDVMs(t, []string{peers.OptModem}, []string{peers.OptModem, "10.0.0.1:" + addrPP1.String()})
	vmA, vmB := vms[0], vms[1]
	for _, vm := range vms {
		_ = vm.Port.Close() // the binary opens the modems itself
	}
	want, err := vmA.BigSHA256()
	require.NoError(t, err)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("VM B console.log tail:\n%s", lastLines(vmB.ConsoleLog(), 40))
		}
	})

	byID := peers.NewByID(t, "usb-pppd-vm_Modem_A-if00-port0")
	require.NoError(t, byID.Point(vmA.PTY))
	// A short path for the control socket: sun_path holds 108 bytes.
	ctlDir, err := os.MkdirTemp("", "grp")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(ctlDir) })
	ctl := filepath.Join(ctlDir, "pppdial.sock")
	conf := writeConfig(t, t.TempDir(), groupConfig(ctl, byID.Path, vmB.PTY, "internet", recoverAfter))

	ctx, cancel := context.WithTimeout(context.Background(), 12*time.Minute)
	defer cancel()
	p := start(t, nil, "up", "-c", conf, "--json")
	ev := newEventLog(p)

	var socksAddr string
	// proxy is the SOCKS address the process reported once it serves.
	proxy := func(t *testing.T) string {
		t.Helper()
		if socksAddr == "" {
			i := ev.wait(t, 0, 30*time.Second, "the socks event", is("socks", "*"))
			socksAddr, _ = ev.all[i]["addr"].(string)
			require.NotEmpty(t, socksAddr, "socks event: %v", ev.all[i])
		}
		return socksAddr
	}
	// open opens a connection to addr through the SOCKS server (within a minute) and returns it
	// with the address of the link that carries it; it is closed when t ends.
	open := func(t *testing.T, addr string) (*socksclient.Conn, netip.Addr) {
		t.Helper()
		octx, ocancel := context.WithTimeout(ctx, 60*time.Second)
		defer ocancel()
		c, bound, err := viaSOCKS(octx, proxy(t), addr)
		require.NoError(t, err, "SOCKS connection to %s", addr)
		t.Cleanup(func() { _ = c.Close() })
		return c, bound
	}
	// fetch fetches index.html and fails t unless it came over the link with address via.
	fetch := func(t *testing.T, via netip.Addr, why string) {
		t.Helper()
		fctx, fcancel := context.WithTimeout(ctx, 60*time.Second)
		defer fcancel()
		body, bound, err := fetchVia(fctx, proxy(t), "peer.test", "/index.html")
		require.NoError(t, err, why)
		assert.Equal(t, "hello from pppd\n", string(body), why)
		assert.Equal(t, via, bound, why)
	}

	ok := t.Run("both up, fetch over pp0", func(t *testing.T) {
		begin := time.Now()
		up0 := ev.wait(t, 0, 3*time.Minute, "pp0 up", is("up", "pp0"))
		up1 := ev.wait(t, 0, 3*time.Minute, "pp1 up", is("up", "pp1"))
		t.Logf("pp0 up after %v, pp1 after %v", eventTime(t, ev.all[up0]).Sub(begin).Round(time.Millisecond),
			eventTime(t, ev.all[up1]).Sub(begin).Round(time.Millisecond))
		assert.Equal(t, addrPP0.String(), ev.all[up0]["local"])
		assert.Equal(t, addrPP1.String(), ev.all[up1]["local"])
		ev.wait(t, 0, 10*time.Second, "a route event to pp0", is("route", "pp0"))
		ev.drain()
		routes := ev.since(0, is("route", "*"))
		assert.Empty(t, routes[0]["from"], "the first choice comes from nowhere: %v", routes[0])
		assert.Equal(t, "pp0", routes[len(routes)-1]["ifname"], "pp0, first in the egress list, carries new connections: %v", routes)
		fetch(t, addrPP0, "a fetch with both links up goes over pp0")
		// As a user would, with curl; pp1 (no probe, no traffic of its own) carries none of it.
		before := linkStatus(t, ctl)
		body := curl(t, nil, 60*time.Second, "--socks5-hostname", proxy(t), "http://peer.test/index.html")
		assert.Equal(t, "hello from pppd\n", string(body))
		st := linkStatus(t, ctl)
		assert.Greater(t, st["pp0"].Counters.RxBytes, before["pp0"].Counters.RxBytes+uint64(len(body)), "curl's fetch came over pp0")
		assert.Equal(t, before["pp1"].Counters.RxBytes, st["pp1"].Counters.RxBytes, "and not over pp1")
		require.Len(t, st, 2, "status lists both links: %v", st)
		assert.True(t, st["pp0"].Up && st["pp1"].Up, "both up: %+v", st)
		assert.True(t, st["pp0"].Active, "pp0 carries new connections")
		assert.False(t, st["pp1"].Active)
		assert.Equal(t, byID.Path, st["pp0"].Port)
	})
	if !ok {
		return
	}

	ok = t.Run("VM A stopped: new connections move to pp1", func(t *testing.T) {
		mark := ev.drain()
		// Unplugged: the by-id name goes first (as udev removes it), so that pp0's redials cannot
		// open whatever takes over the old pty's number; pp0 still holds the port open.
		require.NoError(t, byID.Remove())
		stopped := time.Now()
		require.NoError(t, vmA.Unplug())
		r := ev.wait(t, mark, detection, "a route event to pp1", is("route", "pp1"))
		moved := time.Since(stopped)
		assert.Equal(t, "pp0", ev.all[r]["from"])
		assert.Contains(t, ev.all[r]["detail"], "pp0", "the detail says why: %v", ev.all[r])
		assert.NotEmpty(t, ev.since(mark, is("down", "pp0")), "pp0's down event: %s", ev.dump(mark))
		fetch(t, addrPP1, "with VM A gone, a new fetch goes over pp1")
		t.Logf("VM A stopped: route event after %v, a fetch over pp1 done %v after the stop",
			moved.Round(time.Millisecond), time.Since(stopped).Round(time.Millisecond))
		assert.Less(t, time.Since(stopped), detection, "new fetches succeed within the detection time")
		assert.Empty(t, ev.since(mark, is("down", "pp1")), "pp1 is not touched")
		st := linkStatus(t, ctl)
		assert.False(t, st["pp0"].Up, "pp0 is down: %+v", st["pp0"])
		assert.True(t, st["pp1"].Active, "pp1 carries new connections")
	})
	if !ok {
		return
	}

	// VM A is started again, in the slot it kept: on the test's own t, so that it runs until the
	// test ends.
	mark := ev.drain()
	vmA2 := peers.Restart(t, vmA)
	_ = vmA2.Port.Close()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("VM A (restarted) console.log tail:\n%s", lastLines(vmA2.ConsoleLog(), 40))
		}
	})
	ok = t.Run("VM A back: traffic returns to pp0 after recover-after", func(t *testing.T) {
		require.NoError(t, byID.Point(vmA2.PTY))
		pointed := time.Now()
		up := ev.wait(t, mark, 2*time.Minute, "pp0 up again", is("up", "pp0"))
		upAt := eventTime(t, ev.all[up])
		t.Logf("pp0 up %v after the by-id name pointed at the new VM", upAt.Sub(pointed).Round(time.Millisecond))
		assert.Equal(t, addrPP0.String(), ev.all[up]["local"])

		// An open connection over pp1, from before the return to after it.
		echo, bound := open(t, "10.0.0.1:7")
		assert.Equal(t, addrPP1, bound, "pp0 is up but has not been healthy for %v: the echo goes over pp1", recoverAfter)
		require.NoError(t, echoRoundTrip(echo, 16<<10, 60*time.Second))
		fetch(t, addrPP1, "before recover-after, new fetches stay on pp1")
		ev.drain()
		require.Empty(t, ev.since(mark, is("route", "pp0")), "no return before the fetch over pp1")
		require.Less(t, time.Since(upAt), recoverAfter-5*time.Second, "the fetch over pp1 came well within recover-after of pp0's up")

		// A bulk transfer over pp1 running when recover-after ends: big.bin (1 MiB, 6 to 13 s
		// over the emulated VM's line, by the machine's load) from 3 s before. Real time is what
		// is under test here.
		rx1 := linkStatus(t, ctl)["pp1"].Counters.RxBytes
		time.Sleep(time.Until(upAt.Add(recoverAfter - 3*time.Second)))
		bigBegin := time.Now()
		big, bound := open(t, "peer.test:80")
		assert.Equal(t, addrPP1, bound, "3 s before recover-after, big.bin goes over pp1")
		require.NoError(t, big.SetDeadline(time.Now().Add(3*time.Minute)))
		resp, err := httpGet(big, "peer.test", "/big.bin")
		require.NoError(t, err)
		defer resp.Body.Close()
		sum := sha256.New()
		n, err := io.Copy(sum, resp.Body)
		bigEnd := time.Now()
		require.NoError(t, err, "big.bin over pp1")
		assert.EqualValues(t, 1<<20, n)
		assert.Equal(t, want, hex.EncodeToString(sum.Sum(nil)), "big.bin, fetched over pp1 across the return, is intact")

		r := ev.wait(t, up, recoverAfter+30*time.Second, "a route event back to pp0", is("route", "pp0"))
		routeAt := eventTime(t, ev.all[r])
		waited := routeAt.Sub(upAt)
		t.Logf("route back to pp0 %v after pp0's up (recover-after %v): %v; big.bin over pp1 from %v to %v after pp0's up",
			waited.Round(time.Millisecond), recoverAfter, ev.all[r], bigBegin.Sub(upAt).Round(time.Millisecond), bigEnd.Sub(upAt).Round(time.Millisecond))
		assert.Equal(t, "pp1", ev.all[r]["from"])
		assert.GreaterOrEqual(t, waited, recoverAfter-500*time.Millisecond, "not before recover-after")
		assert.Less(t, waited, recoverAfter+15*time.Second)
		assert.True(t, bigBegin.Before(routeAt) && bigEnd.After(routeAt), "the transfer was running over pp1 when the route returned to pp0")
		fetch(t, addrPP0, "after recover-after, new fetches go over pp0 again")
		require.NoError(t, echoRoundTrip(echo, 16<<10, 60*time.Second), "the echo connection over pp1 after the return")
		st := linkStatus(t, ctl)
		assert.True(t, st["pp0"].Active, "pp0 carries new connections again")
		assert.GreaterOrEqual(t, st["pp1"].Counters.RxBytes-rx1, uint64(1<<20), "pp1's own counters carried big.bin")
		ev.drain()
		assert.Empty(t, ev.since(mark, is("down", "pp1")), "pp1 never went down")
	})
	if !ok {
		return
	}

	t.Run("SIGHUP with pp1's APN changed: pp1 redials, pp0 keeps its connections", func(t *testing.T) {
		newAPN := regexp.MustCompile(`MODEM\[main /dev/ttyS1\] <- AT\+CGDCONT=1,"IP","internet2"`)
		require.False(t, newAPN.MatchString(vmB.ConsoleLog()))
		dialsA := strings.Count(vmA2.ConsoleLog(), "<- ATD")
		mark := ev.drain()

		echo, bound := open(t, "10.0.0.1:7")
		assert.Equal(t, addrPP0, bound)
		require.NoError(t, echoRoundTrip(echo, 16<<10, 60*time.Second))

		require.NoError(t, os.WriteFile(conf, []byte(groupConfig(ctl, byID.Path, vmB.PTY, "internet2", recoverAfter)), 0o644))
		require.NoError(t, p.cmd.Process.Signal(syscall.SIGHUP))
		rl := ev.wait(t, mark, 10*time.Second, "the reload event", is("reload", "*"))
		assert.Regexp(t, `(^|; )changed[^;]*\bpp1\b`, ev.all[rl]["detail"], "the reload says pp1 changed: %v", ev.all[rl])
		assert.Empty(t, ev.all[rl]["error"])
		down := ev.wait(t, mark, 30*time.Second, "pp1 down", is("down", "pp1"))
		up := ev.wait(t, down, 2*time.Minute, "pp1 up again", is("up", "pp1"))
		assert.Equal(t, addrPP1.String(), ev.all[up]["local"])
		wctx, wcancel := context.WithTimeout(ctx, 10*time.Second) // pp1 is up: the line is logged
		defer wcancel()
		_, err = vmB.WaitConsoleMatch(wctx, newAPN)
		require.NoError(t, err, "VM B's modem is asked for the new APN")

		require.NoError(t, echoRoundTrip(echo, 16<<10, 60*time.Second), "pp0's echo connection after the reload")
		fetch(t, addrPP0, "pp0 still carries new connections")
		ev.drain()
		assert.Empty(t, ev.since(mark, is("down", "pp0")), "pp0 did not go down: %s", ev.dump(mark))
		assert.Empty(t, ev.since(mark, func(e map[string]any) bool { return is("route", "*")(e) && e["ifname"] != "pp0" }),
			"new connections never left pp0")
		assert.Equal(t, dialsA, strings.Count(vmA2.ConsoleLog(), "<- ATD"), "pp0's modem was not dialed again")
	})

	code, took := p.interrupt()
	t.Logf("SIGINT: exit %d after %v", code, took.Round(time.Millisecond))
	assert.Equal(t, 0, code)
	assert.Less(t, took, 5*time.Second, "every link hung up within 5 s")
}
