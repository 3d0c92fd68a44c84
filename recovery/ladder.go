package recovery

import (
	"errors"
	"fmt"
	"slices"
	"time"
)

// Step names a recovery step as `recovery` events carry it.
type Step string

// The steps, in ladder order.
const (
	StepRedial     Step = "redial"      // dial again (the session's own attempt)
	StepRadioReset Step = "radio-reset" // AT+CFUN=0 or 4, AT+CFUN=1, wait for registration
	StepModemReset Step = "modem-reset" // AT+CFUN=1,1 or the vendor's reset; wait for the port
	StepResetGPIO  Step = "reset-gpio"  // a pulse on the modem's reset line
	StepPowerGPIO  Step = "power-gpio"  // power off and on through PWRKEY or a power switch
	StepUSBReset   Step = "usb-reset"   // deauthorise and reauthorise the modem's USB device
)

// Order is the full ladder, bottom first.
var Order = []Step{StepRedial, StepRadioReset, StepModemReset, StepResetGPIO, StepPowerGPIO, StepUSBReset}

// NeedsAT reports the steps that work through the AT channel: useless while it is dead.
func NeedsAT(s Step) bool {
	return s == StepRedial || s == StepRadioReset || s == StepModemReset
}

// AT is what the AT-channel probe last said.
type AT int

// AT-channel states.
const (
	ATUnknown AT = iota // not probed (no AT channel while connected, or not yet)
	ATAlive             // a command was answered within its bound
	ATDead              // no answer within the bound: the modem is wedged
)

// Outcome is what happened, handed to Policy.Next.
type Outcome struct {
	// Step is the step that ran. "" is the link going down after it was up (data path dead:
	// LCP echo or a probe failed, or the carrier dropped).
	Step Step
	Err  error // the step's failure; nil when it did its job (for redial: the link is up)
	AT   AT    // the AT-channel probe's latest verdict
}

// Action is what to do next.
type Action struct {
	Step    Step          // the step to run; "" with Stop false: nothing, the link is up
	Delay   time.Duration // wait this long first
	Attempt int           // the step's consecutive run at this rung, from 1 (for events)
	Stop    bool          // give up; Err says why
	Err     error
}

// Policy decides the next recovery action. The session calls Next after the link goes down and
// after every step, until an Action says the link is up or to stop. A gateway replaces the
// default Ladder to fit its own hardware or cost rules.
type Policy interface {
	Next(Outcome) Action
}

// ErrMaxFail is wrapped by the Action.Err of a ladder that gave up after Config.MaxFail
// consecutive failed attempts.
var ErrMaxFail = errors.New("recovery: too many failed attempts")

// Config configures a Ladder.
type Config struct {
	// Steps are the rungs available on this setup, bottom first; they must start with redial.
	// Nil means Order (every step).
	Steps []Step
	// EscalateAfter moves up one rung after this many consecutive failures at the current one
	// (default 3).
	EscalateAfter int
	// MaxFail gives up after this many consecutive failed attempts, each step run counting as
	// one (0: never). A step that succeeded but whose redial then failed counts once, as the
	// redial.
	MaxFail int
	// Permanent reports failures no step can mend (wrong PIN, no SIM, PUK needed): the ladder
	// stops at once instead of escalating. Nil: nothing is permanent.
	Permanent func(error) bool
	// Backoff is the wait before a redial after failures consecutive failed attempts (0 after
	// the link went down); it is also the pause when the ladder wraps around from its top. Nil:
	// 5 s doubled per failure beyond the first, at most 2 min, no jitter.
	Backoff func(failures int) time.Duration
}

// Ladder is the default Policy: redial until EscalateAfter consecutive failures, then climb one
// rung per EscalateAfter failures; every step above redial is followed by a redial that tells
// whether it helped (its failure counts against the step's rung). A link that comes up resets
// the ladder; failing EscalateAfter times on the top rung starts it again at redial after
// Backoff. While the AT channel is dead the rungs that need it are skipped. Not safe for
// concurrent use: one session drives one ladder.
type Ladder struct {
	cfg      Config
	level    int // the current rung
	fails    int // consecutive failures at the current rung
	failures int // consecutive failed attempts, for MaxFail and Backoff
}

// NewLadder returns a Ladder, or an error for a Config it cannot climb.
func NewLadder(cfg Config) (*Ladder, error) {
	if cfg.Steps == nil {
		cfg.Steps = Order
	}
	if len(cfg.Steps) == 0 || cfg.Steps[0] != StepRedial {
		return nil, fmt.Errorf("recovery: the ladder must start with %s: %v", StepRedial, cfg.Steps)
	}
	for i, s := range cfg.Steps {
		if !slices.Contains(Order, s) {
			return nil, fmt.Errorf("recovery: unknown step %q", s)
		}
		if slices.Contains(cfg.Steps[:i], s) {
			return nil, fmt.Errorf("recovery: step %s twice", s)
		}
	}
	if cfg.EscalateAfter <= 0 {
		cfg.EscalateAfter = 3
	}
	if cfg.Permanent == nil {
		cfg.Permanent = func(error) bool { return false }
	}
	if cfg.Backoff == nil {
		cfg.Backoff = DoublingBackoff(5*time.Second, 2*time.Minute)
	}
	cfg.Steps = slices.Clone(cfg.Steps)
	return &Ladder{cfg: cfg}, nil
}

// DoublingBackoff is holdoff, doubled per failure beyond the first, capped at maxWait.
func DoublingBackoff(holdoff, maxWait time.Duration) func(int) time.Duration {
	return func(failures int) time.Duration {
		d := holdoff
		for i := 1; i < failures && d < maxWait; i++ {
			d *= 2
		}
		return min(d, maxWait)
	}
}

// Reset puts the ladder back at redial with no failures counted.
func (l *Ladder) Reset() { l.level, l.fails, l.failures = 0, 0, 0 }

// Next implements Policy.
func (l *Ladder) Next(o Outcome) Action {
	switch {
	case o.Step == "": // the link went down
		l.Reset()
		return l.act(o.AT, 0)
	case o.Err == nil && o.Step == StepRedial: // up again
		l.Reset()
		return Action{}
	case o.Err == nil: // a step did its job: does the link come up now?
		return Action{Step: StepRedial, Attempt: l.fails + 1}
	}
	if l.cfg.Permanent(o.Err) {
		return Action{Stop: true, Err: o.Err}
	}
	l.failures++
	if l.cfg.MaxFail > 0 && l.failures >= l.cfg.MaxFail {
		return Action{Stop: true, Err: fmt.Errorf("%w (%d): %w", ErrMaxFail, l.failures, o.Err)}
	}
	l.fails++
	var wrap time.Duration
	if l.fails >= l.cfg.EscalateAfter {
		l.level, l.fails = l.level+1, 0
		if l.level == len(l.cfg.Steps) {
			l.level = 0
			wrap = l.cfg.Backoff(l.failures)
		}
	}
	return l.act(o.AT, wrap)
}

// act is the action at the current rung, skipping up past the rungs that need a dead AT channel
// (when a rung that does not is left to climb to). A redial waits Backoff; any step waits at
// least wrap, the pause of a ladder that started again from its bottom.
func (l *Ladder) act(at AT, wrap time.Duration) Action {
	if at == ATDead && NeedsAT(l.cfg.Steps[l.level]) {
		for i := l.level + 1; i < len(l.cfg.Steps); i++ {
			if !NeedsAT(l.cfg.Steps[i]) {
				l.level, l.fails = i, 0
				break
			}
		}
	}
	s := l.cfg.Steps[l.level]
	delay := wrap
	if s == StepRedial {
		delay = max(delay, l.cfg.Backoff(l.failures))
	}
	return Action{Step: s, Delay: delay, Attempt: l.fails + 1}
}
