package at_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pppdial/pppdial/at"
	"github.com/pppdial/pppdial/internal/serialline"
	"github.com/pppdial/pppdial/line"
	"github.com/pppdial/pppdial/modemsim"
)

// baudDial dials profile p over a line paced at 115200 with BaudSwitch 921600 and returns the
// "baud" step's finished event, the modem and the host's line.
func baudDial(t *testing.T, p modemsim.Profile, rtscts bool) (at.Progress, *modemsim.Modem, *at.Session, int, uint64) {
	t.Helper()
	port, m, host := simModem(t, p, 115200)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var baud []at.Progress
	sess, err := at.Dial(ctx, port, at.Config{
		APN: "internet", BaudSwitch: 921600, RTSCTS: rtscts, Guard: 50 * time.Millisecond,
		Timeouts: at.Timeouts{WakeRetry: 200 * time.Millisecond},
		OnProgress: func(p at.Progress) {
			if p.Step == at.StepBaud && p.Done {
				baud = append(baud, p)
			}
		},
	})
	require.NoError(t, err, "the dial goes on at whatever speed the modem answers")
	require.Len(t, baud, 1)
	assert.NotContains(t, m.Commands(), "AT&W", "the speed is never saved")
	// Everything after the step crossed intact: the dial that followed read every answer.
	garbled := host.TxStats().BytesGarbled
	return baud[0], m, sess, host.Baud(), garbled
}

func TestBaudSwitch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ev, m, sess, hostBaud, _ := baudDial(t, modemsim.EC25(), false)
		assert.NoError(t, ev.Err)
		assert.Equal(t, "921600 baud (was 115200); warning: 921600 baud without RTS/CTS (--rtscts): bytes are lost when the receiver's FIFO overruns", ev.Detail)
		assert.Equal(t, 921600, hostBaud)
		cmds := m.Commands()
		i := slices.Index(cmds, "AT+IPR=921600")
		require.GreaterOrEqual(t, i, 0)
		require.Greater(t, len(cmds), i+1)
		assert.Equal(t, "AT", cmds[i+1], "verified with AT at the new speed")
		assert.Equal(t, "ATD*99***1#", cmds[len(cmds)-1], "the dial ran at the new speed")
		assert.Equal(t, "CONNECT 150000000", sess.Info.Connect)

		// Warned once per port: a second switch (back and forth) says nothing more.
		port := sess.Port()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		require.NoError(t, sess.Hangup(ctx))
		res, err := at.SwitchBaud(ctx, port, 460800, false)
		require.NoError(t, err)
		assert.Equal(t, at.BaudResult{From: 921600, To: 460800, Detail: "460800 baud (was 921600)"}, res)
		info, err := port.Exec(ctx, "+IPR?", time.Second)
		require.NoError(t, err)
		assert.Equal(t, []string{"+IPR: 460800"}, info)
	})
}

func TestBaudSwitchWithRTSCTSDoesNotWarn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ev, _, _, hostBaud, _ := baudDial(t, modemsim.EC25(), true)
		assert.Equal(t, "921600 baud (was 115200)", ev.Detail)
		assert.Equal(t, 921600, hostBaud)
	})
}

// TestBaudSwitchFallsBack: a modem that answers OK to AT+IPR and stays at its speed does not
// answer at the new one; the host goes back and the dial goes on at 115200.
func TestBaudSwitchFallsBack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := modemsim.EC25()
		p.IPRIgnored = true
		ev, m, _, hostBaud, garbled := baudDial(t, p, true)
		assert.NoError(t, ev.Err)
		assert.Equal(t, "no answer at 921600 baud: back at 115200 baud", ev.Detail)
		assert.Equal(t, 115200, hostBaud)
		assert.NotZero(t, garbled, "the ATs at 921600 reached the modem garbled")
		cmds := m.Commands()
		assert.Equal(t, "ATD*99***1#", cmds[len(cmds)-1])
	})
}

// TestBaudSwitchFindsTheModemsSpeed: a modem that takes another speed than asked answers at
// neither; the standard speeds find it.
func TestBaudSwitchFindsTheModemsSpeed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := modemsim.EC25()
		p.IPRActual = 460800
		ev, m, _, hostBaud, _ := baudDial(t, p, true)
		assert.NoError(t, ev.Err)
		assert.Equal(t, "no answer at 921600 baud: the modem answers at 460800 baud instead; staying there", ev.Detail)
		assert.Equal(t, 460800, hostBaud)
		cmds := m.Commands()
		assert.Equal(t, "ATD*99***1#", cmds[len(cmds)-1])
	})
}

// plainLine hides the emulated line's speed control, as a pty or a multiplexer channel has none.
type plainLine struct{ line.Line }

func TestSwitchBaudNeedsASpeedToSet(t *testing.T) {
	host, _ := serialline.Pipe(serialline.Options{})
	port := at.NewPort(plainLine{host})
	defer port.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := at.SwitchBaud(ctx, port, 921600, true)
	assert.ErrorIs(t, err, at.ErrNoBaudControl)
}

// slowModem answers every command line on l after latency: ERROR to AT+IPR, OK to anything else,
// until l closes.
func slowModem(l *serialline.Port, latency time.Duration) {
	type req struct {
		at   time.Time
		line string
	}
	reqs := make(chan req, 64)
	go func() {
		defer close(reqs)
		var cur []byte
		b := make([]byte, 256)
		for {
			n, err := l.Read(b)
			for _, c := range b[:n] {
				if c != '\r' {
					cur = append(cur, c)
					continue
				}
				reqs <- req{time.Now(), string(cur)}
				cur = cur[:0]
			}
			if err != nil {
				return
			}
		}
	}()
	go func() {
		for r := range reqs {
			time.Sleep(time.Until(r.at.Add(latency)))
			answer := "\r\nOK\r\n"
			if strings.Contains(r.line, "AT+IPR=") {
				answer = "\r\nERROR\r\n"
			}
			if _, err := l.Write([]byte(answer)); err != nil {
				return
			}
		}
	}()
}

// TestSwitchBaudResyncsWithASlowModem: a modem slower than a command's timeout leaves its answer
// to be taken by the next command. SwitchBaud must not read that late OK as the answer to
// AT+IPR (which this modem refuses): it waits until the answers are in step again.
func TestSwitchBaudResyncsWithASlowModem(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		host, modemEnd := serialline.Pipe(serialline.Options{Baud: 115200})
		defer modemEnd.Close()
		slowModem(modemEnd, 300*time.Millisecond)
		port := at.NewPort(host)
		defer port.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, err := port.Exec(ctx, "", 100*time.Millisecond)
		require.ErrorIs(t, err, at.ErrCommandTimeout, "the answer comes late, during the next command")

		res, err := at.SwitchBaud(ctx, port, 921600, true)
		require.NoError(t, err)
		assert.Equal(t, "the modem refused AT+IPR=921600 (command failed: the modem answered ERROR): staying at 115200 baud", res.Detail)
		assert.Equal(t, 115200, host.Baud())
	})
}
