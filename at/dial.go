package at

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/pppdial/pppdial/apn"
	"github.com/pppdial/pppdial/cmux"
	"github.com/pppdial/pppdial/internal/eventq"
	"github.com/pppdial/pppdial/line"
)

// Step names one phase of Dial, as reported in Event.Step and in *StepError.
type Step string

// The steps of Dial, in order.
const (
	StepWake     Step = "wake"     // AT until OK; escape and hang up a modem left in data mode
	StepEchoOff  Step = "echo-off" // ATE0
	StepBaud     Step = "baud"     // AT+IPR and the host following (Config.BaudSwitch)
	StepErrors   Step = "errors"   // AT+CMEE=2, falling back to 1
	StepInit     Step = "init"     // Config.Init commands
	StepSIM      Step = "sim"      // AT+CPIN? and PIN entry
	StepIdentity Step = "identity" // AT+CGMI, +CGMM, +CGMR, +CGSN and the ICCID (Config.Identity)
	StepSignal   Step = "signal"   // AT+CSQ
	StepRegister Step = "register" // +CREG/+CGREG/+CEREG until registered
	StepOperator Step = "operator" // AT+COPS?
	StepAPN      Step = "apn"      // AT+CGDCONT; with APN "auto", AT+CIMI and one event per APN tried
	StepMTU      Step = "mtu"      // AT+CGCONTRDP: the network's MTU for the context (Config.QueryMTU)
	StepDial     Step = "dial"     // ATD until CONNECT
)

// Timeouts bound each step. Zero fields take the defaults.
type Timeouts struct {
	// Wake bounds AT until OK, escape included (default 10 s); an escape begun as it runs out
	// is finished (the OK to "+++", ATH, one AT: a WakeRetry each at most, after the escape's
	// guard times), so the step may last that much longer.
	Wake      time.Duration
	WakeRetry time.Duration // one AT attempt (default 500 ms)
	Command   time.Duration // one ordinary command (default 5 s)
	SIM       time.Duration // +CPIN? until READY, PIN entry included (default 20 s)
	Register  time.Duration // registration wait (default 90 s)
	Dial      time.Duration // ATD until CONNECT or a failure code (default 60 s)
}

// Config says how to bring the modem up. Only APN is usually needed.
type Config struct {
	// APN for AT+CGDCONT. Empty skips the step and dials the modem's stored context. APNAuto
	// finds it from the SIM: see dialAuto.
	APN string
	// StateDir is where APNAuto remembers the APN that worked (Session.RememberAPN) and looks
	// for it first; empty remembers nothing.
	StateDir string
	// BaudSwitch, if set, moves the modem and the host to this speed after the echo is off
	// (SwitchBaud); RTSCTS says the line has hardware flow control, without which a speed above
	// FastBaud is warned about. A modem that answers nothing at the line's speed is looked for
	// at this speed first (an earlier run's switch may have left it there), and followed.
	BaudSwitch int
	RTSCTS     bool
	// QueryMTU asks the modem for the network's MTU on the context right before each ATD
	// (AT+CGCONTRDP=<CID>, the "mtu" step), into Info.MTU. Only a context the network has
	// already activated has one — on LTE, the attach's default bearer often is CID 1 — and
	// only when it has the APN being dialed; an ERROR, an answer without the field (most
	// modems leave it out) or no answer is reported in the step's detail and never fails the
	// dial.
	QueryMTU bool
	// PDPType is "IP" (default), "IPV6" or "IPV4V6".
	PDPType string
	// CID is the PDP context id (default 1).
	CID int
	// PIN is entered when the SIM asks for it. It is never logged, and never retried when the SIM
	// rejects it.
	PIN string
	// DialString is what follows ATD (default "*99***<CID>#").
	DialString string
	// Init are extra commands (without "AT") run after AT+CMEE, e.g. "+CFUN=1" or "&D2".
	Init []string
	// RegistrationCommands are polled during the registration wait (default +CREG, +CGREG,
	// +CEREG); a command the modem answers with ERROR is dropped.
	RegistrationCommands []string
	// NoRoaming counts registration on a visited network as not registered: the dial fails with
	// ErrRoamingRefused instead of placing a call that is billed as roaming.
	NoRoaming bool
	// PollInterval is the pause between registration polls (default 2 s); a registration URC
	// ends the pause early.
	PollInterval time.Duration
	// Guard is the escape sequence's guard time, used to get a modem left in data mode back
	// (default 1 s, as S12=50 gives).
	Guard time.Duration
	// Timeouts bound the steps.
	Timeouts Timeouts
	// Identity reads the modem's and the SIM's identity once the SIM is ready (Info.Identity):
	// a daemon labels its metrics with it and counts data usage per SIM (ICCID). A command the
	// modem refuses leaves its field empty and never fails the dial.
	Identity bool
	// OnEvent, if set, receives the dial's events — every step's start and end, every
	// unsolicited result code — in order, on a goroutine of its own, so a slow observer never
	// holds the modem up; one that falls far behind is told how many it missed (Event.Missed).
	// Dial and Prepare return once it has taken them all (waiting 5 s at most).
	OnEvent func(Event)
	// Logger receives debug lines (commands and answers, PIN redacted). Nil discards them.
	Logger *slog.Logger
	// Record, if set, records this dial as a transcript that Replay accepts: the AT phase and
	// the modem's first data-mode reads. A Recorder records one dial.
	Record *Recorder
}

func (c Config) withDefaults() Config {
	if c.PDPType == "" {
		c.PDPType = "IP"
	}
	if c.CID == 0 {
		c.CID = 1
	}
	if c.DialString == "" {
		c.DialString = fmt.Sprintf("*99***%d#", c.CID)
	}
	if c.RegistrationCommands == nil {
		c.RegistrationCommands = []string{"+CREG", "+CGREG", "+CEREG"}
	}
	if c.PollInterval <= 0 {
		c.PollInterval = 2 * time.Second
	}
	if c.Guard <= 0 {
		c.Guard = time.Second
	}
	t := &c.Timeouts
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&t.Wake, 10*time.Second)
	def(&t.WakeRetry, 500*time.Millisecond)
	def(&t.Command, 5*time.Second)
	def(&t.SIM, 20*time.Second)
	def(&t.Register, 90*time.Second)
	def(&t.Dial, 60*time.Second)
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// Info is what the dialer learned about the modem and the network.
type Info struct {
	Signal       Signal    // from +CSQ
	Operator     string    // from +COPS?, as the modem names it
	AcT          int       // access technology number (27.007 <AcT>), -1 when unknown
	AccessTech   string    // AcT by name: "LTE", "GSM", "LTE-M", ...
	Registration RegStatus // home or roaming
	Connect      string    // the CONNECT line, e.g. "CONNECT 150000000"
	// MTU is the network's IPv4 MTU on the dialed context as the modem reported it right before
	// ATD (Config.QueryMTU); 0 when it did not.
	MTU int
	// APN is the candidate APNAuto dialed with (nil without APNAuto, and when the network is
	// unknown and the modem's stored context was dialed). Its password is redacted in every
	// print and log form.
	APN *apn.Candidate
	// Identity is the modem's and the SIM's identity (with Config.Identity; zero without).
	Identity Identity
}

// Session is a modem in data mode.
type Session struct {
	// Info describes the modem and network at dial time.
	Info Info

	data  *dataLine
	port  *Port
	guard time.Duration
	// imsi and stateDir remember Info.APN (RememberAPN).
	imsi, stateDir string
}

// Data is the data-mode line: the PPP stream, whose first bytes are those that arrived right
// after the CONNECT line, untouched. It ends with ErrCarrierLost when the modem reports NO
// CARRIER, with ErrDCDLost when the line's DCD drops, and with an error wrapping os.ErrClosed
// after Hangup or Close. Closing it does not end the call: Hangup does.
func (s *Session) Data() line.Line { return s.data }

// Port returns the port the session runs on, for Hangup, Exec or a later Dial.
func (s *Session) Port() *Port { return s.port }

// Hangup ends the call: escape with guard times, ATH, DTR drop if needed. Stop using Data first.
func (s *Session) Hangup(ctx context.Context) error {
	return Hangup(ctx, s.port, HangupOptions{Guard: s.guard})
}

// dialer is one Dial in progress.
type dialer struct {
	cfg    Config
	p      *Port
	info   Info
	regCh  chan regUpdate
	events *eventq.Queue[Event]
	// apnName is the APN the context was given for the next ATD ("" when the modem's stored
	// context is dialed): the MTU step checks the active context has it.
	apnName string
	// restoreBaud is the line's configured speed when the wake found the modem at another
	// (findBaud) and no Config.BaudSwitch is asked for: the baud step moves it back there.
	restoreBaud int
}

type regUpdate struct {
	cmd string
	reg regInfo
}

// Dial brings the modem on port from any state to data mode: wake (escaping a modem left in
// data mode), echo off, verbose errors, SIM and PIN, signal, registration, operator, APN and
// ATD. On success the returned Session's Data carries PPP. Errors are *StepError wrapping the
// package's sentinels and *CMEError, so errors.Is and errors.As work on them. A data mode still
// running on port (an earlier Session) is ended first. cfg.Logger becomes the Port's logger.
func Dial(ctx context.Context, p *Port, cfg Config) (*Session, error) {
	var sess *Session
	err := begin(ctx, p, cfg, func(d *dialer) (err error) {
		if rec := d.cfg.Record; rec != nil {
			rec.begin(p, d.cfg.PIN)
			defer func() { rec.dialed(p, cfg, err) }()
		}
		sess, err = d.steps(ctx)
		return err
	})
	return sess, err
}

// Prepare brings the modem on p to command mode without dialing: wake (escaping a modem left
// in data mode, closing a multiplexer left open by a run that died), echo off and, with
// Config.BaudSwitch, the faster speed. It is what precedes AT+CMUX (some modems refuse AT+IPR
// inside the multiplexer), after which Dial runs on a multiplexer channel.
func Prepare(ctx context.Context, p *Port, cfg Config) error {
	return begin(ctx, p, cfg, func(d *dialer) error {
		for _, s := range d.plan() {
			if s.step == StepBaud && d.baudTarget() <= 0 {
				return nil
			}
			if err := d.run(ctx, s.step, s.fn); err != nil {
				return err
			}
			if s.step == StepBaud {
				return nil
			}
		}
		return nil
	})
}

// begin takes p for a dialer's steps: one command sequence at a time, data mode ended, the
// registration URCs routed to the dialer.
func begin(ctx context.Context, p *Port, cfg Config, steps func(*dialer) error) error {
	cfg = cfg.withDefaults()
	p.SetLogger(cfg.Logger)
	if err := p.lockExec(ctx); err != nil {
		return &StepError{Step: StepWake, Err: err}
	}
	defer p.unlockExec()
	p.mu.Lock()
	p.commandModeLocked(fmt.Errorf("at: a new dial began: %w", os.ErrClosed))
	p.mu.Unlock()
	d := &dialer{cfg: cfg, p: p, info: Info{AcT: -1}, regCh: make(chan regUpdate, 16), events: newEvents(cfg.OnEvent)}
	// Registered before the URC route below, so that it runs after the route is gone: no URC
	// is posted once the queue is closed.
	defer drainEvents(ctx, d.events)
	urc := d.urc
	p.dialURC.Store(&urc)
	defer p.dialURC.Store(nil)
	return steps(d)
}

type dialStep struct {
	step Step
	fn   func(context.Context) (string, error)
}

// plan is the command steps before the dial, in order.
func (d *dialer) plan() []dialStep {
	return []dialStep{
		{StepWake, d.wake},
		{StepEchoOff, d.echoOff},
		{StepBaud, d.baud},
		{StepErrors, d.cmee},
		{StepInit, d.init},
		{StepSIM, d.sim},
		{StepIdentity, d.identity},
		{StepSignal, d.signal},
		{StepRegister, d.register},
		{StepOperator, d.operator},
		{StepAPN, d.apn},
	}
}

// steps runs Dial's steps in order.
func (d *dialer) steps(ctx context.Context) (*Session, error) {
	for _, s := range d.plan() {
		if (s.step == StepBaud && d.baudTarget() <= 0) || (s.step == StepIdentity && !d.cfg.Identity) {
			continue
		}
		if s.step == StepAPN && d.cfg.APN == APNAuto {
			return d.dialAuto(ctx)
		}
		if err := d.run(ctx, s.step, s.fn); err != nil {
			return nil, err
		}
	}
	return d.dialStep(ctx)
}

// dialStep runs the dial step, after the MTU step with Config.QueryMTU.
func (d *dialer) dialStep(ctx context.Context) (*Session, error) {
	if d.cfg.QueryMTU {
		if err := d.run(ctx, StepMTU, d.mtu); err != nil {
			return nil, err
		}
	}
	var sess *Session
	err := d.run(ctx, StepDial, func(ctx context.Context) (string, error) {
		var err error
		sess, err = d.dial(ctx)
		if err != nil {
			return "", err
		}
		return sess.Info.Connect, nil
	})
	if err != nil {
		return nil, err
	}
	return sess, nil
}

// run runs one step with progress reports; errors become *StepError.
func (d *dialer) run(ctx context.Context, step Step, fn func(context.Context) (string, error)) error {
	d.events.Post(Event{Time: time.Now(), Kind: EventProgress, Step: step})
	start := time.Now()
	detail, err := fn(ctx)
	if err != nil {
		var se *StepError
		if !errors.As(err, &se) {
			err = &StepError{Step: step, Err: err}
		}
		if ctx.Err() != nil && !errors.Is(err, ctx.Err()) {
			err = &StepError{Step: step, Err: fmt.Errorf("%w (%v)", ctx.Err(), err)}
		}
	}
	elapsed := time.Since(start)
	d.events.Post(Event{Time: time.Now(), Kind: EventProgress, Step: step, Done: true, Elapsed: elapsed, Detail: detail, Err: err})
	d.cfg.Logger.Debug("at: step", "step", step, "elapsed", elapsed, "detail", detail, "err", err)
	return err
}

// urc receives URCs from the gate (in the library's reader goroutine).
func (d *dialer) urc(line string) {
	for _, c := range d.cfg.RegistrationCommands {
		if v, ok := strings.CutPrefix(line, c+":"); ok {
			if r, ok := parseReg(v, true); ok {
				select {
				case d.regCh <- regUpdate{c, r}:
				default: // a poll will see the same state
				}
			}
		}
	}
	d.events.Post(Event{Time: time.Now(), Kind: EventURC, Line: line})
}

// cmd runs a command with the ordinary timeout, wrapping failures with the step and command.
func (d *dialer) cmd(ctx context.Context, step Step, cmd string, timeout time.Duration) ([]string, error) {
	if timeout <= 0 {
		timeout = d.cfg.Timeouts.Command
	}
	info, err := d.p.exec(ctx, cmd, timeout)
	if err != nil {
		return info, &StepError{Step: step, Command: redactLine("AT" + cmd), Err: err}
	}
	return info, nil
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// wake sends AT until OK (wakeHere). A modem that answers nothing at the line's speed may
// have been left at another by an earlier run's AT+IPR: on a line whose speed can be set, the
// speeds a speed switch leaves are searched (findBaud).
func (d *dialer) wake(ctx context.Context) (string, error) {
	detail, err := d.wakeHere(ctx, d.cfg.Timeouts.Wake)
	if err == nil || !errors.Is(err, ErrNoResponse) || ctx.Err() != nil || d.p.failed() != nil {
		return detail, err
	}
	bs, ok := d.p.l.(line.BaudSetter)
	if !ok {
		return detail, err
	}
	return d.findBaud(ctx, bs, err)
}

// wakeHere sends AT until OK at the line's speed, for at most budget. A modem that does not
// answer may be in data mode from an earlier run (a call still up after the host lost its link,
// a run that died): after the multiplexer's close sequence, it is escaped and hung up. At once
// when PPP frames come, or when the AT after the close went unanswered while bytes came (a
// modem whose peer floods or sends a frame now and then: its frames may fall anywhere, in a
// speed search's windows too); after a third of the budget when the line has said nothing in
// this wake (a modem slow to boot is deaf and silent; one whose peer has gone quiet, too). Once
// per wake at least, since an escape costs a modem in command mode nothing ("+++" is no
// command, ATH answers OK). An escape begun as the budget runs out is finished: the wake may
// end up to three retries and the escape's guard times after budget, rather than leave the
// modem escaped with its call up.
func (d *dialer) wakeHere(ctx context.Context, budget time.Duration) (string, error) {
	start := time.Now()
	deadline := start.Add(budget)
	// Silence is this wake's: a Port kept across attempts has received a whole link's bytes,
	// and a modem whose peer has gone quiet since is silent all the same.
	startBytes := d.p.receivedBytes()
	escapes := 0
	escapedAfterClose := false // an escape after the multiplexer's close was answered
	inDataMode := false        // the modem answered an escape, or sent PPP frames: it was in a call
	confirm := false           // an escape was just made: one AT checks it, even past the deadline
	tries := 0
	muxClosed := false
	var muxClosedAt time.Time
	lateRisk := false // an AT timed out since the last escape: its answer may come late
	for time.Now().Before(deadline) || confirm {
		tries++
		timeout := min(d.cfg.Timeouts.WakeRetry, time.Until(deadline))
		if confirm {
			timeout = max(timeout, d.cfg.Timeouts.WakeRetry)
			confirm = false
		}
		_, err := d.p.exec(ctx, "", timeout)
		if err == nil && lateRisk {
			// This OK may answer an earlier AT that timed out (a modem slow to start answers
			// late): let the rest of the late answers come and go, then ask once more, so the
			// next command gets its own answer.
			lateRisk = false
			confirm = true
			if err := d.p.settle(ctx, 4*settleQuiet); err != nil {
				return "", err
			}
			continue
		}
		if err == nil {
			var how []string
			if muxClosed && !escapedAfterClose {
				// Answered after the close, and no escape since was answered: the close is
				// what it took (a modem leaving 27.010 mode may take a moment). After an
				// answered escape, nothing says a multiplexer was open.
				how = append(how, "a multiplexer was left open: closed it")
			}
			switch {
			case inDataMode:
				how = append(how, "was in data mode: escaped and hung up")
			case escapes > 0:
				how = append(how, "escaped and hung up in case it was in data mode")
			}
			detail := "modem answers"
			if len(how) > 0 {
				detail += " (" + strings.Join(how, "; ") + ")"
			}
			return detail, nil
		}
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		if d.p.failed() != nil {
			return "", err // the port is gone
		}
		if errors.Is(err, ErrCommandTimeout) {
			lateRisk = true
		}
		inTime := time.Now().Before(deadline)
		talked := d.p.receivedBytes() != startBytes
		silent := !talked && time.Since(start) > budget/3
		sawPPP := d.p.sawPPP()
		inDataMode = inDataMode || sawPPP
		if !muxClosed && tries >= 2 && inTime {
			// A modem left in 27.010 mode by a run that died ignores text, or answers in
			// frames (PPP ones too, from a call still running on a channel). CLD and DISC on
			// DLC 0 end the multiplexer; a modem in command mode takes them for noise, and a
			// PPP peer drops them as a bad frame. So they go first, before an escape.
			muxClosed, muxClosedAt = true, time.Now()
			d.cfg.Logger.Debug("at: no answer: closing a multiplexer that may be left open")
			if _, err := d.p.writeCommand(cmux.CloseSequence()); err != nil {
				return "", err
			}
			continue
		}
		owed := escapes == 0 && muxClosed && (talked || (silent && time.Since(muxClosedAt) > budget/4))
		if escapes < 2 && (sawPPP || owed) && (inTime || escapes == 0) {
			escapes++
			d.cfg.Logger.Debug("at: modem not in command mode: escaping", "ppp", sawPPP)
			answered, err := d.escape(ctx, deadline)
			if err != nil {
				return "", err
			}
			inDataMode = inDataMode || answered
			escapedAfterClose = escapedAfterClose || (answered && muxClosed)
			lateRisk = false // the guard times and ATH let late answers come and go
			confirm = true
			continue
		}
		if !inTime {
			break
		}
		if !errors.Is(err, ErrCommandTimeout) {
			// ERROR or garbage answer to AT: give it a moment, then try again.
			if err := sleep(ctx, min(d.cfg.Timeouts.WakeRetry/4, time.Until(deadline))); err != nil {
				return "", err
			}
		}
	}
	if n := d.p.receivedBytes(); n > 0 {
		return "", fmt.Errorf("%w: %d bytes received but no OK to %d AT", ErrNoResponse, n, tries)
	}
	return "", fmt.Errorf("%w: no bytes received", ErrNoResponse)
}

// escape sends +++ with guard times, then ATH, and reports whether the modem answered the
// "+++" (it was in data mode). ATH gets a retry's time at least, even past deadline: a modem
// escaped and not hung up stays in its call.
func (d *dialer) escape(ctx context.Context, deadline time.Time) (answered bool, err error) {
	// The OK to "+++" comes while no command is pending: taken here, it is neither dropped
	// unseen nor taken for the answer to ATH.
	var w *finalWaiter
	err = sendEscape(ctx, d.p, d.cfg.Guard, func() { w = d.p.expectFinal() })
	if w != nil {
		if err == nil {
			s, werr := w.wait(ctx, d.cfg.Timeouts.WakeRetry)
			answered = werr == nil && s == "OK"
		}
		w.stop()
	}
	if err != nil {
		return false, err
	}
	_, _ = d.p.exec(ctx, "H", min(d.cfg.Timeouts.Command, max(time.Until(deadline), d.cfg.Timeouts.WakeRetry)))
	return answered, ctx.Err()
}

// sendEscape writes "+++" with guard-time silence before and after; written, if set, is called
// right before the "+++" goes out. The modem times the silence from when our last byte reached
// it, which on a busy or paced line is later than when we wrote it, and times its guard after
// the escape from the last '+': a command sent exactly one guard time later could land inside
// it and cancel the escape. So both pauses are a quarter longer than the guard.
func sendEscape(ctx context.Context, p *Port, guard time.Duration, written func()) error {
	if err := sleep(ctx, guard+guard/4-p.sinceWrite()); err != nil {
		return err
	}
	if written != nil {
		written()
	}
	if _, err := p.writeCommand([]byte("+++")); err != nil {
		return err
	}
	return sleep(ctx, guard+guard/4)
}

// echoOff turns the modem's echo off. Its detail is the modem's answer, so the step's line
// says what happened rather than nothing.
func (d *dialer) echoOff(ctx context.Context) (string, error) {
	if _, err := d.cmd(ctx, StepEchoOff, "E0", 0); err != nil {
		return "", err
	}
	return "ATE0: OK", nil
}

func (d *dialer) cmee(ctx context.Context) (string, error) {
	if _, err := d.p.exec(ctx, "+CMEE=2", d.cfg.Timeouts.Command); err == nil {
		return "verbose", nil
	}
	if ctx.Err() != nil {
		return "", ctx.Err()
	}
	if _, err := d.p.exec(ctx, "+CMEE=1", d.cfg.Timeouts.Command); err == nil {
		return "numeric", nil
	}
	return "not supported", ctx.Err()
}

func (d *dialer) init(ctx context.Context) (string, error) {
	for _, c := range d.cfg.Init {
		if _, err := d.cmd(ctx, StepInit, strings.TrimPrefix(strings.TrimPrefix(c, "AT"), "at"), 0); err != nil {
			return "", err
		}
	}
	return fmt.Sprintf("%d commands", len(d.cfg.Init)), nil
}

// sim checks +CPIN? and enters the PIN once when asked. SIM busy (CMESIMBusy) and plain ERROR are
// retried until the SIM timeout: SIMs take seconds to come up after power-on and after a PIN.
func (d *dialer) sim(ctx context.Context) (string, error) {
	deadline := time.Now().Add(d.cfg.Timeouts.SIM)
	pinSent := false
	var last error
	for {
		info, err := d.cmd(ctx, StepSIM, "+CPIN?", min(d.cfg.Timeouts.Command, time.Until(deadline)))
		if err == nil {
			v, ok := valueOf(info, "+CPIN")
			if !ok {
				last = fmt.Errorf("no +CPIN line in the answer %q", info)
			} else {
				state := strings.ToUpper(strings.Trim(strings.TrimSpace(v), "\""))
				switch state {
				case "READY", "SIM PIN2", "SIM PUK2":
					if pinSent {
						return "PIN accepted, ready", nil
					}
					return "ready", nil
				case "SIM PIN":
					if pinSent {
						// The SIM asks again after taking a PIN: treat as rejected, never resend.
						return "", &StepError{Step: StepSIM, Err: ErrWrongPIN}
					}
					if d.cfg.PIN == "" {
						return "", &StepError{Step: StepSIM, Command: "AT+CPIN?", Err: ErrSIMPINRequired}
					}
					if err := d.enterPIN(ctx); err != nil {
						return "", err
					}
					pinSent = true
					continue
				case "SIM PUK":
					return "", &StepError{Step: StepSIM, Command: "AT+CPIN?", Err: ErrPUKRequired}
				case "NOT INSERTED", "NO SIM", "SIM REMOVED", "NOT READY":
					if state != "NOT READY" {
						return "", &StepError{Step: StepSIM, Command: "AT+CPIN?", Err: ErrSIMNotInserted}
					}
					last = fmt.Errorf("SIM not ready")
				default:
					if strings.HasPrefix(state, "PH-") {
						return "", &StepError{Step: StepSIM, Command: "AT+CPIN?", Err: fmt.Errorf("%w (%s)", ErrSIMLocked, state)}
					}
					last = fmt.Errorf("unknown SIM state %q", state)
				}
			}
		} else {
			var cme *CMEError
			switch {
			case errors.As(err, &cme) && cme.Code == CMESIMBusy:
				last = err
			case errors.As(err, &cme) && cme.Code != CMEIncorrectPassword:
				return "", err // not inserted, failure, PUK... final
			case errors.Is(err, ErrCommandFailed), errors.Is(err, ErrCommandTimeout):
				last = err
			default:
				return "", err
			}
		}
		if err := sleep(ctx, min(d.cfg.Timeouts.WakeRetry, time.Until(deadline))); err != nil {
			return "", err
		}
		if !time.Now().Before(deadline) {
			return "", &StepError{Step: StepSIM, Command: "AT+CPIN?", Err: fmt.Errorf("SIM not ready in %v: %w", d.cfg.Timeouts.SIM, last)}
		}
	}
}

// enterPIN sends the PIN once. Any failure is final: a rejected PIN is never resent.
func (d *dialer) enterPIN(ctx context.Context) error {
	cmd := "+CPIN=\"" + d.cfg.PIN + "\""
	_, err := d.p.exec(ctx, cmd, d.cfg.Timeouts.Command)
	if err == nil {
		return nil
	}
	shown := "AT+CPIN=\"" + Redacted + "\""
	var cme *CMEError
	switch {
	case errors.As(err, &cme) && cme.Code == CMESIMPUKRequired:
		return &StepError{Step: StepSIM, Command: shown, Err: err}
	case errors.As(err, &cme) && (cme.Code == CMEIncorrectPassword || cme.Code == CMESIMPINRequired ||
		cme.Code == CMEOperationNotAllowed || cme.Code == CMEUnknownText):
		return &StepError{Step: StepSIM, Command: shown, Err: fmt.Errorf("%w: %w", ErrWrongPIN, err)}
	case errors.Is(err, ErrCommandFailed):
		return &StepError{Step: StepSIM, Command: shown, Err: fmt.Errorf("%w: %w", ErrWrongPIN, err)}
	}
	return &StepError{Step: StepSIM, Command: shown, Err: err}
}

func (d *dialer) signal(ctx context.Context) (string, error) {
	info, err := d.cmd(ctx, StepSignal, "+CSQ", 0)
	if err != nil {
		if ctx.Err() != nil {
			return "", err
		}
		return "not reported: " + err.Error(), nil
	}
	v, ok := valueOf(info, "+CSQ")
	if !ok {
		return "not reported", nil
	}
	s, ok := parseCSQ(v)
	if !ok {
		return "unreadable: " + v, nil
	}
	d.info.Signal = s
	if !s.Known {
		return "unknown (99)", nil
	}
	return fmt.Sprintf("%d dBm (rssi %d)", s.DBm, s.RSSI), nil
}

// register polls the registration commands until one domain is home or roaming. Denied is final
// at once when no domain is registered and none is still searching (a CS domain denied while
// LTE still searches is common on data-only SIMs and not the end).
func (d *dialer) register(ctx context.Context) (string, error) {
	deadline := time.Now().Add(d.cfg.Timeouts.Register)
	cmds := append([]string(nil), d.cfg.RegistrationCommands...)
	state := map[string]regInfo{}
	evaluate := func() (string, error, bool) {
		var searching, denied, roaming bool
		for _, c := range cmds {
			r, ok := state[c]
			if !ok {
				continue
			}
			if d.cfg.NoRoaming && (r.stat == RegRoaming || r.stat == RegRoamCSFB) {
				roaming = true
				continue
			}
			if r.stat.Registered() {
				d.info.Registration = r.stat
				if r.act >= 0 {
					d.info.AcT = r.act
					d.info.AccessTech = AccessTechName(r.act)
				}
				return fmt.Sprintf("%s via %s", r.stat, c), nil, true
			}
			switch r.stat {
			case RegSearching:
				searching = true
			case RegDenied:
				denied = true
			}
		}
		if denied && !searching {
			return "", &StepError{Step: StepRegister, Err: fmt.Errorf("%w (%s)", ErrRegistrationDenied, describe(state, cmds))}, true
		}
		if roaming && !searching {
			// A modem on a visited network stays there while it has coverage: waiting out
			// the registration timeout would only hide the cause.
			return "", &StepError{Step: StepRegister, Err: fmt.Errorf("%w (%s)", ErrRoamingRefused, describe(state, cmds))}, true
		}
		return "", nil, false
	}
	for time.Now().Before(deadline) {
		for i := 0; i < len(cmds) && time.Now().Before(deadline); i++ {
			c := cmds[i]
			info, err := d.p.exec(ctx, c+"?", min(d.cfg.Timeouts.Command, time.Until(deadline)))
			if err != nil {
				if ctx.Err() != nil {
					return "", ctx.Err()
				}
				if errors.Is(err, ErrCommandTimeout) {
					continue
				}
				var cme *CMEError
				if errors.Is(err, ErrCommandFailed) || errors.As(err, &cme) {
					d.cfg.Logger.Debug("at: registration command not supported", "cmd", c, "err", err)
					cmds = append(cmds[:i], cmds[i+1:]...)
					i--
					continue
				}
				return "", &StepError{Step: StepRegister, Command: "AT" + c + "?", Err: err}
			}
			if v, ok := valueOf(info, c); ok {
				if r, ok := parseReg(v, false); ok {
					state[c] = r
				}
			}
		}
		if len(cmds) == 0 {
			return "", &StepError{Step: StepRegister, Err: ErrNoRegistrationCommand}
		}
		// URCs that came during the polls count now; only one that comes during the pause
		// ends it early. Left queued, they would end every pause at once: a modem that slips
		// a registration URC into its answers (SIM7600, EC25 do) would be polled without rest.
		for queued := true; queued; {
			select {
			case u := <-d.regCh:
				state[u.cmd] = u.reg
			default:
				queued = false
			}
		}
		if detail, err, done := evaluate(); done {
			return detail, err
		}
		t := time.NewTimer(min(d.cfg.PollInterval, time.Until(deadline)))
		select {
		case u := <-d.regCh:
			state[u.cmd] = u.reg
			t.Stop()
			if detail, err, done := evaluate(); done {
				return detail, err
			}
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return "", ctx.Err()
		}
	}
	return "", &StepError{Step: StepRegister, Err: fmt.Errorf("%w after %v (%s)", ErrRegistrationTimeout, d.cfg.Timeouts.Register, describe(state, cmds))}
}

func describe(state map[string]regInfo, cmds []string) string {
	var parts []string
	for _, c := range cmds {
		if r, ok := state[c]; ok {
			parts = append(parts, c+" "+r.stat.String())
		}
	}
	if len(parts) == 0 {
		return "no registration state read"
	}
	return strings.Join(parts, ", ")
}

func (d *dialer) operator(ctx context.Context) (string, error) {
	info, err := d.cmd(ctx, StepOperator, "+COPS?", 0)
	if err != nil {
		if ctx.Err() != nil {
			return "", err
		}
		return "not reported: " + err.Error(), nil
	}
	v, ok := valueOf(info, "+COPS")
	if !ok {
		return "not reported", nil
	}
	oper, act, ok := parseCOPS(v)
	if !ok {
		return "unreadable: " + v, nil
	}
	d.info.Operator = oper
	if act >= 0 {
		d.info.AcT = act
		d.info.AccessTech = AccessTechName(act)
	}
	if d.info.AccessTech != "" {
		return oper + " (" + d.info.AccessTech + ")", nil
	}
	return oper, nil
}

func (d *dialer) apn(ctx context.Context) (string, error) {
	if d.cfg.APN == "" {
		return "skipped (no APN configured)", nil
	}
	_, err := d.cmd(ctx, StepAPN, d.cgdcont(d.cfg.APN), 0)
	d.apnName = d.cfg.APN
	return d.cfg.APN, err
}

// cgdcont is the command defining the context with the APN name ("" the network's default).
func (d *dialer) cgdcont(name string) string {
	return fmt.Sprintf("+CGDCONT=%d,%q,%q", d.cfg.CID, d.cfg.PDPType, name)
}

// dial sends ATD through the engine; its CONNECT puts the Port in data mode (see gate).
func (d *dialer) dial(ctx context.Context) (*Session, error) {
	cmd := "D" + d.cfg.DialString
	info, err := d.p.exec(ctx, cmd, d.cfg.Timeouts.Dial)
	if err != nil {
		var cme *CMEError
		switch {
		case errors.Is(err, ErrCommandTimeout):
			err = fmt.Errorf("no answer to ATD in %v: %w", d.cfg.Timeouts.Dial, err)
		case errors.Is(err, ErrCommandFailed) && !errors.As(err, &cme):
			err = ErrDialFailed
		case errors.Is(err, ErrConnectLost):
			// The modem is online: hang the call up, so that the next dial finds it in
			// command mode instead of waiting for an answer that cannot come.
			if _, herr := d.escape(ctx, time.Now().Add(d.cfg.Timeouts.Command)); herr != nil {
				err = fmt.Errorf("%w (hanging up: %w)", err, herr)
			}
		}
		return nil, &StepError{Step: StepDial, Command: "AT" + cmd, Err: err}
	}
	d.p.mu.Lock()
	data := d.p.lastData
	d.p.mu.Unlock()
	if len(info) == 0 || data == nil {
		return nil, &StepError{Step: StepDial, Command: "AT" + cmd, Err: fmt.Errorf("%w: no CONNECT in the answer %q", ErrDialFailed, info)}
	}
	d.info.Connect = info[len(info)-1]
	data.watchDCD()
	return &Session{data: data, Info: d.info, port: d.p, guard: d.cfg.Guard}, nil
}

// dialError maps a dial result code to its sentinel.
func dialError(s string) error {
	switch resultCodes[s] {
	case "NO CARRIER":
		return ErrNoCarrier
	case "BUSY":
		return ErrBusy
	case "NO ANSWER":
		return ErrNoAnswer
	case "NO DIALTONE":
		return ErrNoDialtone
	}
	return fmt.Errorf("%w: %s", ErrDialFailed, strconv.Quote(s))
}
