package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/pppdial/pppdial"
	"github.com/pppdial/pppdial/at"
	"github.com/pppdial/pppdial/at/cell"
	"github.com/pppdial/pppdial/cmux"
	"github.com/pppdial/pppdial/control"
	"github.com/pppdial/pppdial/pcap"
	"github.com/pppdial/pppdial/ppp"
	"github.com/pppdial/pppdial/recovery/hw"
	"github.com/pppdial/pppdial/socks"
)

const dialUsage = `Usage: pppdial dial --port PATH [flags]

Dials the modem on PATH (a UART, a USB modem's ttyUSB/ttyACM port, a /dev/serial/by-id link or
a pty), brings PPP up and keeps the link until SIGINT/SIGTERM, which hangs up (exit 0).
The link is offered to programs through --socks (userspace stack) or --tun (the host kernel).

SOCKS5 on a loopback address or a unix socket serves programs on this host. Any other address
needs --socks-user NAME with the password in $PPPDIAL_SOCKS_PASSWORD or --socks-password-file
(never on the command line: ps shows it to every user), or --socks-open, which is dangerous:
anyone who reaches the address spends the link's data. The UDP relay answers only the client
that asked for it, on the address it connected to, and closes with its TCP connection.

Flags (each also from the environment as PPPDIAL_<NAME>, e.g. PPPDIAL_PIN):
`

// dialOptions are the flags of `pppdial dial`.
type dialOptions struct {
	port, apn, pin, user, password, dialString, pdp string
	baud                                            int
	rtscts                                          bool
	ifname, resolvConf                              string
	socks                                           socksOptions
	tun, defaultRoute                               bool
	persist                                         bool
	holdoff, maxBackoff                             time.Duration
	maxfail                                         int
	echoInterval                                    time.Duration
	echoFailures                                    int
	ipv6                                            bool
	mtu                                             int
	pcapFile, recordFile                            string
	jsonOut, verbose                                bool
	statsInterval                                   time.Duration
	guard                                           time.Duration
	registerTimeout                                 time.Duration
	cmux                                            bool
	cmuxN1                                          int
	monitorInterval                                 time.Duration
	channels                                        string
	stateDir                                        string
	baudSwitch                                      int
	atPort, probe, modemFamily                      string
	probeInterval                                   time.Duration
	noRoaming                                       bool
	resetGPIO, powerGPIO                            string
	gpioActiveLow, powerSwitch, usbReset            bool
	escalateAfter                                   int
	service                                         serviceOptions
	egress                                          egressOptions
}

func (o *dialOptions) register(fs flagRegistrar) {
	fs.StringVar(&o.port, "port", "", "the modem's serial port (required)")
	fs.IntVar(&o.baud, "baud", 115200, "serial speed")
	fs.BoolVar(&o.rtscts, "rtscts", false, "hardware flow control (RTS/CTS)")
	fs.StringVar(&o.apn, "apn", "", `APN for AT+CGDCONT (empty: the modem's stored context; "auto": from the SIM's IMSI and the provider database)`)
	fs.StringVar(&o.pdp, "pdp", "IP", `PDP type: "IP", "IPV6" or "IPV4V6"`)
	fs.StringVar(&o.pin, "pin", "", "SIM PIN, entered only when the SIM asks (prefer PPPDIAL_PIN)")
	fs.StringVar(&o.user, "user", "", "PAP/CHAP user name")
	fs.StringVar(&o.password, "password", "", "PAP/CHAP password (prefer PPPDIAL_PASSWORD)")
	fs.StringVar(&o.dialString, "dial", "", `what follows ATD (default "*99***<cid>#")`)
	fs.StringVar(&o.ifname, "ifname", "", "interface name, ppN (default: the lowest free)")
	o.socks.register(fs)
	fs.BoolVar(&o.tun, "tun", false, "hand the link to the host kernel as a TUN interface named --ifname (needs CAP_NET_ADMIN)")
	fs.BoolVar(&o.defaultRoute, "defaultroute", false, "with --tun: add a default route through the link")
	fs.StringVar(&o.resolvConf, "resolv-conf", "", "write the link's DNS servers to FILE (resolv.conf format)")
	fs.BoolVar(&o.persist, "persist", false, "redial after the link drops or an attempt fails")
	fs.DurationVar(&o.holdoff, "holdoff", 5*time.Second, "wait before redialing (doubles per consecutive failure)")
	fs.DurationVar(&o.maxBackoff, "max-backoff", 2*time.Minute, "longest wait between redials")
	fs.IntVar(&o.maxfail, "maxfail", 0, "with --persist: give up after N consecutive failures (0: never)")
	fs.DurationVar(&o.echoInterval, "lcp-echo-interval", 10*time.Second, "LCP echo keepalive interval (0: off)")
	fs.IntVar(&o.echoFailures, "lcp-echo-failure", 3, "unanswered LCP echoes before the link is declared dead")
	fs.BoolVar(&o.ipv6, "ipv6", false, "negotiate IPv6 (IPV6CP) beside IPv4")
	fs.IntVar(&o.mtu, "mtu", 0, "largest IP packet on the link, asked for as PPP's MRU; TCP's MSS follows (0: 1500)")
	fs.BoolVar(&o.cmux, "cmux", false, "multiplex the port (3GPP 27.010, AT+CMUX): AT on DLC 1 keeps answering while PPP runs on DLC 2 (single-UART hats)")
	fs.IntVar(&o.cmuxN1, "cmux-n1", cmux.DefaultN1, "with --cmux: the largest frame, asked for in AT+CMUX")
	fs.DurationVar(&o.monitorInterval, "monitor-interval", 30*time.Second, "with --cmux or --at-port: probe the AT channel and read the signal this often while the link is up (signal, probe events)")
	fs.StringVar(&o.channels, "channel", "", "with --cmux: serve DLC N as a pty linked at PATH (N:PATH, comma-separated; e.g. 3:/run/gnss for gpsd)")
	fs.DurationVar(&o.guard, "guard", time.Second, "escape (+++) guard time for hang-up")
	fs.DurationVar(&o.registerTimeout, "register-timeout", 90*time.Second, "how long to wait for network registration")
	fs.StringVar(&o.pcapFile, "pcap", "", "write every PPP frame to FILE (pcap, PPP_WITH_DIR; tshark and Wireshark read it)")
	fs.StringVar(&o.recordFile, "record", "", "write the dial's transcript to FILE (testdata/transcripts format; PIN redacted)")
	fs.BoolVar(&o.jsonOut, "json", false, "print events as JSON lines on stdout")
	fs.DurationVar(&o.statsInterval, "stats-interval", 30*time.Second, "with --json: how often to print a stats event")
	fs.BoolVar(&o.verbose, "v", false, "debug logs on stderr (commands, every control packet; secrets redacted)")
	// Issue 13 (APN from the SIM, fast UART).
	fs.StringVar(&o.stateDir, "state-dir", "/var/lib/pppdial", "where state is kept across starts (the APN --apn auto found, the SIM's data usage)")
	fs.IntVar(&o.baudSwitch, "baud-switch", 0, "after the modem answers, move modem and port to this speed (AT+IPR, not saved; checked, with fallback)")
	// Issue 11 (the modem while connected).
	fs.StringVar(&o.atPort, "at-port", "", "a second port of the modem for AT while PPP runs on --port (USB modems: EC25/EG25, SIM7600): signal, registration, AT probe")
	fs.BoolVar(&o.noRoaming, "no-roaming", false, "refuse to dial on a visited network, and hang up a link whose modem moves to one (needs --cmux or --at-port to notice)")
	fs.StringVar(&o.probe, "probe", "", "check the data path over the link: tcp:ADDR:PORT (a connection) or icmp:ADDR (an echo); 3 failures in a row end the link")
	fs.DurationVar(&o.probeInterval, "probe-interval", 30*time.Second, "with --probe: how often")
	fs.IntVar(&o.escalateAfter, "escalate-after", 3, "with --persist: climb the recovery ladder (redial, radio-reset, modem-reset, reset-gpio, power-gpio, usb-reset) after N consecutive failures of a step")
	fs.StringVar(&o.resetGPIO, "reset-gpio", "", "with --persist: the modem's reset line as CHIP:LINE (gpiochip0:17), pulsed when the AT steps do not help")
	fs.StringVar(&o.powerGPIO, "power-gpio", "", "with --persist: the modem's PWRKEY (or, with --power-switch, its supply switch) as CHIP:LINE")
	fs.BoolVar(&o.gpioActiveLow, "gpio-active-low", false, "the GPIO lines are asserted low (an inverting transistor between the pin and RESET_N/PWRKEY)")
	fs.BoolVar(&o.powerSwitch, "power-switch", false, "--power-gpio switches the modem's supply (asserted: off) instead of pressing PWRKEY")
	fs.BoolVar(&o.usbReset, "usb-reset", false, "with --persist: as the last step, deauthorise and reauthorise the modem's USB device (needs root)")
	fs.StringVar(&o.modemFamily, "modem-family", "", "the signal poll's vendor commands: sim7600, sim800, ec25, bg96, sara-r4, sara-r5, generic (default: from AT+CGMM)")
	// Issue 12 (a service fleets can run and watch).
	o.service.register(fs)
	// Issue 14 (several links in one process): [egress] keys; a lone link is its own egress.
	o.egress.register(fs)
}

func cmdDial(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var o dialOptions
	fs := newFlagSet("dial", stderr, dialUsage)
	o.register(fs)
	if code := parse(fs, args); code >= 0 {
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "pppdial dial: unexpected arguments %q\n", fs.Args())
		return exitUsage
	}
	channels, err := o.check()
	if err != nil {
		fmt.Fprintf(stderr, "pppdial dial: %v\n", err)
		return exitUsage
	}

	// The SOCKS listener opens before the modem is dialed: a taken port, a bad password file or
	// an exposure without authentication is a usage error found at once.
	socksLn, err := o.socks.listen(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "pppdial dial: %v\n", err)
		return exitUsage
	}
	if socksLn != nil {
		defer socksLn.ln.Close()
	}

	rep := newReporter(stdout, stderr, o.jsonOut)
	cfg, cleanup, err := o.sessionConfig(rep, stderr)
	if err != nil {
		rep.failure(err)
		return exitCode(err)
	}
	defer cleanup()

	// The service (systemd, metrics, control socket, usage) outlives the session: its last
	// counters and the final usage flush come after the session closed.
	ctx, stopCause := context.WithCancelCause(ctx)
	defer stopCause(nil)
	svcCtx, stopSvc := context.WithCancel(context.WithoutCancel(ctx))
	ifname := o.ifname
	if ifname == "" {
		// The interface registry is this process's: its first link is pp0.
		ifname = "pp0"
	}
	svc, svcWait, err := startService(svcCtx, o.service, control.DefaultPath(ifname), ifname, rep, serviceLogger(cfg.Logger, stderr))
	if err != nil {
		stopSvc()
		rep.failure(err)
		return exitCode(err)
	}
	defer func() {
		stopSvc()
		svcWait()
	}()
	svc.mu.Lock()
	svc.single = true // every event is the one link's, before Dial has named its interface
	svc.mu.Unlock()
	link, err := svc.addLink(o.linkOptions(ifname, func(err error) { stopCause(err) }))
	if err != nil {
		stopSvc()
		rep.failure(err)
		return exitCode(err)
	}
	obs := &dialObserver{rep: rep, resolvConf: o.resolvConf, svc: svc, single: true}
	cfg.OnEvent = obs.event
	var tunLink *tunAttachment
	if o.tun {
		tunLink, err = newTunAttachment(o.ifname, o.defaultRoute, o.ipv6)
		if err != nil {
			// Not a usage mistake to look up in -h: the message says what is missing.
			rep.writeJSON(jsonEvent{Time: time.Now(), Event: "error", Error: err.Error(), Code: pppdial.CodeUsage})
			rep.line("pppdial: %v", err)
			return exitUsage
		}
		defer tunLink.Close()
		cfg.Attach = tunLink.Attach
		obs.setTun(ifname, tunLink)
	}

	sess, err := pppdial.Dial(ctx, cfg)
	if err != nil {
		if ctx.Err() != nil {
			svc.stopping()
			rep.line("interrupted")
			return exitOK
		}
		rep.failure(err)
		return exitCode(err)
	}
	link.attach(sess)
	ifname = sess.Netif().Name()

	var socksSrv *socks.Server
	if socksLn != nil {
		socksSrv, err = socksLn.start(&o.socks, sessionDialer(sess, cfg.Registry), cfg.Logger)
		if err != nil {
			rep.failure(fmt.Errorf("%w: --socks: %w", pppdial.ErrUsage, err))
			closeSession(sess, rep)
			return exitUsage
		}
		defer stopSOCKS(socksSrv)
		addr := socksLn.ln.Addr().String()
		rep.line("%-22s %8s  %s (connections leave over %s; %s)", "SOCKS5 on", "", addr, ifname, socksLn.describe())
		rep.writeJSON(jsonEvent{Time: time.Now(), Event: "socks", Ifname: ifname, Addr: addr, Mode: socksLn.mode})
	}

	chCtx, stopChannels := context.WithCancel(ctx)
	defer stopChannels()
	for _, spec := range channels {
		if err := serveChannel(chCtx, sess, spec, rep); err != nil {
			rep.line("pppdial: %v", err)
		}
	}

	var tick <-chan time.Time
	if o.jsonOut && o.statsInterval > 0 {
		t := time.NewTicker(o.statsInterval)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-ctx.Done():
			svc.stopping()
			if errors.Is(context.Cause(ctx), errQuota) {
				rep.line("stopping: the SIM used its --quota (--quota-action stop)")
			}
			rep.line("stopping: LCP terminate, hang up")
			stopSOCKS(socksSrv) // no new connection while the link goes down
			closeSession(sess, rep)
			if errors.Is(context.Cause(ctx), errQuota) {
				return exitQuota
			}
			return exitOK
		case <-sess.Done():
			err := sess.Err()
			if err == nil {
				return exitOK
			}
			rep.failure(err)
			return exitCode(err)
		case <-tick:
			rep.stats(ifname, sess.Stats())
		}
	}
}

// check reports a usage error in the flags of one link (dial, or a [[link]] of up with the
// [egress] flags), and returns the parsed --channel.
func (o *dialOptions) check() ([]channelSpec, error) {
	switch {
	case o.port == "":
		return nil, errors.New("--port is required (`pppdial ports` lists the serial ports)")
	case o.defaultRoute && !o.tun:
		return nil, errors.New("--defaultroute needs --tun (the host kernel must own the link to route through it)")
	case o.atPort != "" && o.cmux:
		return nil, errors.New("--at-port and --cmux are exclusive: with --cmux, DLC 1 is the AT channel")
	case o.modemFamily != "" && !knownFamily(cell.Family(o.modemFamily)):
		return nil, fmt.Errorf("--modem-family %q: want one of sim7600, sim800, ec25, bg96, sara-r4, sara-r5, generic", o.modemFamily)
	case !o.persist && (o.resetGPIO != "" || o.powerGPIO != "" || o.usbReset):
		return nil, errors.New("--reset-gpio, --power-gpio and --usb-reset are recovery steps: they need --persist")
	case o.escalateAfter < 1:
		return nil, errors.New("--escalate-after: want 1 or more")
	case o.probe != "" && o.tun:
		return nil, errors.New("--probe needs the userspace stack: it cannot run with --tun (the kernel owns the link)")
	case o.tun && o.socks.addr != "":
		return nil, errors.New("--tun and --socks are exclusive: with --tun every program uses the link through the kernel")
	case o.ifname != "" && !validIfname(o.ifname):
		return nil, fmt.Errorf("--ifname %q: want ppN (pp0, pp1, ...)", o.ifname)
	}
	if err := o.service.check(); err != nil {
		return nil, err
	}
	if err := o.egress.check(); err != nil {
		return nil, err
	}
	channels, err := parseChannels(o.channels)
	if err == nil && !o.cmux && (len(channels) > 0 || o.cmuxN1 != cmux.DefaultN1) {
		err = errors.New("--channel and --cmux-n1 need --cmux (a channel is a 27.010 DLC)")
	}
	return channels, err
}

// linkOptions is what the service needs of the link these flags describe.
func (o *dialOptions) linkOptions(ifname string, stop func(error)) linkOptions {
	return linkOptions{ifname: ifname, port: o.port, cmux: o.cmux, regWait: o.registerTimeout,
		stateDir: o.stateDir, usage: o.service, stop: stop}
}

// dialObserver is the commands' one observer of the sessions' events (dial's one session, up's
// group): it does what the host needs first (the TUN devices, resolv.conf, the default route),
// so that whoever acts on an event (a script, a service's ExecStartPost) finds it done, then
// reports the event.
type dialObserver struct {
	rep        *reporter
	resolvConf string   // --resolv-conf; empty: none
	svc        *service // systemd, metrics, control socket, usage

	mu sync.Mutex
	// tuns are the links' TUN devices (--tun) by interface name; with single, the one device
	// takes every event whatever its Ifname.
	tuns   map[string]*tunAttachment
	single bool
	// active is the egress member carrying new connections: resolv.conf holds its DNS servers
	// and its TUN device the default route. A lone link is always active.
	active string
	// lastErr is the last link failure seen: up's exit code once every link has ended.
	lastErr error
}

// setTun makes t the TUN device of ifname (nil: none).
func (d *dialObserver) setTun(ifname string, t *tunAttachment) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.tuns == nil {
		d.tuns = map[string]*tunAttachment{}
	}
	if t == nil {
		delete(d.tuns, ifname)
		return
	}
	d.tuns[ifname] = t
}

func (d *dialObserver) tun(ifname string) *tunAttachment {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.single {
		for _, t := range d.tuns {
			return t
		}
	}
	return d.tuns[ifname]
}

// isActive reports whether ifname carries new connections.
func (d *dialObserver) isActive(ifname string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.single || (ifname != "" && ifname == d.active)
}

// setActive moves what follows the active member (the default route through a TUN device and
// resolv.conf) to ifname ("" when no member is healthy).
func (d *dialObserver) setActive(ifname string) {
	d.mu.Lock()
	prev := d.active
	d.active = ifname
	from, to := d.tuns[prev], d.tuns[ifname]
	d.mu.Unlock()
	if prev == ifname {
		return
	}
	if from != nil {
		from.setDefault(false)
	}
	if to != nil {
		to.setDefault(true)
	}
	if d.resolvConf != "" && ifname != "" {
		if st, up := d.svc.statusOf(ifname); up {
			writeResolvConf(d.rep, d.resolvConf, st)
		}
	}
}

func (d *dialObserver) event(e pppdial.Event) {
	if e.Kind == pppdial.EventRoute {
		d.setActive(e.Ifname)
		d.svc.event(e)
		d.rep.event(e)
		return
	}
	tun := d.tun(e.Ifname)
	if tun != nil {
		// The kernel interface is addressed and routed before `up` is reported.
		tun.Event(e)
	}
	if e.Kind == pppdial.EventUp && d.resolvConf != "" && d.isActive(e.Ifname) {
		// Every up, not only the first: a redial may bring other DNS servers.
		writeResolvConf(d.rep, d.resolvConf, e.Status)
	}
	if (e.Kind == pppdial.EventError || e.Kind == pppdial.EventDown) && e.Err != nil {
		d.mu.Lock()
		d.lastErr = e.Err
		d.mu.Unlock()
	}
	// After the host's work, before the report: READY=1 means the link is usable, and the
	// status socket answers "up" by the time a script reads the up event.
	d.svc.event(e)
	if tun != nil && e.Kind == pppdial.EventIPv6Up {
		// Reported once the kernel has formed its global address, as without --tun.
		tun.ipv6Up(e, d.rep.event)
		return
	}
	d.rep.event(e)
}

// closeSession tears the session down within the 5 s a service manager waits after SIGTERM.
func closeSession(sess *pppdial.Session, rep *reporter) {
	ctx, cancel := context.WithTimeout(context.Background(), 4500*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := sess.Close(ctx); err != nil {
		rep.line("close: %v", err)
		return
	}
	rep.line("%-22s %8s", "hung up", since(start))
}

// sessionConfig turns the flags into a session Config. cleanup closes the pcap and transcript
// files.
func (o *dialOptions) sessionConfig(rep *reporter, stderr io.Writer) (pppdial.Config, func(), error) {
	var closers []io.Closer
	cleanup := func() {
		for _, c := range closers {
			_ = c.Close()
		}
	}
	cfg := pppdial.Config{
		Port: o.port, Baud: o.baud, RTSCTS: o.rtscts,
		Modem: at.Config{APN: o.apn, PDPType: o.pdp, PIN: o.pin, DialString: o.dialString, Guard: o.guard,
			Timeouts: at.Timeouts{Register: o.registerTimeout}, StateDir: o.stateDir, BaudSwitch: o.baudSwitch,
			Identity: true},
		Hangup: at.HangupOptions{Guard: o.guard},
		PPP: ppp.Config{Username: o.user, Password: o.password, IPv6: o.ipv6,
			EchoInterval: o.echoInterval, EchoFailures: o.echoFailures},
		MTU:    o.mtu,
		CMUXN1: o.cmuxN1, MonitorInterval: o.monitorInterval,
		ATPort: o.atPort, NoRoaming: o.noRoaming, ModemFamily: cell.Family(o.modemFamily),
		IfName:  o.ifname,
		Persist: o.persist, Holdoff: o.holdoff, MaxBackoff: o.maxBackoff, MaxFail: o.maxfail,
	}
	if o.cmux {
		cfg.CMUX = pppdial.CMUXOn
	}
	cfg.EscalateAfter = o.escalateAfter
	cfg.Hardware.PowerSwitch, cfg.Hardware.USBReset = o.powerSwitch, o.usbReset
	for _, g := range []struct {
		flag, val string
		dst       **hw.Pin
	}{{"--reset-gpio", o.resetGPIO, &cfg.Hardware.ResetGPIO}, {"--power-gpio", o.powerGPIO, &cfg.Hardware.PowerGPIO}} {
		if g.val == "" {
			continue
		}
		pin, err := hw.ParsePin(g.val)
		if err != nil {
			return cfg, cleanup, fmt.Errorf("%w: %s: %w", pppdial.ErrUsage, g.flag, err)
		}
		pin.ActiveLow = o.gpioActiveLow
		*g.dst = &pin
	}
	if o.probe != "" {
		p, err := pppdial.ParseProbe(o.probe)
		if err != nil {
			return cfg, cleanup, fmt.Errorf("--probe: %w", err)
		}
		p.Interval = o.probeInterval
		cfg.Probe = p
	}
	if o.verbose {
		cfg.Logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	if o.pcapFile != "" {
		w, err := pcap.Create(o.pcapFile)
		if err != nil {
			return cfg, cleanup, fmt.Errorf("%w: --pcap: %w", pppdial.ErrUsage, err)
		}
		closers = append(closers, w)
		// ppp.Direction's values are the PPP_WITH_DIR direction byte.
		cfg.PPP.Trace = func(t time.Time, dir ppp.Direction, protocol uint16, info []byte) {
			_ = w.WriteFrame(t, pcap.Direction(dir), protocol, info)
		}
	}
	if o.recordFile != "" {
		f, err := os.Create(o.recordFile)
		if err != nil {
			cleanup()
			return cfg, func() {}, fmt.Errorf("%w: --record: %w", pppdial.ErrUsage, err)
		}
		closers = append(closers, f)
		cfg.Record = f
	}
	return cfg, cleanup, nil
}

// serviceLogger is the service's logger: the session's with -v, else warnings on stderr.
func serviceLogger(l *slog.Logger, stderr io.Writer) *slog.Logger {
	if l != nil {
		return l
	}
	return slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

func validIfname(name string) bool {
	if !strings.HasPrefix(name, "pp") || len(name) < 3 || len(name) > 5 {
		return false
	}
	for _, c := range name[2:] {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// writeResolvConf writes the link's DNS servers where the user asked. It never touches
// /etc/resolv.conf unless that is the path given.
func writeResolvConf(rep *reporter, path string, st ppp.Status) {
	if len(st.DNS) == 0 {
		rep.line("resolv-conf: the peer gave no DNS servers; %s left alone", path)
		return
	}
	var b strings.Builder
	b.WriteString("# written by pppdial\n")
	for _, d := range st.DNS {
		fmt.Fprintf(&b, "nameserver %s\n", d)
	}
	tmp := path + ".pppdial.tmp"
	if err := os.WriteFile(tmp, []byte(b.String()), 0o644); err != nil {
		rep.line("resolv-conf: %v", err)
		return
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		rep.line("resolv-conf: %v", err)
		return
	}
	rep.line("%-22s %8s  %s", "DNS written to", "", path)
}

// knownFamily reports a family the signal poll has a plan for.
func knownFamily(f cell.Family) bool {
	switch f {
	case cell.FamilyGeneric, cell.FamilySIM7600, cell.FamilySIM800, cell.FamilyEC25, cell.FamilyBG96,
		cell.FamilySARAR4, cell.FamilySARAR5:
		return true
	}
	return false
}
