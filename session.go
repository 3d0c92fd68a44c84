package pppdial

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/pppdial/pppdial/at"
	"github.com/pppdial/pppdial/at/cell"
	"github.com/pppdial/pppdial/cmux"
	"github.com/pppdial/pppdial/internal/eventq"
	"github.com/pppdial/pppdial/lcp"
	"github.com/pppdial/pppdial/line"
	"github.com/pppdial/pppdial/netif"
	"github.com/pppdial/pppdial/ppp"
	"github.com/pppdial/pppdial/recovery"
)

// Config is everything a session needs. Usually only Port, Modem.APN (and Modem.PIN, PPP
// credentials) are set; every other field has a default a cellular link wants.
type Config struct {
	// Port is the modem's serial device (/dev/ttyUSB3, /dev/serial/by-id/..., a pty). With
	// Persist, a port that disappears (a USB modem resetting) is waited for until it returns.
	Port string
	// Baud is the port's speed (default 115200); RTSCTS turns hardware flow control on.
	Baud   int
	RTSCTS bool
	// Open, if set, replaces opening Port: tests and `pppdial demo` hand the session an
	// in-memory line or a pty this way. It is called again for every redial after the line
	// failed. A line that also implements line.ModemControl gets the DTR hang-up fallback and
	// the DCD watch.
	Open func(ctx context.Context) (line.Line, error)

	// Modem says how to bring the modem up: APN, PIN, dial string, step timeouts. Its OnEvent
	// is not called: the dialer's events come in the session's one stream (OnEvent), as
	// EventProgress and EventURC.
	Modem at.Config
	// Hangup tunes the escape and ATH that end a call (guard times).
	Hangup at.HangupOptions
	// PPP tunes the link: credentials, keepalive (EchoInterval, EchoFailures), IPv6, MRU,
	// and Trace for a pcap of every frame. Role is always client.
	PPP ppp.Config
	// MTU is the largest IP packet the link should carry, for APNs that carry less than
	// 1500 bytes (private APNs, roaming IoT SIMs): it is asked for as PPP's MRU, and the MTU
	// in force — the smaller of it and the peer's MRU — is pp<N>'s MTU, which TCP's MSS
	// follows, and is reported in EventUp's Status. 0: PPP.MRU (default 1500); when both are
	// set the smaller wins. A modem that reports its network's MTU (AT+CGCONTRDP) lowers it
	// further: read right before ATD, and with the multiplexer on the AT channel while the
	// link is up, for the next dial.
	MTU int

	// CMUX multiplexes the port (3GPP 27.010) so that the modem answers AT on one channel while
	// PPP runs on another: CMUXOff (default), CMUXOn, CMUXAuto. CMUXN1 is the frame size asked
	// for in AT+CMUX (default 127).
	CMUX   CMUXMode
	CMUXN1 int
	// MonitorInterval is how often the AT channel is read while the link is up (signal and
	// cell, EventSignal); default 30 s, negative: never. It needs the multiplexer.
	MonitorInterval time.Duration

	// ATPort is a second port of the modem that takes AT commands while PPP runs on Port: USB
	// modems expose several (EC25/EG25: ttyUSB2 for AT, ttyUSB3 for PPP; SIM7600 likewise).
	// The monitor, the AT probe, Exec and the registration URCs use it, as DLC 1 with CMUX
	// (the two are exclusive). OpenAT, if set, replaces opening it (tests).
	ATPort string
	OpenAT func(ctx context.Context) (line.Line, error)
	// ATProbeTimeout bounds the AT channel's health probe, a bare AT sent every
	// MonitorInterval while the link is up (default: Modem.Timeouts.Command, 5 s).
	ATProbeTimeout time.Duration
	// ModemFamily picks the signal poll's vendor commands (cell.Plan); empty: from the AT
	// channel's AT+CGMM (cell.FamilyOf), the 27.007 commands alone for a model it does not know.
	ModemFamily cell.Family
	// NoRoaming counts registration on a visited network as not registered, a cost guard: a
	// dial then fails with at.ErrRoamingRefused (Code "roaming"), and a link that is up when
	// the AT channel reports roaming is hung up with ErrRoaming.
	NoRoaming bool
	// Probe checks the data path over the link (tcp or icmp), beside LCP echo; its failures end
	// the link with ErrProbeFailed. It needs the userspace stack (not Attach).
	Probe Probe

	// Registry receives the pp<N> interface (default netif.DefaultRegistry); Netif tunes it.
	Registry *netif.Registry
	Netif    netif.Options
	// IfName asks for a particular name ("pp1"); empty takes "pp" and the lowest free number.
	// A name already in use fails with ErrUsage.
	IfName string
	// Attach, if set, hands the link's packets to something other than the interface's
	// userspace stack — a TUN device for the host kernel. It is called once with the link's
	// Device (stable across redials) and must install its packet handler on it; the pp<N>
	// interface is still registered, for its name, state and counters.
	Attach func(dev netif.Device) error

	// Persist keeps the link up: after a drop or a failed attempt the session redials after
	// Holdoff (default 5 s), doubling the wait after each consecutive failure up to MaxBackoff
	// (default 2 min), with ±20% jitter so that a fleet of gateways does not redial in step.
	Persist    bool
	Holdoff    time.Duration
	MaxBackoff time.Duration
	// MaxFail ends the session after this many consecutive failed attempts (0: never, with
	// Persist), each recovery step counting as one. A failure that no retry can mend — a wrong
	// PIN, no SIM — ends it at once, never escalated.
	MaxFail int
	// Recovery decides, with Persist, what follows a drop or a failed attempt: redial, or first
	// a step that mends the modem (recovery.Order). Nil: a recovery.Ladder over the steps this
	// setup has (radio-reset and modem-reset always, the Hardware ones when configured) that
	// climbs one rung after EscalateAfter consecutive failures (default 3). Each step is
	// bounded by StepTimeouts (defaults in defaultStepTimeouts) and reported as EventRecovery.
	Recovery      recovery.Policy
	EscalateAfter int
	StepTimeouts  map[recovery.Step]time.Duration
	Hardware      RecoveryHardware

	// Record, if set, receives a transcript of the first dial (AT phase and the first PPP
	// bytes) in the format of testdata/transcripts, with the PIN and passwords redacted.
	Record io.Writer
	// OnEvent, if set, receives the session's events — its own, the dialer's and the link's,
	// in one stream — in order, on a goroutine of its own: a slow observer never holds the link
	// up, and one that falls far behind is told how many events it missed (Event.Missed). The
	// up event is taken before Dial returns, and the last event (down, error) before Close
	// returns or Done is closed (waiting 5 s at most for an observer that does not return).
	OnEvent func(Event)
	// Logger receives the session's logs; nil discards them.
	Logger *slog.Logger
}

func (c Config) withDefaults() Config {
	if c.Baud == 0 {
		c.Baud = 115200
	}
	if c.Holdoff == 0 {
		c.Holdoff = 5 * time.Second
	}
	if c.MaxBackoff == 0 {
		c.MaxBackoff = 2 * time.Minute
	}
	if c.MaxBackoff < c.Holdoff {
		c.MaxBackoff = c.Holdoff
	}
	if c.Hangup.Guard == 0 {
		c.Hangup.Guard = c.Modem.Guard
	}
	if c.CMUXN1 == 0 {
		c.CMUXN1 = cmux.DefaultN1
	}
	if c.MonitorInterval == 0 {
		c.MonitorInterval = 30 * time.Second
	}
	if c.Registry == nil {
		c.Registry = netif.DefaultRegistry
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Modem.Logger == nil {
		c.Modem.Logger = c.Logger
	}
	if c.PPP.Logger == nil {
		c.PPP.Logger = c.Logger
	}
	if c.Netif.Logger == nil {
		c.Netif.Logger = c.Logger
	}
	c.PPP.Role = ppp.Client
	if c.RTSCTS {
		c.Modem.RTSCTS = true // Modem.BaudSwitch warns about fast lines without it
	}
	return c
}

// pppConfig returns the PPP configuration of one link: PPP with its MRU set to the MTU wanted,
// the smallest of Config.MTU, PPP.MRU and modemMTU, the network's MTU as the modem reported it
// (0: not reported). Each is ignored when zero; none raises the MRU above another's figure.
func (c Config) pppConfig(modemMTU int) ppp.Config {
	pc := c.PPP
	for _, m := range []int{c.MTU, modemMTU} {
		if m > 0 && (pc.MRU <= 0 || m < pc.MRU) {
			pc.MRU = m
		}
	}
	return pc
}

// Session is a dialed cellular link that is kept up: the modem, the PPP link over it and the
// pp<N> interface programs open sockets on. All methods are safe for concurrent use.
type Session struct {
	cfg  Config
	log  *slog.Logger
	dev  linkDevice
	nif  *netif.Netif
	stop context.CancelFunc
	done chan struct{}
	// events feeds Config.OnEvent: one ordered queue for everything the session reports. In a
	// Group it is the group's queue (shared), which the session flushes but does not close.
	events  *eventq.Queue[Event]
	shared  bool
	observe func(Event) // the Group's health observer (sessionHooks.observe), or nil

	closeOnce sync.Once
	closing   chan struct{} // closed by Close
	redial    chan struct{} // Redial's requests, taken by the running link or the redial wait

	mu         sync.Mutex
	closeCtx   context.Context // Close's context: the deadline of the teardown
	teardownBy time.Time       // the current link's teardown deadline, once it is ending
	err        error           // why the session ended
	conn       *ppp.Conn
	status     ppp.Status
	info       at.Info
	mux        *muxLink // the multiplexer while it runs
	atPort     *at.Port // Config.ATPort while it is open
	atHealth   recovery.AT
	regs       *regWatch // the AT channel's registration URCs
	recov      *recoverer
	redialing  *redialRun // the redial the ladder asked for, until it is up or failed (supervise's goroutine only)
	// saidATChannel: the one report of which AT channel the link has is out
	saidATChannel bool
	signal        signalState
	up            chan struct{} // closed at the first up
	onUp          func() error  // the dial's work once the link is up (remember the APN), once
	upErr         error         // set when the session ended before it was ever up
	ups           int
	links         int // PPP links started
	modemMTU      int // the network's MTU the AT channel read while a link was up (mtu.go)
}

// ErrCarrierLost: the modem reported NO CARRIER in the middle of the PPP stream (the network
// dropped the call). errors.Is(err, at.ErrNoCarrier) holds for it too. It is at.ErrCarrierLost.
var ErrCarrierLost = at.ErrCarrierLost

// ErrDCDLost: the modem dropped its carrier-detect line (DCD) in the middle of the session.
// errors.Is(err, ErrCarrierLost) holds for it too: it is the same event, seen on a wire. It is
// at.ErrDCDLost.
var ErrDCDLost = at.ErrDCDLost

// ErrLinkLost is the session's end when the link dropped and Persist was off; it wraps the
// link's reason (errors.Is(err, ppp.ErrPeerNotResponding), ...).
var ErrLinkLost = errors.New("link lost")

// ErrMaxFail ends a persistent session after Config.MaxFail consecutive failed attempts; it
// wraps the last attempt's error.
var ErrMaxFail = errors.New("too many failed attempts")

// Dial opens the modem's port, dials, brings PPP up and registers the pp<N> interface. It
// returns once the link is up (IPCP open and the interface configured), or with the error
// that stopped it: with Persist, failed attempts are retried until one succeeds, MaxFail is
// reached, a failure that no retry can mend occurs, or ctx ends.
//
// ctx bounds the dial only. The returned Session keeps the link up — redialing after drops
// when Persist is set — until Close, or until the link is lost for good (Done, Err).
func Dial(ctx context.Context, cfg Config) (*Session, error) {
	s, err := startSession(ctx, cfg, sessionHooks{})
	if err != nil {
		return nil, err
	}
	select {
	case <-s.up:
		// Whoever reads the events finds the link up before anything the caller starts on it
		// (the command's SOCKS line, a script acting on "up").
		if err := s.events.Flush(ctx); err != nil {
			closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			_ = s.Close(closeCtx)
			return nil, fmt.Errorf("pppdial: dial: the up event was not taken in time: %w", err)
		}
		return s, nil
	case <-s.done:
		return nil, s.Err()
	case <-ctx.Done():
		closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = s.Close(closeCtx)
		return nil, fmt.Errorf("pppdial: dial: %w", context.Cause(ctx))
	}
}

// sessionHooks are what a Group gives the sessions it runs: one event queue for all its links,
// and its observer of their health.
type sessionHooks struct {
	// events, if set, is the queue the session posts to instead of a queue of its own (of
	// Config.OnEvent); it belongs to the Group, which closes it.
	events *eventq.Queue[Event]
	// observe, if set, is handed each event right after it is queued, on the goroutine that
	// emitted it: it must not block.
	observe func(Event)
}

// check reports a Config that cannot work, before anything is started.
func (cfg Config) check() error {
	if cfg.Port == "" && cfg.Open == nil {
		return fmt.Errorf("pppdial: %w: no port given", ErrUsage)
	}
	if cfg.MTU != 0 && (cfg.MTU < lcp.MinMRU || cfg.MTU > 65535) {
		return fmt.Errorf("pppdial: %w: MTU %d: want %d to 65535", ErrUsage, cfg.MTU, lcp.MinMRU)
	}
	if err := cfg.checkSupervision(); err != nil {
		return fmt.Errorf("pppdial: %w", err)
	}
	return nil
}

// startSession checks cfg, registers the interface and starts the session's goroutine, which
// dials in the background; it does not wait for anything. ctx's values are kept, not its end.
func startSession(ctx context.Context, cfg Config, hooks sessionHooks) (*Session, error) {
	cfg = cfg.withDefaults()
	if err := cfg.check(); err != nil {
		return nil, err
	}
	s := &Session{
		cfg:     cfg,
		log:     cfg.Logger,
		done:    make(chan struct{}),
		closing: make(chan struct{}),
		redial:  make(chan struct{}),
		up:      make(chan struct{}),
		regs:    newRegWatch(),
		events:  hooks.events,
		shared:  hooks.events != nil,
		observe: hooks.observe,
	}
	if s.events == nil {
		s.events = newEventQueue(cfg.OnEvent)
	}
	nopts := cfg.Netif
	nopts.Name = cfg.IfName
	nif, err := cfg.Registry.AddPPP(&s.dev, nopts)
	if err != nil {
		if errors.Is(err, netif.ErrExists) {
			err = fmt.Errorf("%w: %w", ErrUsage, err)
		}
		return nil, fmt.Errorf("pppdial: %w", err)
	}
	s.nif = nif
	if cfg.Attach != nil {
		if err := cfg.Attach(&s.dev); err != nil {
			_ = cfg.Registry.Remove(nif)
			return nil, fmt.Errorf("pppdial: attach: %w", err)
		}
	}
	runCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	s.stop = stop
	go s.supervise(runCtx)
	return s, nil
}

// Netif returns the session's pp<N> interface. Its name (Netif().Name()) is what bind.Dial
// takes; it keeps its name across redials.
func (s *Session) Netif() *netif.Netif { return s.nif }

// Status returns the link's current status (addresses, DNS, MTU; zero while it is down).
func (s *Session) Status() ppp.Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.status
}

// ModemInfo returns what the dialer learnt at the last successful dial: signal, operator,
// access technology.
func (s *Session) ModemInfo() at.Info {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.info
}

// Stats returns the link's counters (the current link's; they restart at each redial) and
// how many times the link came up.
func (s *Session) Stats() Stats {
	s.mu.Lock()
	conn, ups, links := s.conn, s.ups, s.links
	s.mu.Unlock()
	st := Stats{Ups: ups, Links: links, Netif: s.nif.Counters()}
	if conn != nil {
		st.Link = conn.Stats()
	}
	return st
}

// Stats are a session's counters.
type Stats struct {
	Ups   int            // times the link came up
	Links int            // PPP links started, one per attempt that reached PPP: Link restarts when it grows
	Link  ppp.Stats      // the current link's PPP and framing counters
	Netif netif.Counters // the interface's packet counters, across redials
}

// Redial drops the link and dials again at once (LCP Terminate and the modem's hang-up first),
// or cuts the wait before the next attempt short; the link ends with ErrRedialRequested, which
// is neither a failure nor, without Persist, the session's end. It returns once the session has
// taken the request. While an attempt is dialing (the modem's AT phase) there is no link to drop:
// the request waits for one, bounded by ctx.
func (s *Session) Redial(ctx context.Context) error {
	select {
	case s.redial <- struct{}{}:
		return nil
	case <-s.done:
		return fmt.Errorf("pppdial: redial: the session has ended: %w", os.ErrClosed)
	case <-ctx.Done():
		return fmt.Errorf("pppdial: redial: not taken (an attempt is dialing): %w", context.Cause(ctx))
	}
}

// Done is closed when the session has ended: Close, a lost link without Persist, MaxFail, or a
// failure no retry can mend. Err says which.
func (s *Session) Done() <-chan struct{} { return s.done }

// Err returns why the session ended; nil while it runs and after a Close.
func (s *Session) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Close ends the session: LCP Terminate, hang up the modem, close the port, remove the
// interface. It returns when everything has stopped and OnEvent has taken the last event, or
// when ctx ends (the remaining steps are then cut short and their goroutines end within a
// second or two). Closing twice is fine.
func (s *Session) Close(ctx context.Context) error {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closeCtx = ctx
		s.mu.Unlock()
		close(s.closing)
		s.stop()
	})
	select {
	case <-s.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("pppdial: close: %w", ctx.Err())
	}
}

func (s *Session) emit(ev Event) {
	if ev.Time.IsZero() {
		ev.Time = time.Now()
	}
	if ev.Ifname == "" {
		ev.Ifname = s.nif.Name()
	}
	s.events.Post(ev)
	if s.observe != nil {
		s.observe(ev)
	}
}

// newEventQueue returns the queue that feeds fn the session's events.
func newEventQueue(fn func(Event)) *eventq.Queue[Event] {
	// += keeps what a lower layer's queue dropped before an event the session passes on.
	return eventq.New(fn, func(e *Event, n uint64) { e.Missed += n }, 0)
}

// eventDrain bounds how long the session's end waits for OnEvent to take its last events.
const eventDrain = 5 * time.Second

// drainEvents closes the event queue once the session has nothing more to report, and waits for
// OnEvent to take what is queued: within Close's deadline and eventDrain.
func (s *Session) drainEvents() {
	s.mu.Lock()
	ctx := s.closeCtx
	s.mu.Unlock()
	if ctx == nil {
		ctx = context.Background()
	}
	ctx, cancel := context.WithTimeout(ctx, eventDrain)
	defer cancel()
	drain := s.events.Close
	if s.shared {
		drain = s.events.Flush // the other links still post to it
	}
	if err := drain(ctx); err != nil {
		s.log.Warn("the event observer did not take the last events in time", "err", err)
	}
}

// atEvent passes the dialer's event of attempt on as the session's: one stream, in the order
// the dialer reported it (Dial and Prepare return once their events are passed on).
func (s *Session) atEvent(e at.Event, attempt int) {
	ev := Event{Time: e.Time, Attempt: attempt, Missed: e.Missed}
	switch e.Kind {
	case at.EventProgress:
		ev.Kind, ev.Step, ev.Done, ev.Elapsed, ev.Detail, ev.Err = EventProgress, string(e.Step), e.Done, e.Elapsed, e.Detail, e.Err
	case at.EventURC:
		ev.Kind, ev.Detail = EventURC, e.Line
	default:
		return
	}
	s.emit(ev)
}

// supervise runs attempts until the session ends. It is the only goroutine that dials, owns
// the port and replaces the link.
func (s *Session) supervise(ctx context.Context) {
	var port *at.Port
	failures := 0
	var endErr error
	var recov *recoverer
	if s.cfg.Persist {
		var err error
		if recov, err = s.newRecoverer(&port); err != nil {
			s.mu.Lock()
			s.err = err
			s.mu.Unlock()
			_ = s.cfg.Registry.Remove(s.nif)
			close(s.done)
			return
		}
		s.mu.Lock()
		s.recov = recov
		s.mu.Unlock()
	}
	redialRung := 0 // the rung attempt of a redial the ladder asked for (0: the first dial)
	defer func() {
		if s.mux != nil {
			// Back to AT mode before the port is let go: a modem left in CMUX would ignore
			// the next run's AT (which recovers it, but slowly).
			ctx, cancel := s.teardownContext()
			s.mux.close(ctx)
			cancel()
			s.setMux(nil)
		}
		if port != nil {
			_ = port.Close()
		}
		s.closeATPort()
		_ = s.cfg.Registry.Remove(s.nif)
		s.mu.Lock()
		s.err = endErr
		s.mu.Unlock()
		s.drainEvents()
		close(s.done)
	}()
	for attempt := 1; ; attempt++ {
		var err error
		if port == nil {
			port, err = s.openPort(ctx, attempt)
		}
		dialPort := port
		if err == nil && s.cfg.CMUX != CMUXOff {
			if s.mux == nil {
				var ml *muxLink
				ml, err = s.startMux(ctx, port, s.modemConfig(attempt), attempt)
				s.setMux(ml)
			}
			if s.mux != nil {
				dialPort = s.mux.data
			}
		}
		var wasUp bool
		if redialRung > 0 {
			s.redialing = &redialRun{rung: redialRung, started: time.Now()}
		}
		if err == nil {
			s.ensureATPort(ctx, attempt)
			wasUp, err = s.attempt(ctx, dialPort, attempt)
		}
		if r := s.redialing; r != nil && ctx.Err() == nil {
			s.emitRecovery(recovery.Event{Step: recovery.StepRedial, Result: recovery.ResultFailed,
				Elapsed: time.Since(r.started), Attempt: r.rung, Err: err})
		}
		s.redialing = nil
		if ctx.Err() != nil {
			return // Close: endErr stays nil
		}
		keepPort := false
		if s.mux != nil && (errors.Is(err, errPortFailed) || s.mux.dead()) {
			// The multiplexer or a channel failed: start again from the port, whose next
			// wake closes what is left of the multiplexer. The modem closing a channel or
			// the multiplexer leaves the line itself sound: keep it (closing the multiplexer
			// hands it back to the AT engine). Anything else may be the line: reopen it.
			keepPort = errors.Is(err, cmux.ErrChannelClosed) || errors.Is(err, cmux.ErrMuxClosed)
			if !keepPort {
				err = fmt.Errorf("%w: %w", errPortFailed, err)
			}
			cctx, cancel := s.teardownContext()
			s.mux.close(cctx)
			cancel()
			s.setMux(nil)
		}
		if errors.Is(err, errPortFailed) && !keepPort {
			if port != nil {
				_ = port.Close()
			}
			port = nil
			s.closeATPort() // a USB modem that failed takes all its ports away
		}
		requested := errors.Is(err, ErrRedialRequested)
		if wasUp {
			failures = 0
			if !s.cfg.Persist && !requested {
				endErr = fmt.Errorf("pppdial: %w: %w", ErrLinkLost, err)
				return
			}
		} else if !requested {
			failures++
			s.emit(Event{Kind: EventError, Err: err, Code: Code(err), Attempt: attempt})
			switch {
			case !s.cfg.Persist || permanent(err):
				endErr = err
				return
			case recov == nil && s.cfg.MaxFail > 0 && failures >= s.cfg.MaxFail:
				endErr = fmt.Errorf("pppdial: %w (%d): %w", ErrMaxFail, failures, err)
				return
			}
		}
		delay := backoff(s.cfg.Holdoff, s.cfg.MaxBackoff, failures)
		if requested {
			delay = 0 // asked for (the control socket): no backoff, no ladder
		} else if recov != nil {
			var stop error
			delay, redialRung, stop = recov.recoverAfter(ctx, wasUp, err)
			if ctx.Err() != nil {
				return
			}
			if stop != nil {
				endErr = stop
				return
			}
		}
		s.emit(Event{Kind: EventRedial, Attempt: attempt + 1, Delay: delay, Err: err})
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-s.redial: // asked to dial now
			t.Stop()
		case <-ctx.Done():
			t.Stop()
			return
		}
	}
}

// teardownContext bounds the end of a link — LCP Terminate and the modem's hang-up together —
// by one deadline, fixed the first time it is asked for after the link started to end:
// Close's deadline, or defaultTeardown from then.
func (s *Session) teardownContext() (context.Context, context.CancelFunc) {
	s.mu.Lock()
	ctx := s.closeCtx
	if s.teardownBy.IsZero() {
		s.teardownBy = time.Now().Add(defaultTeardown)
	}
	by := s.teardownBy
	s.mu.Unlock()
	if ctx == nil {
		ctx = context.Background()
	}
	return context.WithDeadline(ctx, by)
}

// defaultTeardown bounds LCP Terminate plus the modem's hang-up when nothing tighter is given.
const defaultTeardown = 5 * time.Second

// errPortFailed marks an attempt that ended because the port itself failed (read or write
// error, EOF): the port is reopened before the next attempt.
var errPortFailed = errors.New("port failed")

// openPort opens the line, waiting for a missing device path to (re)appear when persisting.
func (s *Session) openPort(ctx context.Context, attempt int) (*at.Port, error) {
	if s.cfg.Open != nil {
		rw, err := s.cfg.Open(ctx)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrPort, err)
		}
		return at.NewPort(rw), nil
	}
	path := s.cfg.Port
	waited := false
	for {
		if _, err := os.Stat(path); err == nil {
			break
		} else if !s.cfg.Persist {
			return nil, fmt.Errorf("%w: %w", ErrPort, err)
		}
		if !waited {
			waited = true
			s.emit(Event{Kind: EventProgress, Step: "port", Detail: "waiting for " + path + " to appear", Attempt: attempt})
		}
		t := time.NewTimer(500 * time.Millisecond)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		}
	}
	if resolved, err := filepath.EvalSymlinks(path); err == nil && resolved != path {
		s.log.Debug("port", "path", path, "device", resolved)
	}
	l, err := line.Open(path, line.Options{Baud: s.cfg.Baud, RTSCTS: s.cfg.RTSCTS})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrPort, err)
	}
	return at.NewPort(l), nil
}

// modemConfig is the dialer's configuration for an attempt: its events become the session's.
func (s *Session) modemConfig(attempt int) at.Config {
	mcfg := s.cfg.Modem
	mcfg.OnEvent = func(e at.Event) { s.atEvent(e, attempt) }
	return mcfg
}

// setMux records the running multiplexer (nil: none) for Exec, Channel and the monitor.
func (s *Session) setMux(ml *muxLink) {
	s.mu.Lock()
	s.mux = ml
	s.mu.Unlock()
}

// attempt dials once and runs the link until it ends. wasUp reports whether IPCP opened.
func (s *Session) attempt(ctx context.Context, port *at.Port, attempt int) (wasUp bool, err error) {
	mcfg := s.modemConfig(attempt)
	mcfg.NoRoaming = s.cfg.NoRoaming
	if s.mux != nil {
		mcfg.BaudSwitch = 0 // done on the port before AT+CMUX; a channel has no speed
	}
	mcfg.QueryMTU = true // the modem's own MTU, where it reports one (mtu.go)
	if s.cfg.Record != nil && attempt == 1 {
		mcfg.Record = at.NewRecorder(s.cfg.Record, at.RecorderOptions{Secrets: []string{s.cfg.PPP.Password}})
	}
	sess, err := at.Dial(ctx, port, mcfg)
	if err != nil {
		if isPortError(err) {
			err = fmt.Errorf("%w: %w", errPortFailed, err)
		}
		return false, err
	}
	// The data line ends by itself when the modem says NO CARRIER or drops DCD.
	pc := s.cfg.pppConfig(s.modemMTUFor(sess.Info))
	if c := sess.Info.APN; c != nil && pc.Username == "" && pc.Password == "" {
		// --apn auto: the provider database's credentials, when the user gave none.
		pc.Username, pc.Password = c.Username, c.Password
	}
	// The link's observer hands its events to runLink's loop, which handles them beside the
	// monitor's and the interface's; the ppp package's queue keeps a slow loop from stalling the
	// link.
	events, eventsOver := make(chan ppp.Event, 64), make(chan struct{})
	pc.OnEvent = func(e ppp.Event) {
		select {
		case events <- e:
		case <-eventsOver: // runLink has returned: nobody reads any more
		}
	}
	conn := ppp.NewConn(sess.Data(), pc)
	s.dev.attach(conn)
	s.mu.Lock()
	s.info, s.conn, s.teardownBy, s.onUp = sess.Info, conn, time.Time{}, sess.RememberAPN
	s.links++
	s.mu.Unlock()
	// The link ends by an explicit Close when the session closes (runLink), with its own bound,
	// not by cancellation: its reason is then "link closed", not the context's.
	conn.Start(context.WithoutCancel(ctx))

	s.sayATChannel(attempt)
	reason := s.runLink(conn, events)
	close(eventsOver)
	wasUp = reason.wasUp
	s.dev.attach(nil)
	s.nif.SetDown(reason.err)
	s.mu.Lock()
	s.status = ppp.Status{}
	s.mu.Unlock()
	if wasUp {
		// Reported before the hang-up, which can take seconds on a dead line.
		s.emit(Event{Kind: EventDown, Err: reason.err, Code: Code(reason.err), Attempt: attempt})
	}

	// A writer still blocked in the port (flow control held by a dead modem) would block the
	// hang-up's writes too: give the port up instead; it is reopened for the next attempt.
	if err := conn.Close(context.Background()); errors.Is(err, ppp.ErrIOStuck) {
		s.log.Warn("the port is stuck in a write; reopening it", "err", err)
		return wasUp, fmt.Errorf("%w: %w", errPortFailed, reason.err)
	}
	// The link is over; get the modem back to command mode unless it already is there (NO
	// CARRIER: the modem hung up by itself) or cannot take commands (the port failed).
	// On a multiplexer that the session is closing, DISC on the data channel ends the call.
	closingMux := s.mux != nil && ctx.Err() != nil
	if !errors.Is(reason.err, at.ErrNoCarrier) && !errors.Is(reason.err, errPortFailed) && !closingMux {
		hctx, cancel := s.teardownContext()
		if herr := at.Hangup(hctx, port, s.cfg.Hangup); herr != nil {
			s.log.Debug("hangup", "err", herr)
		}
		cancel()
	}
	return wasUp, reason.err
}

type linkEnd struct {
	err   error
	wasUp bool
}

// runLink forwards the link's events until it ends, configuring the interface on the way.
func (s *Session) runLink(conn *ppp.Conn, events <-chan ppp.Event) linkEnd {
	var end linkEnd
	v6 := &ipv6Report{}
	defer v6.stopTimer()
	// The interface reports what it learnt from Router Advertisements from the link's
	// goroutine; the event is emitted from this one.
	autoconf := make(chan struct{}, 1)
	sub := s.cfg.Registry.Subscribe(func(e netif.Event) {
		if e.Netif == s.nif && e.Kind == netif.EventAutoconf {
			select {
			case autoconf <- struct{}{}:
			default:
			}
		}
	})
	defer func() {
		// The observer above never blocks: the bound is only there for form.
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = sub.Close(ctx)
	}()
	closing := s.closing
	redial := s.redial
	requested := false
	// terminate ends the link: LCP Terminate gets at most half of the teardown's time, the
	// modem's hang-up, with its guard times, needs the rest.
	terminate := func() {
		go func() {
			ctx, cancel := s.teardownContext()
			defer cancel()
			if dl, ok := ctx.Deadline(); ok {
				var cancel2 context.CancelFunc
				ctx, cancel2 = context.WithTimeout(ctx, time.Until(dl)/2)
				defer cancel2()
			}
			_ = conn.Close(ctx)
		}()
	}
	watch := s.watchLink()
	defer watch.stop()
	var hangup error // why the session ends the link itself (probe, roaming)
	endFor := func(err error) {
		if err != nil && hangup == nil {
			hangup = err
			s.log.Warn("ending the link", "reason", err)
			terminate()
		}
	}
	endFor(s.reportRegistrations())
	var mtu mtuRead // the AT channel's reading of the MTU, once the link is up
	defer mtu.stop()
	for ended := false; !ended; {
		select {
		case r := <-watch.reports:
			endFor(watch.handle(r))
		case <-watch.regs:
			endFor(s.reportRegistrations())
		case r := <-mtu.c:
			s.reportModemMTU(r)
		case ev := <-events:
			if ev.Missed > 0 {
				s.log.Warn("link events missed (this loop fell behind)", "missed", ev.Missed)
			}
			s.handleLinkEvent(ev, &end, v6)
			if ev.Kind == ppp.EventUp {
				mtu.start(s)
				watch.linkUp()
				s.redialUp()
			}
			ended = ev.Kind == ppp.EventDown
		case <-conn.Done():
			// The observer was handed EventDown before Done closed: take what it left.
			for drained := false; !drained; {
				select {
				case ev := <-events:
					s.handleLinkEvent(ev, &end, v6)
				default:
					drained = true
				}
			}
			ended = true
		case <-autoconf:
			s.reportIPv6(v6, false)
		case <-v6.wait:
			s.reportIPv6(v6, true)
		case <-closing:
			closing, redial = nil, nil
			terminate()
		case <-redial:
			redial, requested = nil, true
			s.log.Info("redial requested: dropping the link")
			terminate()
		}
	}
	<-conn.Done()
	if hangup != nil {
		end.err = hangup
	}
	if end.err == nil {
		end.err = conn.Err()
	}
	if requested && closing != nil {
		end.err = fmt.Errorf("%w (%w)", ErrRedialRequested, end.err)
		return end
	}
	if isPortError(end.err) {
		end.err = fmt.Errorf("%w: %w", errPortFailed, end.err)
	}
	return end
}

// networkDownDetail is the Detail of the phase event that says IPCP closed while LCP goes on
// (the interface is down until the next EventUp).
const networkDownDetail = "network protocols down"

func (s *Session) handleLinkEvent(ev ppp.Event, end *linkEnd, v6 *ipv6Report) {
	switch ev.Kind {
	case ppp.EventPhase:
		s.emit(Event{Kind: EventPhase, Time: ev.Time, Phase: ev.Phase.String()})
	case ppp.EventUp:
		if err := s.nif.SetUp(netifConfig(ev.Status)); err != nil {
			s.log.Warn("interface configuration failed", "err", err)
		}
		end.wasUp = true
		s.mu.Lock()
		s.status = ev.Status
		s.ups++
		first := s.ups == 1
		onUp := s.onUp
		s.onUp = nil
		s.mu.Unlock()
		if onUp != nil {
			if err := onUp(); err != nil {
				s.log.Warn("cannot remember the APN for the next start", "err", err)
			}
		}
		// Reported before Dial returns: whoever reads the events finds the link up before
		// anything the caller starts on it (the command's SOCKS line).
		s.emit(Event{Kind: EventUp, Time: ev.Time, Status: ev.Status, Phase: ev.Phase.String()})
		if first {
			close(s.up)
		}
	case ppp.EventIPv6Up:
		s.ipv6Changed(ev.Status)
		v6.start(ev)
		if s.cfg.Attach != nil {
			// The host kernel owns the addresses: it autoconfigures on its own.
			s.reportIPv6(v6, true)
		}
	case ppp.EventIPv6Down:
		s.ipv6Changed(ev.Status)
		*v6 = ipv6Report{timer: v6.timer}
		v6.stopTimer()
		s.log.Warn("IPv6 refused by the network; IPv4 only", "reason", ev.Err)
		s.emit(Event{Kind: EventProgress, Time: ev.Time, Step: StepIPv6, Done: true,
			Detail: fmt.Sprintf("IPv6 refused by the network (%v); IPv4 only", ev.Err)})
	case ppp.EventNetworkDown:
		s.nif.SetDown(errors.New("IPCP closed"))
		s.emit(Event{Kind: EventPhase, Time: ev.Time, Phase: ev.Phase.String(), Detail: networkDownDetail})
	case ppp.EventEcho:
		s.emit(Event{Kind: EventEcho, Time: ev.Time, RTT: ev.RTT})
	case ppp.EventDown:
		end.err = ev.Err
	}
}

// ipv6Changed records the link's status after IPV6CP opened or closed, and gives the interface
// its IPv6 addresses (or takes them away) if IPv4 has already brought it up; otherwise the up
// event configures both.
func (s *Session) ipv6Changed(st ppp.Status) {
	s.mu.Lock()
	s.status = st
	s.mu.Unlock()
	if s.nif.IsUp() {
		if err := s.nif.SetUp(netifConfig(st)); err != nil {
			s.log.Warn("interface configuration failed", "err", err)
		}
	}
}

// netifConfig is what the interface takes from the link's status.
func netifConfig(st ppp.Status) netif.Config {
	return netif.Config{Local: st.Local, Peer: st.Peer, DNS: st.DNS, MTU: st.MTU, LocalV6: st.LocalV6, PeerV6: st.PeerV6}
}

// ipv6Report holds the ipv6-up event back until the interface has its global address from
// the network's Router Advertisement, or until none can be expected any more: a program
// that acts on ipv6-up wants an address it can use beyond the link.
type ipv6Report struct {
	ev       ppp.Event // IPV6CP's up event
	pending  bool      // IPV6CP is up, ipv6-up not reported yet
	reported bool
	last     []netip.Prefix // the global addresses last reported
	timer    *time.Timer
	wait     <-chan time.Time // fires when the solicitation window ends
}

// raWindow is how long ipv6-up waits for a Router Advertisement (a variable for tests).
var raWindow = netif.RouterSolicitationWindow

func (r *ipv6Report) start(ev ppp.Event) {
	r.ev, r.pending = ev, true
	r.stopTimer()
	r.timer = time.NewTimer(raWindow)
	r.wait = r.timer.C
}

func (r *ipv6Report) stopTimer() {
	if r.timer != nil {
		r.timer.Stop()
	}
	r.wait = nil
}

// reportIPv6 emits ipv6-up: the first time once the interface has a global address (or, with
// windowOver, without one), later whenever the global addresses change.
func (s *Session) reportIPv6(r *ipv6Report, windowOver bool) {
	if !r.pending && !r.reported {
		return // IPv6 is not up
	}
	cfg := s.nif.Config()
	var global []netip.Prefix
	for _, p := range cfg.ExtraV6 {
		if !p.Addr().IsLinkLocalUnicast() {
			global = append(global, p)
		}
	}
	var detail string
	switch {
	case r.pending && len(global) == 0 && !windowOver:
		return
	case r.pending:
		r.pending, r.reported = false, true
		r.stopTimer()
		if len(global) == 0 && s.cfg.Attach == nil {
			detail = "no Router Advertisement: link-local only"
		}
	case slices.Equal(global, r.last):
		return
	}
	r.last = global
	var dns6 []netip.Addr
	for _, d := range cfg.DNS {
		if d.Is6() && !slices.Contains(r.ev.Status.DNS, d) {
			dns6 = append(dns6, d)
		}
	}
	s.mu.Lock()
	st := s.status
	s.mu.Unlock()
	s.emit(Event{Kind: EventIPv6Up, Status: st, Phase: r.ev.Phase.String(),
		GlobalV6: global, DNSV6: dns6, Detail: detail})
}

// isPortError reports an error of the line itself (device gone, closed, EOF), as opposed to a
// protocol's answer.
func isPortError(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, os.ErrClosed) ||
		errors.Is(err, net.ErrClosed) || // a line that is a network connection (a serial server's TCP port)
		errors.Is(err, errPortFailed) || (errors.Is(err, ppp.ErrLowerDown) && !errors.Is(err, at.ErrNoCarrier))
}

// backoff is the wait before the next attempt after failures consecutive failures: holdoff,
// doubled per failure beyond the first, capped, with ±20% jitter.
func backoff(holdoff, maxWait time.Duration, failures int) time.Duration {
	d := holdoff
	for i := 1; i < failures && d < maxWait; i++ {
		d *= 2
	}
	d = min(d, maxWait)
	jitter := time.Duration((rand.Float64()*0.4 - 0.2) * float64(d))
	return d + jitter
}

// permanent reports failures that no redial can mend and that a redial could make worse: a PIN
// the SIM rejected (retrying burns attempts towards the PUK), a SIM that needs its PUK, a
// missing SIM, a PIN needed but not given, and usage errors.
func permanent(err error) bool {
	return errors.Is(err, at.ErrWrongPIN) || errors.Is(err, at.ErrPUKRequired) ||
		errors.Is(err, at.ErrSIMNotInserted) || errors.Is(err, at.ErrSIMPINRequired) || errors.Is(err, ErrUsage)
}
