package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
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
	fs.StringVar(&o.control, "control", "", `the control socket for "pppdial status", "redial" and "at" (default: dial's /run/pppdial/<ifname>.sock, up's /run/pppdial/pppdial.sock; "none": no socket)`)
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

// service runs beside the sessions of a process: it tells systemd how the links are doing,
// exports them to Prometheus, answers the control socket and meters each SIM's data. It learns
// everything from the sessions' one event stream (event) and from each session itself once it
// is known (attach, or the group's Session).
type service struct {
	o       serviceOptions // the process's: ready-on, watchdog-grace, metrics, control
	rep     *reporter
	log     *slog.Logger
	notify  *sdnotify.Notifier
	coll    *metrics.Collector // nil without --metrics
	ctrl    *control.Server    // nil without a control socket
	ctx     context.Context    // the links' usage loops end with it
	started time.Time
	ready   atomic.Bool
	loops   sync.WaitGroup // the links' usage loops

	mu         sync.Mutex
	links      []*linkService // in the order they were added
	single     bool           // dial: every event is the one link's, whatever its Ifname
	active     string         // the egress member carrying new connections (route events)
	statusLine string
}

// linkOptions are what the service needs of one link.
type linkOptions struct {
	ifname, port string
	cmux         bool
	regWait      time.Duration // --register-timeout
	stateDir     string
	usage        serviceOptions // the link's usage-interval, billing-day, quota, quota-action
	// session returns the link's session once it has come up (up: the group's); nil: the
	// session is given by attach (dial).
	session func() *pppdial.Session
	// stop ends what the link's --quota-action stop ends: the process for dial, the link for up.
	stop func(error)
}

// linkService is the service's view of one link.
type linkService struct {
	lo      linkOptions
	svc     *service
	mlink   *metrics.Link // nil without --metrics
	started time.Time
	cancel  context.CancelFunc // ends the usage loop
	done    chan struct{}      // closed when the usage loop has flushed and ended

	mu         sync.Mutex
	sess       *pppdial.Session
	state      string // pppdial_link_state's phase names
	up         bool
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

// controlPath is the control socket's path: --control, or def (dial: the interface's; up: the
// process's).
func (o *serviceOptions) controlPath(def string) string {
	switch o.control {
	case "":
		return def
	case "none":
		return ""
	}
	return o.control
}

// startService opens what the flags ask for — the metrics listener, the control socket, the
// notify socket — before anything is dialed, so a taken address or an unsafe path is a usage
// error found at once. defControl is the control socket's default path; label names the process
// in the metrics and control events (dial: its interface). Its goroutines end with ctx; wait for
// them with the returned func. Links are added with addLink.
func startService(ctx context.Context, o serviceOptions, defControl, label string, rep *reporter, log *slog.Logger) (*service, func(), error) {
	s := &service{o: o, rep: rep, log: log, ctx: ctx, started: time.Now()}
	var err error
	if s.notify, err = sdnotify.New(log); err != nil {
		return nil, nil, fmt.Errorf("%w: systemd: %w", pppdial.ErrUsage, err)
	}
	var wg sync.WaitGroup
	cleanup := func() {
		wg.Wait()
		s.loops.Wait()
	}
	if s.o.metricsAddr != "" {
		ln, err := net.Listen("tcp", s.o.metricsAddr)
		if err != nil {
			return nil, nil, fmt.Errorf("%w: --metrics: %w", pppdial.ErrUsage, err)
		}
		s.coll = metrics.New(metrics.Options{})
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := metrics.Serve(ctx, ln, metrics.NewRegistry(s.coll)); err != nil {
				rep.line("metrics: %v", err)
			}
		}()
		addr := ln.Addr().String()
		rep.line("%-22s %8s  http://%s/metrics", "metrics on", "", addr)
		rep.writeJSON(jsonEvent{Time: time.Now(), Event: "metrics", Ifname: label, Addr: addr})
	}
	if path := s.o.controlPath(defControl); path != "" {
		ln, err := control.Listen(path)
		switch {
		case err != nil && s.o.control == "":
			// The default socket is a convenience: a daemon run by hand (no RuntimeDirectory, not
			// root) or beside another pp0 runs without it, and says so.
			rep.line("control socket: %v: none (give --control PATH)", err)
			rep.writeJSON(jsonEvent{Time: time.Now(), Event: "control", Ifname: label, Error: err.Error()})
		case err != nil:
			cleanup()
			return nil, nil, fmt.Errorf("%w: --control %s: %w", pppdial.ErrUsage, path, err)
		default:
			s.ctrl = control.NewServer(control.Options{Logger: log})
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := s.ctrl.Serve(ctx, ln); err != nil {
					rep.line("control: %v", err)
				}
			}()
			rep.line("%-22s %8s  %s", "control socket", "", path)
			rep.writeJSON(jsonEvent{Time: time.Now(), Event: "control", Ifname: label, Addr: path})
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
	return s, cleanup, nil
}

// addLink starts serving one link: its metrics, its control handlers and its usage meter.
func (s *service) addLink(lo linkOptions) (*linkService, error) {
	now := time.Now()
	l := &linkService{lo: lo, svc: s, started: now, downSince: now, state: "dialing", done: make(chan struct{})}
	if s.coll != nil {
		l.mlink = s.coll.Link(lo.ifname)
	}
	if s.ctrl != nil {
		h := control.Handlers{Status: l.controlStatus, Redial: l.controlRedial}
		if lo.cmux {
			h.AT = l.controlAT
		}
		if err := s.ctrl.Add(lo.ifname, h); err != nil {
			return nil, fmt.Errorf("control: %w", err)
		}
	}
	s.mu.Lock()
	s.links = append(s.links, l)
	s.mu.Unlock()
	var ctx context.Context
	ctx, l.cancel = context.WithCancel(s.ctx)
	s.loops.Add(1)
	go func() {
		defer s.loops.Done()
		defer close(l.done)
		l.observeUsage(ctx)
	}()
	return l, nil
}

// removeLink stops serving the link (a reload removed it, or its quota stopped it): its usage is
// flushed, its metrics and control handlers go.
func (s *service) removeLink(ifname string) {
	s.mu.Lock()
	i := slices.IndexFunc(s.links, func(l *linkService) bool { return l.lo.ifname == ifname })
	if i < 0 {
		s.mu.Unlock()
		return
	}
	l := s.links[i]
	s.links = slices.Delete(s.links, i, i+1)
	s.mu.Unlock()
	if s.ctrl != nil {
		s.ctrl.Remove(ifname)
	}
	l.cancel()
	<-l.done
	if s.coll != nil {
		s.coll.Remove(ifname)
	}
	s.updateStatus()
}

// link returns the link the event is about.
func (s *service) link(ifname string) *linkService {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.single && len(s.links) == 1 {
		return s.links[0]
	}
	for _, l := range s.links {
		if l.lo.ifname == ifname {
			return l
		}
	}
	return nil
}

// snapshot returns the links and the active member.
func (s *service) snapshot() ([]*linkService, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.links), s.active
}

// healthy is the watchdog's test: at least one link is healthy (see linkService.healthy).
func (s *service) healthy() bool {
	links, _ := s.snapshot()
	now := time.Now()
	for _, l := range links {
		if l.healthy(now) {
			return true
		}
	}
	return false
}

// healthy: the link is up, or it went down (or started) less than --watchdog-grace ago and the
// session is still trying. Past that the session is stuck, and for a process of one link the
// pings stop so that systemd restarts it.
func (l *linkService) healthy(now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if sess := l.sessionLocked(); sess != nil {
		select {
		case <-sess.Done():
			return false
		default:
		}
	}
	return l.up || now.Sub(l.downSince) < l.svc.o.watchdogGrace
}

func (s *service) sendReady() {
	if s.ready.Swap(true) {
		return
	}
	if err := s.notify.Ready(); err != nil {
		s.log.Warn("systemd: READY=1", "err", err)
	}
}

// stopping tells systemd the service is stopping.
func (s *service) stopping() {
	if err := s.notify.Stopping(); err != nil {
		s.log.Warn("systemd: STOPPING=1", "err", err)
	}
}

// event takes one session event (or the group's route event), before the reporter prints it.
func (s *service) event(e pppdial.Event) {
	if e.Kind == pppdial.EventRoute {
		s.mu.Lock()
		s.active = e.Ifname
		s.mu.Unlock()
		s.updateStatus()
		return
	}
	l := s.link(e.Ifname)
	if l == nil {
		return // a link removed by a reload, still draining its events
	}
	ready := l.event(e)
	s.updateStatus()
	if ready {
		s.sendReady()
	}
}

// updateStatus sends STATUS= when the summary of the links changed: one link's line as it is;
// with several, the active member and each link's state.
func (s *service) updateStatus() {
	links, active := s.snapshot()
	var line string
	if len(links) == 1 {
		line = links[0].summary(false)
	} else {
		var parts []string
		if active != "" {
			parts = append(parts, "new connections over "+active)
		} else if len(links) > 1 {
			parts = append(parts, "no healthy link")
		}
		for _, l := range links {
			parts = append(parts, l.summary(true))
		}
		line = strings.Join(parts, "; ")
	}
	s.mu.Lock()
	changed := line != s.statusLine
	s.statusLine = line
	s.mu.Unlock()
	if changed {
		if err := s.notify.Status(line); err != nil {
			s.log.Warn("systemd: STATUS=", "err", err)
		}
	}
}

// summary is the link's part of STATUS=: its whole line, or with short a few words after its name.
func (l *linkService) summary(short bool) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !short {
		return l.statusLine
	}
	if l.up {
		return fmt.Sprintf("%s up %v", l.lo.ifname, l.status.Local)
	}
	return l.lo.ifname + " " + l.statusLine
}

// event takes one of the link's events; it reports whether READY=1 is due.
func (l *linkService) event(e pppdial.Event) (ready bool) {
	s := l.svc
	ml := l.mlink
	l.mu.Lock()
	switch e.Kind {
	case pppdial.EventProgress:
		l.attempt = e.Attempt
		if !l.up {
			l.state = "dialing"
		}
		if e.Step == string(at.StepRegister) && !e.Done && !s.ready.Load() {
			// systemd's start timeout would end a slow registration: extend it by what the
			// registration may take, no more.
			if err := s.notify.ExtendTimeout(l.lo.regWait + 30*time.Second); err != nil {
				s.log.Warn("systemd: EXTEND_TIMEOUT_USEC", "err", err)
			}
		}
	case pppdial.EventPhase:
		if !l.up || e.Phase != ppp.PhaseNetwork.String() {
			l.state = strings.ToLower(e.Phase)
		}
		if e.Detail != "" { // IPCP closed while LCP goes on
			l.setDownLocked(e.Time)
		}
	case pppdial.EventUp:
		l.state, l.up, l.upSince, l.status, l.attempt = "up", true, e.Time, e.Status, e.Attempt
		l.lastErr, l.lastCode = "", ""
		ready = s.o.readyOn == "up"
		l.startLinkLocked()
	case pppdial.EventIPv6Up:
		l.status = e.Status
	case pppdial.EventDown:
		l.setDownLocked(e.Time)
		l.state, l.lastErr, l.lastCode = "dead", errText(e.Err), e.Code
		l.endLinkLocked()
	case pppdial.EventError:
		l.state, l.lastErr, l.lastCode = "dead", errText(e.Err), e.Code
	case pppdial.EventRedial:
		l.state = "waiting"
		if ml != nil && e.Err != nil {
			ml.Redial(pppdial.Code(e.Err))
		}
	case pppdial.EventSignal:
		if e.Signal != nil && !e.Signal.IsZero() {
			l.signal, l.signalAt = e.Signal, e.Time
		}
	case pppdial.EventRecovery:
		l.recovery = control.RecoveryOf(*e.Recovery, e.Time)
	}
	up, state := l.up, l.state
	l.statusLine = l.statusLineLocked(e)
	l.mu.Unlock()

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
	return ready
}

// statusOf returns the link's addresses and DNS servers, and whether it is up.
func (s *service) statusOf(ifname string) (ppp.Status, bool) {
	l := s.link(ifname)
	if l == nil {
		return ppp.Status{}, false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.status, l.up
}

func (l *linkService) setDownLocked(t time.Time) {
	if l.up {
		l.up, l.downSince, l.upSince = false, t, time.Time{}
	}
	l.status = ppp.Status{}
}

// statusLineLocked is the link's STATUS= line for systemctl status: what the link is doing, in
// one line.
func (l *linkService) statusLineLocked(e pppdial.Event) string {
	switch {
	case l.up:
		parts := []string{fmt.Sprintf("up: %s %v peer %v", l.lo.ifname, l.status.Local, l.status.Peer)}
		if l.signal != nil {
			if d := describeSignal(l.signal); d != "" {
				parts = append(parts, d)
			}
		}
		return strings.Join(parts, ", ")
	case l.state == "waiting":
		return fmt.Sprintf("waiting to redial (attempt %d): %s", e.Attempt, orNone(l.lastErr))
	case l.state == "dialing" && e.Kind == pppdial.EventProgress:
		return fmt.Sprintf("dialing (attempt %d): %s", l.attempt, e.Step)
	case l.lastErr != "":
		return fmt.Sprintf("%s: %s", l.state, l.lastErr)
	}
	return l.state
}

// attach gives the link its session once Dial returned (dial): the first link's counters, usage
// and identity start now (its up event came before Dial returned).
func (l *linkService) attach(sess *pppdial.Session) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sess = sess
	if l.up {
		l.startLinkLocked()
	}
}

// sessionLocked is the link's session, nil while it is not known yet.
func (l *linkService) sessionLocked() *pppdial.Session {
	if l.sess == nil && l.lo.session != nil {
		l.sess = l.lo.session()
	}
	return l.sess
}

// startLinkLocked starts counting a link that came up. Before its session is known it does
// nothing: attach, or the usage loop's next tick, calls it again.
func (l *linkService) startLinkLocked() {
	sess := l.sessionLocked()
	if sess == nil || l.cur != nil {
		return
	}
	st := sess.Stats()
	src := &linkSource{sess: sess, links: st.Links, base: st.Netif}
	l.cur = src
	info := sess.ModemInfo()
	if l.mlink != nil {
		l.mlink.SetCounters(src.read)
		id := info.Identity
		l.mlink.SetModemInfo(metrics.ModemInfo{IMEI: id.IMEI, ICCID: id.ICCID, Model: id.Model, Revision: id.Revision})
		l.mlink.SetRegistered(info.Registration.Registered())
		if l.signal == nil {
			l.mlink.SetSignal(dialPicture(info))
		}
	}
	l.openMeterLocked(info.Identity.ICCID)
	if l.meter != nil {
		l.ulink = l.meter.NewLink()
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
func (l *linkService) endLinkLocked() {
	src := l.cur
	l.cur = nil
	if src == nil {
		return
	}
	final := src.read()
	if l.mlink != nil {
		l.mlink.SetCounters(nil)
	}
	if l.ulink != nil {
		l.quotaLocked(l.ulink.End(final.RxBytes, final.TxBytes))
		l.ulink = nil
	}
}

// openMeterLocked opens the SIM's usage meter the first time its ICCID is known (and again for
// another SIM).
func (l *linkService) openMeterLocked(iccid string) {
	rep := l.svc.rep
	if iccid == "" {
		if l.meter == nil {
			rep.line("usage: %s: the modem gave no ICCID: data usage is not counted", l.lo.ifname)
		}
		return
	}
	if l.meter != nil && l.meter.ICCID() == iccid {
		return
	}
	if l.meter != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := l.meter.Flush(ctx); err != nil {
			rep.line("usage: %v", err)
		}
		cancel()
	}
	m, err := usage.Open(l.lo.stateDir, iccid, usage.Options{BillingDay: l.lo.usage.billingDay,
		Quota: uint64(l.lo.usage.quota), Logger: l.svc.log})
	if err != nil {
		rep.line("usage: %v: data usage is not counted", err)
		rep.writeJSON(jsonEvent{Time: time.Now(), Event: "usage", Ifname: l.lo.ifname, Error: err.Error()})
		return
	}
	if w := m.LoadWarning(); w != nil {
		rep.line("usage: warning: %v", w)
		rep.writeJSON(jsonEvent{Time: time.Now(), Event: "usage", Ifname: l.lo.ifname, Error: w.Error(),
			Detail: "state file set aside; counting from zero"})
	}
	l.meter = m
	if l.mlink != nil {
		l.mlink.SetUsage(m)
	}
	detail := fmt.Sprintf("SIM %s, %s", iccid, m.Path())
	rep.line("%-22s %8s  %s", "usage", "", detail)
	rep.writeJSON(jsonEvent{Time: time.Now(), Event: "usage", Ifname: l.lo.ifname, Detail: detail})
}

// observeUsage feeds the current link's counters to the meter every second and runs the
// meter's periodic flush, until ctx ends; then the meter is flushed once more.
func (l *linkService) observeUsage(ctx context.Context) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	var run meterRun
	defer func() {
		l.mu.Lock()
		l.endLinkLocked() // the session is closed by now: its final counters
		l.mu.Unlock()
		run.stop() // Run's final flush, bounded by its StopTimeout
	}()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		l.mu.Lock()
		if l.up && l.cur == nil {
			l.startLinkLocked() // up before the group knew its session
		}
		if l.cur != nil && l.ulink != nil {
			c := l.cur.read()
			l.quotaLocked(l.ulink.Observe(c.RxBytes, c.TxBytes))
		}
		m := l.meter
		l.mu.Unlock()
		if m != nil && m != run.m {
			run.stop()
			run.start(m, l.lo.usage.usageInterval, l.svc.rep)
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

// quotaLocked reports quota marks and, with --quota-action stop, ends the link's session at 100%.
func (l *linkService) quotaLocked(evs []usage.QuotaEvent) {
	rep := l.svc.rep
	for _, q := range evs {
		rep.line("quota: %s: %d%% of %d bytes used (%d bytes this billing period)", l.lo.ifname, q.Percent, q.Quota, q.Used)
		rep.writeJSON(jsonEvent{Time: time.Now(), Event: "quota", Ifname: l.lo.ifname, Percent: q.Percent,
			Used: q.Used, Quota: q.Quota})
		if q.Percent >= 100 && l.lo.usage.quotaAction == "stop" && !l.quotaHit && l.lo.stop != nil {
			l.quotaHit = true
			// Not under l.mu: stopping a link removes it from the service, which waits for
			// this loop.
			go l.lo.stop(errQuota)
		}
	}
}

// controlStatus answers `pppdial status`.
func (l *linkService) controlStatus(context.Context) control.Status {
	l.mu.Lock()
	st := control.Status{Ifname: l.lo.ifname, Port: l.lo.port, State: l.state, Up: l.up, UpSince: l.upSince,
		Started: l.started, Attempt: l.attempt, LastErr: l.lastErr, LastCode: l.lastCode,
		Addresses: control.Addresses{Local: l.status.Local, Peer: l.status.Peer, LocalV6: l.status.LocalV6,
			PeerV6: l.status.PeerV6, DNS: l.status.DNS, MTU: l.status.MTU},
		Signal: l.signal, SignalAt: l.signalAt, LastRecovery: l.recovery}
	sess, cur, meter := l.sessionLocked(), l.cur, l.meter
	l.mu.Unlock()
	if _, active := l.svc.snapshot(); active != "" {
		st.Active = active == l.lo.ifname
	}
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

func (l *linkService) session() (*pppdial.Session, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if sess := l.sessionLocked(); sess != nil {
		return sess, nil
	}
	return nil, errNotDialed
}

// controlRedial answers `pppdial redial`.
func (l *linkService) controlRedial(ctx context.Context) error {
	sess, err := l.session()
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
func (l *linkService) controlAT(ctx context.Context, cmd string) ([]string, error) {
	sess, err := l.session()
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
