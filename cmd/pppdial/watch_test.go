//go:build linux

package main

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pppdial/pppdial/modemsim"
	"github.com/pppdial/pppdial/modemsim/carrier"
)

// modemPTYs serves one emulated modem on two ptys, as a USB modem's PPP and AT ports, and
// returns the modem and the two paths.
func modemPTYs(t *testing.T, p modemsim.Profile, data modemsim.DataFunc) (m *modemsim.Modem, pppPath, atPath string) {
	t.Helper()
	p.GuardTime = 100 * time.Millisecond
	m = modemsim.New(p, data)
	ctx, cancel := context.WithCancel(context.Background())
	main, err := modemsim.ServePTY(ctx, m)
	require.NoError(t, err)
	atp, err := modemsim.ServeATPTY(ctx, m)
	require.NoError(t, err)
	t.Cleanup(func() {
		cancel()
		_ = main.Close()
		_ = atp.Close()
	})
	return m, main.Path, atp.Path
}

// TestDialATPort: `--at-port` against a modem with separate AT and PPP ports: while the link is
// up, signal events and AT probes come from the AT port, the tcp probe runs over the link, a
// registration change is a modem event, and SIGINT exits 0 within 5 s.
func TestDialATPort(t *testing.T) {
	network := carrier.New(carrier.Config{})
	m, pppPath, atPath := modemPTYs(t, modemsim.EC25(), network.DataFunc())
	p := start(t, nil, "dial", "--port", pppPath, "--at-port", atPath, "--apn", "internet", "--json", "--guard", "100ms",
		"--monitor-interval", "200ms", "--probe", "tcp:10.64.64.1:7", "--probe-interval", "200ms")
	p.waitEvent("up", 30*time.Second)

	sig := p.waitEvent("signal", 5*time.Second)
	assert.EqualValues(t, -65, sig["rssi_dbm"], "EC25's +CSQ: 24, read on the AT port")
	assert.Equal(t, "Telekom.de", sig["operator"])
	assert.Equal(t, "LTE", sig["tech"])
	seen := map[string]string{}
	for seen["at"] == "" || seen["tcp"] == "" {
		e := p.waitEvent("probe", 5*time.Second)
		seen[e["probe"].(string)] = e["result"].(string)
	}
	assert.Equal(t, "ok", seen["at"])
	assert.Equal(t, "ok", seen["tcp"])

	m.SetRegistration(5)
	for {
		e := p.waitEvent("modem", 5*time.Second)
		if e["detail"] == "+CEREG" {
			assert.Equal(t, "roaming", e["state"])
			break
		}
	}
	stopAndCheckQuick(t, p)
	assert.Contains(t, p.stderr.String(), "AT channel")
}

// TestDialNoRoaming: with --no-roaming a modem on a visited network is not dialed: the exit
// code is the registration one and the error names roaming.
func TestDialNoRoaming(t *testing.T) {
	prof := modemsim.SIM7600()
	prof.Roaming = true
	path := modemPTY(t, prof, nil)
	code, stderr := runWithEnv(t, nil, "dial", "--port", path, "--apn", "internet", "--json", "--guard", "100ms", "--no-roaming")
	assert.Equal(t, exitRegistration, code, stderr)
	assert.Contains(t, stderr, "roaming refused")
	assert.Contains(t, stderr, "--no-roaming")
}

// TestDialWatchUsage: flag combinations that cannot work are usage errors.
func TestDialWatchUsage(t *testing.T) {
	for _, args := range [][]string{
		{"--at-port", "/dev/null", "--cmux"},
		{"--probe", "tcp:10.0.0.1:80", "--tun"},
		{"--probe", "udp:10.0.0.1:53"},
		{"--probe", "tcp:example.com:80"},
		{"--modem-family", "nokia"},
		{"--reset-gpio", "gpiochip0:17"}, // a recovery step without --persist
		{"--persist", "--reset-gpio", "gpiochip0"},
		{"--persist", "--escalate-after", "0"},
	} {
		code, stderr := runWithEnv(t, nil, append([]string{"dial", "--port", "/dev/null"}, args...)...)
		assert.Equal(t, exitUsage, code, "%v: %s", args, stderr)
	}
}

// TestDialRecoveryRadioReset: a modem that, after its first carrier drop, answers NO CARRIER to
// every ATD until its radio is cycled. `dial --persist --holdoff 1s` emits recovery events —
// three failed redials, then radio-reset ok — and is up again within 60 s.
func TestDialRecoveryRadioReset(t *testing.T) {
	network := carrier.New(carrier.Config{})
	prof := modemsim.SIM7600()
	prof.RadioWedge = true
	m, path, _ := modemPTYs(t, prof, network.DataFunc())
	p := start(t, nil, "dial", "--port", path, "--apn", "internet", "--json", "--guard", "100ms",
		"--persist", "--holdoff", "1s", "--metrics", "127.0.0.1:0")
	maddr := p.waitEvent("metrics", 10*time.Second)["addr"].(string)
	p.waitEvent("up", 30*time.Second)
	dropped := time.Now()
	m.DropCarrier()

	var steps []string
	for {
		e := p.waitEvent("recovery", 60*time.Second)
		steps = append(steps, e["step"].(string)+" "+e["result"].(string))
		if e["step"] == "radio-reset" {
			assert.Equal(t, "ok", e["result"])
			assert.NotEmpty(t, e["elapsed"])
			assert.EqualValues(t, 1, e["attempt"])
			break
		}
	}
	assert.Equal(t, []string{"redial failed", "redial failed", "redial failed", "radio-reset ok"}, steps)
	p.waitEvent("up", 60*time.Second-time.Since(dropped))
	assert.Less(t, time.Since(dropped), 60*time.Second)
	assert.Equal(t, 1, m.Stats().RadioCycles)
	metrics := scrape(t, maddr)
	assert.Contains(t, metrics, `pppdial_recovery_steps_total{ifname="pp0",result="ok",step="radio-reset"} 1`)
	assert.Contains(t, metrics, `pppdial_recovery_steps_total{ifname="pp0",result="failed",step="redial"} 3`)
	stopAndCheckQuick(t, p)
}

// TestDialRecoverySIGINT: SIGINT in the middle of a recovery step (the radio is off, the modem
// re-registering) still exits 0 within 5 s.
func TestDialRecoverySIGINT(t *testing.T) {
	network := carrier.New(carrier.Config{})
	prof := modemsim.SIM7600()
	prof.RebootWedge = true
	prof.RegistrationDelay = 10 * time.Second // the radio-reset's registration wait is long
	m, path, _ := modemPTYs(t, prof, network.DataFunc())
	p := start(t, nil, "dial", "--port", path, "--apn", "internet", "--json", "--guard", "100ms",
		"--persist", "--holdoff", "100ms", "--register-timeout", "30s")
	p.waitEvent("up", 30*time.Second)
	m.DropCarrier()
	for n := 0; n < 3; {
		if e := p.waitEvent("recovery", 30*time.Second); e["step"] == "redial" {
			n++
		}
	}
	// The third failed redial is followed at once by radio-reset: AT+CFUN=0, a second off,
	// AT+CFUN=1, then a 10 s registration wait.
	require.Eventually(t, func() bool { return m.Stats().RadioCycles == 1 }, 5*time.Second, 10*time.Millisecond)
	stopAndCheckQuick(t, p)
}
