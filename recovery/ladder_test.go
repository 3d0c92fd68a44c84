package recovery

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var (
	errFail     = errors.New("NO CARRIER")
	errWrongPIN = errors.New("wrong PIN")
)

// drive starts a ladder with the link going down (AT health down) and then answers each action
// with the next result: "ok", "fail", "fail/dead" (failed, AT channel dead), "pin" (a permanent
// failure); after "up", the next word is the link going down again. It returns the actions as "step@delay#attempt" words, "up" for a link that came up,
// and "stop" for the end.
func drive(t *testing.T, cfg Config, down AT, results ...string) string {
	t.Helper()
	l, err := NewLadder(cfg)
	require.NoError(t, err)
	var out []string
	word := func(a Action) string {
		switch {
		case a.Stop:
			return "stop"
		case a.Step == "":
			return "up"
		}
		return fmt.Sprintf("%s@%v#%d", a.Step, a.Delay, a.Attempt)
	}
	a := l.Next(Outcome{AT: down})
	out = append(out, word(a))
	for _, r := range results {
		require.False(t, a.Stop, "script goes on after stop")
		o := Outcome{Step: a.Step, AT: ATAlive}
		if a.Step == "" { // the link is up: this result is it going down again
			o.Step = ""
		}
		switch r {
		case "ok":
		case "fail":
			o.Err = errFail
		case "fail/dead":
			o.Err, o.AT = errFail, ATDead
		case "pin":
			o.Err = errWrongPIN
		default:
			t.Fatalf("bad script word %q", r)
		}
		a = l.Next(o)
		out = append(out, word(a))
	}
	return strings.Join(out, " ")
}

func rep(n int, s string) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = s
	}
	return out
}

func cat(parts ...[]string) []string {
	var out []string
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func TestLadderSequences(t *testing.T) {
	backoff := DoublingBackoff(time.Second, 4*time.Second)
	base := Config{Backoff: backoff, Permanent: func(err error) bool { return errors.Is(err, errWrongPIN) }}
	with := func(f func(*Config)) Config { c := base; f(&c); return c }
	cases := []struct {
		name    string
		cfg     Config
		down    AT
		results []string
		want    string
	}{
		{"redial succeeds", base, ATAlive, []string{"ok"},
			"redial@1s#1 up"},
		{"backoff doubles on redial failures", base, ATAlive, []string{"fail", "ok"},
			"redial@1s#1 redial@1s#2 up"},
		{"radio reset after three redials, fixes it", base, ATAlive, []string{"fail", "fail", "fail", "ok", "ok"},
			"redial@1s#1 redial@1s#2 redial@2s#3 radio-reset@0s#1 redial@0s#1 up"},
		{"after a success the ladder starts at redial again", base, ATAlive,
			[]string{"fail", "fail", "fail", "ok", "ok", "fail", "fail", "fail", "fail"},
			"redial@1s#1 redial@1s#2 redial@2s#3 radio-reset@0s#1 redial@0s#1 up " +
				"redial@1s#1 redial@1s#2 redial@2s#3 radio-reset@0s#1"},
		{"a step that works but does not bring the link up counts against its rung", base, ATAlive,
			[]string{"fail", "fail", "fail", "ok", "fail", "ok", "fail", "fail"},
			"redial@1s#1 redial@1s#2 redial@2s#3 radio-reset@0s#1 redial@0s#1 radio-reset@0s#2 redial@0s#2 radio-reset@0s#3 modem-reset@0s#1"},
		{"the whole ladder, then again from redial after backoff", base, ATAlive, rep(19, "fail"),
			"redial@1s#1 redial@1s#2 redial@2s#3 " +
				"radio-reset@0s#1 radio-reset@0s#2 radio-reset@0s#3 " +
				"modem-reset@0s#1 modem-reset@0s#2 modem-reset@0s#3 " +
				"reset-gpio@0s#1 reset-gpio@0s#2 reset-gpio@0s#3 " +
				"power-gpio@0s#1 power-gpio@0s#2 power-gpio@0s#3 " +
				"usb-reset@0s#1 usb-reset@0s#2 usb-reset@0s#3 " +
				"redial@4s#1 redial@4s#2"},
		{"only the configured steps", with(func(c *Config) { c.Steps = []Step{StepRedial, StepPowerGPIO} }), ATAlive, rep(7, "fail"),
			"redial@1s#1 redial@1s#2 redial@2s#3 power-gpio@0s#1 power-gpio@0s#2 power-gpio@0s#3 redial@4s#1 redial@4s#2"},
		{"escalate after one", with(func(c *Config) { c.EscalateAfter = 1; c.Steps = []Step{StepRedial, StepRadioReset, StepModemReset} }),
			ATAlive, rep(4, "fail"),
			"redial@1s#1 radio-reset@0s#1 modem-reset@0s#1 redial@4s#1 radio-reset@0s#1"},
		{"permanent failure stops at once", base, ATAlive, []string{"fail", "pin"},
			"redial@1s#1 redial@1s#2 stop"},
		{"permanent failure of a higher step stops too", base, ATAlive, []string{"fail", "fail", "fail", "pin"},
			"redial@1s#1 redial@1s#2 redial@2s#3 radio-reset@0s#1 stop"},
		{"maxfail counts every step", with(func(c *Config) { c.MaxFail = 5 }), ATAlive, rep(5, "fail"),
			"redial@1s#1 redial@1s#2 redial@2s#3 radio-reset@0s#1 radio-reset@0s#2 stop"},
		{"maxfail is not reached by steps that worked", with(func(c *Config) { c.MaxFail = 5 }), ATAlive,
			[]string{"fail", "fail", "fail", "ok", "fail", "ok"},
			"redial@1s#1 redial@1s#2 redial@2s#3 radio-reset@0s#1 redial@0s#1 radio-reset@0s#2 redial@0s#2"},
		{"AT dead when the link drops: straight to the first step without AT", base, ATDead, []string{"fail", "ok", "ok"},
			"reset-gpio@0s#1 reset-gpio@0s#2 redial@0s#2 up"},
		{"AT dies while redialling: skip to reset-gpio", base, ATAlive, []string{"fail", "fail/dead", "fail"},
			"redial@1s#1 redial@1s#2 reset-gpio@0s#1 reset-gpio@0s#2"},
		{"AT dead but nothing without AT configured: the normal ladder",
			with(func(c *Config) { c.Steps = []Step{StepRedial, StepRadioReset} }), ATDead, []string{"fail/dead", "fail/dead", "fail/dead"},
			"redial@1s#1 redial@1s#2 redial@2s#3 radio-reset@0s#1"},
		{"AT dead above the AT-free rungs changes nothing", with(func(c *Config) { c.EscalateAfter = 1 }), ATAlive,
			[]string{"fail", "fail", "fail", "fail/dead"},
			"redial@1s#1 radio-reset@0s#1 modem-reset@0s#1 reset-gpio@0s#1 power-gpio@0s#1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			assert.Equal(t, c.want, drive(t, c.cfg, c.down, c.results...))
		})
	}
}

// After the link comes up and goes down again, the count starts over: the backoff is holdoff
// again and three more redials come before any escalation.
func TestLadderResetsAfterLinkUp(t *testing.T) {
	l, err := NewLadder(Config{Backoff: DoublingBackoff(time.Second, 4*time.Second)})
	require.NoError(t, err)
	l.Next(Outcome{})
	for range 3 {
		l.Next(Outcome{Step: StepRedial, Err: errFail})
	}
	assert.Equal(t, Action{}, l.Next(Outcome{Step: StepRadioReset}).withoutStep(StepRedial))
	assert.Equal(t, Action{}, l.Next(Outcome{Step: StepRedial}))
	a := l.Next(Outcome{})
	assert.Equal(t, Action{Step: StepRedial, Delay: time.Second, Attempt: 1}, a)
	for i := range 2 {
		a = l.Next(Outcome{Step: StepRedial, Err: errFail})
		assert.Equal(t, StepRedial, a.Step, i)
	}
}

// withoutStep blanks a's Step when it is s, for comparing "the next step is s" as a zero Action.
func (a Action) withoutStep(s Step) Action {
	if a.Step == s {
		a.Step, a.Attempt = "", 0
	}
	return a
}

func TestLadderMaxFailError(t *testing.T) {
	l, err := NewLadder(Config{MaxFail: 1})
	require.NoError(t, err)
	l.Next(Outcome{})
	a := l.Next(Outcome{Step: StepRedial, Err: errFail})
	require.True(t, a.Stop)
	assert.ErrorIs(t, a.Err, ErrMaxFail)
	assert.ErrorIs(t, a.Err, errFail)
}

func TestLadderDefaults(t *testing.T) {
	l, err := NewLadder(Config{})
	require.NoError(t, err)
	assert.Equal(t, Action{Step: StepRedial, Delay: 5 * time.Second, Attempt: 1}, l.Next(Outcome{}))
	var a Action
	for range 3 {
		a = l.Next(Outcome{Step: StepRedial, Err: errFail})
	}
	assert.Equal(t, StepRadioReset, a.Step, "EscalateAfter defaults to 3")
	b := DoublingBackoff(5*time.Second, 2*time.Minute)
	assert.Equal(t, []time.Duration{5 * time.Second, 5 * time.Second, 10 * time.Second, 20 * time.Second, 2 * time.Minute},
		[]time.Duration{b(0), b(1), b(2), b(3), b(20)})
}

func TestNewLadderRefuses(t *testing.T) {
	for _, steps := range [][]Step{{}, {StepRadioReset}, {StepRedial, "reboot"}, {StepRedial, StepResetGPIO, StepResetGPIO}} {
		_, err := NewLadder(Config{Steps: steps})
		assert.Error(t, err, steps)
	}
}

var _ Policy = (*Ladder)(nil)
