package main

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pppdial/pppdial/internal/peers"
)

// TestCLIInteropCMUX: the binary against pppd-vm's modem whose 27.010 side is the Linux
// kernel's n_gsm. With --cmux at N1 31 and 1500: the link comes up on DLC 2, big.bin fetched
// through SOCKS matches, signal events (-73 dBm, "pppd-vm", LTE) come from AT+CSQ and AT+COPS?
// on DLC 1 while pppd runs, AT+CESQ and a vendor command answered ERROR leave the link alone,
// SIGINT exits 0 within 5 s with the multiplexer closed (CMUX-END), and the next run on the same
// modem comes up again. Then a run that dies with the multiplexer open (SIGKILL): the next
// `dial --cmux` comes up, and so does a plain `dial` after another such death.
func TestCLIInteropCMUX(t *testing.T) {
	peers.Tool(t, "curl")
	vm := peers.PPPDVM(t, peers.OptModem)
	_ = vm.Port.Close() // the binary opens the modem itself
	want, err := vm.BigSHA256()
	require.NoError(t, err)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("console.log tail:\n%s", lastLines(vm.ConsoleLog(), 60))
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	ends := 0
	waitEnd := func(t *testing.T) {
		t.Helper()
		ends++
		require.NoError(t, vm.WaitConsoleCount(ctx, "CMUX-END", ends), "the multiplexer is closed: the modem is back in AT mode")
	}

	for _, n1 := range []string{"31", "1500"} {
		t.Run("N1="+n1, func(t *testing.T) {
			// --modem-family ec25 makes the poll send Quectel's AT+QENG="servingcell", which
			// this modem does not know, as it does not know AT+CESQ: both answered ERROR.
			p := start(t, nil, "dial", "--port", vm.PTY, "--json", "--cmux", "--cmux-n1", n1,
				"--monitor-interval", "2s", "--socks", "127.0.0.1:0", "--modem-family", "ec25",
				"--probe", "tcp:10.0.0.1:80", "--probe-interval", "1s")
			up, socksEv := p.upAndSOCKS(90 * time.Second)
			assert.Equal(t, "10.0.0.2", up["local"])
			assert.Contains(t, vm.ConsoleLog(), "CMUX-START n1="+n1+" ")
			socks := socksEv["addr"].(string)

			body := curl(t, nil, 3*time.Minute, "--socks5-hostname", socks, "http://peer.test/big.bin")
			assert.Equal(t, want, sha256Hex(body), "big.bin arrives intact over DLC 2")

			sig := p.waitEvent("signal", 10*time.Second)
			assert.EqualValues(t, -73, sig["rssi_dbm"], "AT+CSQ 20,99 on DLC 1")
			assert.Equal(t, "pppd-vm", sig["operator"])
			assert.Equal(t, "LTE", sig["tech"])
			// The modem heard AT+CSQ on DLC 1 after pppd had the link up on DLC 2.
			_, err := vm.WaitConsoleMatch(ctx, regexp.MustCompile(
				`(?s)local\s+IP address 10\.0\.0\.1.*MODEM\[dlc /dev/gsmtty1\] <- AT\+CSQ`))
			require.NoError(t, err)

			// AT+CESQ and the vendor's command were answered ERROR and dropped from the poll; the
			// link is unaffected: later readings still come, the AT channel answers its probe,
			// the data path answers the tcp probe, and the link never went down.
			_, err = vm.WaitConsoleMatch(ctx, regexp.MustCompile(`MODEM\[dlc /dev/gsmtty1\] <- AT\+QENG="servingcell"`))
			require.NoError(t, err)
			assert.Regexp(t, `MODEM\[dlc /dev/gsmtty1\] <- AT\+CESQ`, vm.ConsoleLog())
			after := p.eventsUntil("signal", 10*time.Second)
			after = append(after, p.eventsUntil("signal", 10*time.Second)...)
			probes := map[string]string{}
			for _, e := range after {
				assert.NotEqual(t, "down", e["event"], "the link stays up")
				if e["event"] == "probe" {
					probes[e["probe"].(string)] = e["result"].(string)
				}
			}
			last := after[len(after)-1]
			assert.EqualValues(t, -73, last["rssi_dbm"])
			assert.Equal(t, "LTE", last["tech"])
			assert.Equal(t, "ok", probes["at"], "the AT channel answers")
			assert.Equal(t, "ok", probes["tcp"], "the data path answers")

			stopAndCheck(t, p)
			waitEnd(t)
		})
	}

	// dies kills a run once its link is up, leaving the modem in CMUX mode.
	dies := func(t *testing.T) {
		t.Helper()
		p := start(t, nil, "dial", "--port", vm.PTY, "--json", "--cmux")
		p.waitEvent("up", 90*time.Second)
		require.NoError(t, p.cmd.Process.Signal(syscall.SIGKILL))
		<-p.done
	}
	for _, args := range [][]string{{"--cmux"}, {}} {
		t.Run(fmt.Sprintf("left open, then dial %s", strings.Join(args, " ")), func(t *testing.T) {
			dies(t)
			p := start(t, nil, append([]string{"dial", "--port", vm.PTY, "--json"}, args...)...)
			wake := p.waitEvent("progress", 60*time.Second)
			for wake["step"] != "wake" {
				wake = p.waitEvent("progress", 60*time.Second)
			}
			assert.Contains(t, wake["detail"], "multiplexer was left open", "the run notices what the dead one left")
			up := p.waitEvent("up", 90*time.Second)
			assert.Equal(t, "10.0.0.2", up["local"])
			stopAndCheck(t, p)
			if len(args) > 0 {
				waitEnd(t) // the multiplexer this run started
			}
		})
	}
}
