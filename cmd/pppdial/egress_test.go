package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pppdial/pppdial"
	"github.com/pppdial/pppdial/internal/config"
)

// The egress flags parse lists and probes, and refuse what would make a member that can never
// be healthy, each with its reason.
func TestEgressFlagValues(t *testing.T) {
	t.Parallel()
	var l egressList
	require.NoError(t, l.Set("pp0, pp1"))
	require.NoError(t, l.Set("wlan0"))
	assert.Equal(t, egressList{"pp0", "pp1", "wlan0"}, l)
	assert.Equal(t, "pp0,pp1,wlan0", l.String())
	for in, reason := range map[string]string{
		"pp0,,pp1":              "an empty interface name",
		"pp1":                   "pp1 is listed twice",
		"a-very-long-interface": "at most 15 characters",
		"eth0/1":                "not an interface name",
		"w=tcp":                 "not an interface name",
	} {
		l := egressList{"pp1"}
		err := l.Set(in)
		require.Error(t, err, in)
		assert.Contains(t, err.Error(), reason, in)
	}

	var p egressProbes
	require.NoError(t, p.Set("wlan0=tcp:192.0.2.1:443"))
	require.NoError(t, p.Set("eth0=icmp:192.0.2.2"))
	assert.Equal(t, "wlan0=tcp:192.0.2.1:443,eth0=icmp:192.0.2.2", p.String())
	o := egressOptions{probes: p}
	assert.Equal(t, map[string]pppdial.Probe{"wlan0": {Network: "tcp", Addr: "192.0.2.1:443"},
		"eth0": {Network: "icmp", Addr: "192.0.2.2"}}, o.probeMap())
	for in, reason := range map[string]string{
		"wlan0":                    "want NAME=tcp:ADDR:PORT or NAME=icmp:ADDR",
		"wwan1=udp:192.0.2.1:53":   "want tcp:ADDR:PORT or icmp:ADDR",
		"wwan1=tcp:example.com:80": `probe "tcp:example.com:80"`,
		"=tcp:192.0.2.1:443":       "an empty interface name",
		"eth0=icmp:192.0.2.9":      "eth0 has two probes",
	} {
		err := p.Set(in)
		require.Error(t, err, in)
		assert.Contains(t, err.Error(), reason, in)
	}

	o = egressOptions{members: egressList{"pp0", "pp1"}, probes: egressProbes{{name: "wlan0"}}, recoverAfter: time.Second}
	assert.ErrorContains(t, o.check(), "wlan0 is not in --egress pp0,pp1")
	o.probes = nil
	assert.NoError(t, o.check())
	o.recoverAfter = 0
	assert.ErrorContains(t, o.check(), "--recover-after 0s: want a positive duration")
}

// A bad egress flag on the command line is a usage error (exit 2) with its reason, before any
// port is opened; dial takes the flags too.
func TestEgressFlagUsageErrors(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		args   []string
		reason string
	}{
		{[]string{"dial", "--port", "/nonexistent", "--egress", "pp0,,pp1"}, "an empty interface name"},
		{[]string{"dial", "--port", "/nonexistent", "--egress-probe", "wlan0"}, "want NAME=tcp:ADDR:PORT"},
		{[]string{"dial", "--port", "/nonexistent", "--recover-after", "soon"}, "invalid value"},
		{[]string{"dial", "--port", "/nonexistent", "--recover-after", "-5s"}, "--recover-after -5s: want a positive duration"},
		{[]string{"dial", "--port", "/nonexistent", "--egress", "pp0", "--egress-probe", "wlan0=icmp:192.0.2.1"}, "wlan0 is not in --egress pp0"},
		{[]string{"up", "-c", "/nonexistent.toml", "--egress", "pp0,pp0"}, "pp0 is listed twice"},
	} {
		var stdout, stderr bytes.Buffer
		code := run(t.Context(), tt.args, &stdout, &stderr)
		assert.Equal(t, exitUsage, code, "%v: %s", tt.args, stderr.String())
		assert.Contains(t, stderr.String(), tt.reason, tt.args)
		assert.Empty(t, stdout.String(), tt.args)
	}
}

// The egress flags are [egress] keys; a probe for an interface the list leaves out is reported
// at its line, and the keys do not belong in a [[link]].
func TestEgressConfigKeys(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := writeConfig(t, dir, `[egress]
egress = ["pp0", "pp1", "wlan0"]
egress-probe = ["wlan0=tcp:192.0.2.1:443"]
recover-after = "45s"

[[link]]
ifname = "pp0"
port = "/dev/ttyUSB2"
`)
	f, err := config.Load(path, configSchema())
	require.NoError(t, err)
	eg := dialFlagSet(true)
	require.NoError(t, f.Egress.Apply(eg))
	assert.Equal(t, "pp0,pp1,wlan0", eg.Lookup("egress").Value.String())
	assert.Equal(t, "wlan0=tcp:192.0.2.1:443", eg.Lookup("egress-probe").Value.String())
	assert.Equal(t, "45s", eg.Lookup("recover-after").Value.String())

	for _, tt := range []struct {
		file, want string
	}{
		{"[egress]\negress = [\"pp0\"]\negress-probe = [\"wlan0=icmp:192.0.2.1\"]\n\n[[link]]\nport = \"/dev/ttyUSB0\"\n",
			`:3: [egress]: key "egress-probe": --egress-probe wlan0=icmp:192.0.2.1: wlan0 is not in --egress pp0`},
		{"[egress]\negress = [\"pp0\", \"pp0\"]\n\n[[link]]\nport = \"/dev/ttyUSB0\"\n",
			`:2: [egress]: key "egress": invalid value "pp0": pp0 is listed twice`},
		{"[egress]\nrecover-after = 30\n\n[[link]]\nport = \"/dev/ttyUSB0\"\n",
			`:2: [egress]: key "recover-after": want a duration as a string`},
		{"[[link]]\nport = \"/dev/ttyUSB0\"\negress = [\"pp0\"]\n",
			`:3: link #1: key "egress": unknown key here; it belongs in [egress]`},
	} {
		path := writeConfig(t, t.TempDir(), tt.file)
		_, err := config.Load(path, configSchema())
		require.Error(t, err, tt.file)
		assert.Contains(t, err.Error(), path+tt.want)
	}
}

// The route event's JSON: the member now carrying new connections, the one before and why;
// "ifname" left out when none is healthy. The human line says the same.
func TestRouteEventJSON(t *testing.T) {
	t.Parallel()
	var out, errOut bytes.Buffer
	r := newReporter(&out, &errOut, true)
	at := time.Date(2026, 12, 6, 3, 0, 0, 0, time.UTC)
	r.event(pppdial.Event{Kind: pppdial.EventRoute, Time: at, Ifname: "pp1", From: "pp0", Detail: "pp0 down: link lost"})
	r.event(pppdial.Event{Kind: pppdial.EventRoute, Time: at, From: "pp1", Detail: "pp1 probe failed 3 times"})
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	require.Len(t, lines, 2)
	assert.JSONEq(t, `{"time":"2026-12-06T03:00:00Z","event":"route","ifname":"pp1","from":"pp0","detail":"pp0 down: link lost"}`, lines[0])
	assert.JSONEq(t, `{"time":"2026-12-06T03:00:00Z","event":"route","from":"pp1","detail":"pp1 probe failed 3 times"}`, lines[1])
	assert.Contains(t, errOut.String(), "new connections over             pp1 instead of pp0: pp0 down: link lost\n")
	assert.Contains(t, errOut.String(), "(no healthy member) instead of pp1")

	// Other events carry no "from".
	out.Reset()
	r.event(pppdial.Event{Kind: pppdial.EventRedial, Ifname: "pp0", Attempt: 2, Delay: time.Second})
	var j map[string]any
	require.NoError(t, json.Unmarshal(out.Bytes(), &j))
	assert.NotContains(t, j, "from")
}

// With several links (up), each human line names its link, and a signal or probe line is
// printed when that link's reading changes, whatever the other link reported meanwhile.
func TestReporterTagsLinks(t *testing.T) {
	t.Parallel()
	var errOut bytes.Buffer
	r := newReporter(io.Discard, &errOut, false)
	r.tagIfname = true
	r.event(pppdial.Event{Kind: pppdial.EventDown, Ifname: "pp1", Err: errors.New("link lost")})
	assert.Equal(t, "pp1: link down: link lost\n", errOut.String())

	errOut.Reset()
	fail := errors.New("timeout")
	for _, e := range []pppdial.Event{
		{Kind: pppdial.EventProbe, Ifname: "pp0", Probe: "tcp"},
		{Kind: pppdial.EventProbe, Ifname: "pp1", Probe: "tcp", Err: fail},
		{Kind: pppdial.EventProbe, Ifname: "pp0", Probe: "tcp"},            // no change for pp0
		{Kind: pppdial.EventProbe, Ifname: "pp1", Probe: "tcp", Err: fail}, // nor for pp1
		{Kind: pppdial.EventProbe, Ifname: "pp1", Probe: "tcp"},
	} {
		r.event(e)
	}
	assert.Equal(t, "pp0: probe tcp                    0s  ok\npp1: probe tcp                        failed: timeout\n"+
		"pp1: probe tcp                    0s  ok\n", errOut.String())
}
