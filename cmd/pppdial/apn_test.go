package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pppdial/pppdial/modemsim"
	"github.com/pppdial/pppdial/modemsim/carrier"
)

// apnDetails returns the details of the finished "apn" progress events.
func apnDetails(events []map[string]any) []string {
	var out []string
	for _, e := range events {
		if e["event"] == "progress" && e["step"] == "apn" && e["elapsed"] != nil {
			out = append(out, e["detail"].(string))
		}
	}
	return out
}

// TestDialAPNAuto: a SIM on O2 Germany whose network takes only "internet": pppdial tries the
// database's first APN, is refused, comes up with "internet", remembers it in --state-dir, and
// tries it first at the next start.
func TestDialAPNAuto(t *testing.T) {
	t.Parallel()
	network := carrier.New(carrier.Config{})
	p := modemsim.EC25()
	p.IMSI, p.AcceptAPN = "262071234567890", "internet"
	path := modemPTY(t, p, network.DataFunc())
	state := filepath.Join(t.TempDir(), "state")
	args := []string{"dial", "--port", path, "--apn", "auto", "--state-dir", state, "--json", "--guard", "100ms", "--lcp-echo-interval", "0"}

	run := start(t, nil, args...)
	details := apnDetails(run.eventsUntil("up", 30*time.Second))
	code, _ := run.interrupt()
	assert.Equal(t, 0, code)
	require.Len(t, details, 3, "%q", details)
	assert.Contains(t, details[0], "network 262/07 (de: O2")
	assert.Contains(t, details[1], `"pinternet.interkom.de"`)
	assert.Contains(t, details[2], `"internet" (O2)`)
	assert.Contains(t, run.stderr.String(), `trying 2/`)
	files, err := filepath.Glob(filepath.Join(state, "apn-*.json"))
	require.NoError(t, err)
	require.Len(t, files, 1, "the APN that worked is remembered")
	fi, err := os.Stat(files[0])
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	b, err := os.ReadFile(files[0])
	require.NoError(t, err)
	assert.NotContains(t, string(b), "262071234567890", "the file does not hold the IMSI")

	run = start(t, nil, args...)
	details = apnDetails(run.eventsUntil("up", 30*time.Second))
	code, _ = run.interrupt()
	assert.Equal(t, 0, code)
	require.Len(t, details, 2, "%q", details)
	assert.True(t, strings.HasPrefix(details[1], "trying 1/"), details[1])
	assert.Contains(t, details[1], `"internet" (O2) [remembered]`)
}

// TestDialBaudSwitchFlag: --baud-switch runs the speed step (a pty carries any speed) and warns
// about a fast line without --rtscts.
func TestDialBaudSwitchFlag(t *testing.T) {
	t.Parallel()
	network := carrier.New(carrier.Config{})
	path := modemPTY(t, modemsim.EC25(), network.DataFunc())
	run := start(t, nil, "dial", "--port", path, "--apn", "internet", "--baud-switch", "921600", "--json", "--guard", "100ms", "--lcp-echo-interval", "0")
	events := run.eventsUntil("up", 30*time.Second)
	code, _ := run.interrupt()
	assert.Equal(t, 0, code)
	var speed string
	for _, e := range events {
		if e["event"] == "progress" && e["step"] == "baud" && e["elapsed"] != nil {
			speed = e["detail"].(string)
		}
	}
	assert.Equal(t, "921600 baud (was 115200); warning: 921600 baud without RTS/CTS (--rtscts): bytes are lost when the receiver's FIFO overruns", speed)
	assert.Contains(t, run.stderr.String(), "speed")
}
