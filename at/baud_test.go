package at_test

import (
	"context"
	"slices"
	"strings"
	"sync/atomic"
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
func baudDial(t *testing.T, p modemsim.Profile, rtscts bool) (at.Event, *modemsim.Modem, *at.Session, int, uint64) {
	t.Helper()
	port, m, host := simModem(t, p, 115200)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var baud []at.Event // appended before Dial returns: it waits for its events' delivery
	sess, err := at.Dial(ctx, port, at.Config{
		APN: "internet", BaudSwitch: 921600, RTSCTS: rtscts, Guard: 50 * time.Millisecond,
		Timeouts: at.Timeouts{WakeRetry: 200 * time.Millisecond},
		OnEvent: func(p at.Event) {
			if p.Kind == at.EventProgress && p.Step == at.StepBaud && p.Done {
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

// leftFastDial dials a modem that an earlier run left at 921600 (and, with mux, in an open
// multiplexer) over a line configured at 115200, and returns the finished wake and baud steps.
func leftFastDial(t *testing.T, p modemsim.Profile, mux bool, baudSwitch int) (wake, baud []at.Event, m *modemsim.Modem, host *serialline.Port) {
	t.Helper()
	p.StartBaud = 921600
	p.GuardTime = 50 * time.Millisecond
	host, modemEnd := serialline.Pipe(serialline.Options{Baud: 115200})
	port := at.NewPort(host)
	sctx, stop := context.WithCancel(context.Background())
	m = modemsim.New(p, modemsim.Discard)
	served := make(chan struct{})
	go func() { defer close(served); _ = m.Serve(sctx, modemEnd) }()
	t.Cleanup(func() {
		_ = port.Close()
		stop()
		<-served
	})
	// The modem is at its speed before the host's first byte: Serve sets it as it starts.
	require.Eventually(t, func() bool { return modemEnd.Baud() == 921600 }, 5*time.Second, time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if mux {
		// The earlier run: at 921600, AT+CMUX answered OK, then it died with the multiplexer open.
		require.NoError(t, host.SetBaud(921600))
		// Once the modem is booted (it drops what comes before), AT+CMUX.
		require.Eventually(t, func() bool {
			_, err := port.Exec(ctx, "", 100*time.Millisecond)
			return err == nil
		}, 5*time.Second, time.Millisecond)
		_, err := port.Exec(ctx, "+CMUX=0", time.Second)
		require.NoError(t, err)
		require.Eventually(t, func() bool { return m.Stats().CMUXStarts == 1 }, 5*time.Second, time.Millisecond)
		require.NoError(t, host.SetBaud(115200))
	}
	_, err := at.Dial(ctx, port, at.Config{
		APN: "internet", BaudSwitch: baudSwitch, RTSCTS: true, Guard: 50 * time.Millisecond,
		Timeouts: at.Timeouts{Wake: time.Second, WakeRetry: 200 * time.Millisecond},
		OnEvent: func(p at.Event) {
			if p.Kind != at.EventProgress {
				return
			}
			switch {
			case p.Step == at.StepWake && p.Done:
				wake = append(wake, p)
			case p.Step == at.StepBaud && p.Done:
				baud = append(baud, p)
			}
		},
	})
	require.NoError(t, err, "the modem is found and the dial goes on")
	cmds := m.Commands()
	assert.Equal(t, "ATD*99***1#", cmds[len(cmds)-1])
	assert.NotContains(t, cmds, "AT&W", "the speed is never saved")
	require.Len(t, wake, 1)
	return wake, baud, m, host
}

// TestWakeFindsAModemLeftFast: a modem left at 921600 by a crashed --baud-switch run answers
// nothing at the line's 115200; the wake finds it there, says so, and the baud step moves it
// back to the line's speed.
func TestWakeFindsAModemLeftFast(t *testing.T) {
	wake, baud, m, host := leftFastDial(t, modemsim.EC25(), false, 0)
	assert.NoError(t, wake[0].Err)
	assert.Equal(t, "modem answers at 921600 baud, not at the line's 115200: an earlier run's speed switch left it there; moving it back to 115200", wake[0].Detail)
	require.Len(t, baud, 1)
	assert.Equal(t, "115200 baud (was 921600)", baud[0].Detail)
	assert.Equal(t, 115200, host.Baud())
	assert.Contains(t, m.Commands(), "AT+IPR=115200")
}

// TestWakeFollowsAModemLeftAtTheSwitchSpeed: with --baud-switch 921600 the modem is where the
// switch wants it: the host follows and the baud step has nothing left to do.
func TestWakeFollowsAModemLeftAtTheSwitchSpeed(t *testing.T) {
	wake, baud, m, host := leftFastDial(t, modemsim.EC25(), false, 921600)
	assert.Equal(t, "modem answers at 921600 baud, not at the line's 115200: an earlier run's speed switch left it there; following it", wake[0].Detail)
	require.Len(t, baud, 1)
	assert.Equal(t, "already at 921600 baud", baud[0].Detail)
	assert.Equal(t, 921600, host.Baud())
	for _, c := range m.Commands() {
		assert.False(t, strings.HasPrefix(c, "AT+IPR="), "no speed change needed: %s", c)
	}
}

// TestWakeFindsAMultiplexerLeftFast: a run with --cmux --baud-switch that died left the modem at
// 921600 inside an open multiplexer: found there, the multiplexer closed, the speed moved back.
func TestWakeFindsAMultiplexerLeftFast(t *testing.T) {
	wake, baud, m, host := leftFastDial(t, modemsim.SIM7600(), true, 0)
	assert.Equal(t, "modem answers at 921600 baud, not at the line's 115200: an earlier run's speed switch left it there "+
		"(a multiplexer was left open: closed it); moving it back to 115200", wake[0].Detail)
	assert.Equal(t, 1, m.Stats().CMUXEnds)
	require.Len(t, baud, 1)
	assert.Equal(t, 115200, host.Baud())
}

// TestWakeSpeedSearchIsBounded: on a line where nothing answers at any speed (the wrong port),
// the search costs at most one more wake time (virtual clock), the error says which speeds it
// tried, and the line is back at its speed.
func TestWakeSpeedSearchIsBounded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		host, dead := serialline.Pipe(serialline.Options{Baud: 115200})
		port := at.NewPort(host)
		defer func() {
			_ = port.Close()
			_ = dead.Close()
		}()
		const wake = 10 * time.Second
		start := time.Now()
		_, err := at.Dial(context.Background(), port, at.Config{APN: "internet", BaudSwitch: 230400,
			Timeouts: at.Timeouts{Wake: wake, WakeRetry: 500 * time.Millisecond}})
		took := time.Since(start)
		require.ErrorIs(t, err, at.ErrNoResponse)
		assert.Contains(t, err.Error(), "nor at 230400, 921600, 460800, 3000000, 4000000, 3686400, 3200000, 1000000 baud",
			"the switch's speed first, the line's own not again")
		t.Logf("nothing at any speed: %v (virtual)", took)
		assert.LessOrEqual(t, took, 2*wake+5*time.Second, "the wake, the search, and an escape's guard times")
		assert.Greater(t, took, wake, "the search ran after the wake")
		assert.Equal(t, 115200, host.Baud())
	})
}

// speedlessLine is a line whose speed can be set but means nothing, as a pty's: the modem
// behind it answers at every speed.
type speedlessLine struct {
	line.Line
	baud atomic.Int64
}

func (l *speedlessLine) Baud() int { return int(l.baud.Load()) }

func (l *speedlessLine) SetBaud(rate int) error {
	l.baud.Store(int64(rate))
	return nil
}

// TestWakeSpeedSearchOnALineWithoutSpeed: a modem that is merely slow to boot answers nothing in
// the wake time, then answers during the search; on a line whose speed means nothing (a pty,
// pppd-vm's modem) it answers at the line's speed too, so no speed is blamed, none is switched,
// and the line stays at its own.
func TestWakeSpeedSearchOnALineWithoutSpeed(t *testing.T) {
	p := modemsim.EC25()
	p.GuardTime = 50 * time.Millisecond
	p.BootDelay = 1500 * time.Millisecond
	host, modemEnd := serialline.Pipe(serialline.Options{})
	l := &speedlessLine{Line: plainLine{host}}
	l.baud.Store(115200)
	port := at.NewPort(l)
	ctx, cancel := context.WithCancel(context.Background())
	m := modemsim.New(p, modemsim.Discard)
	served := make(chan struct{})
	go func() { defer close(served); _ = m.Serve(ctx, modemEnd) }()
	defer func() {
		_ = port.Close()
		cancel()
		<-served
	}()
	var wake []at.Event
	var baud int
	dctx, dcancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer dcancel()
	_, err := at.Dial(dctx, port, at.Config{APN: "internet", Guard: 50 * time.Millisecond,
		Timeouts: at.Timeouts{Wake: time.Second, WakeRetry: 200 * time.Millisecond},
		OnEvent: func(p at.Event) {
			if p.Kind != at.EventProgress {
				return
			}
			switch {
			case p.Step == at.StepWake && p.Done:
				wake = append(wake, p)
			case p.Step == at.StepBaud:
				baud++
			}
		}})
	require.NoError(t, err)
	require.Len(t, wake, 1)
	// Whether it booted before or after the search's close sequence is the scheduler's choice.
	assert.Regexp(t, `^modem answers( \(a multiplexer was left open: closed it\))?$`, wake[0].Detail, "no speed blamed")
	assert.Zero(t, baud, "no speed to move back")
	assert.Equal(t, 115200, l.Baud())
	for _, c := range m.Commands() {
		assert.False(t, strings.HasPrefix(c, "AT+IPR="), c)
	}
}

// TestWakeNoSpeedSearchWithoutASpeed: a line that reports no speed (Baud 0: an unpaced emulated
// line) is not searched, since it could not be set back afterwards: a modem that is merely
// deaf while it boots is found by the next wake, at the speed the line had.
func TestWakeNoSpeedSearchWithoutASpeed(t *testing.T) {
	p := modemsim.EC25()
	p.GuardTime = 50 * time.Millisecond
	p.BootDelay = 1500 * time.Millisecond
	host, modemEnd := serialline.Pipe(serialline.Options{})
	require.Zero(t, host.Baud())
	port := at.NewPort(host)
	ctx, cancel := context.WithCancel(context.Background())
	m := modemsim.New(p, modemsim.Discard)
	served := make(chan struct{})
	go func() { defer close(served); _ = m.Serve(ctx, modemEnd) }()
	defer func() {
		_ = port.Close()
		cancel()
		<-served
	}()
	cfg := at.Config{APN: "internet", Guard: 50 * time.Millisecond,
		Timeouts: at.Timeouts{Wake: time.Second, WakeRetry: 200 * time.Millisecond}}
	dctx, dcancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer dcancel()
	err := at.Prepare(dctx, port, cfg)
	require.ErrorIs(t, err, at.ErrNoResponse, "deaf for longer than the wake")
	assert.NotContains(t, err.Error(), "nor at", "no speed searched")
	assert.Zero(t, host.Baud(), "the line's speed untouched")
	require.NoError(t, at.Prepare(dctx, port, cfg), "booted: the next wake finds it")
}
