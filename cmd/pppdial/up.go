package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/pppdial/pppdial"
	"github.com/pppdial/pppdial/control"
	"github.com/pppdial/pppdial/internal/config"
	"github.com/pppdial/pppdial/socks"
)

const upUsage = `Usage: pppdial up -c FILE [egress flags]

Runs every [[link]] of FILE in one process ("pppdial check -c FILE" validates the file, "pppdial
check -h" describes it): each link is dialed, recovers and fails on its own, as its own ppN. New
connections (the SOCKS server, bind's default interface, with --tun the default route and
--resolv-conf) go over the first healthy member of the egress list (--egress; default: the links
in file order); a member that failed gets them back only after --recover-after. A "route" event
says which member carries them and why that changed.

Egress flags on the command line (or as PPPDIAL_<NAME> in the environment) override FILE's
[egress] (pppdial up -c FILE --json); a link's settings come from FILE only.
SIGHUP re-reads FILE: a link whose settings did not change is not touched, a changed one redials,
a removed one is hung up, a new one dialed, egress changes apply at once; a file with an error
changes nothing (the error is reported with its line). SIGINT/SIGTERM hang every link up (exit 0).
The control socket defaults to /run/pppdial/pppdial.sock: "pppdial status" lists every link.

Flags (the [egress] keys; each also from the environment as PPPDIAL_<NAME>):
`

// upDefaultControl is up's control socket: one for the process and every link.
var upDefaultControl = filepath.Join(control.DefaultDir, "pppdial.sock")

// upArgs are up's command line: the file and the egress flags given on it.
type upArgs struct {
	path string
	set  []flagValue // egress flags set on the command line or in the environment, in order
}

type flagValue struct{ name, value string }

// parseUpArgs parses up's command line; code >= 0 ends the command with it.
func parseUpArgs(args []string, stderr io.Writer) (u upArgs, code int) {
	fs := newFlagSet("up", stderr, upUsage)
	fs.StringVar(&u.path, "c", "", "the configuration file (required)")
	dialFlagSet(true).VisitAll(func(f *flag.Flag) { fs.Var(f.Value, f.Name, f.Usage) })
	if code := parse(fs, args); code >= 0 {
		return u, code
	}
	if u.path == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "pppdial up: want -c FILE and egress flags only (pppdial up -h)")
		return u, exitUsage
	}
	fs.Visit(func(f *flag.Flag) {
		if f.Name != "c" {
			u.set = append(u.set, flagValue{f.Name, f.Value.String()})
		}
	})
	return u, -1
}

// discardValue takes a file's setting of a flag the command line overrides.
type discardValue struct{}

func (discardValue) String() string   { return "" }
func (discardValue) Set(string) error { return nil }

// options resolves one set of dial options from the one flag table: the file's [egress] (less
// what the command line sets), the command line's egress flags, then link's keys (nil: none).
func (u upArgs) options(file *config.File, link *config.Link) (*dialOptions, *flag.FlagSet, error) {
	o := new(dialOptions)
	fs := flag.NewFlagSet("up", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	o.register(fs)
	cli := map[string]bool{}
	for _, kv := range u.set {
		cli[kv.name] = true
	}
	fromFile := flag.NewFlagSet("egress", flag.ContinueOnError)
	fromFile.SetOutput(io.Discard)
	fs.VisitAll(func(f *flag.Flag) {
		var v flag.Value = f.Value
		if cli[f.Name] {
			v = discardValue{}
		}
		fromFile.Var(v, f.Name, f.Usage)
	})
	if file.Egress != nil {
		if err := file.Egress.Apply(fromFile); err != nil {
			return nil, nil, err
		}
	}
	for _, kv := range u.set {
		if err := fs.Set(kv.name, kv.value); err != nil {
			return nil, nil, fmt.Errorf("--%s: %w", kv.name, err)
		}
	}
	if link != nil {
		if err := link.Apply(fs); err != nil {
			return nil, nil, err
		}
	}
	return o, fs, nil
}

// upPlan is what a configuration (file and command line) asks up to run.
type upPlan struct {
	file    *config.File
	egress  *dialOptions      // the process's options
	egressV map[string]string // every egress flag's value, to tell what a reload changed
	links   []*upLink         // in file order
	members []string          // the egress list in force
}

// upLink is one [[link]], resolved.
type upLink struct {
	ifname   string
	id       string // config.Link.ID: how a reload recognises it
	cfg      *config.Link
	o        *dialOptions
	channels []channelSpec
}

// plan resolves file (with the command line) into what runs. prev, the plan running (nil at
// start), keeps a link without an ifname on the name it was given.
func (u upArgs) plan(file *config.File, prev *upPlan) (*upPlan, error) {
	p := &upPlan{file: file, egressV: map[string]string{}}
	o, fs, err := u.options(file, nil)
	if err != nil {
		return nil, err
	}
	p.egress = o
	// Egress problems are the [egress] table's, or of the command line over it.
	egressErr := func(err error) error {
		pos := file.Name
		if file.Egress != nil && file.Egress.Line > 0 {
			pos = fmt.Sprintf("%s:%d", file.Name, file.Egress.Line)
		}
		return fmt.Errorf("%s: [egress]: %w", pos, err)
	}
	if err := p.egress.service.check(); err != nil {
		return nil, egressErr(err)
	}
	if err := p.egress.egress.check(); err != nil {
		return nil, egressErr(err)
	}
	dialFlagSet(true).VisitAll(func(f *flag.Flag) { p.egressV[f.Name] = fs.Lookup(f.Name).Value.String() })

	var before map[string]string
	if prev != nil {
		before = map[string]string{}
		for _, l := range prev.links {
			before[l.id] = l.ifname
		}
	}
	names := assignIfnames(file.Links, before)
	for i, cl := range file.Links {
		o, _, err := u.options(file, cl)
		if err != nil {
			return nil, err
		}
		o.ifname = names[i]
		channels, err := o.check()
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %w", linkPosition(file, cl), cl.Name, err)
		}
		p.links = append(p.links, &upLink{ifname: names[i], id: cl.ID(), cfg: cl, o: o, channels: channels})
	}
	p.members = slices.Clone([]string(p.egress.egress.members))
	if len(p.members) == 0 {
		for _, l := range p.links {
			p.members = append(p.members, l.ifname)
		}
	}
	isLink := func(name string) bool {
		return slices.ContainsFunc(p.links, func(l *upLink) bool { return l.ifname == name })
	}
	for _, m := range p.members {
		if validIfname(m) && !isLink(m) {
			return nil, egressErr(fmt.Errorf("--egress %s: no [[link]] has ifname %s", p.egress.egress.members.String(), m))
		}
	}
	for _, pr := range p.egress.egress.probes {
		switch {
		case isLink(pr.name):
			return nil, egressErr(fmt.Errorf("--egress-probe %s=%s: %s is a link: its probe is its [[link]]'s probe key", pr.name, pr.probe, pr.name))
		case !slices.Contains(p.members, pr.name):
			return nil, egressErr(fmt.Errorf("--egress-probe %s=%s: %s is not in the egress (%s)", pr.name, pr.probe, pr.name, strings.Join(p.members, ",")))
		}
	}
	return p, nil
}

// linkPosition is FILE:LINE of a link's table.
func linkPosition(f *config.File, l *config.Link) string {
	if l.Line > 0 {
		return fmt.Sprintf("%s:%d", f.Name, l.Line)
	}
	return f.Name
}

// assignIfnames names every link: its own ifname, else the one it had before (before maps a
// link's ID to it), else the lowest ppN no other link holds.
func assignIfnames(links []*config.Link, before map[string]string) []string {
	names := make([]string, len(links))
	taken := map[string]bool{}
	for i, l := range links {
		if l.Ifname != "" {
			names[i] = l.Ifname
			taken[l.Ifname] = true
		}
	}
	for i, l := range links {
		if names[i] != "" {
			continue
		}
		if n, ok := before[l.ID()]; ok && !taken[n] {
			names[i] = n
			taken[n] = true
		}
	}
	next := 0
	for i := range links {
		if names[i] != "" {
			continue
		}
		for taken[fmt.Sprintf("pp%d", next)] {
			next++
		}
		names[i] = fmt.Sprintf("pp%d", next)
		taken[names[i]] = true
	}
	return names
}

// liveEgressKeys are the [egress] settings a reload applies at once (Group.SetEgress); the
// others (the SOCKS listener, metrics, the control socket, --tun, the output) take a restart.
var liveEgressKeys = map[string]bool{"egress": true, "egress-probe": true, "recover-after": true}

// reloadAction is what a reload does, decided from the plan running and the new one.
type reloadAction struct {
	remove    []string  // hung up: links removed, and changed ones before they are added again
	add       []*upLink // dialed: changed and new links
	changed   []string
	added     []string
	removed   []string
	unchanged []string
	egress    bool     // the egress list, its probes or --recover-after changed: SetEgress
	restart   []string // [egress] settings that changed and take a restart
}

// reloadActions decides a reload: links whose settings did not change (config.Diff) are not
// touched, a changed one is removed and added again, a removed one hung up, a new one dialed.
func reloadActions(old, new *upPlan) reloadAction {
	var a reloadAction
	d := config.Diff(old.file, new.file)
	newByID := map[string]*upLink{}
	for _, l := range new.links {
		newByID[l.id] = l
	}
	oldByID := map[string]*upLink{}
	for _, l := range old.links {
		oldByID[l.id] = l
	}
	for _, cl := range d.Removed {
		a.remove = append(a.remove, oldByID[cl.ID()].ifname)
		a.removed = append(a.removed, oldByID[cl.ID()].ifname)
	}
	for _, cl := range d.Changed {
		a.remove = append(a.remove, oldByID[cl.ID()].ifname)
		a.add = append(a.add, newByID[cl.ID()])
		a.changed = append(a.changed, newByID[cl.ID()].ifname)
	}
	for _, cl := range d.Added {
		a.add = append(a.add, newByID[cl.ID()])
		a.added = append(a.added, newByID[cl.ID()].ifname)
	}
	for _, cl := range d.Unchanged {
		a.unchanged = append(a.unchanged, newByID[cl.ID()].ifname)
	}
	a.egress = !slices.Equal(old.members, new.members)
	for _, k := range slices.Sorted(maps.Keys(new.egressV)) {
		if old.egressV[k] == new.egressV[k] {
			continue
		}
		if liveEgressKeys[k] {
			a.egress = true
		} else {
			a.restart = append(a.restart, k)
		}
	}
	return a
}

// String is the reload event's detail.
func (a reloadAction) String() string {
	var parts []string
	add := func(what string, names []string) {
		if len(names) > 0 {
			parts = append(parts, what+" "+strings.Join(names, ","))
		}
	}
	add("changed (redialed):", a.changed)
	add("added:", a.added)
	add("removed (hung up):", a.removed)
	add("unchanged:", a.unchanged)
	if a.egress {
		parts = append(parts, "egress updated")
	}
	add("[egress] changed, applied at the next start:", a.restart)
	if len(parts) == 0 {
		return "nothing changed"
	}
	return strings.Join(parts, "; ")
}

// upRun is a running `pppdial up`.
type upRun struct {
	args   upArgs
	rep    *reporter
	stderr io.Writer
	svc    *service
	obs    *dialObserver
	group  atomic.Pointer[pppdial.Group]
	ctx    context.Context // the links' dials and channels

	mu      sync.Mutex
	plan    *upPlan
	running map[string]*runningLink
}

// runningLink is what up holds for a link beside its session.
type runningLink struct {
	cleanup      func() // its pcap and transcript files
	tun          *tunAttachment
	stopChannels context.CancelFunc
}

func cmdUp(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	u, code := parseUpArgs(args, stderr)
	if code >= 0 {
		return code
	}
	// SIGHUP is a reload from now on, not the end of the process.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)

	plan, err := loadPlan(u, nil, stderr)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitUsage
	}
	eo := plan.egress
	socksLn, err := eo.socks.listen(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "pppdial up: %v\n", err)
		return exitUsage
	}
	if socksLn != nil {
		defer socksLn.ln.Close()
	}
	rep := newReporter(stdout, stderr, eo.jsonOut)
	rep.tagIfname = len(plan.links) > 1
	log := serviceLogger(nil, stderr)
	if eo.verbose {
		log = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}

	ctx, stopCause := context.WithCancelCause(ctx)
	defer stopCause(nil)
	svcCtx, stopSvc := context.WithCancel(context.WithoutCancel(ctx))
	svc, svcWait, err := startService(svcCtx, eo.service, upDefaultControl, "", rep, log)
	if err != nil {
		stopSvc()
		rep.failure(err)
		return exitCode(err)
	}
	defer func() {
		stopSvc()
		svcWait()
	}()
	r := &upRun{args: u, rep: rep, stderr: stderr, svc: svc, ctx: ctx, plan: plan,
		running: map[string]*runningLink{},
		obs:     &dialObserver{rep: rep, resolvConf: eo.resolvConf, svc: svc}}
	if len(plan.members) == 1 {
		r.obs.setActive(plan.members[0]) // no route events for a lone member: it is the route
	}
	defer r.closeAll()

	var cfgs []pppdial.Config
	for _, l := range plan.links {
		cfg, err := r.startLink(l)
		if err != nil {
			rep.failure(err)
			return exitCode(err)
		}
		cfgs = append(cfgs, cfg)
	}
	g, err := pppdial.StartGroup(ctx, pppdial.GroupConfig{Links: cfgs, Egress: plan.members,
		Probes: eo.egress.probeMap(), RecoverAfter: eo.egress.recoverAfter, OnEvent: r.obs.event, Logger: log})
	if err != nil {
		rep.failure(err)
		return exitCode(err)
	}
	r.group.Store(g)
	names := make([]string, len(plan.links))
	for i, l := range plan.links {
		names[i] = l.ifname + " on " + l.o.port
	}
	rep.line("%-22s %8s  %s; egress %s", "links", "", strings.Join(names, ", "), strings.Join(plan.members, ","))

	var socksSrv *socks.Server
	if socksLn != nil {
		socksSrv, err = socksLn.start(&eo.socks, routerDialer(g.Router()), log)
		if err != nil {
			rep.failure(fmt.Errorf("%w: --socks: %w", pppdial.ErrUsage, err))
			closeGroup(g, rep)
			return exitUsage
		}
		defer stopSOCKS(socksSrv)
		addr := socksLn.ln.Addr().String()
		rep.line("%-22s %8s  %s (connections leave over the first healthy of %s; %s)", "SOCKS5 on", "", addr,
			strings.Join(plan.members, ","), socksLn.describe())
		rep.writeJSON(jsonEvent{Time: time.Now(), Event: "socks", Addr: addr, Mode: socksLn.mode})
	}

	var tick <-chan time.Time
	if eo.jsonOut && eo.statsInterval > 0 {
		t := time.NewTicker(eo.statsInterval)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-ctx.Done():
			svc.stopping()
			rep.line("stopping: LCP terminate, hang up every link")
			stopSOCKS(socksSrv) // no new connection while the links go down
			closeGroup(g, rep)
			return exitOK
		case <-g.Done():
			r.obs.mu.Lock()
			err := r.obs.lastErr
			r.obs.mu.Unlock()
			if err == nil {
				return exitOK
			}
			rep.failure(fmt.Errorf("every link has ended; the last: %w", err))
			return exitCode(err)
		case <-hup:
			r.reload()
		case <-tick:
			r.mu.Lock()
			links := slices.Clone(r.plan.links)
			r.mu.Unlock()
			for _, l := range links {
				if sess := g.Session(l.ifname); sess != nil {
					rep.stats(l.ifname, sess.Stats())
				}
			}
		}
	}
}

// loadPlan reads the file and resolves it; the error says where and why.
func loadPlan(u upArgs, prev *upPlan, stderr io.Writer) (*upPlan, error) {
	file, err := config.Load(u.path, configSchema())
	if err != nil {
		var cerr *config.Error
		if errors.As(err, &cerr) {
			return nil, err
		}
		return nil, fmt.Errorf("pppdial up: %w", err)
	}
	for _, w := range file.Warnings {
		fmt.Fprintf(stderr, "%s: warning: %s\n", w.Position(), w.Reason())
	}
	plan, err := u.plan(file, prev)
	if err != nil {
		return nil, fmt.Errorf("pppdial up: %w", err)
	}
	return plan, nil
}

// startLink prepares one link for the group: its session Config, TUN device, files and its
// place in the service. The group dials it.
func (r *upRun) startLink(l *upLink) (pppdial.Config, error) {
	cfg, cleanup, err := l.o.sessionConfig(r.rep, r.stderr)
	if err != nil {
		return cfg, err
	}
	cfg.IfName = l.ifname
	rl := &runningLink{cleanup: cleanup}
	if l.o.tun {
		t, err := newTunAttachment(l.ifname, l.o.defaultRoute, l.o.ipv6)
		if err != nil {
			cleanup()
			return cfg, fmt.Errorf("%w: %s: %w", pppdial.ErrUsage, l.ifname, err)
		}
		t.standby.Store(!r.obs.isActive(l.ifname))
		rl.tun = t
		cfg.Attach = t.Attach
		r.obs.setTun(l.ifname, t)
	}
	ifname := l.ifname
	lo := l.o.linkOptions(ifname, func(err error) {
		r.rep.line("%s: stopping: %v", ifname, err)
		r.dropLink(ifname)
	})
	lo.session = func() *pppdial.Session {
		if g := r.group.Load(); g != nil {
			return g.Session(ifname)
		}
		return nil
	}
	if _, err := r.svc.addLink(lo); err != nil {
		r.closeRunning(ifname, rl)
		return cfg, err
	}
	if len(l.channels) > 0 {
		var chCtx context.Context
		chCtx, rl.stopChannels = context.WithCancel(r.ctx)
		go r.serveChannels(chCtx, ifname, l.channels)
	}
	r.mu.Lock()
	r.running[ifname] = rl
	r.mu.Unlock()
	return cfg, nil
}

// serveChannels serves the link's --channel ptys once its session exists.
func (r *upRun) serveChannels(ctx context.Context, ifname string, specs []channelSpec) {
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	for {
		if g := r.group.Load(); g != nil {
			if sess := g.Session(ifname); sess != nil {
				for _, spec := range specs {
					if err := serveChannel(ctx, sess, spec, r.rep); err != nil {
						r.rep.line("pppdial: %s: %v", ifname, err)
					}
				}
				return
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// dropLink hangs a link up and forgets it (its quota ran out with --quota-action stop).
func (r *upRun) dropLink(ifname string) {
	if g := r.group.Load(); g != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := g.Remove(ctx, ifname); err != nil {
			r.rep.line("%s: hang up: %v", ifname, err)
		}
		cancel()
	}
	r.svc.removeLink(ifname)
	r.mu.Lock()
	rl := r.running[ifname]
	delete(r.running, ifname)
	r.mu.Unlock()
	r.closeRunning(ifname, rl)
}

func (r *upRun) closeRunning(ifname string, rl *runningLink) {
	if rl == nil {
		return
	}
	if rl.stopChannels != nil {
		rl.stopChannels()
	}
	if rl.tun != nil {
		r.obs.setTun(ifname, nil)
		_ = rl.tun.Close()
	}
	rl.cleanup()
}

// closeAll releases what the links held once the group is closed.
func (r *upRun) closeAll() {
	r.mu.Lock()
	running := r.running
	r.running = map[string]*runningLink{}
	r.mu.Unlock()
	for name, rl := range running {
		r.closeRunning(name, rl)
	}
}

// reload re-reads the file (SIGHUP) and applies what changed; a bad file changes nothing.
func (r *upRun) reload() {
	r.mu.Lock()
	old := r.plan
	r.mu.Unlock()
	plan, err := loadPlan(r.args, old, io.Discard)
	if err != nil {
		r.rep.line("reload: not applied, nothing changed:\n%v", err)
		r.rep.writeJSON(jsonEvent{Time: time.Now(), Event: "reload", Error: err.Error(), Detail: "nothing changed"})
		return
	}
	a := reloadActions(old, plan)
	g := r.group.Load()
	for _, name := range a.remove {
		r.dropLink(name)
	}
	var failed []string
	for _, l := range a.add {
		cfg, err := r.startLink(l)
		if err == nil {
			ctx, cancel := context.WithTimeout(r.ctx, 5*time.Second)
			err = g.Add(ctx, cfg)
			cancel()
			if err != nil {
				r.dropLink(l.ifname)
			}
		}
		if err != nil {
			failed = append(failed, fmt.Sprintf("%s not started: %v", l.ifname, err))
		}
	}
	if a.egress {
		eo := plan.egress.egress
		if err := g.SetEgress(plan.members, eo.probeMap(), eo.recoverAfter); err != nil {
			failed = append(failed, fmt.Sprintf("egress not applied: %v", err))
		}
		if len(plan.members) == 1 {
			r.obs.setActive(plan.members[0])
		}
	}
	r.mu.Lock()
	r.plan = plan
	r.mu.Unlock()
	detail := a.String()
	if len(failed) > 0 {
		detail += "; " + strings.Join(failed, "; ")
	}
	r.rep.line("reload: %s", detail)
	r.rep.writeJSON(jsonEvent{Time: time.Now(), Event: "reload", Detail: detail})
}

// closeGroup hangs every link up in parallel within the 5 s a service manager waits after
// SIGTERM.
func closeGroup(g *pppdial.Group, rep *reporter) {
	ctx, cancel := context.WithTimeout(context.Background(), 4500*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := g.Close(ctx); err != nil {
		rep.line("close: %v", err)
		return
	}
	rep.line("%-22s %8s", "hung up", since(start))
}
