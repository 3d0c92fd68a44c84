package pppdial

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/pppdial/pppdial/at"
	"github.com/pppdial/pppdial/at/cell"
	"github.com/pppdial/pppdial/cmux"
	"github.com/pppdial/pppdial/line"
)

// CMUXMode says whether a session multiplexes the modem's port (3GPP 27.010).
type CMUXMode int

const (
	// CMUXOff runs AT and then PPP on the port itself: the modem cannot be asked anything while
	// the link is up.
	CMUXOff CMUXMode = iota
	// CMUXOn starts the multiplexer (AT+CMUX) before dialing: AT on DLC 1, PPP on DLC 2, so the
	// signal and the registration stay readable while the link runs.
	CMUXOn
	// CMUXAuto multiplexes when the modem's model (AT+CGMM) is a family known to do 27.010
	// (see cmux.QuirksFor), and runs without otherwise.
	CMUXAuto
)

// String names the mode as the command's flag does.
func (m CMUXMode) String() string {
	switch m {
	case CMUXOn:
		return "on"
	case CMUXAuto:
		return "auto"
	}
	return "off"
}

// The multiplexer's channels (27.010 numbers DLCs from 1; DLC 0 is its control channel).
const (
	atDLC  = 1 // AT while the link is up: the monitor, Session.Exec
	pppDLC = 2 // the dial and PPP
)

// ErrNoATChannel: the modem cannot take commands while the link is up, because its only port
// carries PPP (no multiplexer).
var ErrNoATChannel = errors.New("no AT channel while the link is up (single port without CMUX or an AT port)")

// muxLink is the multiplexer running on the port, with its channels. It outlives a link: a
// redial after NO CARRIER dials on the same data channel.
type muxLink struct {
	raw  line.Line // the port's raw line, under the multiplexer
	mux  *cmux.Mux
	at   *at.Port // DLC 1
	data *at.Port // DLC 2
}

// startMux brings the modem on port to command mode, starts the multiplexer and opens the AT
// and data channels. It returns nil, nil when mode is CMUXAuto and the modem is not one known
// to multiplex.
func (s *Session) startMux(ctx context.Context, port *at.Port, mcfg at.Config, attempt int) (*muxLink, error) {
	if err := at.Prepare(ctx, port, mcfg); err != nil {
		return nil, err
	}
	started := time.Now()
	s.emit(Event{Kind: EventProgress, Step: StepCMUX, Attempt: attempt})
	ml, detail, err := s.openMux(ctx, port, mcfg)
	s.emit(Event{Kind: EventProgress, Step: StepCMUX, Done: true, Elapsed: time.Since(started), Detail: detail,
		Err: err, Attempt: attempt})
	return ml, err
}

func (s *Session) openMux(ctx context.Context, port *at.Port, mcfg at.Config) (*muxLink, string, error) {
	model := ""
	if info, err := port.Exec(ctx, "+CGMM", s.commandTimeout()); err == nil && len(info) > 0 {
		model = strings.TrimSpace(info[len(info)-1])
	}
	quirks, known := cmux.QuirksFor(model)
	if s.cfg.CMUX == CMUXAuto && !known {
		return nil, fmt.Sprintf("off: %q is not a modem known to multiplex", model), nil
	}
	baud := port.Baud() // the speed --baud-switch moved to, if any
	if baud == 0 {
		baud = s.cfg.Baud
	}
	cmd, err := cmux.Command(baud, s.cfg.CMUXN1, quirks)
	if err != nil {
		return nil, "", fmt.Errorf("%w: %w", ErrUsage, err)
	}
	if _, err := port.Exec(ctx, strings.TrimPrefix(cmd, "AT"), s.commandTimeout()); err != nil {
		return nil, "", &at.StepError{Step: at.Step(StepCMUX), Command: cmd, Err: err}
	}
	raw, err := port.Raw(ctx)
	if err != nil {
		return nil, "", err
	}
	ml := &muxLink{raw: raw}
	ml.mux = cmux.New(raw, cmux.Config{N1: s.cfg.CMUXN1, Quirks: quirks, Logger: s.log,
		// A lost SABM or DISC costs T1: a second is short beside a dial, and spares a modem
		// that answers late (behind a full frame on a slow UART) a second SABM.
		T1: time.Second, T2: 2 * time.Second, N2: 5})
	fail := func(err error) (*muxLink, string, error) {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 3*time.Second)
		defer cancel()
		ml.close(cctx)
		return nil, "", fmt.Errorf("%w: %w", errPortFailed, err)
	}
	if err := ml.mux.Open(ctx); err != nil {
		return fail(err)
	}
	atCh, err := ml.mux.OpenChannel(ctx, atDLC)
	if err != nil {
		return fail(err)
	}
	ml.at = at.NewPort(atCh)
	ml.at.SetLogger(s.log)
	dataCh, err := ml.mux.OpenChannel(ctx, pppDLC)
	if err != nil {
		return fail(err)
	}
	ml.data = at.NewPort(dataCh)
	// The AT channel starts with echo on, as the port did. Its wake is not one of the
	// session's steps: no events.
	acfg := mcfg
	acfg.OnEvent = nil
	if err := at.Prepare(ctx, ml.at, acfg); err != nil {
		return fail(err)
	}
	s.setupATChannel(ctx, ml.at)
	detail := fmt.Sprintf("%s N1 %d: AT on DLC %d, PPP on DLC %d", cmd, ml.mux.N1(), atDLC, pppDLC)
	if model != "" {
		detail += " (" + model + ")"
	}
	return ml, detail, nil
}

// commandTimeout bounds one AT command on the session's own channels: the dialer's setting, or
// its default.
func (s *Session) commandTimeout() time.Duration {
	if t := s.cfg.Modem.Timeouts.Command; t > 0 {
		return t
	}
	return 5 * time.Second
}

// dead reports whether the multiplexer has ended (the modem closed it, or the line failed).
func (ml *muxLink) dead() bool {
	select {
	case <-ml.mux.Done():
		return true
	default:
		return false
	}
}

// close ends the multiplexer within ctx — DISC on the channels, CLD — so the modem is back in
// AT mode, and hands the port back to its AT engine.
func (ml *muxLink) close(ctx context.Context) {
	_ = ml.mux.Close(ctx)
	for _, p := range []*at.Port{ml.at, ml.data} {
		if p != nil {
			_ = p.Close()
		}
	}
	_ = ml.raw.Close()
}

// signalReading is one poll's result.
type signalReading struct {
	pic  cell.Picture
	err  error
	when time.Time
}

// reportSignal keeps a reading for Signal and reports it.
func (s *Session) reportSignal(r signalReading) {
	if !r.pic.IsZero() {
		s.signal.mu.Lock()
		s.signal.pic, s.signal.when = r.pic, r.when
		s.signal.mu.Unlock()
	}
	pic := r.pic
	s.emit(Event{Kind: EventSignal, Time: r.when, Signal: &pic, Err: r.err})
}

// signalState is the last picture the monitor took.
type signalState struct {
	mu   sync.Mutex
	pic  cell.Picture
	when time.Time
}

// Signal returns the modem's signal and serving cell as the AT channel last reported them while
// the link was up, and when; the zero time when it never did (no multiplexer, or no poll yet).
func (s *Session) Signal() (cell.Picture, time.Time) {
	s.signal.mu.Lock()
	defer s.signal.mu.Unlock()
	return s.signal.pic, s.signal.when
}

// Exec runs an AT command (without "AT") on the modem's AT channel while the session runs: CMUX
// DLC 1, or Config.ATPort. Without either it fails with ErrNoATChannel.
func (s *Session) Exec(ctx context.Context, cmd string, timeout time.Duration) ([]string, error) {
	p := s.atChannel()
	if p == nil {
		return nil, ErrNoATChannel
	}
	return p.Exec(ctx, cmd, timeout)
}

// Channel opens DLC dlci (3..61) of the running multiplexer for the caller, e.g. a modem's GNSS
// NMEA stream; DLC 1 and 2 are the session's own. The channel ends with the multiplexer (a
// redial that restarts it, Close): open it again then. Without a multiplexer it fails with
// ErrNoATChannel.
func (s *Session) Channel(ctx context.Context, dlci int) (line.Line, error) {
	if dlci == atDLC || dlci == pppDLC {
		return nil, fmt.Errorf("pppdial: channel %d: %w: DLC %d and %d are the session's own", dlci, ErrUsage, atDLC, pppDLC)
	}
	s.mu.Lock()
	ml := s.mux
	s.mu.Unlock()
	if ml == nil {
		return nil, ErrNoATChannel
	}
	return ml.mux.OpenChannel(ctx, dlci)
}
