package at

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/pppdial/pppdial/cmux"
	"github.com/pppdial/pppdial/line"
)

// ErrNoBaudControl is wrapped by SwitchBaud's error on a line whose speed cannot be set (a pty,
// a multiplexer channel): see line.BaudSetter.
var ErrNoBaudControl = errors.New("at: the line's speed cannot be set")

// ErrBaudLost is wrapped by SwitchBaud's error when the modem, after accepting AT+IPR, answers
// neither at the new speed nor at the old one nor at any standard speed: the port needs the
// modem's power cycled or its speed found by hand.
var ErrBaudLost = errors.New("at: the modem answers at no speed after AT+IPR")

// FastBaud is the highest speed a UART is trusted with without RTS/CTS: above it a full receive
// FIFO loses bytes, so SwitchBaud warns once per Port.
const FastBaud = 115200

// standardBauds are tried, fastest first, when the modem answers neither at the speed asked for
// nor at the old one: it may have taken another speed than asked (some round to what their
// clock divides).
var standardBauds = []int{921600, 460800, 230400, 115200, 57600, 38400, 19200, 9600}

// verifyTries is how many AT a speed gets before it is given up.
const verifyTries = 3

// BaudResult is what SwitchBaud did.
type BaudResult struct {
	From, To int // the host's speed before and after
	// FellBack is set when the modem did not answer at the speed asked for and To is another.
	FellBack bool
	// Detail says what happened, for a progress line.
	Detail string
	// Warn is set once per Port for a speed above FastBaud without RTS/CTS.
	Warn string
}

// SwitchBaud moves the modem and the host to rate: AT+IPR=rate (never saved with AT&W), the
// host's line follows once the modem's OK is in, and AT checks they understand each other. When
// the modem does not answer at rate, the host goes back to its old speed and checks again (a
// modem that acknowledged and did not follow); when it does not answer there either, the
// standard speeds are tried, and the one the modem answers at is kept. A modem refusing AT+IPR
// leaves both at the old speed: that is a result, not an error. rtscts says whether the line
// has hardware flow control; without it a speed above FastBaud is warned about in the result's
// Warn, once per Port.
//
// It is the step Config.BaudSwitch runs after the echo is off; call it before AT+CMUX with a
// multiplexer, since some modems refuse AT+IPR inside one. The port must be in command mode.
func SwitchBaud(ctx context.Context, p *Port, rate int, rtscts bool) (BaudResult, error) {
	if err := p.lockExec(ctx); err != nil {
		return BaudResult{}, err
	}
	defer p.unlockExec()
	return switchBaud(ctx, p, rate, rtscts, Config{}.withDefaults().Timeouts)
}

func switchBaud(ctx context.Context, p *Port, rate int, rtscts bool, t Timeouts) (BaudResult, error) {
	bs, ok := p.l.(line.BaudSetter)
	if !ok {
		return BaudResult{}, ErrNoBaudControl
	}
	if rate <= 0 {
		return BaudResult{}, fmt.Errorf("at: speed %d", rate)
	}
	old := bs.Baud()
	res := BaudResult{From: old, To: old}
	if rate > FastBaud && !rtscts && p.baudWarned.CompareAndSwap(false, true) {
		res.Warn = fmt.Sprintf("%d baud without RTS/CTS (--rtscts): bytes are lost when the receiver's FIFO overruns", rate)
	}
	if old == rate {
		res.Detail = fmt.Sprintf("already at %d baud", rate)
		return res, nil
	}
	if err := resync(ctx, p, t); err != nil {
		return res, err
	}
	if _, err := p.exec(ctx, "+IPR="+strconv.Itoa(rate), t.Command); err != nil {
		if ctx.Err() != nil {
			return res, ctx.Err()
		}
		res.Detail = fmt.Sprintf("the modem refused AT+IPR=%d (%v): staying at %d baud", rate, err, old)
		return res, nil
	}
	if err := bs.SetBaud(rate); err != nil {
		// The modem went; the host cannot follow: get the modem back.
		return fellBack(ctx, p, bs, res, rate, t, fmt.Sprintf("the host cannot run at %d baud (%v)", rate, err))
	}
	if verifyBaud(ctx, p, t) {
		res.To = rate
		res.Detail = fmt.Sprintf("%d baud (was %d)", rate, old)
		return res, nil
	}
	if ctx.Err() != nil {
		return res, ctx.Err()
	}
	return fellBack(ctx, p, bs, res, rate, t, fmt.Sprintf("no answer at %d baud", rate))
}

// fellBack finds the speed the modem answers at after it accepted AT+IPR=rate but does not
// answer there: the old speed first, then the standard ones.
func fellBack(ctx context.Context, p *Port, bs line.BaudSetter, res BaudResult, rate int, t Timeouts, why string) (BaudResult, error) {
	res.FellBack = true
	tried := map[int]bool{rate: true}
	for _, b := range append([]int{res.From}, standardBauds...) {
		if tried[b] {
			continue
		}
		tried[b] = true
		if err := bs.SetBaud(b); err != nil {
			continue
		}
		if verifyBaud(ctx, p, t) {
			res.To = b
			if b == res.From {
				res.Detail = fmt.Sprintf("%s: back at %d baud", why, b)
			} else {
				res.Detail = fmt.Sprintf("%s: the modem answers at %d baud instead; staying there", why, b)
			}
			return res, nil
		}
		if ctx.Err() != nil {
			return res, ctx.Err()
		}
	}
	_ = bs.SetBaud(res.From)
	return res, fmt.Errorf("%w (%s; tried %d and the standard speeds)", ErrBaudLost, why, res.From)
}

// resync makes sure the next answer belongs to the next command. A modem slower than the wake's
// retry interval answers each AT late, and every later command then takes the answer of the one
// before it: an OK that would make AT+IPR look accepted. An AT is answered, then the line must
// stay quiet for half a retry interval; what arrives meanwhile is a late answer, dropped (no
// command is pending), and the check starts over.
func resync(ctx context.Context, p *Port, t Timeouts) error {
	quiet := t.WakeRetry / 2
	var err error
	for range verifyTries {
		if _, err = p.exec(ctx, "", t.WakeRetry); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			continue
		}
		seen := p.textBytes()
		if err = sleep(ctx, quiet); err != nil {
			return err
		}
		if p.textBytes() == seen {
			return nil
		}
		err = errors.New("late answers kept coming")
	}
	return fmt.Errorf("%w: no quiet answer to AT before AT+IPR (%v)", ErrNoResponse, err)
}

// verifyBaud sends AT a few times and reports whether one was answered OK. Garbage received
// meanwhile (the other end at another speed) is dropped by the engine as junk.
func verifyBaud(ctx context.Context, p *Port, t Timeouts) bool {
	for range verifyTries {
		if _, err := p.exec(ctx, "", t.WakeRetry); err == nil {
			return true
		}
		if ctx.Err() != nil || p.failed() != nil {
			return false
		}
		// An ERROR (a garbled command that reached the modem) comes back at once: wait as
		// long as a timeout would, so a slow modem's first answer is not outrun.
		if err := sleep(ctx, t.WakeRetry/4); err != nil {
			return false
		}
	}
	return false
}

// baudTarget is the speed the baud step moves modem and host to: Config.BaudSwitch, else the
// line's configured speed when the wake found the modem at another; 0 skips the step.
func (d *dialer) baudTarget() int {
	if d.cfg.BaudSwitch > 0 {
		return d.cfg.BaudSwitch
	}
	return d.restoreBaud
}

// baud is the dial step for Config.BaudSwitch, and for a modem the wake found at another speed
// than the line's: it moves it back.
func (d *dialer) baud(ctx context.Context) (string, error) {
	target := d.baudTarget()
	res, err := switchBaud(ctx, d.p, target, d.cfg.RTSCTS, d.cfg.Timeouts)
	if res.Warn != "" {
		d.cfg.Logger.Warn("at: " + res.Warn)
		res.Detail += "; warning: " + res.Warn
	}
	if errors.Is(err, ErrNoBaudControl) {
		// A line without a speed of its own (a pty) carries any: nothing to switch.
		return "the line's speed cannot be set: left as it is", nil
	}
	if err != nil {
		return res.Detail, &StepError{Step: StepBaud, Command: "AT+IPR=" + strconv.Itoa(target), Err: err}
	}
	return res.Detail, nil
}

// Baud returns the line's speed now (after a SwitchBaud), or 0 for a line without speed control
// (a pty, a multiplexer channel).
func (p *Port) Baud() int {
	if b, ok := p.l.(line.BaudSetter); ok {
		return b.Baud()
	}
	return 0
}

// leftBauds are the speeds findBaud tries after Config.BaudSwitch's: those the UARTs of cellular
// modules take above their factory 115200 (the common ones first: Quectel's and u-blox's go to
// 921600, some to 3000000, SIMCom's to 4000000), and 115200 itself, for a modem reset to its
// default under a line configured at another speed.
var leftBauds = []int{921600, 460800, 230400, 115200, 3000000, 4000000, 3686400, 3200000, 1000000}

// findBaud looks for a modem that answered nothing at the line's speed at the speeds an earlier
// run's speed switch (AT+IPR, never saved, but kept until the modem's power goes) may have left
// it at: Config.BaudSwitch first, then leftBauds, for at most Timeouts.Wake (each speed costs
// two AT retries, so a modem found nowhere costs twice the wake time in all). Found, the host
// stays at that speed and the detail says so: with Config.BaudSwitch the baud step goes on from
// there, without it the baud step moves both back to the line's speed. Not found, the line is
// back at its speed and cause comes back with the speeds tried.
//
// A modem left in a call at another speed answers only once escaped, and is escaped only when
// its peer's PPP frames arrive there: one whose peer is silent is not found.
func (d *dialer) findBaud(ctx context.Context, bs line.BaudSetter, cause error) (string, error) {
	configured := bs.Baud()
	if configured <= 0 {
		// A line that reports no speed (an unpaced emulated line) could not be set back to it
		// after the search: it would stay at the last speed tried, and garble every later wake.
		return "", cause
	}
	deadline := time.Now().Add(d.cfg.Timeouts.Wake)
	seen := map[int]bool{configured: true}
	var tried []string
	for _, rate := range append([]int{d.cfg.BaudSwitch}, leftBauds...) {
		if rate <= 0 || seen[rate] {
			continue
		}
		seen[rate] = true
		if !time.Now().Before(deadline) {
			break
		}
		if err := bs.SetBaud(rate); err != nil {
			continue // the host's UART cannot run there, so it cannot talk to a modem there either
		}
		tried = append(tried, strconv.Itoa(rate))
		how, ok, err := d.probe(ctx, deadline)
		if err != nil {
			_ = bs.SetBaud(configured)
			return "", err
		}
		if !ok {
			continue
		}
		// A line whose speed means nothing to the modem (a pty; a modem that follows the host's
		// speed) answers at every speed once it answers at all: then what brought it to answer
		// was the close or the escape, or time, not the speed.
		if answers, err := d.answersAt(ctx, bs, configured); err != nil {
			return "", err
		} else if answers {
			detail := "modem answers"
			if how != "" {
				detail += " (" + how + ")"
			}
			return detail, nil
		}
		if err := bs.SetBaud(rate); err != nil {
			return "", err
		}
		detail := fmt.Sprintf("modem answers at %d baud, not at the line's %d: an earlier run's speed switch left it there", rate, configured)
		if how != "" {
			detail += " (" + how + ")"
		}
		if d.cfg.BaudSwitch > 0 {
			detail += "; following it"
		} else {
			d.restoreBaud = configured
			detail += fmt.Sprintf("; moving it back to %d", configured)
		}
		d.cfg.Logger.Warn("at: " + detail)
		return detail, nil
	}
	_ = bs.SetBaud(configured)
	return "", fmt.Errorf("%w; nor at %s baud, where an earlier speed switch may have left it", cause, strings.Join(tried, ", "))
}

// probe asks the modem at the line's current speed whether it answers, until deadline: AT; the
// multiplexer's close sequence and AT (a run that died with CMUX on); where PPP frames came, an
// escape and AT (one that died in a call). It says how the modem was brought to answer, and
// returns an error only when the dial cannot go on (ctx ended, the port failed).
func (d *dialer) probe(ctx context.Context, deadline time.Time) (how string, ok bool, err error) {
	d.p.sawPPP() // frames seen at another speed say nothing about this one
	lateRisk := false
	// try sends AT within the deadline; with grace (after an escape) it gets a retry's time
	// even past it, as the wake's does.
	try := func(grace bool) (bool, error) {
		left := time.Until(deadline)
		if grace {
			left = max(left, d.cfg.Timeouts.WakeRetry)
		}
		if left <= 0 {
			return false, nil
		}
		_, err := d.p.exec(ctx, "", min(d.cfg.Timeouts.WakeRetry, left))
		if err == nil && lateRisk {
			// This OK may answer an earlier AT that timed out (a slow modem): let the late
			// answers come and go, then ask once more, as the wake does.
			lateRisk = false
			if err := d.p.settle(ctx, 4*settleQuiet); err != nil {
				return false, err
			}
			_, err = d.p.exec(ctx, "", d.cfg.Timeouts.WakeRetry)
		}
		switch {
		case err == nil:
			return true, nil
		case ctx.Err() != nil:
			return false, ctx.Err()
		case d.p.failed() != nil:
			return false, err
		}
		lateRisk = lateRisk || errors.Is(err, ErrCommandTimeout)
		return false, nil
	}
	if ok, err := try(false); ok || err != nil {
		return "", ok, err
	}
	if _, err := d.p.writeCommand(cmux.CloseSequence()); err != nil {
		return "", false, err
	}
	if ok, err := try(false); ok || err != nil {
		return "a multiplexer was left open: closed it", ok, err
	}
	if d.p.sawPPP() && time.Now().Before(deadline) {
		if _, err := d.escape(ctx, deadline); err != nil {
			return "", false, err
		}
		if ok, err := try(true); ok || err != nil {
			return "was in data mode: escaped and hung up", ok, err
		}
	}
	return "", false, nil
}

// answersAt sets the line to rate and reports whether the modem answers an AT there. The AT's
// timeout leaves the port unsettled, so the next command waits out a late answer first.
func (d *dialer) answersAt(ctx context.Context, bs line.BaudSetter, rate int) (bool, error) {
	if err := bs.SetBaud(rate); err != nil {
		return false, nil
	}
	_, err := d.p.exec(ctx, "", d.cfg.Timeouts.WakeRetry)
	switch {
	case err == nil:
		return true, nil
	case ctx.Err() != nil:
		return false, ctx.Err()
	case d.p.failed() != nil:
		return false, err
	}
	return false, nil
}
