package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pppdial/pppdial"
	"github.com/pppdial/pppdial/at"
	"github.com/pppdial/pppdial/at/cell"
	"github.com/pppdial/pppdial/control"
	"github.com/pppdial/pppdial/internal/sdnotify"
	"github.com/pppdial/pppdial/metrics"
	"github.com/pppdial/pppdial/netif"
	"github.com/pppdial/pppdial/ppp"
	"github.com/pppdial/pppdial/usage"
)

// serviceOptions are the flags that make `pppdial dial` a service a fleet runs and watches:
// systemd's notify and watchdog, Prometheus metrics, the control socket and data usage.
type serviceOptions struct {
	readyOn       string
	watchdogGrace time.Duration
	metricsAddr   string
	control       string
	usageInterval time.Duration
	billingDay    int
	quota         byteSize
	quotaAction   string
}

func (o *serviceOptions) register(fs flagRegistrar) {
	fs.StringVar(&o.readyOn, "ready-on", "up", `with systemd (Type=notify): send READY=1 at "start" or once the link is first "up"`)
	fs.DurationVar(&o.watchdogGrace, "watchdog-grace", 10*time.Minute, "with systemd's WatchdogSec=: keep pinging this long after the link went down while redialing; then stop, so systemd restarts the service")
	fs.StringVar(&o.metricsAddr, "metrics", "", "serve Prometheus metrics on ADDR (e.g. :9469) at /metrics")
	fs.StringVar(&o.control, "control", "", `the control socket for "pppdial status", "redial" and "at" (default /run/pppdial/<ifname>.sock; "none": no socket)`)
	fs.DurationVar(&o.usageInterval, "usage-interval", time.Minute, "how often the SIM's data usage is saved in --state-dir (a kill -9 loses at most this much)")
	fs.IntVar(&o.billingDay, "billing-day", 1, "day of the month the SIM's billing period starts (1..31)")
	fs.Var(&o.quota, "quota", "data the SIM may use per billing period, received plus sent (e.g. 500M, 2G, 1GiB; 0: none): quota events at 80% and 100%")
	fs.StringVar(&o.quotaAction, "quota-action", "none", `at 100% of --quota: "stop" ends the session (exit 8), "none" only reports`)
}

// check reports a usage error in the service flags.
func (o *serviceOptions) check() error {
	switch {
	case o.readyOn != "up" && o.readyOn != "start":
		return fmt.Errorf("--ready-on %q: want start or up", o.readyOn)
	case o.quotaAction != "none" && o.quotaAction != "stop":
		return fmt.Errorf("--quota-action %q: want stop or none", o.quotaAction)
	case o.quotaAction == "stop" && o.quota == 0:
		return errors.New("--quota-action stop needs --quota")
	case o.billingDay < 1 || o.billingDay > 31:
		return fmt.Errorf("--billing-day %d: want 1..31", o.billingDay)
	case o.watchdogGrace <= 0:
		return fmt.Errorf("--watchdog-grace %v: want a positive duration", o.watchdogGrace)
	case o.usageInterval <= 0:
		return fmt.Errorf("--usage-interval %v: want a positive duration", o.usageInterval)
	}
	return nil
}

// byteSize is a flag holding a number of bytes, with an optional decimal (k, M, G, T) or binary
// (Ki, Mi, Gi, Ti) suffix and an optional B.
type byteSize uint64

func (b *byteSize) String() string { return strconv.FormatUint(uint64(*b), 10) }

func (b *byteSize) Set(s string) error {
	t := strings.TrimSuffix(strings.TrimSpace(s), "B")
	mult := uint64(1)
	for _, u := range []struct {
		suffix string
		mult   uint64
	}{{"Ki", 1 << 10}, {"Mi", 1 << 20}, {"Gi", 1 << 30}, {"Ti", 1 << 40},
		{"k", 1e3}, {"K", 1e3}, {"M", 1e6}, {"G", 1e9}, {"T", 1e12}} {
		if v, ok := strings.CutSuffix(t, u.suffix); ok {
			t, mult = v, u.mult
			break
		}
	}
	n, err := strconv.ParseUint(t, 10, 64)
	if err != nil || (mult > 1 && n > ^uint64(0)/mult) {
		return fmt.Errorf("%q: want a number of bytes, e.g. 500M or 2GiB", s)
	}
	*b = byteSize(n * mult)
	return nil
}

// service runs beside a session: it tells systemd how the link is doing, exports it to
// Prometheus, answers the control socket and meters the SIM's data. It learns everything from
// the session's one event stream (event) and from the session itself once Dial returned
// (attach).
type service struct {
	o        serviceOptions
	ifname   string
	port     string
	cmux     bool
	regWait  time.Duration // --register-timeout
	stateDir string
	rep      *reporter
	log      *slog.Logger
	notify   *sdnotify.Notifier
	mlink    *metrics.Link // nil without --metrics
	stop     context.CancelCauseFunc
	started  time.Time

	mu         sync.Mutex
	sess       *pppdial.Session
	state      string // pppdial_link_state's phase names
	up         bool
	ready      bool
	upSince    time.Time
	downSince  time.Time // when the link last went down; the start before the first up
	attempt    int
	lastErr    string
	lastCode   string
	status     ppp.Status
	signal     *cell.Picture
	signalAt   time.Time
	recovery   *control.Recovery // the last recovery step run
	statusLine string
	cur        *linkSource // the current link's counters; nil while down
	meter      *usage.Meter
	ulink      *usage.Link
	quotaHit   bool
}

// errQuota ends a session whose SIM used its --quota with --quota-action stop.
var errQuota = errors.New("data quota reached")

// linkSource reads one PPP link's counters from zero: the interface's since the link came up,
// the framing ones of the link's own, until the session starts another link; then it keeps
// the last reading, that link's final counters.
type linkSource struct {
	sess  *pppdial.Session
	links int            // Stats().Links while this link is the current one
	base  netif.Counters // the interface's counters when the link came up

	mu   sync.Mutex
	last metrics.Counters
}

func (l *linkSource) read() metrics.Counters {
	st := l.sess.Stats()
	l.mu.Lock()
	defer l.mu.Unlock()
	if st.Links != l.links {
		return l.last
	}
	sub := func(a, b uint64) uint64 {
		if a < b {
			return 0
		}
		return a - b
	}
	l.last = metrics.Counters{
		RxBytes: sub(st.Netif.BytesIn, l.base.BytesIn), TxBytes: sub(st.Netif.BytesOut, l.base.BytesOut),
		RxPackets: sub(st.Netif.PacketsIn, l.base.PacketsIn), TxPackets: sub(st.Netif.PacketsOut, l.base.PacketsOut),
		Framing: st.Link.Framing, Discarded: st.Link.Discarded,
	}
	return l.last
}

// controlPath is the control socket's path: --control, or the default for the interface.
func (o *serviceOptions) controlPath(ifname string) string {
	switch o.control {
	case "":
		return control.DefaultPath(ifname)
	case "none":
		return ""
	}
	return o.control
}

// startService opens what the flags ask for — the metrics listener, the control socket, the
// notify socket — before anything is dialed, so a taken address or an unsafe path is a usage
// error found at once. Its goroutines end with ctx; wait for them with the returned func.
func startService(ctx context.Context, o *dialOptions, rep *reporter, log *slog.Logger, stop context.CancelCauseFunc) (*service, func(), error) {
	ifname := o.ifname
	if ifname == "" {
		// The interface registry is this process's: its first link is pp0.
		ifname = "pp0"
	}
	s := &service{o: o.service, ifname: ifname, port: o.port, cmux: o.cmux, regWait: o.registerTimeout,
		stateDir: o.stateDir, rep: rep, log: log, stop: stop, started: time.Now(), state: "dialing"}
	s.downSince = s.started
	var err error
	if s.notify, err = sdnotify.New(log); err != nil {
		return nil, nil, fmt.Errorf("%w: systemd: %w", pppdial.ErrUsage, err)
	}
	var wg sync.WaitGroup
	var closers []func()
	cleanup := func() {
		for _, c := range closers {
			c()
		}
		wg.Wait()
	}
	if s.o.metricsAddr != "" {
		ln, err := net.Listen("tcp", s.o.metricsAddr)
		if err != nil {
			return nil, nil, fmt.Errorf("%w: --metrics: %w", pppdial.ErrUsage, err)
		}
		coll := metrics.New(metrics.Options{})
		s.mlink = coll.Link(ifname)
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := metrics.Serve(ctx, ln, metrics.NewRegistry(coll)); err != nil {
				rep.line("metrics: %v", err)
			}
		}()
		addr := ln.Addr().String()
		rep.line("%-22s %8s  http://%s/metrics", "metrics on", "", addr)
		rep.writeJSON(jsonEvent{Time: time.Now(), Event: "metrics", Ifname: ifname, Addr: addr})
	}
	if path := s.o.controlPath(ifname); path != "" {
		ln, err := control.Listen(path)
		switch {
		case err != nil && s.o.control == "":
			// The default socket is a convenience: a daemon run by hand (no RuntimeDirectory, not
			// root) or beside another pp0 runs without it, and says so.
			rep.line("control socket: %v: none (give --control PATH, or --ifname)", err)
			rep.writeJSON(jsonEvent{Time: time.Now(), Event: "control", Ifname: ifname, Error: err.Error()})
		case err != nil:
			cleanup()
			return nil, nil, fmt.Errorf("%w: --control %s: %w", pppdial.ErrUsage, path, err)
		default:
			srv := control.NewServer(control.Options{Logger: log})
			h := control.Handlers{Status: s.controlStatus, Redial: s.controlRedial}
			if o.cmux {
				h.AT = s.controlAT
			}
			if err := srv.Add(ifname, h); err != nil {
				_ = ln.Close()
				cleanup()
				return nil, nil, fmt.Errorf("control: %w", err)
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := srv.Serve(ctx, ln); err != nil {
					rep.line("control: %v", err)
				}
			}()
			rep.line("%-22s %8s  %s", "control socket", "", path)
			rep.writeJSON(jsonEvent{Time: time.Now(), Event: "control", Ifname: ifname, Addr: path})
		}
	}
	if s.notify.Enabled() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = s.notify.Watchdog(ctx, s.healthy)
		}()
		if s.o.readyOn == "start" {
			s.sendReady()
		}
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		s.observeUsage(ctx)
	}()
	return s, cleanup, nil
}

// healthy is the watchdog's test: the link is up, or it went down (or the service started) less
// than --watchdog-grace ago and the session is still trying. Past that the session is stuck,
// and the pings stop so that systemd restarts it.
func (s *service) healthy() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sess != nil {
		select {
		case <-s.sess.Done():
			return false
		default:
		}
	}
	return s.up || time.Since(s.downSince) < s.o.watchdogGrace
}

func (s *service) sendReady() {
	s.mu.Lock()
	first := !s.ready
	s.ready = true
	s.mu.Unlock()
	if first {
		if err := s.notify.Ready(); err != nil {
			s.log.Warn("systemd: READY=1", "err", err)
		}
	}
}

// stopping tells systemd the service is stopping.
func (s *service) stopping() {
	if err := s.notify.Stopping(); err != nil {
		s.log.Warn("systemd: STOPPING=1", "err", err)
	}
}

// event takes one session event, before the reporter prints it.
func (s *service) event(e pppdial.Event) {
	ml := s.mlink
	s.mu.Lock()
	var ready bool
	switch e.Kind {
	case pppdial.EventProgress:
		s.attempt = e.Attempt
		if !s.up {
			s.state = "dialing"
		}
		if e.Step == string(at.StepRegister) && !e.Done && !s.ready {
			// systemd's start timeout would end a slow registration: extend it by what the
			// registration may take, no more.
			if err := s.notify.ExtendTimeout(s.regWait + 30*time.Second); err != nil {
				s.log.Warn("systemd: EXTEND_TIMEOUT_USEC", "err", err)
			}
		}
	case pppdial.EventPhase:
		if !s.up || e.Phase != ppp.PhaseNetwork.String() {
			s.state = strings.ToLower(e.Phase)
		}
		if e.Detail != "" { // IPCP closed while LCP goes on
			s.setDownLocked(e.Time)
		}
	case pppdial.EventUp:
		s.state, s.up, s.upSince, s.status, s.attempt = "up", true, e.Time, e.Status, e.Attempt
		s.lastErr, s.lastCode = "", ""
		ready = s.o.readyOn == "up"
		s.startLinkLocked()
	case pppdial.EventIPv6Up:
		s.status = e.Status
	case pppdial.EventDown:
		s.setDownLocked(e.Time)
		s.state, s.lastErr, s.lastCode = "dead", errText(e.Err), e.Code
		s.endLinkLocked()
	case pppdial.EventError:
		s.state, s.lastErr, s.lastCode = "dead", errText(e.Err), e.Code
	case pppdial.EventRedial:
		s.state = "waiting"
		if ml != nil && e.Err != nil {
			ml.Redial(pppdial.Code(e.Err))
		}
	case pppdial.EventSignal:
		if e.Signal != nil && !e.Signal.IsZero() {
			s.signal, s.signalAt = e.Signal, e.Time
		}
	case pppdial.EventRecovery:
		s.recovery = control.RecoveryOf(*e.Recovery, e.Time)
	}
	up, state := s.up, s.state
	line := s.statusLineLocked(e)
	changed := line != s.statusLine
	s.statusLine = line
	s.mu.Unlock()

	if ml != nil {
		ml.SetUp(up)
		ml.SetPhase(state)
		switch e.Kind {
		case pppdial.EventEcho:
			ml.ObserveEchoRTT(e.RTT)
		case pppdial.EventSignal:
			if e.Signal != nil && !e.Signal.IsZero() {
				ml.SetSignal(*e.Signal)
			}
		case pppdial.EventRecovery:
			ml.RecoveryStep(e.Recovery.Step, e.Recovery.Result)
		}
	}
	if changed {
		if err := s.notify.Status(line); err != nil {
			s.log.Warn("systemd: STATUS=", "err", err)
		}
	}
	if ready {
		s.sendReady()
	}
}

func (s *service) setDownLocked(t time.Time) {
	if s.up {
		s.up, s.downSince, s.upSince = false, t, time.Time{}
	}
	s.status = ppp.Status{}
}

// statusLineLocked is the STATUS= line for systemctl status: what the link is doing, in one
// line.
func (s *service) statusLineLocked(e pppdial.Event) string {
	switch {
	case s.up:
		parts := []string{fmt.Sprintf("up: %s %v peer %v", s.ifname, s.status.Local, s.status.Peer)}
		if s.signal != nil {
			if d := describeSignal(s.signal); d != "" {
				parts = append(parts, d)
			}
		}
		return strings.Join(parts, ", ")
	case s.state == "waiting":
		return fmt.Sprintf("waiting to redial (attempt %d): %s", e.Attempt, orNone(s.lastErr))
	case s.state == "dialing" && e.Kind == pppdial.EventProgress:
		return fmt.Sprintf("dialing (attempt %d): %s", s.attempt, e.Step)
	case s.lastErr != "":
		return fmt.Sprintf("%s: %s", s.state, s.lastErr)
	}
	return s.state
}

// attach gives the service the session once Dial returned: the first link's counters, usage
// and identity start now (its up event came before Dial returned).
func (s *service) attach(sess *pppdial.Session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sess = sess
	if s.up {
		s.startLinkLocked()
	}
}

// startLinkLocked starts counting a link that came up. Before attach (the first link) it does
// nothing: attach calls it again.
func (s *service) startLinkLocked() {
	if s.sess == nil || s.cur != nil {
		return
	}
	st := s.sess.Stats()
	src := &linkSource{sess: s.sess, links: st.Links, base: st.Netif}
	s.cur = src
	info := s.sess.ModemInfo()
	if s.mlink != nil {
		s.mlink.SetCounters(src.read)
		id := info.Identity
		s.mlink.SetModemInfo(metrics.ModemInfo{IMEI: id.IMEI, ICCID: id.ICCID, Model: id.Model, Revision: id.Revision})
		s.mlink.SetRegistered(info.Registration.Registered())
		if s.signal == nil {
			s.mlink.SetSignal(dialPicture(info))
		}
	}
	s.openMeterLocked(info.Identity.ICCID)
	if s.meter != nil {
		s.ulink = s.meter.NewLink()
	}
}

// dialPicture is the signal the dialer saw (AT+CSQ, AT+COPS?), until the monitor reports one.
func dialPicture(info at.Info) cell.Picture {
	var p cell.Picture
	if info.Signal.Known {
		v := float64(info.Signal.DBm)
		p.RSSIdBm = &v
	}
	if info.Operator != "" {
		op := info.Operator
		p.Operator = &op
	}
	if info.AccessTech != "" {
		t := cell.Tech(info.AccessTech)
		p.Tech = &t
	}
	return p
}

// endLinkLocked ends the current link's counting with its final counters.
func (s *service) endLinkLocked() {
	src := s.cur
	s.cur = nil
	if src == nil {
		return
	}
	final := src.read()
	if s.mlink != nil {
		s.mlink.SetCounters(nil)
	}
	if s.ulink != nil {
		s.quotaLocked(s.ulink.End(final.RxBytes, final.TxBytes))
		s.ulink = nil
	}
}

// openMeterLocked opens the SIM's usage meter the first time its ICCID is known (and again for
// another SIM).
func (s *service) openMeterLocked(iccid string) {
	if iccid == "" {
		if s.meter == nil {
			s.rep.line("usage: the modem gave no ICCID: data usage is not counted")
		}
		return
	}
	if s.meter != nil && s.meter.ICCID() == iccid {
		return
	}
	if s.meter != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := s.meter.Flush(ctx); err != nil {
			s.rep.line("usage: %v", err)
		}
		cancel()
	}
	m, err := usage.Open(s.stateDir, iccid, usage.Options{BillingDay: s.o.billingDay,
		Quota: uint64(s.o.quota), Logger: s.log})
	if err != nil {
		s.rep.line("usage: %v: data usage is not counted", err)
		s.rep.writeJSON(jsonEvent{Time: time.Now(), Event: "usage", Ifname: s.ifname, Error: err.Error()})
		return
	}
	if w := m.LoadWarning(); w != nil {
		s.rep.line("usage: warning: %v", w)
		s.rep.writeJSON(jsonEvent{Time: time.Now(), Event: "usage", Ifname: s.ifname, Error: w.Error(),
			Detail: "state file set aside; counting from zero"})
	}
	s.meter = m
	if s.mlink != nil {
		s.mlink.SetUsage(m)
	}
	detail := fmt.Sprintf("SIM %s, %s", iccid, m.Path())
	s.rep.line("%-22s %8s  %s", "usage", "", detail)
	s.rep.writeJSON(jsonEvent{Time: time.Now(), Event: "usage", Ifname: s.ifname, Detail: detail})
}

// observeUsage feeds the current link's counters to the meter every second and runs the
// meter's periodic flush, until ctx ends; then the meter is flushed once more.
func (s *service) observeUsage(ctx context.Context) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	var run meterRun
	defer func() {
		s.mu.Lock()
		s.endLinkLocked() // the session is closed by now: its final counters
		s.mu.Unlock()
		run.stop() // Run's final flush, bounded by its StopTimeout
	}()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		s.mu.Lock()
		if s.cur != nil && s.ulink != nil {
			c := s.cur.read()
			s.quotaLocked(s.ulink.Observe(c.RxBytes, c.TxBytes))
		}
		m := s.meter
		s.mu.Unlock()
		if m != nil && m != run.m {
			run.stop()
			run.start(m, s.o.usageInterval, s.rep)
		}
	}
}

// meterRun is the Meter.Run of the SIM's meter: one at a time (another SIM's replaces it).
type meterRun struct {
	m      *usage.Meter
	cancel context.CancelFunc
	done   chan struct{}
}

func (r *meterRun) start(m *usage.Meter, interval time.Duration, rep *reporter) {
	ctx, cancel := context.WithCancel(context.Background())
	r.m, r.cancel, r.done = m, cancel, make(chan struct{})
	go func(done chan struct{}) {
		defer close(done)
		if err := m.Run(ctx, interval); err != nil {
			rep.line("usage: %v", err)
		}
	}(r.done)
}

// stop ends Run after its final flush (bounded by the meter's StopTimeout).
func (r *meterRun) stop() {
	if r.cancel == nil {
		return
	}
	r.cancel()
	<-r.done
	r.cancel = nil
}

// quotaLocked reports quota marks and, with --quota-action stop, ends the session at 100%.
func (s *service) quotaLocked(evs []usage.QuotaEvent) {
	for _, q := range evs {
		s.rep.line("quota: %d%% of %d bytes used (%d bytes this billing period)", q.Percent, q.Quota, q.Used)
		s.rep.writeJSON(jsonEvent{Time: time.Now(), Event: "quota", Ifname: s.ifname, Percent: q.Percent,
			Used: q.Used, Quota: q.Quota})
		if q.Percent >= 100 && s.o.quotaAction == "stop" && !s.quotaHit {
			s.quotaHit = true
			s.stop(errQuota)
		}
	}
}

// controlStatus answers `pppdial status`.
func (s *service) controlStatus(context.Context) control.Status {
	s.mu.Lock()
	st := control.Status{Ifname: s.ifname, Port: s.port, State: s.state, Up: s.up, UpSince: s.upSince,
		Started: s.started, Attempt: s.attempt, LastErr: s.lastErr, LastCode: s.lastCode,
		Addresses: control.Addresses{Local: s.status.Local, Peer: s.status.Peer, LocalV6: s.status.LocalV6,
			PeerV6: s.status.PeerV6, DNS: s.status.DNS, MTU: s.status.MTU},
		Signal: s.signal, SignalAt: s.signalAt, LastRecovery: s.recovery}
	sess, cur, meter := s.sess, s.cur, s.meter
	s.mu.Unlock()
	if sess != nil {
		info := sess.ModemInfo()
		id := info.Identity
		st.Modem = control.Modem{Manufacturer: id.Manufacturer, Model: id.Model, Revision: id.Revision,
			IMEI: id.IMEI, ICCID: id.ICCID}
		if info.Registration != 0 || st.Up {
			st.Registration = info.Registration.String()
		}
		if st.Signal == nil {
			if p := dialPicture(info); !p.IsZero() {
				st.Signal = &p
			}
		}
	}
	if cur != nil {
		c := cur.read()
		st.Counters = control.Counters{RxBytes: c.RxBytes, TxBytes: c.TxBytes, RxPackets: c.RxPackets,
			TxPackets: c.TxPackets, FrameErrors: c.Framing.FCSErrors + c.Framing.Aborts + c.Framing.TooLong +
				c.Framing.Runts + c.Framing.BadProtocol + c.Discarded}
	}
	if meter != nil {
		st.Usage = control.UsageOf(meter.Snapshot())
	}
	return st
}

// errNotDialed answers a request that needs the session before its first link is up.
var errNotDialed = errors.New("the first dial has not finished")

func (s *service) session() (*pppdial.Session, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sess == nil {
		return nil, errNotDialed
	}
	return s.sess, nil
}

// controlRedial answers `pppdial redial`.
func (s *service) controlRedial(ctx context.Context) error {
	sess, err := s.session()
	if err != nil {
		return err
	}
	// A dial in progress does not take the request: say so soon rather than at the request's
	// timeout.
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	return sess.Redial(ctx)
}

// controlAT runs one command of `pppdial at` on the session's AT channel (CMUX DLC 1).
func (s *service) controlAT(ctx context.Context, cmd string) ([]string, error) {
	sess, err := s.session()
	if err != nil {
		return nil, err
	}
	if len(cmd) >= 2 && strings.EqualFold(cmd[:2], "AT") {
		cmd = cmd[2:]
	}
	timeout := 30 * time.Second
	if dl, ok := ctx.Deadline(); ok {
		timeout = min(timeout, time.Until(dl))
	}
	return sess.Exec(ctx, cmd, timeout)
}
