package main

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pppdial/pppdial/internal/config"
)

// upArgsOf parses up's command line as cmdUp does.
func upArgsOf(t *testing.T, args ...string) upArgs {
	t.Helper()
	u, code := parseUpArgs(args, io.Discard)
	require.Equal(t, -1, code, "%v", args)
	return u
}

// planOf loads a file written in dir into a plan, prev being the plan running (nil: start).
func planOf(t *testing.T, u upArgs, prev *upPlan) (*upPlan, error) {
	t.Helper()
	return loadPlan(u, prev, io.Discard)
}

const twoModems = `[egress]
socks = "127.0.0.1:1080"
v = true
egress = ["pp1", "pp0", "wlan0"]
egress-probe = ["wlan0=tcp:192.0.2.1:443"]
recover-after = "1m"

[[link]]
ifname = "pp0"
port = "/dev/ttyUSB2"
apn = "internet"
persist = true

[[link]]
port = "/dev/ttyAMA0"
apn = "web"
lcp-echo-interval = "5s"
`

// A plan takes each link's keys from its [[link]], the process's from [egress], and the egress
// flags of the command line over the file's: a list given there replaces the file's.
func TestUpPlanResolvesTheFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := writeConfig(t, dir, twoModems)
	p, err := planOf(t, upArgsOf(t, "-c", path), nil)
	require.NoError(t, err)
	require.Len(t, p.links, 2)
	pp0, pp1 := p.links[0], p.links[1]
	assert.Equal(t, "pp0", pp0.ifname)
	assert.Equal(t, "pp1", pp1.ifname, "a link without ifname gets the lowest one free")
	assert.Equal(t, "pp1", pp1.o.ifname)
	assert.Equal(t, "internet", pp0.o.apn)
	assert.True(t, pp0.o.persist)
	assert.Equal(t, "web", pp1.o.apn)
	assert.False(t, pp1.o.persist)
	assert.Equal(t, 5*time.Second, pp1.o.echoInterval)
	assert.Equal(t, 10*time.Second, pp0.o.echoInterval, "the flag's default")
	assert.True(t, pp1.o.verbose, "an [egress] setting reaches every link")
	assert.Equal(t, []string{"pp1", "pp0", "wlan0"}, p.members)
	assert.Equal(t, time.Minute, p.egress.egress.recoverAfter)
	assert.Equal(t, "127.0.0.1:1080", p.egress.socks.addr)
	assert.False(t, p.egress.jsonOut)

	p, err = planOf(t, upArgsOf(t, "-c", path, "--json", "--egress", "pp0", "--egress", "eth0,pp1",
		"--egress-probe", "eth0=icmp:192.0.2.7"), nil)
	require.NoError(t, err)
	assert.True(t, p.egress.jsonOut)
	assert.Equal(t, []string{"pp0", "eth0", "pp1"}, p.members, "the command line's list replaces the file's")
	assert.Equal(t, "eth0=icmp:192.0.2.7", p.egress.egress.probes.String(), "and its probes the file's")
	assert.Equal(t, time.Minute, p.egress.egress.recoverAfter, "what the command line leaves is the file's")

	// Without --egress the links are the egress, in file order.
	path = writeConfig(t, t.TempDir(), "[[link]]\nport = \"/dev/ttyUSB0\"\n\n[[link]]\nport = \"/dev/ttyUSB1\"\nifname = \"pp0\"\n")
	p, err = planOf(t, upArgsOf(t, "-c", path), nil)
	require.NoError(t, err)
	assert.Equal(t, []string{"pp1", "pp0"}, p.members)
}

// What dial refuses, up refuses in a link, with the file's line; an egress member named like a
// link that the file does not have is refused too.
func TestUpPlanRefuses(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		file, want string
	}{
		{"[[link]]\nport = \"/dev/ttyUSB0\"\n\n[[link]]\nport = \"/dev/ttyUSB1\"\nreset-gpio = \"gpiochip0:17\"\n",
			`:4: link #2: --reset-gpio, --power-gpio and --usb-reset are recovery steps: they need --persist`},
		{"[egress]\ntun = true\nsocks = \"127.0.0.1:1080\"\n\n[[link]]\nport = \"/dev/ttyUSB0\"\n",
			`:5: link #1: --tun and --socks are exclusive`},
		{"[egress]\negress = [\"pp0\", \"pp3\"]\n\n[[link]]\nport = \"/dev/ttyUSB0\"\n",
			`:1: [egress]: --egress pp0,pp3: no [[link]] has ifname pp3`},
		{"[egress]\nready-on = \"later\"\n\n[[link]]\nport = \"/dev/ttyUSB0\"\n",
			`:1: [egress]: --ready-on "later": want start or up`},
		{"[egress]\negress-probe = [\"pp0=tcp:192.0.2.1:80\"]\n\n[[link]]\nport = \"/dev/ttyUSB0\"\n",
			`:1: [egress]: --egress-probe pp0=tcp:192.0.2.1:80: pp0 is a link: its probe is its [[link]]'s probe key`},
		{"[egress]\negress-probe = [\"wlan0=tcp:192.0.2.1:80\"]\n\n[[link]]\nport = \"/dev/ttyUSB0\"\n",
			`:1: [egress]: --egress-probe wlan0=tcp:192.0.2.1:80: wlan0 is not in the egress (pp0)`},
	} {
		path := writeConfig(t, t.TempDir(), tt.file)
		_, err := planOf(t, upArgsOf(t, "-c", path), nil)
		require.Error(t, err, tt.file)
		assert.Contains(t, err.Error(), path+tt.want)
		// pppdial check refuses what up refuses, with the same words.
		code, stdout, stderr := runToEnd(t, 30*time.Second, "check", "-c", path)
		assert.Equal(t, exitUsage, code, stderr)
		assert.Empty(t, stdout)
		assert.Contains(t, stderr, path+tt.want)
	}
}

func TestAssignIfnames(t *testing.T) {
	t.Parallel()
	link := func(ifname, port string) *config.Link { return &config.Link{Ifname: ifname, Port: port} }
	links := []*config.Link{link("", "/dev/a"), link("pp0", "/dev/b"), link("", "/dev/c"), link("pp2", "/dev/d")}
	assert.Equal(t, []string{"pp1", "pp0", "pp3", "pp2"}, assignIfnames(links, nil))
	// A reload keeps a link on the name it had, even when a lower one is free now.
	before := map[string]string{"port /dev/c": "pp1", "port /dev/a": "pp5"}
	links = []*config.Link{link("", "/dev/a"), link("", "/dev/c"), link("", "/dev/e")}
	assert.Equal(t, []string{"pp5", "pp1", "pp0"}, assignIfnames(links, before))
	// A name now taken by an explicit ifname is given up.
	links = []*config.Link{link("pp1", "/dev/x"), link("", "/dev/c")}
	assert.Equal(t, []string{"pp1", "pp0"}, assignIfnames(links, before))
}

// reloadActions over two versions of a file: the unchanged link is untouched, the changed one
// removed and added, the removed one hung up, the new one dialed; egress changes are applied
// live, other [egress] changes wait for a restart.
func TestReloadActions(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	u := upArgsOf(t, "-c", filepath.Join(dir, "pppdial.toml"), "--json")
	old := `[egress]
socks = "127.0.0.1:1080"

[[link]]
ifname = "pp0"
port = "/dev/ttyUSB0"
apn = "internet"

[[link]]
ifname = "pp1"
port = "/dev/ttyUSB1"
apn = "web"

[[link]]
port = "/dev/ttyUSB2"
`
	writeConfig(t, dir, old)
	before, err := planOf(t, u, nil)
	require.NoError(t, err)
	assert.Equal(t, "pp2", before.links[2].ifname)

	// Nothing changed (a key spelling out a default is no change).
	writeConfig(t, dir, strings.Replace(old, `apn = "web"`, "apn = \"web\"\nbaud = 115200", 1))
	same, err := planOf(t, u, before)
	require.NoError(t, err)
	a := reloadActions(before, same)
	assert.Empty(t, a.remove)
	assert.Empty(t, a.add)
	assert.False(t, a.egress)
	assert.Equal(t, []string{"pp0", "pp1", "pp2"}, a.unchanged)
	assert.Equal(t, "unchanged: pp0,pp1,pp2", a.String())

	// pp1's APN changed, pp0 removed, a new link on ttyUSB3, the egress list, and the SOCKS
	// address (a restart).
	writeConfig(t, dir, `[egress]
socks = "127.0.0.1:1081"
egress = ["pp1", "pp2", "pp0"]

[[link]]
ifname = "pp1"
port = "/dev/ttyUSB1"
apn = "web2"

[[link]]
port = "/dev/ttyUSB2"

[[link]]
port = "/dev/ttyUSB3"
`)
	after, err := planOf(t, u, before)
	require.NoError(t, err)
	a = reloadActions(before, after)
	assert.Equal(t, []string{"pp0", "pp1"}, a.remove, "the removed link, then the changed one")
	require.Len(t, a.add, 2)
	assert.Equal(t, "pp1", a.add[0].ifname)
	assert.Equal(t, "web2", a.add[0].o.apn)
	assert.Equal(t, "pp0", a.add[1].ifname, "the new link takes the lowest name free")
	assert.Equal(t, []string{"pp2"}, a.unchanged, "the link without ifname kept its name")
	assert.True(t, a.egress)
	assert.Equal(t, []string{"socks"}, a.restart)
	assert.Equal(t, "changed (redialed): pp1; added: pp0; removed (hung up): pp0; unchanged: pp2; egress updated; "+
		"[egress] changed, applied at the next start: socks", a.String())
	assert.Equal(t, []string{"pp1", "pp2", "pp0"}, after.members)

	// Only --recover-after: applied live, no link touched.
	writeConfig(t, dir, old+"\n")
	base, err := planOf(t, u, nil)
	require.NoError(t, err)
	writeConfig(t, dir, strings.Replace(old, "[egress]\n", "[egress]\nrecover-after = \"2m\"\n", 1))
	next, err := planOf(t, u, base)
	require.NoError(t, err)
	a = reloadActions(base, next)
	assert.True(t, a.egress)
	assert.Empty(t, a.add)
	assert.Empty(t, a.remove)
	assert.Empty(t, a.restart)
}

// A reload of a file with an error is refused with the line and the reason: loadPlan returns
// no plan, so the running one stays.
func TestReloadInvalidFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := writeConfig(t, dir, "[[link]]\nifname = \"pp0\"\nport = \"/dev/ttyUSB0\"\n")
	u := upArgsOf(t, "-c", path)
	before, err := planOf(t, u, nil)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path, []byte("[[link]]\nifname = \"pp0\"\nport = \"/dev/ttyUSB0\"\napn = 5\n"), 0o644))
	p, err := planOf(t, u, before)
	require.Error(t, err)
	assert.Nil(t, p)
	assert.Contains(t, err.Error(), path+`:4: link "pp0": key "apn": want a string, not an integer`)
}

// The README shows testdata/gateway.toml verbatim, and it is a valid file for up: two links and
// the Wi-Fi in the egress.
func TestGatewayExample(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("testdata/gateway.toml")
	require.NoError(t, err)
	readme, err := os.ReadFile("../../README.md")
	require.NoError(t, err)
	assert.Contains(t, string(readme), "```toml\n"+string(data)+"```\n")

	dir := t.TempDir()
	for _, name := range []string{"pin.a", "pin.b"} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte("1234\n"), 0o600))
	}
	path := writeConfig(t, dir, strings.ReplaceAll(string(data), "/etc/pppdial/", "%DIR%/"))
	p, err := planOf(t, upArgsOf(t, "-c", path), nil)
	require.NoError(t, err)
	assert.Equal(t, []string{"pp0", "pp1", "wlan0"}, p.members)
	assert.Equal(t, "wlan0=tcp:192.0.2.1:443", p.egress.egress.probes.String())
	require.Len(t, p.links, 2)
	assert.Equal(t, "1234", p.links[1].o.pin)
	assert.Equal(t, "tcp:192.0.2.1:443", p.links[0].o.probe)

	code, stdout, stderr := runToEnd(t, 30*time.Second, "check", "-c", path)
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stdout, "valid: 2 link(s)")
}

// The usage text lists up, and up -h describes it; up without -c is a usage error.
func TestUpUsage(t *testing.T) {
	t.Parallel()
	var stdout, stderr strings.Builder
	assert.Equal(t, exitOK, run(t.Context(), []string{"help"}, &stdout, &stderr))
	assert.Contains(t, stdout.String(), "pppdial up -c FILE ")
	stdout.Reset()
	assert.Equal(t, exitOK, run(t.Context(), []string{"up", "-h"}, &stdout, &stderr))
	assert.Contains(t, stderr.String(), "Usage: pppdial up -c FILE [egress flags]")
	assert.Contains(t, stderr.String(), "-recover-after", "the egress flags are up's flags")
	assert.NotContains(t, stderr.String(), "\n  -apn ", "a link's settings come from the file only")
	stderr.Reset()
	assert.Equal(t, exitUsage, run(t.Context(), []string{"up"}, &stdout, &stderr))
	assert.Contains(t, stderr.String(), "want -c FILE")
	stderr.Reset()
	assert.Equal(t, exitUsage, run(t.Context(), []string{"up", "-c", "x.toml", "--apn", "internet"}, &stdout, &stderr))
	assert.Contains(t, stderr.String(), "flag provided but not defined: -apn")
}
