package pppdial

import (
	"bytes"
	"context"
	"crypto/sha256"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pppdial/pppdial/at"
	"github.com/pppdial/pppdial/internal/serialline"
	"github.com/pppdial/pppdial/modemsim"
)

// leftFastRig is a rig whose modem an earlier run left at 921600 on a line configured at 115200,
// and the config that dials it with a short wake.
func leftFastRig(t *testing.T, p modemsim.Profile) (*rig, Config) {
	p.StartBaud = 921600
	r := newRig(t, p, serialline.Options{Baud: 115200})
	_, modemEnd := r.ports()
	require.Eventually(t, func() bool { return modemEnd.Baud() == 921600 }, 5*time.Second, time.Millisecond,
		"the modem runs at 921600 before the session's first byte")
	cfg := r.config()
	cfg.Modem.Timeouts = at.Timeouts{Wake: time.Second, WakeRetry: 200 * time.Millisecond}
	return r, cfg
}

// TestSessionBaudFindsAModemLeftFast: a crashed --baud-switch run left the modem at 921600; a
// session without the switch finds it there, says so, moves it back to 115200 and comes up.
func TestSessionBaudFindsAModemLeftFast(t *testing.T) {
	t.Parallel()
	r, cfg := leftFastRig(t, modemsim.EC25())
	sess := r.dial(cfg)
	wake := r.waitStep(at.StepWake, 5*time.Second)
	assert.Equal(t, "modem answers at 921600 baud, not at the line's 115200: an earlier run's speed switch left it there; "+
		"moving it back to 115200", wake.Detail)
	baud := r.waitStep(at.StepBaud, 5*time.Second)
	assert.Equal(t, "115200 baud (was 921600)", baud.Detail)
	host, _ := r.ports()
	assert.Equal(t, 115200, host.Baud())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := r.fetch(ctx, sess, "/")
	require.NoError(t, err)
}

// TestSessionBaudFindsAMultiplexerLeftFast: the crashed run had --cmux --baud-switch 921600 and
// died with the multiplexer open at 921600. The same command again finds the modem there, closes
// the multiplexer, follows the speed, starts its own multiplexer at it and carries a page.
func TestSessionBaudFindsAMultiplexerLeftFast(t *testing.T) {
	t.Parallel()
	r, cfg := leftFastRig(t, modemsim.SIM7600())
	host, _ := r.ports()
	require.NoError(t, host.SetBaud(921600))
	var got []byte
	b := make([]byte, 64)
	// send writes cmd until the modem answers OK (it drops what comes before it has booted).
	send := func(cmd string) {
		for range 50 {
			_, err := host.Write([]byte(cmd + "\r"))
			require.NoError(t, err)
			require.NoError(t, host.SetReadDeadline(time.Now().Add(100*time.Millisecond)))
			for !bytes.HasSuffix(got, []byte("OK\r\n")) {
				n, err := host.Read(b)
				got = append(got, b[:n]...)
				if err != nil {
					break
				}
			}
			if bytes.HasSuffix(got, []byte("OK\r\n")) {
				got = got[:0]
				require.NoError(t, host.SetReadDeadline(time.Time{}))
				return
			}
		}
		t.Fatalf("no OK to %s: %q", cmd, got)
	}
	send("AT")
	send("AT+CMUX=0")
	require.NoError(t, host.SetBaud(115200))
	require.Eventually(t, func() bool { return r.modem.Stats().CMUXStarts == 1 }, 5*time.Second, time.Millisecond)

	cfg.CMUX = CMUXOn
	cfg.MonitorInterval = -1
	cfg.Modem.BaudSwitch, cfg.RTSCTS = 921600, true
	sess := r.dial(cfg)
	wake := r.waitStep(at.StepWake, 5*time.Second)
	assert.Equal(t, "modem answers at 921600 baud, not at the line's 115200: an earlier run's speed switch left it there "+
		"(a multiplexer was left open: closed it); following it", wake.Detail)
	baud := r.waitStep(at.StepBaud, 5*time.Second)
	assert.Equal(t, "already at 921600 baud", baud.Detail)
	assert.Equal(t, 921600, host.Baud())
	assert.Equal(t, 1, r.modem.Stats().CMUXEnds, "the old multiplexer was closed")
	assert.Equal(t, 2, r.modem.Stats().CMUXStarts, "and the session's own started")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sum, err := r.fetch(ctx, sess, "/64k")
	require.NoError(t, err)
	assert.Equal(t, sha256.Sum256(bigPage[:64<<10]), sum)
}
