package at

import (
	"context"
	"errors"
	"fmt"
	"strconv"

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

// baud is the dial step for Config.BaudSwitch.
func (d *dialer) baud(ctx context.Context) (string, error) {
	res, err := switchBaud(ctx, d.p, d.cfg.BaudSwitch, d.cfg.RTSCTS, d.cfg.Timeouts)
	if res.Warn != "" {
		d.cfg.Logger.Warn("at: " + res.Warn)
		res.Detail += "; warning: " + res.Warn
	}
	if errors.Is(err, ErrNoBaudControl) {
		// A line without a speed of its own (a pty) carries any: nothing to switch.
		return "the line's speed cannot be set: left as it is", nil
	}
	if err != nil {
		return res.Detail, &StepError{Step: StepBaud, Command: "AT+IPR=" + strconv.Itoa(d.cfg.BaudSwitch), Err: err}
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
