package pppdial

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/pppdial/pppdial/at"
	"github.com/pppdial/pppdial/at/cell"
	"github.com/pppdial/pppdial/bind"
	"github.com/pppdial/pppdial/line"
	"github.com/pppdial/pppdial/netif"
	"github.com/pppdial/pppdial/recovery"
)

// The modem while connected: the AT channel (CMUX DLC 1 or Config.ATPort), the registration
// URCs it carries, the AT-channel probe and the data-path probe over the link.

// Probe is a health check of the data path over the link, beside LCP echo: LCP echo shows that
// the modem's PPP answers, not that the network behind it carries packets.
type Probe struct {
	// Network is "tcp" (a connection to Addr is opened and closed) or "icmp" (one echo request
	// to Addr); "" disables the probe.
	Network string
	// Addr is "host:port" for tcp, an IP address for icmp. Names are not resolved: a probe that
	// needs DNS would fail with the resolver instead of the path.
	Addr string
	// Interval is the pause between probes (default 30 s); Timeout bounds each (default 10 s).
	Interval, Timeout time.Duration
	// Failures consecutive failed probes declare the data path dead: the link is ended with
	// ErrProbeFailed, and redialed with Persist (default 3).
	Failures int
}

// ParseProbe reads the --probe syntax: "tcp:ADDR:PORT" or "icmp:ADDR", ADDR an IP address
// (IPv6 in brackets for tcp: "tcp:[2001:db8::1]:80").
func ParseProbe(s string) (Probe, error) {
	network, addr, ok := strings.Cut(s, ":")
	if !ok || addr == "" {
		return Probe{}, fmt.Errorf("%w: probe %q: want tcp:ADDR:PORT or icmp:ADDR", ErrUsage, s)
	}
	switch network {
	case "tcp":
		if _, err := netip.ParseAddrPort(addr); err != nil {
			return Probe{}, fmt.Errorf("%w: probe %q: %w", ErrUsage, s, err)
		}
	case "icmp":
		if _, err := netip.ParseAddr(addr); err != nil {
			return Probe{}, fmt.Errorf("%w: probe %q: %w", ErrUsage, s, err)
		}
	default:
		return Probe{}, fmt.Errorf("%w: probe %q: want tcp:ADDR:PORT or icmp:ADDR", ErrUsage, s)
	}
	return Probe{Network: network, Addr: addr}, nil
}

// String gives the --probe form.
func (p Probe) String() string {
	if p.Network == "" {
		return ""
	}
	return p.Network + ":" + p.Addr
}

func (p Probe) withDefaults() Probe {
	if p.Interval <= 0 {
		p.Interval = 30 * time.Second
	}
	if p.Timeout <= 0 {
		p.Timeout = 10 * time.Second
	}
	if p.Failures <= 0 {
		p.Failures = 3
	}
	return p
}

// ErrProbeFailed ends a link whose data-path probe (Config.Probe) failed Probe.Failures times in a
// row while LCP may still answer: the network behind the modem no longer carries packets.
var ErrProbeFailed = errors.New("data path dead: the link's probe failed")

// ErrRoaming ends a link that was up when the modem reported registration on a visited network
// and Config.NoRoaming is set. errors.Is(err, at.ErrRoamingRefused) holds for it too.
var ErrRoaming = fmt.Errorf("the modem moved to a visited network: %w", at.ErrRoamingRefused)

// The probes' names in EventProbe.
const (
	ProbeAT   = "at"   // a bare AT on the AT channel, answered within Config.ATProbeTimeout
	ProbeTCP  = "tcp"  // Config.Probe over the link
	ProbeICMP = "icmp" // Config.Probe over the link
)

// StepATChannel is the EventProgress step that says, once per session, which AT channel the
// session has while the link is up (CMUX DLC 1, Config.ATPort, or none).
const StepATChannel = "at-channel"

// checkSupervision reports a Config whose supervision settings cannot work.
func (c Config) checkSupervision() error {
	if c.Probe.Network != "" {
		if _, err := ParseProbe(c.Probe.String()); err != nil {
			return err
		}
		if c.Attach != nil {
			// The probe dials through the interface's userspace stack, which an attachment
			// (a TUN device) replaces.
			return fmt.Errorf("%w: a data-path probe needs the userspace stack, not an attachment (--tun)", ErrUsage)
		}
	}
	if (c.ATPort != "" || c.OpenAT != nil) && c.CMUX == CMUXOn {
		return fmt.Errorf("%w: an AT port and CMUX are exclusive: with CMUX, DLC 1 is the AT channel", ErrUsage)
	}
	return nil
}

// atProbeTimeout bounds the AT-channel probe.
func (s *Session) atProbeTimeout() time.Duration {
	if s.cfg.ATProbeTimeout > 0 {
		return s.cfg.ATProbeTimeout
	}
	return s.commandTimeout()
}

// hasATPort reports a session with a separate AT port (Config.ATPort or OpenAT).
func (s *Session) hasATPort() bool { return s.cfg.ATPort != "" || s.cfg.OpenAT != nil }

// atChannel returns the port that answers AT while the link is up: CMUX DLC 1, or the AT port;
// nil when there is none.
func (s *Session) atChannel() *at.Port {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mux != nil {
		return s.mux.at
	}
	return s.atPort
}

// ensureATPort opens the AT port when the session has one and it is not open: brings it to
// command mode and turns the registration URCs on. A failure is reported and leaves the
// session without an AT channel until the next attempt tries again: the link does not need it.
func (s *Session) ensureATPort(ctx context.Context, attempt int) {
	if !s.hasATPort() || s.cfg.CMUX == CMUXOn {
		return
	}
	s.mu.Lock()
	open := s.atPort != nil
	s.mu.Unlock()
	if open {
		return
	}
	started := time.Now()
	p, err := s.openATPort(ctx)
	if err != nil {
		if ctx.Err() == nil {
			s.log.Warn("the AT port is not usable; no AT channel while the link is up", "port", s.cfg.ATPort, "err", err)
			s.emit(Event{Kind: EventProgress, Step: StepATChannel, Done: true, Elapsed: time.Since(started),
				Detail: "AT port " + s.cfg.ATPort + " not usable", Err: err, Attempt: attempt})
		}
		return
	}
	s.mu.Lock()
	s.atPort = p
	s.mu.Unlock()
}

func (s *Session) openATPort(ctx context.Context) (*at.Port, error) {
	var l line.Line
	var err error
	if s.cfg.OpenAT != nil {
		l, err = s.cfg.OpenAT(ctx)
	} else {
		l, err = line.Open(s.cfg.ATPort, line.Options{Baud: s.cfg.Baud, RTSCTS: s.cfg.RTSCTS})
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrPort, err)
	}
	p := at.NewPort(l)
	acfg := s.cfg.Modem
	acfg.OnEvent, acfg.Record, acfg.BaudSwitch = nil, nil, 0
	if err := at.Prepare(ctx, p, acfg); err != nil {
		_ = p.Close()
		return nil, err
	}
	s.setupATChannel(ctx, p)
	return p, nil
}

// closeATPort closes the AT port, if open: at the end of the session, or with the main port
// when that failed (a USB modem that reset takes all its ports away).
func (s *Session) closeATPort() {
	s.mu.Lock()
	p := s.atPort
	s.atPort = nil
	s.mu.Unlock()
	if p != nil {
		_ = p.Close()
	}
}

// setupATChannel turns the registration URCs on (=2: with area and cell) on the AT channel p and
// routes them to the session. A modem that refuses one (no +CEREG on a 2G module) keeps the others.
func (s *Session) setupATChannel(ctx context.Context, p *at.Port) {
	p.SetLogger(s.log)
	p.WatchURCs(s.regs.urc)
	for _, c := range []string{"+CREG=2", "+CGREG=2", "+CEREG=2"} {
		if _, err := p.Exec(ctx, c, s.commandTimeout()); err != nil {
			s.log.Debug("registration URCs not enabled", "cmd", "AT"+c, "err", err)
			if ctx.Err() != nil {
				return
			}
		}
	}
}

// sayATChannel reports once per session which AT channel the link has.
func (s *Session) sayATChannel(attempt int) {
	s.mu.Lock()
	said := s.saidATChannel
	s.saidATChannel = true
	ml, ap := s.mux, s.atPort
	s.mu.Unlock()
	if said {
		return
	}
	var detail string
	switch {
	case ml != nil:
		detail = fmt.Sprintf("CMUX DLC %d", atDLC)
	case ap != nil:
		detail = "AT port " + s.cfg.ATPort
		if s.cfg.ATPort == "" {
			detail = "AT port"
		}
	default:
		detail = "none (one port, no CMUX): no signal, registration or AT probe while the link is up"
		s.log.Info("no AT channel while the link is up", "port", s.cfg.Port)
	}
	s.emit(Event{Kind: EventProgress, Step: StepATChannel, Attempt: attempt})
	s.emit(Event{Kind: EventProgress, Step: StepATChannel, Done: true, Detail: detail, Attempt: attempt})
}

// regWatch collects the registration URCs of the AT channel for the session's goroutine, which
// reports changes as EventModem. The handler runs on the AT engine's reader and must not block.
type regWatch struct {
	mu      sync.Mutex
	pending []cell.Registration
	dropped int
	notify  chan struct{} // signalled when pending grows
	last    map[string]cell.RegState
}

// maxPendingRegs bounds the URCs kept while nobody reports them (the link is down): the newest
// count, and a modem that flaps cannot grow the queue.
const maxPendingRegs = 32

func newRegWatch() *regWatch {
	return &regWatch{notify: make(chan struct{}, 1), last: map[string]cell.RegState{}}
}

func (w *regWatch) urc(line string) {
	r, err := cell.ParseRegistration(line)
	if err != nil {
		return // another URC (+CPIN:, RDY, ...) or one that does not parse: not a registration
	}
	w.mu.Lock()
	if len(w.pending) == maxPendingRegs {
		w.pending = w.pending[1:]
		w.dropped++
	}
	w.pending = append(w.pending, r)
	w.mu.Unlock()
	select {
	case w.notify <- struct{}{}:
	default:
	}
}

// take returns the URCs that arrived since the last take.
func (w *regWatch) take() []cell.Registration {
	w.mu.Lock()
	defer w.mu.Unlock()
	p := w.pending
	w.pending = nil
	return p
}

// reportRegistrations emits a modem event for every registration change waiting, and returns
// ErrRoaming when Config.NoRoaming forbids the state the modem is now in (the link is hung up).
func (s *Session) reportRegistrations() error {
	var hangup error
	for _, r := range s.regs.take() {
		if s.regs.last[r.Command] == r.State {
			continue
		}
		s.regs.last[r.Command] = r.State
		pic := r.Picture()
		ev := Event{Kind: EventModem, Registration: r.State, Detail: r.Command, Signal: &pic}
		if s.cfg.NoRoaming && r.Roaming() {
			ev.Err = ErrRoaming
			hangup = ErrRoaming
		}
		s.emit(ev)
	}
	return hangup
}

// monitorReport is what the monitor hands the session's goroutine: an AT probe result or a
// signal reading.
type monitorReport struct {
	probe  *probeResult
	signal *signalReading
}

type probeResult struct {
	name    string
	target  string
	elapsed time.Duration
	err     error
}

// reportProbe emits a probe's result and keeps the AT channel's verdict for the recovery policy.
func (s *Session) reportProbe(r probeResult) {
	if r.name == ProbeAT {
		v := recovery.ATAlive
		if r.err != nil {
			v = recovery.ATDead
		}
		s.mu.Lock()
		s.atHealth = v
		s.mu.Unlock()
	}
	s.emit(Event{Kind: EventProbe, Probe: r.name, Detail: r.target, Elapsed: r.elapsed, Err: r.err})
}

// ATHealth returns the AT-channel probe's latest verdict: recovery.ATUnknown without an AT
// channel or before the first probe.
func (s *Session) ATHealth() recovery.AT {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.atHealth
}

// probeAT sends a bare AT on p and reports whether it was answered within timeout.
func probeAT(ctx context.Context, p *at.Port, timeout time.Duration) probeResult {
	start := time.Now()
	_, err := p.Exec(ctx, "", timeout)
	return probeResult{name: ProbeAT, elapsed: time.Since(start), err: err}
}

// probeOnce runs one probe p (defaults applied) over the interface ifname of reg: a session's
// data-path probe and a Group's probe of a host member are this one function. seq numbers ICMP
// echoes.
func probeOnce(ctx context.Context, p Probe, ifname string, reg *netif.Registry, seq uint16) probeResult {
	ctx, cancel := context.WithTimeout(ctx, p.Timeout)
	defer cancel()
	start := time.Now()
	var err error
	switch p.Network {
	case "tcp":
		var c net.Conn
		c, err = (&bind.Dialer{Interface: ifname, Registry: reg}).DialContext(ctx, "tcp", p.Addr)
		if err == nil {
			_ = c.Close()
		}
	case "icmp":
		_, err = (&bind.Pinger{Interface: ifname, Registry: reg}).Ping(ctx, netip.MustParseAddr(p.Addr), seq)
	}
	return probeResult{name: p.Network, target: p.Addr, elapsed: time.Since(start), err: err}
}

// dataProbe runs Config.Probe over the link every interval until ctx ends, reporting each result
// through report.
func (s *Session) dataProbe(ctx context.Context, report func(probeResult)) {
	p := s.cfg.Probe.withDefaults()
	ifname := s.nif.Name()
	for seq := uint16(1); ; seq++ {
		r := probeOnce(ctx, p, ifname, s.cfg.Registry, seq)
		if ctx.Err() != nil {
			return
		}
		report(r)
		t := time.NewTimer(p.Interval)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return
		}
	}
}

// linkWatch is what watches one link beside its PPP events: the monitor on the AT channel
// (probe and signal), the registration URCs, and the data-path probe once the link is up.
type linkWatch struct {
	s        *Session
	reports  chan monitorReport
	regs     <-chan struct{}
	ctx      context.Context
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	probing  bool
	failures int // consecutive data-probe failures
}

// watchLink starts the watch of the link that is starting.
func (s *Session) watchLink() *linkWatch {
	ctx, cancel := context.WithCancel(context.Background())
	w := &linkWatch{s: s, reports: make(chan monitorReport), regs: s.regs.notify, ctx: ctx, cancel: cancel}
	p := s.atChannel()
	if p == nil || s.cfg.MonitorInterval < 0 {
		return w
	}
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		s.monitor(ctx, p, func(r monitorReport) {
			select {
			case w.reports <- r:
			case <-ctx.Done():
			}
		})
	}()
	return w
}

// linkUp starts the data-path probe, once per link.
func (w *linkWatch) linkUp() {
	if w.probing || w.s.cfg.Probe.Network == "" {
		return
	}
	w.probing = true
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		w.s.dataProbe(w.ctx, func(r probeResult) {
			select {
			case w.reports <- monitorReport{probe: &r}:
			case <-w.ctx.Done():
			}
		})
	}()
}

// handle reports r on the session's goroutine; an error is a reason to end the link.
func (w *linkWatch) handle(r monitorReport) error {
	s := w.s
	if r.signal != nil {
		s.reportSignal(*r.signal)
		return nil
	}
	s.reportProbe(*r.probe)
	if r.probe.name == ProbeAT {
		return nil
	}
	if r.probe.err == nil {
		w.failures = 0
		return nil
	}
	w.failures++
	if n := s.cfg.Probe.withDefaults().Failures; w.failures >= n {
		return fmt.Errorf("%w: %d times in a row (%s %s): %w", ErrProbeFailed, w.failures, r.probe.name, r.probe.target, r.probe.err)
	}
	return nil
}

func (w *linkWatch) stop() {
	w.cancel()
	w.wg.Wait()
}

// monitor probes the AT channel and polls the signal every interval while the link is up,
// handing each result to report. A probe that gets no answer skips the poll: its every command
// would wait out its timeout too. It returns when ctx ends.
func (s *Session) monitor(ctx context.Context, p *at.Port, report func(monitorReport)) {
	exec := func(ctx context.Context, cmd string) ([]string, error) {
		info, err := p.Exec(ctx, strings.TrimPrefix(cmd, "AT"), s.commandTimeout())
		var cme *at.CMEError
		if errors.Is(err, at.ErrCommandFailed) || errors.As(err, &cme) {
			err = fmt.Errorf("%w: %w", cell.ErrRejected, err)
		}
		return info, err
	}
	var poller *cell.Poller
	t := time.NewTicker(s.cfg.MonitorInterval)
	defer t.Stop()
	for {
		pr := probeAT(ctx, p, s.atProbeTimeout())
		if ctx.Err() != nil {
			return
		}
		report(monitorReport{probe: &pr})
		if pr.err == nil {
			if poller == nil {
				poller = cell.NewPoller(exec, cell.Plan(s.cellFamily(ctx, p)), nil)
			}
			pic, err := poller.Poll(ctx)
			if ctx.Err() != nil {
				return
			}
			report(monitorReport{signal: &signalReading{pic: pic, err: err, when: time.Now()}})
		}
		select {
		case <-t.C:
		case <-ctx.Done():
			return
		}
	}
}

// cellFamily is the modem's family for the signal poll: Config.ModemFamily, or found from
// AT+CGMM on the AT channel.
func (s *Session) cellFamily(ctx context.Context, p *at.Port) cell.Family {
	if s.cfg.ModemFamily != "" {
		return s.cfg.ModemFamily
	}
	info, err := p.Exec(ctx, "+CGMM", s.commandTimeout())
	if err != nil || len(info) == 0 {
		return cell.FamilyGeneric
	}
	return cell.FamilyOf(info[len(info)-1])
}
