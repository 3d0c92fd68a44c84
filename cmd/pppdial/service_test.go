package main

import (
	"bytes"
	"flag"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pppdial/pppdial/internal/config"
	"github.com/pppdial/pppdial/internal/socksclient"
	"github.com/pppdial/pppdial/modemsim"
	"github.com/pppdial/pppdial/modemsim/carrier"
	usagepkg "github.com/pppdial/pppdial/usage"
)

func TestByteSize(t *testing.T) {
	for in, want := range map[string]uint64{
		"0": 0, "1500": 1500, "500M": 500e6, "2G": 2e9, "2GB": 2e9, "1GiB": 1 << 30, "10Ki": 10 << 10,
		"3k": 3000, "1T": 1e12, "1Ti": 1 << 40,
	} {
		var b byteSize
		require.NoError(t, b.Set(in), in)
		assert.Equal(t, want, uint64(b), in)
	}
	for _, bad := range []string{"", "x", "-1", "1.5G", "2X", "99999999999999999999", "20000000000Ti"} {
		var b byteSize
		assert.Error(t, b.Set(bad), bad)
	}
}

// The service flags have their config keys: the per-SIM ones in [[link]], the process's in
// [egress], with the flags' own parsers behind them.
func TestServiceConfigKeys(t *testing.T) {
	dir := t.TempDir()
	path := writeConfig(t, dir, `[egress]
metrics = "127.0.0.1:9469"
control = "/run/pppdial/gw.sock"
ready-on = "start"
watchdog-grace = "2m"

[[link]]
port = "/dev/ttyUSB2"
usage-interval = "30s"
billing-day = 15
quota = "2GiB"
quota-action = "stop"
`)
	f, err := config.Load(path, configSchema())
	require.NoError(t, err)
	fs := dialFlagSet(false)
	require.NoError(t, f.Links[0].Apply(fs))
	for name, want := range map[string]string{"usage-interval": "30s", "billing-day": "15",
		"quota": "2147483648", "quota-action": "stop"} {
		assert.Equal(t, want, fs.Lookup(name).Value.String(), name)
	}
	eg := dialFlagSet(true)
	require.NoError(t, f.Egress.Apply(eg))
	for name, want := range map[string]string{"metrics": "127.0.0.1:9469", "control": "/run/pppdial/gw.sock",
		"ready-on": "start", "watchdog-grace": (2 * time.Minute).String()} {
		assert.Equal(t, want, eg.Lookup(name).Value.String(), name)
	}

	bad := writeConfig(t, t.TempDir(), "[[link]]\nport = \"/dev/ttyUSB2\"\nquota = \"5X\"\n")
	_, err = config.Load(bad, configSchema())
	require.ErrorIs(t, err, config.ErrValue)
}

func TestServiceFlagChecks(t *testing.T) {
	valid := func() serviceOptions {
		var o serviceOptions
		fs := flag.NewFlagSet("x", flag.ContinueOnError)
		o.register(fs)
		return o
	}
	o := valid()
	require.NoError(t, o.check(), "the defaults")
	for name, change := range map[string]func(*serviceOptions){
		"ready-on":          func(o *serviceOptions) { o.readyOn = "later" },
		"quota-action":      func(o *serviceOptions) { o.quotaAction = "shout" },
		"stop without":      func(o *serviceOptions) { o.quotaAction = "stop" },
		"billing-day 0":     func(o *serviceOptions) { o.billingDay = 0 },
		"billing-day 32":    func(o *serviceOptions) { o.billingDay = 32 },
		"watchdog-grace 0":  func(o *serviceOptions) { o.watchdogGrace = 0 },
		"usage-interval -1": func(o *serviceOptions) { o.usageInterval = -time.Second },
	} {
		o := valid()
		change(&o)
		assert.Error(t, o.check(), name)
	}
}

// TestDialQuotaStop: with --quota and --quota-action stop, the SIM's usage reaching 80 % and
// then 100 % of the quota is reported (quota events), and the session ends with exit 8; the
// state file in --state-dir holds what was used.
func TestDialQuotaStop(t *testing.T) {
	page := bytes.Repeat([]byte("0123456789abcdef"), 4096) // 64 KiB
	network := carrier.New(carrier.Config{Pages: map[string][]byte{"/64k": page}})
	prof := modemsim.EC25()
	prof.ICCID = "8944500102198304826F"
	path := modemPTY(t, prof, network.DataFunc())
	state := t.TempDir()
	p := start(t, nil, "dial", "--port", path, "--apn", "internet", "--json", "--guard", "100ms",
		"--socks", "127.0.0.1:0", "--state-dir", state, "--control", "none", "--lcp-echo-interval", "0",
		"--quota", "80k", "--quota-action", "stop")
	p.waitEvent("up", 30*time.Second)
	usage := p.waitEvent("usage", 5*time.Second)
	assert.Nil(t, usage["error"], "a fresh state: no warning")
	socks := p.waitEvent("socks", 5*time.Second)["addr"].(string)

	assert.Equal(t, page, socksGet(t, socks, socksclient.Auth{}, "http://"+carrier.DefaultHost+"/64k"))
	q := p.waitEvent("quota", 5*time.Second)
	assert.EqualValues(t, 80, q["percent"])
	assert.EqualValues(t, 80000, q["quota"])
	assert.GreaterOrEqual(t, q["used"].(float64), 64000.0)
	_ = socksGet(t, socks, socksclient.Auth{}, "http://"+carrier.DefaultHost+"/64k")
	q = p.waitEvent("quota", 5*time.Second)
	assert.EqualValues(t, 100, q["percent"])
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		t.Fatal("the session did not end at 100 % of the quota")
	}
	assert.Equal(t, exitQuota, exitStatus(p.err), p.stderr.String())
	assert.Contains(t, p.stderr.String(), "the SIM used its --quota")

	m, err := usagepkg.Open(state, "8944500102198304826", usagepkg.Options{})
	require.NoError(t, err)
	cur := m.Snapshot().Current
	assert.GreaterOrEqual(t, cur.Total(), uint64(2*len(page)), "both fetches counted and saved at stop")
}
