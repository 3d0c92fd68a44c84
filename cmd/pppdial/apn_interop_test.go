package main

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pppdial/pppdial/internal/peers"
)

// TestCLIInteropAPNAutoUnknownNetwork: `pppdial dial --apn auto` against pppd-vm's AT modem,
// whose SIM is on the test network 001/01 (no database entry): pppdial says so, writes no
// AT+CGDCONT (the modem's stored context is dialed) and comes up. The modem answers ERROR to
// AT+IPR, so --baud-switch stays at the old speed and says why.
func TestCLIInteropAPNAutoUnknownNetwork(t *testing.T) {
	vm := peers.PPPDVM(t, peers.OptModem)
	_ = vm.Port.Close() // pppdial alone holds the VM's pty
	state := filepath.Join(t.TempDir(), "state")

	p := start(t, nil, "dial", "--port", vm.PTY, "--apn", "auto", "--state-dir", state, "--baud-switch", "230400",
		"--json", "--guard", "100ms")
	events := p.eventsUntil("up", 120*time.Second)
	var up map[string]any
	var speed string
	for _, e := range events {
		if e["event"] == "up" {
			up = e
		}
		if e["event"] == "progress" && e["step"] == "baud" && e["elapsed"] != nil {
			speed = e["detail"].(string)
		}
	}
	assert.Equal(t, "10.0.0.2", up["local"])
	details := apnDetails(events)
	require.Len(t, details, 1, "%q", details)
	assert.Contains(t, details[0], "network 001/01 (or 001/010) is not in mobile-broadband-provider-info")
	assert.Contains(t, details[0], "the modem's stored context will be used")
	assert.Contains(t, speed, "the modem refused AT+IPR=230400")
	assert.Contains(t, speed, "staying at 115200 baud")
	stopAndCheck(t, p)
	assert.Contains(t, p.stderr.String(), "not in mobile-broadband-provider-info", "the human output says it too")

	console := vm.ConsoleLog()
	assert.Contains(t, console, "<- AT+CIMI", "the IMSI was read from the modem")
	assert.False(t, strings.Contains(console, "<- AT+CGDCONT"), "no context written for an unknown network")
	files, _ := filepath.Glob(filepath.Join(state, "apn-*.json"))
	assert.Empty(t, files, "nothing to remember")
}
