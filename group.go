package pppdial

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/pppdial/pppdial/bind"
	"github.com/pppdial/pppdial/egress"
	"github.com/pppdial/pppdial/internal/eventq"
	"github.com/pppdial/pppdial/netif"
	"github.com/pppdial/pppdial/ppp"
)

// EventRoute: the member of the egress that carries new connections changed (Group only). Ifname
// is the member that carries them now ("" when none is healthy), From the one that carried them
// before ("" at the first choice), Detail why ("pp0 down: link lost", "pp0 healthy for 30s").
const EventRoute EventKind = "route"

// GroupConfig describes several links in one process and the choice between them.
type GroupConfig struct {
	// Links are the sessions to run, each with its own IfName (required, unique) and port.
	// Each is dialed, recovers and fails on its own: one whose modem is absent does not keep the
	// others from coming up. Their Registry is the group's; their OnEvent is not called (their
	// events come in the group's one stream, with Ifname set).
	Links []Config
	// Egress lists the interfaces that may carry new connections, in preference order: links'
	// IfNames and host interfaces ("wlan0", used through SO_BINDTODEVICE). New connections go
	// to the first healthy member (Router, and the registry's default interface). Empty: the
	// links in order.
	Egress []string
	// Probes check members' data paths beside their link state: a member is unhealthy once its
	// probe failed Probe.Failures times in a row, healthy again at its next success. A link's
	// own Config.Probe serves it (its results arrive as EventProbe); a host interface takes one
	// here (its results are EventProbe too, with the member's name as Ifname), keyed by name (a key that is not an egress member, or is a link, is ErrUsage). A
	// member without a probe is as healthy as its interface is up (a host interface's kernel
	// flags, read every 2 s).
	Probes map[string]Probe
	// RecoverAfter is how long a member that failed must stay healthy before new connections
	// move back to it (default 30 s), so that a flapping link does not take traffic back and
	// forth. A member that never failed is eligible as soon as it is healthy. When no member is
	// eligible, a healthy one still in its recovery carries new connections (the active one
	// while it works, else the first): hysteresis chooses between members that work, it never
	// leaves connections without a route while one works (see package egress).
	RecoverAfter time.Duration
	// Registry holds every link's pp<N> and the host interfaces (default netif.DefaultRegistry).
	// A host member that is not registered is registered by the group (AddHost) when it becomes
	// the active member, so that it can be the registry's default, and removed again at Close.
	Registry *netif.Registry
	// OnEvent receives every link's events (Event.Ifname says whose) and the group's own
	// (EventRoute), in order per link, never blocking a link (see Config.OnEvent).
	OnEvent func(Event)
	// Logger receives the group's logs (each link's too, unless its Config has its own).
	Logger *slog.Logger
}

// ErrUnknownLink: a Group method named an interface that is not one of its links.
var ErrUnknownLink = errors.New("no such link in the group")

// DefaultRecoverAfter is GroupConfig.RecoverAfter's default.
const DefaultRecoverAfter = 30 * time.Second

// hostPoll is how often a host member without a probe is checked (its kernel flags): the kernel
// tells the registry nothing, so its state is read.
const hostPoll = 2 * time.Second

// Group runs several links side by side and chooses, per new connection, the healthiest
// preferred one. Existing connections stay on their link until it goes down, when they fail
// with ENETDOWN.
type Group struct {
	base   context.Context // StartGroup's context without its end: the values links are started with
	reg    *netif.Registry
	log    *slog.Logger
	events *eventq.Queue[Event] // every link's events and the group's, for GroupConfig.OnEvent
	router *bind.Router
	done   chan struct{}

	doneOnce sync.Once
	linkWG   sync.WaitGroup // the goroutines that wait for links to end
	hostWG   sync.WaitGroup // the host members' watchers

	mu           sync.Mutex
	links        []*groupLink // in the order added; removed links are dropped
	machine      *egress.Machine
	members      []string         // the egress in force (g.egress, or the links)
	egress       []string         // as configured; nil: the links, in order
	probes       map[string]Probe // host members' probes
	hosts        map[string]*hostWatch
	hostsAdded   []*netif.Netif // host interfaces the group registered, removed at Close
	timer        *time.Timer    // the next pending recovery (machine.Deadline)
	closing      bool
	recoverAfter time.Duration
}

// groupLink is one link of a Group. Its fields are guarded by Group.mu.
type groupLink struct {
	name     string
	s        *Session
	probe    Probe // its Config.Probe, defaults applied
	failures int   // consecutive failures of its data-path probe
	ipcpDown bool  // IPCP closed since the last up, and the link has not ended (yet)
	ended    bool
	removed  bool
}

// hostWatch is the watcher of one host member.
type hostWatch struct {
	name   string
	probe  Probe
	cancel context.CancelFunc
}

// StartGroup checks cfg, registers every link's interface, and starts dialing them all. It
// returns at once: links come up in the background, reported as EventUp on OnEvent. Errors are
// for the configuration alone (ErrUsage: a missing or duplicate IfName, an unknown egress
// member's probe). ctx's values are kept for the links; its end does not stop them (Close does).
func StartGroup(ctx context.Context, cfg GroupConfig) (*Group, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("pppdial: group: %w", err)
	}
	names := make([]string, 0, len(cfg.Links))
	for i, l := range cfg.Links {
		if l.IfName == "" {
			return nil, fmt.Errorf("pppdial: group: %w: link %d has no IfName", ErrUsage, i+1)
		}
		if slices.Contains(names, l.IfName) {
			return nil, fmt.Errorf("pppdial: group: %w: two links named %s", ErrUsage, l.IfName)
		}
		if err := l.check(); err != nil {
			return nil, fmt.Errorf("pppdial: group: link %s: %w", l.IfName, err)
		}
		names = append(names, l.IfName)
	}
	ra, err := checkEgress(cfg.Egress, cfg.Probes, cfg.RecoverAfter, names)
	if err != nil {
		return nil, err
	}
	g := &Group{
		base:         context.WithoutCancel(ctx),
		reg:          cfg.Registry,
		log:          cfg.Logger,
		events:       newEventQueue(cfg.OnEvent),
		done:         make(chan struct{}),
		egress:       slices.Clone(cfg.Egress),
		probes:       cloneProbes(cfg.Probes),
		hosts:        map[string]*hostWatch{},
		recoverAfter: ra,
	}
	if len(g.egress) == 0 {
		g.egress = nil
	}
	if g.reg == nil {
		g.reg = netif.DefaultRegistry
	}
	if g.log == nil {
		g.log = slog.New(slog.DiscardHandler)
	}
	g.router = &bind.Router{Registry: g.reg, Healthy: g.healthy}
	g.mu.Lock()
	g.members = g.membersFor(names)
	g.machine = egress.New(g.members, ra)
	g.router.SetPreference(g.members...)
	for _, l := range cfg.Links {
		if err := g.startLinkLocked(l); err != nil {
			// The registry refused the name (another user of it has one so named): undo the
			// links started, which have not had time to dial far.
			g.mu.Unlock()
			ctx, cancel := context.WithTimeout(context.Background(), defaultTeardown)
			defer cancel()
			_ = g.Close(ctx)
			return nil, err
		}
	}
	g.syncHostsLocked()
	g.mu.Unlock()
	return g, nil
}

// checkEgress checks an egress list and its probes against the links' names, and returns the
// recovery time in force.
func checkEgress(eg []string, probes map[string]Probe, recoverAfter time.Duration, links []string) (time.Duration, error) {
	if recoverAfter < 0 {
		return 0, fmt.Errorf("pppdial: group: %w: negative RecoverAfter %v", ErrUsage, recoverAfter)
	}
	if recoverAfter == 0 {
		recoverAfter = DefaultRecoverAfter
	}
	for i, m := range eg {
		if m == "" {
			return 0, fmt.Errorf("pppdial: group: %w: egress member %d has no name", ErrUsage, i+1)
		}
		if slices.Contains(eg[:i], m) {
			return 0, fmt.Errorf("pppdial: group: %w: %s twice in the egress", ErrUsage, m)
		}
	}
	members := eg
	if len(members) == 0 {
		members = links
	}
	for name, p := range probes {
		switch {
		case !slices.Contains(members, name):
			return 0, fmt.Errorf("pppdial: group: %w: a probe for %s, which is not an egress member", ErrUsage, name)
		case slices.Contains(links, name):
			return 0, fmt.Errorf("pppdial: group: %w: a probe for %s, a link: a link's probe is its own Config.Probe", ErrUsage, name)
		case p.Network == "":
			return 0, fmt.Errorf("pppdial: group: %w: the probe for %s has no network", ErrUsage, name)
		}
		if _, err := ParseProbe(p.String()); err != nil {
			return 0, fmt.Errorf("pppdial: group: %s: %w", name, err)
		}
	}
	return recoverAfter, nil
}

func cloneProbes(p map[string]Probe) map[string]Probe {
	c := make(map[string]Probe, len(p))
	for k, v := range p {
		c[k] = v.withDefaults()
	}
	return c
}

// membersFor is the egress in force when the links are named links.
func (g *Group) membersFor(links []string) []string {
	if g.egress != nil {
		return slices.Clone(g.egress)
	}
	return slices.Clone(links)
}

// linkNamesLocked returns the links' names, in order.
func (g *Group) linkNamesLocked() []string {
	names := make([]string, len(g.links))
	for i, l := range g.links {
		names[i] = l.name
	}
	return names
}

func (g *Group) linkLocked(name string) *groupLink {
	for _, l := range g.links {
		if l.name == name {
			return l
		}
	}
	return nil
}

// startLinkLocked starts one link: its session posts its events to the group's queue and tells
// the group about them (linkEvent).
func (g *Group) startLinkLocked(cfg Config) error {
	l := &groupLink{name: cfg.IfName, probe: cfg.Probe.withDefaults()}
	cfg.Registry = g.reg
	cfg.OnEvent = nil
	if cfg.Logger == nil {
		cfg.Logger = g.log.With("ifname", cfg.IfName)
	}
	s, err := startSession(g.base, cfg, sessionHooks{events: g.events, observe: func(e Event) { g.linkEvent(l, e) }})
	if err != nil {
		return fmt.Errorf("pppdial: group: link %s: %w", cfg.IfName, err)
	}
	l.s = s
	g.links = append(g.links, l)
	g.linkWG.Add(1)
	go g.waitLink(l)
	return nil
}

// waitLink follows a link to its end.
func (g *Group) waitLink(l *groupLink) {
	defer g.linkWG.Done()
	<-l.s.Done()
	err := l.s.Err() // not under g.mu: the session's lock is never taken inside the group's
	g.mu.Lock()
	defer g.mu.Unlock()
	l.ended = true
	if l.removed || g.closing {
		return
	}
	g.observeLocked(l.name, false, "ended: "+errText(err))
	g.checkDoneLocked()
}

// checkDoneLocked closes Done once every link has ended for good.
func (g *Group) checkDoneLocked() {
	if len(g.links) == 0 {
		return // none left by Remove: the group waits for Add
	}
	for _, l := range g.links {
		if !l.ended {
			return
		}
	}
	g.doneOnce.Do(func() { close(g.done) })
}

// linkEvent is a link's event, on the goroutine that emitted it: the health it says.
func (g *Group) linkEvent(l *groupLink, e Event) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if l.removed || g.closing {
		return
	}
	switch e.Kind {
	case EventUp:
		l.failures, l.ipcpDown = 0, false
		g.observeLocked(l.name, true, "up")
	case EventDown:
		l.ipcpDown = false
		g.observeLocked(l.name, false, "down: "+errText(e.Err))
	case EventPhase:
		// IPCP closing takes the interface down and aborts its connections. At the end of a
		// link the down event follows at once, with the reason worth reporting; when the link
		// goes on instead (the network renegotiates LCP: authentication or the network phase
		// again, before IPCP opens), that is a failure of the member too.
		switch {
		case e.Detail == networkDownDetail:
			l.ipcpDown = true
		case l.ipcpDown && (e.Phase == ppp.PhaseAuthenticate.String() || e.Phase == ppp.PhaseNetwork.String()):
			l.ipcpDown = false
			g.observeLocked(l.name, false, "down: the network renegotiated the link (IPCP closed)")
		}
	case EventProbe:
		if e.Probe != ProbeTCP && e.Probe != ProbeICMP {
			return // the AT channel's probe says nothing of the data path
		}
		if e.Err == nil {
			l.failures = 0
			return
		}
		// The session ends the link at the same count (ErrProbeFailed), and its next up starts
		// afresh: new connections leave it now, before its teardown is over.
		l.failures++
		if l.failures == l.probe.Failures {
			g.observeLocked(l.name, false, fmt.Sprintf("probe %s %s failed %d times: %v", e.Probe, e.Detail, l.failures, e.Err))
		}
	}
}

// errText is an error's reason in a route event: its code and its message.
func errText(err error) string {
	if err == nil {
		return "closed"
	}
	return strings.ReplaceAll(Code(err), "-", " ") + " (" + err.Error() + ")"
}

// observeLocked feeds the state machine and follows its choice.
func (g *Group) observeLocked(name string, healthy bool, reason string) {
	c, ok := g.machine.Observe(name, healthy, reason, time.Now())
	g.followLocked(c, ok)
}

// followLocked makes the registry's default follow a change of the active member, reports it,
// and sets the timer for the next pending recovery.
func (g *Group) followLocked(c egress.Change, changed bool) {
	if changed {
		var n *netif.Netif
		if c.To != "" {
			n = g.netifLocked(c.To)
		}
		if err := g.reg.SetDefault(n); err != nil {
			g.log.Warn("cannot make the active member the default interface", "ifname", c.To, "err", err)
		}
		g.log.Info("route", "ifname", c.To, "from", c.From, "reason", c.Reason)
		if len(g.members) >= 2 {
			g.events.Post(Event{Time: time.Now(), Kind: EventRoute, Ifname: c.To, From: c.From, Detail: c.Reason})
		}
	}
	if g.timer != nil {
		g.timer.Stop()
		g.timer = nil
	}
	if d, ok := g.machine.Deadline(); ok && !g.closing {
		g.timer = time.AfterFunc(time.Until(d), g.advance)
	}
}

// advance runs at the end of a pending recovery.
func (g *Group) advance() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closing {
		return
	}
	c, ok := g.machine.Advance(time.Now())
	g.followLocked(c, ok)
}

// netifLocked returns the active member's interface, to be the registry's default: a link's, or
// the host interface, which is registered (AddHost) if it is not (and removed again at Close);
// nil if there is none.
func (g *Group) netifLocked(name string) *netif.Netif {
	if l := g.linkLocked(name); l != nil {
		return l.s.Netif()
	}
	if n, err := g.reg.ByName(name); err == nil {
		return n
	}
	n, err := g.reg.AddHost(name)
	if err != nil {
		g.log.Warn("cannot register the active member's interface", "ifname", name, "err", err)
		return nil
	}
	g.hostsAdded = append(g.hostsAdded, n)
	return n
}

// healthy is the Router's health check: a member may carry new connections if it is the active
// one or eligible (a route of the Router's own may name an eligible member that is not the
// first); other interfaces as their state says.
func (g *Group) healthy(n *netif.Netif) bool {
	name := n.Name()
	g.mu.Lock()
	ok := !slices.Contains(g.members, name) || name == g.machine.Active() || g.machine.Eligible(name)
	g.mu.Unlock()
	return ok && n.IsUp()
}

// reconfigureLocked applies a change of the members (the egress, or the links when the egress
// follows them) or of the recovery time.
func (g *Group) reconfigureLocked() {
	g.members = g.membersFor(g.linkNamesLocked())
	g.router.SetPreference(g.members...)
	c, ok := g.machine.Reconfigure(g.members, g.recoverAfter, time.Now())
	g.followLocked(c, ok)
	g.syncHostsLocked()
}

// syncHostsLocked runs one watcher per host member (a member that is not a link), with its probe.
func (g *Group) syncHostsLocked() {
	want := map[string]Probe{}
	if !g.closing {
		for _, m := range g.members {
			if g.linkLocked(m) == nil {
				want[m] = g.probes[m]
			}
		}
	}
	for name, w := range g.hosts {
		if p, ok := want[name]; ok && p == w.probe {
			delete(want, name)
			continue
		}
		w.cancel()
		delete(g.hosts, name)
		if g.linkLocked(name) != nil {
			// A link took the name: its own events say its health from now on.
			g.observeLocked(name, false, "replaced by a link")
		}
	}
	for name, p := range want {
		ctx, cancel := context.WithCancel(context.Background())
		w := &hostWatch{name: name, probe: p, cancel: cancel}
		g.hosts[name] = w
		g.hostWG.Add(1)
		go g.watchHost(ctx, w)
	}
}

// watchHost follows a host member's health: its kernel state, and its probe if it has one (the
// same probe a link runs, probeOnce), every probe interval or hostPoll.
func (g *Group) watchHost(ctx context.Context, w *hostWatch) {
	defer g.hostWG.Done()
	p, interval := w.probe, hostPoll
	if p.Network != "" {
		interval = p.Interval
	}
	failures := 0
	for seq := uint16(1); ; seq++ {
		healthy, reason := false, ""
		n, err := g.hostNetif(w.name)
		switch {
		case err != nil:
			reason = "absent (" + err.Error() + ")"
		case !n.IsUp():
			reason = "down"
		case p.Network == "":
			healthy, reason = true, "up"
		default:
			r := probeOnce(ctx, p, w.name, g.reg, seq)
			if ctx.Err() != nil {
				return
			}
			g.events.Post(Event{Time: time.Now(), Kind: EventProbe, Ifname: w.name, Probe: r.name, Detail: r.target, Elapsed: r.elapsed, Err: r.err})
			if r.err == nil {
				failures = 0
				healthy, reason = true, "probe ok"
			} else {
				failures++
				healthy = failures < p.Failures
				reason = fmt.Sprintf("probe %s %s failed %d times: %v", r.name, r.target, failures, r.err)
			}
		}
		g.mu.Lock()
		if g.hosts[w.name] == w && !g.closing {
			g.observeLocked(w.name, healthy, reason)
		}
		g.mu.Unlock()
		t := time.NewTimer(interval)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return
		}
	}
}

// hostNetif returns the host member's interface: registered, or the kernel's (not registered
// here: only the active member needs to be, to be the registry's default).
func (g *Group) hostNetif(name string) (*netif.Netif, error) {
	n, err := g.reg.Lookup(name)
	if err != nil {
		return nil, err
	}
	if n.Kind() != netif.KindHost {
		// A link's interface under that name (a link being removed, or one of another user of
		// the registry): not a host interface, and its health is not the watcher's to tell.
		return nil, fmt.Errorf("%s is not a host interface", name)
	}
	return n, nil
}

// Links returns the links' interface names, in the order they were added.
func (g *Group) Links() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.linkNamesLocked()
}

// Session returns the link's session once it has come up; nil while it is still being dialed
// for the first time, after it ended for good, or for a name that is not a link.
func (g *Group) Session(ifname string) *Session {
	g.mu.Lock()
	l := g.linkLocked(ifname)
	g.mu.Unlock()
	if l == nil {
		return nil
	}
	select {
	case <-l.s.done:
		return nil
	default:
	}
	select {
	case <-l.s.up:
		return l.s
	default:
		return nil
	}
}

// Router returns the router that picks each new connection's interface: the first healthy
// egress member (after RecoverAfter for one that failed). The SOCKS server dials through it.
func (g *Group) Router() *bind.Router { return g.router }

// Active returns the member that carries new connections now; "" when none is healthy.
func (g *Group) Active() string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.machine.Active()
}

// errGroupClosed: a Group method was called after Close (or after every link ended for good).
var errGroupClosed = fmt.Errorf("pppdial: the group is closed: %w", os.ErrClosed)

// Add starts one more link (a configuration reload that found a new [[link]]). Errors are
// ErrUsage for its configuration (a missing or duplicate IfName), and os.ErrClosed after Close
// or once Done is closed.
func (g *Group) Add(ctx context.Context, link Config) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("pppdial: group: add: %w", err)
	}
	if link.IfName == "" {
		return fmt.Errorf("pppdial: group: %w: the link has no IfName", ErrUsage)
	}
	if err := link.check(); err != nil {
		return fmt.Errorf("pppdial: group: link %s: %w", link.IfName, err)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closing || g.isDone() {
		return errGroupClosed
	}
	if g.linkLocked(link.IfName) != nil {
		return fmt.Errorf("pppdial: group: %w: a link named %s is already there", ErrUsage, link.IfName)
	}
	if err := g.startLinkLocked(link); err != nil {
		return err
	}
	g.reconfigureLocked()
	return nil
}

func (g *Group) isDone() bool {
	select {
	case <-g.done:
		return true
	default:
		return false
	}
}

// Remove hangs the link up (within ctx) and forgets it: its interface is removed, connections
// on it fail with ENETDOWN. ErrUnknownLink if there is no such link. New connections move to
// another member before the link is hung up.
func (g *Group) Remove(ctx context.Context, ifname string) error {
	g.mu.Lock()
	l := g.linkLocked(ifname)
	if l == nil {
		g.mu.Unlock()
		return fmt.Errorf("pppdial: group: remove %s: %w", ifname, ErrUnknownLink)
	}
	g.observeLocked(ifname, false, "removed")
	l.removed = true
	g.links = slices.DeleteFunc(g.links, func(x *groupLink) bool { return x == l })
	g.reconfigureLocked()
	if !g.closing {
		g.checkDoneLocked()
	}
	g.mu.Unlock()
	if err := l.s.Close(ctx); err != nil {
		return fmt.Errorf("pppdial: group: remove %s: %w", ifname, err)
	}
	return nil
}

// SetEgress replaces the egress list, its probes and RecoverAfter (a reload); the route is
// chosen again at once. Its errors are StartGroup's (ErrUsage); nothing changes then.
func (g *Group) SetEgress(egress []string, probes map[string]Probe, recoverAfter time.Duration) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closing {
		return errGroupClosed
	}
	ra, err := checkEgress(egress, probes, recoverAfter, g.linkNamesLocked())
	if err != nil {
		return err
	}
	g.egress = slices.Clone(egress)
	if len(g.egress) == 0 {
		g.egress = nil
	}
	g.probes = cloneProbes(probes)
	g.recoverAfter = ra
	g.reconfigureLocked()
	return nil
}

// Done is closed when every link has ended for good (a link that Remove took away no longer
// counts), or Close finished.
func (g *Group) Done() <-chan struct{} { return g.done }

// Close hangs every link up in parallel within ctx's deadline and stops the probes. It returns
// once everything has stopped and OnEvent has taken the last event, or with ctx's error.
// Closing twice is fine.
func (g *Group) Close(ctx context.Context) error {
	g.mu.Lock()
	if g.closing {
		g.mu.Unlock()
		select {
		case <-g.done:
			return nil
		case <-ctx.Done():
			return fmt.Errorf("pppdial: group: close: %w", ctx.Err())
		}
	}
	g.closing = true
	links := slices.Clone(g.links)
	if g.timer != nil {
		g.timer.Stop()
		g.timer = nil
	}
	g.syncHostsLocked() // closing: stops every watcher
	g.mu.Unlock()

	errs := make([]error, len(links))
	var wg sync.WaitGroup
	for i, l := range links {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := l.s.Close(ctx); err != nil {
				errs[i] = fmt.Errorf("%s: %w", l.name, err)
			}
		}()
	}
	wg.Wait() // each Close is bounded by ctx
	err := errors.Join(errs...)
	if werr := waitGroup(ctx, &g.hostWG, &g.linkWG); werr != nil && err == nil {
		err = werr
	}
	g.mu.Lock()
	added := g.hostsAdded
	g.hostsAdded = nil
	g.mu.Unlock()
	for _, n := range added {
		_ = g.reg.Remove(n)
	}
	if qerr := g.events.Close(ctx); qerr != nil && err == nil {
		err = qerr
	}
	g.doneOnce.Do(func() { close(g.done) })
	if err != nil {
		return fmt.Errorf("pppdial: group: close: %w", err)
	}
	return nil
}

// waitGroup waits for wgs, bounded by ctx.
func waitGroup(ctx context.Context, wgs ...*sync.WaitGroup) error {
	done := make(chan struct{})
	go func() {
		for _, wg := range wgs {
			wg.Wait()
		}
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
