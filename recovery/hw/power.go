package hw

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/pppdial/pppdial/recovery"
)

// PowerKey is the power-gpio step for modems switched by a PWRKEY input (SIM7600, EC25/EG25): a
// pulse turns the modem off, a wait for it to power down, a pulse turns it on again.
//
// The modem must end powered whatever happens: once the off pulse has started, the sequence
// runs to its on pulse even when ctx ends (SIGINT, the step's timeout). A cancelled sequence
// waits for the power-down at most Grace, so the step returns within OffPulse + Grace + OnPulse
// of the cancellation.
type PowerKey struct {
	Pin Pin
	// OffPulse and OnPulse are how long PWRKEY is held to power off and on, from the hardware
	// manual (EG25: at least 650 ms off, 500 ms on; SIM7600: 2.5 s off, 0.5 s on). Defaults 1 s.
	OffPulse, OnPulse time.Duration
	// ArmPoweredDown is called just before the off pulse and returns a channel that receives
	// (or is closed) when the modem reports its power-down ("POWERED DOWN", "NORMAL POWER
	// DOWN" URCs) after that moment. Nil: no report, the full DownTimeout is waited.
	ArmPoweredDown func() <-chan struct{}
	// DownTimeout bounds the wait for the power-down report (default 30 s, the order of the
	// modems' documented power-down time).
	DownTimeout time.Duration
	// Grace bounds the wait for the power-down once ctx has ended (default 1 s).
	Grace time.Duration
	Open  Opener                      // nil: CdevOpener("pppdial")
	After func(context.Context) error // waits for the modem to be back; nil: none
}

// Name implements recovery.Actuator.
func (k *PowerKey) Name() recovery.Step { return recovery.StepPowerGPIO }

// ErrNotPoweredDown is returned (after the modem was switched on again) when no power-down
// report came within DownTimeout; the on pulse was given anyway.
var ErrNotPoweredDown = errors.New("hw: no power-down report before the timeout")

// Run carries out off pulse, power-down wait, on pulse, then After.
func (k *PowerKey) Run(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err // nothing touched yet
	}
	line, err := open(k.Open, k.Pin)
	if err != nil {
		return err
	}
	defer line.Close()
	down := make(<-chan struct{})
	if k.ArmPoweredDown != nil {
		down = k.ArmPoweredDown()
	}
	keep := context.WithoutCancel(ctx) // what must finish: the pulses, and the bounded waits
	if err := pulse(keep, line, orDefault(k.OffPulse, time.Second)); err != nil {
		return fmt.Errorf("power-gpio %s: off pulse: %w", k.Pin, err)
	}
	wait := func(c context.Context) bool {
		select {
		case <-down:
			return true
		case <-c.Done():
			return false
		}
	}
	wctx, cancel := context.WithTimeout(ctx, orDefault(k.DownTimeout, 30*time.Second))
	wentDown := wait(wctx)
	timedOut := !wentDown && ctx.Err() == nil
	cancel()
	if !wentDown && ctx.Err() != nil {
		gctx, cancel := context.WithTimeout(keep, orDefault(k.Grace, time.Second))
		wait(gctx)
		cancel()
	}
	if err := pulse(keep, line, orDefault(k.OnPulse, time.Second)); err != nil {
		return fmt.Errorf("power-gpio %s: on pulse: %w", k.Pin, err)
	}
	switch {
	case ctx.Err() != nil:
		return fmt.Errorf("power-gpio %s: cancelled, modem switched on again: %w", k.Pin, ctx.Err())
	case timedOut && k.ArmPoweredDown != nil:
		err = ErrNotPoweredDown
	}
	if k.After != nil {
		if aerr := k.After(ctx); aerr != nil {
			return errors.Join(err, aerr)
		}
	}
	return err
}

// PowerSwitch is the power-gpio step for a hat whose line switches the modem's supply (a
// load switch on VBAT or a hub's port power): asserted is off.
type PowerSwitch struct {
	Pin Pin
	// Off is how long the supply stays off (default 2 s: long enough for the modem's
	// capacitors to drain, per its hardware manual).
	Off   time.Duration
	Open  Opener
	After func(context.Context) error
}

// Name implements recovery.Actuator.
func (s *PowerSwitch) Name() recovery.Step { return recovery.StepPowerGPIO }

// Run switches the supply off and on. Cancelled while off, the supply comes back at once.
func (s *PowerSwitch) Run(ctx context.Context) error {
	return pulseStep(ctx, s.Name(), s.Open, s.Pin, orDefault(s.Off, 2*time.Second), s.After)
}
