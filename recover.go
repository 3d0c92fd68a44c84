package pppdial

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/pppdial/pppdial/at"
	"github.com/pppdial/pppdial/at/cell"
	"github.com/pppdial/pppdial/recovery"
	"github.com/pppdial/pppdial/recovery/hw"
)

// The recovery ladder of a persistent session: after a drop or a failed attempt the session
// asks Config.Recovery what to do next — redial, or a step that mends the modem first (radio
// off and on, a modem reset, a pulse on its reset or power line, a USB reset) — runs the step
// under its timeout and reports it as EventRecovery.

// RecoveryHardware says which hardware remedies a setup has, beside the AT ones.
type RecoveryHardware struct {
	// ResetGPIO and PowerGPIO are the modem's reset line and its power key or switch (nil: none).
	ResetGPIO, PowerGPIO *hw.Pin
	// PowerSwitch: PowerGPIO switches the supply (asserted is off) instead of pressing PWRKEY.
	PowerSwitch bool
	// GPIO opens the lines (nil: the GPIO character device); tests hand a fake.
	GPIO hw.Opener
	// USBReset adds the usb-reset step: the port's USB device deauthorised and authorised again
	// (needs the privilege to write sysfs).
	USBReset bool
}

// defaultStepTimeouts bound the steps the session runs; Config.StepTimeouts overrides them.
var defaultStepTimeouts = map[recovery.Step]time.Duration{
	recovery.StepRadioReset: 60 * time.Second,
	recovery.StepModemReset: 60 * time.Second,
	recovery.StepResetGPIO:  60 * time.Second,
	recovery.StepPowerGPIO:  90 * time.Second, // PWRKEY off, up to 30 s for the power-down, on, boot
	recovery.StepUSBReset:   60 * time.Second,
}

// recoverer is the ladder of one session: its runner and policy, and the port the steps act on.
type recoverer struct {
	s      *Session
	runner *recovery.Runner
	policy recovery.Policy
	port   **at.Port // the supervise loop's port: steps that reset the modem reopen it
}

// newRecoverer builds the runner with the steps this setup can run, and the policy: the
// session's Config.Recovery, or a Ladder over those steps.
func (s *Session) newRecoverer(port **at.Port) (*recoverer, error) {
	r := &recoverer{s: s, port: port}
	acts := []recovery.Actuator{
		actuator{recovery.StepRadioReset, r.radioReset},
		actuator{recovery.StepModemReset, r.modemReset},
	}
	h := s.cfg.Hardware
	if h.ResetGPIO != nil {
		acts = append(acts, &hw.ResetGPIO{Pin: *h.ResetGPIO, Open: h.GPIO, After: r.modemBack})
	}
	if h.PowerGPIO != nil {
		if h.PowerSwitch {
			acts = append(acts, &hw.PowerSwitch{Pin: *h.PowerGPIO, Open: h.GPIO, After: r.modemBack})
		} else {
			acts = append(acts, &hw.PowerKey{Pin: *h.PowerGPIO, Open: h.GPIO, After: r.modemBack})
		}
	}
	if h.USBReset && s.cfg.Port != "" {
		acts = append(acts, &hw.USBReset{TTY: s.cfg.Port, After: r.modemBack})
	}
	timeouts := map[recovery.Step]time.Duration{}
	for k, v := range defaultStepTimeouts {
		timeouts[k] = v
	}
	for k, v := range s.cfg.StepTimeouts {
		timeouts[k] = v
	}
	// The steps' events are emitted from the value Run returns, not through the runner's own
	// observer: that one delivers on a goroutine of its own, out of step with the session's
	// events (a step's result must come before the redial it leads to).
	r.runner = recovery.NewRunner(recovery.RunnerConfig{Actuators: acts, Timeouts: timeouts})
	r.policy = s.cfg.Recovery
	if r.policy == nil {
		l, err := recovery.NewLadder(recovery.Config{
			Steps: r.runner.Steps(), EscalateAfter: s.cfg.EscalateAfter, MaxFail: s.cfg.MaxFail,
			Permanent: permanent,
			Backoff:   func(failures int) time.Duration { return backoff(s.cfg.Holdoff, s.cfg.MaxBackoff, failures) },
		})
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrUsage, err)
		}
		r.policy = l
	}
	return r, nil
}

// actuator is a recovery step the session carries out itself.
type actuator struct {
	step recovery.Step
	run  func(context.Context) error
}

func (a actuator) Name() recovery.Step           { return a.step }
func (a actuator) Run(ctx context.Context) error { return a.run(ctx) }

// emitRecovery reports one step run.
func (s *Session) emitRecovery(ev recovery.Event) {
	s.emit(Event{Kind: EventRecovery, Step: string(ev.Step), Elapsed: ev.Elapsed, Attempt: ev.Attempt,
		Err: ev.Err, Recovery: &ev})
}

// RecoveryCount is how many runs of step ended with result in this session: for a metrics
// counter with step and result labels. Redials are counted by their events, not here.
func (s *Session) RecoveryCount(step recovery.Step, result recovery.Result) uint64 {
	s.mu.Lock()
	r := s.recov
	s.mu.Unlock()
	if r == nil {
		return 0
	}
	return r.runner.Count(step, result)
}

// atVerdict is what a failed attempt says of the modem's AT: nothing answering is a dead AT
// channel (escalate past the AT steps); an answer of any kind (NO CARRIER, ERROR, a +CME code)
// is a live one. Otherwise the probe's last verdict stands.
func (s *Session) atVerdict(err error) recovery.AT {
	switch {
	case errors.Is(err, at.ErrNoResponse):
		return recovery.ATDead
	case errors.Is(err, at.ErrNoCarrier), errors.Is(err, at.ErrCommandFailed), errors.Is(err, at.ErrBusy),
		errors.Is(err, at.ErrRegistrationTimeout), errors.Is(err, at.ErrRegistrationDenied):
		return recovery.ATAlive
	}
	var cme *at.CMEError
	if errors.As(err, &cme) {
		return recovery.ATAlive
	}
	return s.ATHealth()
}

// commandPort is the port the AT steps talk to: the AT channel while there is one, else the
// session's port (in command mode between attempts). nil when the port is closed.
func (r *recoverer) commandPort() *at.Port {
	if p := r.s.atChannel(); p != nil {
		return p
	}
	return *r.port
}

// wakePort returns the port the AT steps talk to, woken: the session's port is opened when a
// step or a failure closed it, and opened again once when it turns out dead (a USB modem's port
// that vanished and came back is a new device).
func (r *recoverer) wakePort(ctx context.Context) (*at.Port, error) {
	for retried := false; ; retried = true {
		p := r.commandPort()
		if p == nil {
			var err error
			if p, err = r.s.openPortWait(ctx); err != nil {
				return nil, err
			}
			*r.port = p
		}
		err := at.Prepare(ctx, p, r.s.quietModemConfig())
		if err == nil || retried || !isPortError(err) || p != *r.port {
			return p, err
		}
		r.releasePort()
	}
}

// radioReset turns the radio off (AT+CFUN=0, or 4 where 0 is refused) and on, and waits for
// the modem to register again.
func (r *recoverer) radioReset(ctx context.Context) error {
	p, err := r.wakePort(ctx)
	if err != nil {
		return err
	}
	s := r.s
	exec := func(cmd string) error {
		_, err := p.Exec(ctx, cmd, s.commandTimeout())
		if err != nil {
			return fmt.Errorf("AT%s: %w", cmd, err)
		}
		return nil
	}
	if err := exec("+CFUN=0"); err != nil {
		if ctx.Err() != nil {
			return err
		}
		if err4 := exec("+CFUN=4"); err4 != nil {
			return errors.Join(err, err4)
		}
	}
	// The radio needs a moment off for the network to see the detach; the modems' manuals give
	// no figure, a second is what ModemManager's users report as enough.
	if err := pause(ctx, time.Second); err != nil {
		return err
	}
	if err := exec("+CFUN=1"); err != nil {
		return err
	}
	return waitRegistered(ctx, p, s.commandTimeout(), s.cfg.NoRoaming)
}

// modemReset reboots the modem (AT+CFUN=1,1) and waits for it back: its port may vanish and
// return (a USB modem), and it is deaf while it boots.
func (r *recoverer) modemReset(ctx context.Context) error {
	p, err := r.wakePort(ctx)
	if err != nil {
		return err
	}
	s := r.s
	// The OK may not come: some modems reboot before they answer, and a USB modem's port may
	// vanish before its OK is read.
	if _, err := p.Exec(ctx, "+CFUN=1,1", s.commandTimeout()); err != nil && !errors.Is(err, at.ErrCommandTimeout) && !isPortError(err) {
		return fmt.Errorf("AT+CFUN=1,1: %w", err)
	}
	return r.modemBack(ctx)
}

// modemBack waits for a modem that reset to answer again: the step succeeded when it does. A
// device path is let go and waited for (a USB modem's port vanishes and returns; a modem that
// keeps its port never makes it go), then opened again; a line from Config.Open is kept. The
// modem is deaf while it boots: it is woken until it answers or ctx ends.
func (r *recoverer) modemBack(ctx context.Context) error {
	s := r.s
	// A modem takes a moment to start its reset after the command or the pulse, and answers
	// as before until then: a wake at once would find the modem that is about to go.
	if err := pause(ctx, resetGrace); err != nil {
		return err
	}
	r.releaseMux()
	if s.cfg.Open == nil && s.cfg.Port != "" {
		r.releasePort()
		if err := hw.WaitReturn(ctx, s.cfg.Port, 5*time.Second, 100*time.Millisecond); err != nil {
			return fmt.Errorf("waiting for %s: %w", s.cfg.Port, err)
		}
	}
	for {
		if *r.port == nil {
			p, err := s.openPortWait(ctx)
			if err != nil {
				return err
			}
			*r.port = p
		}
		err := at.Prepare(ctx, *r.port, s.quietModemConfig())
		switch {
		case err == nil:
			return nil
		case ctx.Err() != nil:
			return fmt.Errorf("the modem did not answer again: %w", err)
		case isPortError(err):
			r.releasePort() // the device went away under us: wait for it to be back
			if s.cfg.Open == nil && s.cfg.Port != "" {
				if werr := hw.WaitForPath(ctx, s.cfg.Port, 100*time.Millisecond); werr != nil {
					return fmt.Errorf("waiting for %s: %w", s.cfg.Port, werr)
				}
			}
		}
	}
}

// resetGrace is the wait after a reset command or pulse before the modem is woken again.
const resetGrace = time.Second

// releasePort closes the session's port.
func (r *recoverer) releasePort() {
	if *r.port != nil {
		_ = (*r.port).Close()
		*r.port = nil
	}
}

// releaseMux closes the multiplexer and the AT port: a modem that resets leaves neither usable
// (it is back in AT mode on its one port).
func (r *recoverer) releaseMux() {
	s := r.s
	if s.mux != nil {
		cctx, cancel := context.WithTimeout(context.Background(), time.Second)
		s.mux.close(cctx)
		cancel()
		s.setMux(nil)
	}
	s.closeATPort()
}

// openPortWait opens the port, retrying while it is not there yet (a USB modem coming back
// enumerates its ttys one by one) until ctx ends.
func (s *Session) openPortWait(ctx context.Context) (*at.Port, error) {
	for {
		p, err := s.openPort(ctx, 0)
		if err == nil {
			return p, nil
		}
		if ctx.Err() != nil {
			return nil, err
		}
		if err := pause(ctx, 200*time.Millisecond); err != nil {
			return nil, err
		}
	}
}

// quietModemConfig is the dialer's configuration without progress reports or a recording: for
// the wake of a recovery step, which reports itself.
func (s *Session) quietModemConfig() at.Config {
	c := s.cfg.Modem
	c.OnEvent, c.Record, c.BaudSwitch = nil, nil, 0
	return c
}

// waitRegistered polls the registration commands until one says home (or roaming, unless
// noRoaming), or ctx ends.
func waitRegistered(ctx context.Context, p *at.Port, timeout time.Duration, noRoaming bool) error {
	last := "no answer"
	for {
		for _, c := range []string{"+CEREG?", "+CGREG?", "+CREG?"} {
			info, err := p.Exec(ctx, c, timeout)
			if err != nil {
				if ctx.Err() != nil {
					return fmt.Errorf("not registered again (%s): %w", last, context.Cause(ctx))
				}
				continue
			}
			for _, l := range info {
				if !strings.HasPrefix(l, "+C") {
					continue
				}
				reg, err := cell.ParseRegistration(l)
				if err != nil {
					continue
				}
				last = c + " " + string(reg.State)
				if reg.State == cell.RegHome || (reg.State == cell.RegRoaming && !noRoaming) {
					return nil
				}
			}
		}
		if err := pause(ctx, 500*time.Millisecond); err != nil {
			return fmt.Errorf("not registered again (%s): %w", last, context.Cause(ctx))
		}
	}
}

func pause(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// recoverAfter asks the policy what follows an attempt (wasUp: the link was up and went down;
// otherwise err is why it failed) and runs the steps it asks for before the next redial. It
// returns the wait before that redial and its rung attempt, or stop with the session's end.
func (r *recoverer) recoverAfter(ctx context.Context, wasUp bool, err error) (delay time.Duration, attempt int, stop error) {
	s := r.s
	var act recovery.Action
	if wasUp {
		r.policy.Next(recovery.Outcome{Step: recovery.StepRedial}) // it came up: the ladder starts again
		act = r.policy.Next(recovery.Outcome{AT: s.ATHealth()})
	} else {
		act = r.policy.Next(recovery.Outcome{Step: recovery.StepRedial, Err: err, AT: s.atVerdict(err)})
	}
	for !act.Stop && act.Step != "" && act.Step != recovery.StepRedial {
		if err := pause(ctx, act.Delay); err != nil {
			return 0, 0, err
		}
		s.log.Info("recovery", "step", act.Step, "attempt", act.Attempt)
		ev := r.runner.Run(ctx, act.Step, act.Attempt)
		if ctx.Err() != nil {
			return 0, 0, ctx.Err()
		}
		s.emitRecovery(ev)
		verdict := s.ATHealth()
		if ev.Err == nil {
			verdict = recovery.ATAlive // the modem answered the step
		} else if v := s.atVerdict(ev.Err); v != recovery.ATUnknown {
			verdict = v
		}
		act = r.policy.Next(recovery.Outcome{Step: act.Step, Err: ev.Err, AT: verdict})
	}
	if act.Stop {
		if errors.Is(act.Err, recovery.ErrMaxFail) {
			return 0, 0, fmt.Errorf("pppdial: %w: %w", ErrMaxFail, act.Err)
		}
		if act.Err == nil {
			return 0, 0, err
		}
		return 0, 0, act.Err
	}
	return act.Delay, act.Attempt, nil
}

// redialRun is a redial the ladder asked for, reported as a recovery step when the link is up
// or the attempt failed.
type redialRun struct {
	rung    int
	started time.Time
}

// redialUp reports the redial in progress as done: the link is up.
func (s *Session) redialUp() {
	if r := s.redialing; r != nil {
		s.redialing = nil
		s.emitRecovery(recovery.Event{Step: recovery.StepRedial, Result: recovery.ResultOK, Elapsed: time.Since(r.started), Attempt: r.rung})
	}
}
