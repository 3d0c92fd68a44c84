package main

import (
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pppdial/pppdial/internal/peers"
	"github.com/pppdial/pppdial/modemsim"
	"github.com/pppdial/pppdial/modemsim/carrier"
)

// nextEventWhere returns the next event for which match holds, failing on timeout or exit; the
// events before it are returned too, in order.
func nextEventWhere(p *proc, within time.Duration, what string, match func(map[string]any) bool) (map[string]any, []map[string]any) {
	p.t.Helper()
	var seen []map[string]any
	deadline := time.After(within)
	for {
		select {
		case e, ok := <-p.events:
			if !ok {
				p.t.Fatalf("pppdial exited (%v) before %s; events %v; stderr:\n%s", p.err, what, seen, p.stderr.String())
			}
			if match(e) {
				return e, seen
			}
			seen = append(seen, e)
		case <-deadline:
			p.t.Fatalf("no %s within %v; events %v; stderr:\n%s", what, within, seen, p.stderr.String())
		}
	}
}

// TestUpTunDefaultRouteFollowsTheActiveMember: two links as TUN devices pp0 and pp1 (in a
// network namespace the test creates): the IPv4 default route and the --resolv-conf file are the
// active member's; a redial of pp0 moves both to pp1, and they come back to pp0 after
// --recover-after. Each TUN device has its link's address.
func TestUpTunDefaultRouteFollowsTheActiveMember(t *testing.T) {
	requireRoot(t)
	ip := peers.Tool(t, "ip")
	ns := netns(t, ip)
	inNS := []string{ip, "netns", "exec", ns}

	netA := carrier.New(carrier.Config{})
	netB := carrier.New(carrier.Config{Local: netip.MustParseAddr("10.64.65.1"), Peer: netip.MustParseAddr("10.64.65.2")})
	pp0 := modemPTY(t, modemsim.EC25(), netA.DataFunc())
	pp1 := modemPTY(t, modemsim.EC25(), netB.DataFunc())
	dir, err := os.MkdirTemp("", "uptun") // short: the control socket's path
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock, resolv := filepath.Join(dir, "pppdial.sock"), filepath.Join(dir, "resolv.conf")
	conf := writeConfig(t, dir, fmt.Sprintf(`[egress]
tun = true
defaultroute = true
resolv-conf = %q
control = %q
recover-after = "2s"

[[link]]
ifname = "pp0"
port = %q
persist = true
holdoff = "200ms"
guard = "100ms"

[[link]]
ifname = "pp1"
port = %q
persist = true
guard = "100ms"
`, resolv, sock, pp0, pp1))

	p := start(t, inNS, "up", "-c", conf, "--json")
	show := func(args ...string) string {
		out, err := exec.Command(ip, append([]string{"-n", ns}, args...)...).CombinedOutput()
		require.NoError(t, err, "ip %v: %s", args, out)
		return string(out)
	}
	ups := map[string]bool{}
	isUp := func(e map[string]any) bool {
		if e["event"] == "up" {
			ups[fmt.Sprint(e["ifname"])] = true
		}
		return ups["pp0"] && ups["pp1"]
	}
	nextEventWhere(p, 60*time.Second, "both links up", isUp)
	assert.Contains(t, show("addr", "show", "dev", "pp0"), "inet 10.64.64.2 peer 10.64.64.1/32")
	assert.Contains(t, show("addr", "show", "dev", "pp1"), "inet 10.64.65.2 peer 10.64.65.1/32")
	routeTo := func(ifname string) func(map[string]any) bool {
		return func(e map[string]any) bool { return e["event"] == "route" && e["ifname"] == ifname }
	}
	// pp0 is preferred: new connections are on it once it is up (at once, or after pp1 first).
	if show("route", "show", "default") == "" || !strings.Contains(show("route", "show", "default"), "dev pp0") {
		nextEventWhere(p, 10*time.Second, "a route event to pp0", routeTo("pp0"))
	}
	defaults := show("route", "show", "default")
	assert.Contains(t, defaults, "dev pp0")
	assert.NotContains(t, defaults, "dev pp1", "one default route: the active member's")
	data, err := os.ReadFile(resolv)
	require.NoError(t, err)
	assert.Contains(t, string(data), "nameserver 10.64.64.1\n")

	code, out, stderr := runToEnd(t, 20*time.Second, "redial", "--control", sock, "pp0")
	require.Equal(t, exitOK, code, "%s%s", out, stderr)
	r, _ := nextEventWhere(p, 10*time.Second, "a route event to pp1", routeTo("pp1"))
	assert.Equal(t, "pp0", r["from"])
	defaults = show("route", "show", "default")
	assert.Contains(t, defaults, "dev pp1")
	assert.NotContains(t, defaults, "dev pp0")
	data, err = os.ReadFile(resolv)
	require.NoError(t, err)
	assert.Contains(t, string(data), "nameserver 10.64.65.1\n", "resolv.conf holds pp1's DNS now")

	back, _ := nextEventWhere(p, 30*time.Second, "the route back to pp0", routeTo("pp0"))
	assert.Contains(t, back["detail"], "healthy for 2s")
	defaults = show("route", "show", "default")
	assert.Contains(t, defaults, "dev pp0")
	assert.NotContains(t, defaults, "dev pp1")
	data, err = os.ReadFile(resolv)
	require.NoError(t, err)
	assert.Contains(t, string(data), "nameserver 10.64.64.1\n")

	code, _ = p.interrupt()
	assert.Equal(t, exitOK, code)
	links := show("link", "show")
	assert.NotContains(t, links, "pp0")
	assert.NotContains(t, links, "pp1")
}
