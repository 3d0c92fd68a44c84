package hw

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/warthog618/go-gpiocdev"

	"github.com/pppdial/pppdial/recovery"
)

// Pin is one GPIO line: a chip ("gpiochip0" or "/dev/gpiochip0") and a line offset on it.
type Pin struct {
	Chip   string
	Offset int
	// ActiveLow: the line is asserted (reset held, PWRKEY pressed) at low level, as with an
	// open-collector transistor between the host's pin and the modem's RESET_N or PWRKEY.
	ActiveLow bool
}

// String gives CHIP:LINE.
func (p Pin) String() string { return p.Chip + ":" + strconv.Itoa(p.Offset) }

// ParsePin parses CHIP:LINE, as --reset-gpio and --power-gpio take it: "gpiochip0:17",
// "/dev/gpiochip0:17", or "0:17" for gpiochip0.
func ParsePin(s string) (Pin, error) {
	i := strings.LastIndexByte(s, ':')
	if i <= 0 || i == len(s)-1 {
		return Pin{}, fmt.Errorf("hw: GPIO %q: want CHIP:LINE, e.g. gpiochip0:17", s)
	}
	chip, line := s[:i], s[i+1:]
	off, err := strconv.Atoi(line)
	if err != nil || off < 0 || off > 1023 {
		return Pin{}, fmt.Errorf("hw: GPIO %q: line %q is not a line number", s, line)
	}
	if n, err := strconv.Atoi(chip); err == nil && n >= 0 {
		chip = "gpiochip" + strconv.Itoa(n)
	}
	if strings.ContainsAny(chip, " ,") {
		return Pin{}, fmt.Errorf("hw: GPIO %q: bad chip name %q", s, chip)
	}
	return Pin{Chip: chip, Offset: off}, nil
}

// Line is a GPIO output line, driven by logical value: 1 asserted, 0 released (the Opener maps
// ActiveLow to levels).
type Line interface {
	SetValue(value int) error
	Close() error
}

// Opener requests pin as an output, released (logical 0).
type Opener func(pin Pin) (Line, error)

// CdevOpener opens lines through the GPIO character device (github.com/warthog618/go-gpiocdev),
// labelled with consumer.
func CdevOpener(consumer string) Opener {
	return func(p Pin) (Line, error) {
		opts := []gpiocdev.LineReqOption{gpiocdev.AsOutput(0), gpiocdev.WithConsumer(consumer)}
		if p.ActiveLow {
			opts = append(opts, gpiocdev.AsActiveLow)
		}
		l, err := gpiocdev.RequestLine(p.Chip, p.Offset, opts...)
		if err != nil {
			return nil, fmt.Errorf("hw: GPIO %s: %w", p, err)
		}
		return l, nil
	}
}

// pulse asserts line for width, then releases it. If ctx ends first the line is released at
// once and ctx's error returned.
func pulse(ctx context.Context, line Line, width time.Duration) error {
	if err := line.SetValue(1); err != nil {
		return err
	}
	err := sleep(ctx, width)
	if rerr := line.SetValue(0); rerr != nil {
		return errors.Join(err, rerr)
	}
	return err
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// ResetGPIO is the reset-gpio step: a pulse on the modem's reset line.
type ResetGPIO struct {
	Pin Pin
	// Width is how long reset is held: the modem's hardware manual's reset pulse (EC25/EG25
	// RESET_N 150..460 ms, SIM7600 RESET ~ 100 ms+). Default 300 ms.
	Width time.Duration
	Open  Opener                      // nil: CdevOpener("pppdial")
	After func(context.Context) error // waits for the modem to be back (port path, AT); nil: none
}

// Name implements recovery.Actuator.
func (r *ResetGPIO) Name() recovery.Step { return recovery.StepResetGPIO }

// Run pulses the reset line and waits for After. Cancelled mid-pulse, the line is released at
// once: a modem held in reset is the one state to avoid.
func (r *ResetGPIO) Run(ctx context.Context) error {
	return pulseStep(ctx, r.Name(), r.Open, r.Pin, orDefault(r.Width, 300*time.Millisecond), r.After)
}

// pulseStep is a step that is one pulse and a wait for the modem: open the line, pulse it
// (released at once if ctx ends), then After.
func pulseStep(ctx context.Context, step recovery.Step, o Opener, pin Pin, width time.Duration, after func(context.Context) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	line, err := open(o, pin)
	if err != nil {
		return err
	}
	defer line.Close()
	if err := pulse(ctx, line, width); err != nil {
		return fmt.Errorf("%s %s: %w", step, pin, err)
	}
	if after != nil {
		return after(ctx)
	}
	return nil
}

func open(o Opener, p Pin) (Line, error) {
	if o == nil {
		o = CdevOpener("pppdial")
	}
	return o(p)
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}
