package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/pppdial/pppdial/control"
)

const statusUsage = `Usage: pppdial status [--control PATH | --ifname NAME] [--json] [IFNAME]

Asks the running daemon on its control socket how its links are doing: state, addresses, DNS,
uptime, the modem's identity, signal, counters, the SIM's data usage and the last recovery step;
with "pppdial up", which link carries new connections. Every link, or only IFNAME. --json prints
each link's status as one JSON object per line. The socket: --control, else "pppdial up"'s
/run/pppdial/pppdial.sock when it exists, else "pppdial dial"'s /run/pppdial/<ifname>.sock
(--ifname, default pp0). Exit 0 with an answer, 7 when no daemon answers on the socket.

Flags:
`

const redialUsage = `Usage: pppdial redial [--control PATH | --ifname NAME] [IFNAME]

Asks the running daemon to drop link IFNAME (default: its first) and dial again now (LCP
terminate and hang-up first). The socket is found as "pppdial status" finds it. Exit 0 once the
daemon took the request, 7 when no daemon answers on the socket, 1 when it refused (no link yet:
a dial is under way).

Flags:
`

// controlFlags are the flags naming a daemon's control socket.
type controlFlags struct {
	ifname, path string
	timeout      time.Duration
}

func (c *controlFlags) register(fs flagRegistrar) {
	fs.StringVar(&c.ifname, "ifname", "pp0", `the "pppdial dial" daemon of this interface: its socket is /run/pppdial/<ifname>.sock`)
	fs.StringVar(&c.path, "control", "", "the daemon's control socket (default from --ifname)")
	fs.DurationVar(&c.timeout, "timeout", 10*time.Second, "how long to wait for the daemon's answer")
}

// dialDaemon connects to the daemon's socket; a missing daemon is one line and exitNoDaemon.
func dialDaemon(ctx context.Context, name, path string, stderr io.Writer) (*control.Client, int) {
	c, err := control.Dial(ctx, path)
	if errors.Is(err, control.ErrNoDaemon) {
		fmt.Fprintf(stderr, "pppdial %s: no daemon running on %s\n", name, path)
		return nil, exitNoDaemon
	}
	if err != nil {
		fmt.Fprintf(stderr, "pppdial %s: %v\n", name, err)
		return nil, exitInternal
	}
	return c, -1
}

// askDaemon is what status and redial share: their flags (extra adds a command's own) and an
// optional IFNAME argument, then a connection to the daemon's socket within --timeout. It
// returns the client (nil with the exit code when the command ends here), the link to ask about
// ("" for every link, or the daemon's first), and the context bounded by --timeout with its
// cancel, which the caller defers.
func askDaemon(ctx context.Context, name, usage string, args []string, stderr io.Writer,
	extra func(*flag.FlagSet)) (context.Context, context.CancelFunc, *control.Client, string, int) {
	fs := newFlagSet(name, stderr, usage)
	var cf controlFlags
	cf.register(fs)
	if extra != nil {
		extra(fs)
	}
	if code := parse(fs, args); code >= 0 {
		return ctx, func() {}, nil, "", code
	}
	if fs.NArg() > 1 {
		fmt.Fprintf(stderr, "pppdial %s: unexpected arguments %q\n", name, fs.Args()[1:])
		return ctx, func() {}, nil, "", exitUsage
	}
	ifnameSet := false
	fs.Visit(func(f *flag.Flag) { ifnameSet = ifnameSet || f.Name == "ifname" })
	ifname := fs.Arg(0)
	if err := control.CheckIfname(ifname, true); err != nil {
		fmt.Fprintf(stderr, "pppdial %s: %v\n", name, err)
		return ctx, func() {}, nil, "", exitUsage
	}
	if ifname == "" && ifnameSet {
		ifname = cf.ifname
	}
	ctx, cancel := context.WithTimeout(ctx, cf.timeout)
	c, code := dialDaemon(ctx, name, daemonSocket(cf, ifnameSet, ifname), stderr)
	return ctx, cancel, c, ifname, code
}

// daemonSocket is the socket status and redial ask: --control; else with --ifname, that dial
// daemon's; else up's when it exists; else the dial daemon's of IFNAME (default pp0).
func daemonSocket(cf controlFlags, ifnameSet bool, ifname string) string {
	switch {
	case cf.path != "":
		return cf.path
	case ifnameSet:
		return control.DefaultPath(cf.ifname)
	}
	if _, err := os.Stat(upDefaultControl); err == nil {
		return upDefaultControl
	}
	if ifname != "" {
		return control.DefaultPath(ifname)
	}
	return control.DefaultPath(cf.ifname)
}

func cmdStatus(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var asJSON *bool
	ctx, cancel, c, ifname, code := askDaemon(ctx, "status", statusUsage, args, stderr, func(fs *flag.FlagSet) {
		asJSON = fs.Bool("json", false, "print the status as JSON")
	})
	defer cancel()
	if c == nil {
		return code
	}
	defer c.Close()
	var sts []control.Status
	if ifname == "" {
		list, err := c.List(ctx)
		if err != nil {
			fmt.Fprintf(stderr, "pppdial status: %v\n", err)
			return exitInternal
		}
		sts = list
	} else {
		st, err := c.Status(ctx, ifname)
		if err != nil {
			fmt.Fprintf(stderr, "pppdial status: %v\n", err)
			return exitInternal
		}
		sts = []control.Status{st}
	}
	enc := json.NewEncoder(stdout)
	for _, st := range sts {
		if *asJSON {
			// One object per line: a lone link's answer is the one object it always was.
			if err := enc.Encode(st); err != nil {
				return exitInternal
			}
			continue
		}
		printStatus(stdout, st)
	}
	return exitOK
}

// printStatus is the human form of a Status: what a user checking on a gateway asks first.
func printStatus(w io.Writer, st control.Status) {
	state := st.State
	if st.Up {
		state = fmt.Sprintf("up for %s (since %s)", time.Duration(st.Uptime).Round(time.Second),
			st.UpSince.Format(time.RFC3339))
	}
	fmt.Fprintf(w, "%s: %s", st.Ifname, state)
	if st.Active {
		fmt.Fprint(w, ", carries new connections")
	}
	if st.Attempt > 0 {
		fmt.Fprintf(w, ", attempt %d", st.Attempt)
	}
	if st.Port != "" {
		fmt.Fprintf(w, ", port %s", st.Port)
	}
	fmt.Fprintln(w)
	if st.LastErr != "" {
		fmt.Fprintf(w, "  last error: %s (%s)\n", st.LastErr, st.LastCode)
	}
	a := st.Addresses
	if a.Local.IsValid() {
		fmt.Fprintf(w, "  local %s peer %s dns %s mtu %d\n", a.Local, orNone(addr(a.Peer)), dnsList(a.DNS), a.MTU)
	}
	if a.LocalV6.IsValid() {
		fmt.Fprintf(w, "  IPv6 local %s peer %s\n", a.LocalV6, orNone(addr(a.PeerV6)))
	}
	if m := st.Modem; m != (control.Modem{}) {
		fmt.Fprintf(w, "  modem %s %s rev %s IMEI %s ICCID %s\n", orNone(m.Manufacturer), orNone(m.Model),
			orNone(m.Revision), orNone(m.IMEI), orNone(m.ICCID))
	}
	if st.Registration != "" || st.Signal != nil {
		line := "  network " + orNone(st.Registration)
		if st.Signal != nil {
			line += ", " + describeSignal(st.Signal)
		}
		if !st.SignalAt.IsZero() {
			line += fmt.Sprintf(" (%s ago)", time.Since(st.SignalAt).Round(time.Second))
		}
		fmt.Fprintln(w, line)
	}
	c := st.Counters
	fmt.Fprintf(w, "  this link: received %s (%d packets), sent %s (%d packets), %d frame errors\n",
		bytesText(c.RxBytes), c.RxPackets, bytesText(c.TxBytes), c.TxPackets, c.FrameErrors)
	if u := st.Usage; u != nil {
		fmt.Fprintf(w, "  SIM %s usage, billing day %d", u.ICCID, u.BillingDay)
		if u.Quota > 0 {
			fmt.Fprintf(w, ", quota %s", bytesText(u.Quota))
		}
		fmt.Fprintln(w)
		for _, p := range []struct {
			name string
			p    control.UsagePeriod
		}{{"current", u.Current}, {"previous", u.Previous}} {
			if p.p.Start.IsZero() {
				continue
			}
			fmt.Fprintf(w, "    %-8s %s .. %s: received %s, sent %s\n", p.name, p.p.Start.Format("2006-01-02"),
				p.p.End.Format("2006-01-02"), bytesText(p.p.RxBytes), bytesText(p.p.TxBytes))
		}
	}
	if r := st.LastRecovery; r != nil {
		fmt.Fprintf(w, "  last recovery: %s %s after %s (attempt %d) at %s", r.Step, r.Result,
			time.Duration(r.Elapsed).Round(time.Millisecond), r.Attempt, r.Time.Format(time.RFC3339))
		if r.Error != "" {
			fmt.Fprintf(w, ": %s", r.Error)
		}
		fmt.Fprintln(w)
	}
}

// bytesText is a byte count a person reads: binary units, one decimal.
func bytesText(n uint64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := uint64(unit), 0
	for m := n / unit; m >= unit && exp < 4; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTP"[exp])
}

func cmdRedial(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	ctx, cancel, c, ifname, code := askDaemon(ctx, "redial", redialUsage, args, stderr, nil)
	defer cancel()
	if c == nil {
		return code
	}
	defer c.Close()
	if err := c.Redial(ctx, ifname); err != nil {
		fmt.Fprintf(stderr, "pppdial redial: %v\n", err)
		return exitInternal
	}
	fmt.Fprintln(stdout, "redialing")
	return exitOK
}

// daemonOnPort finds the running daemon whose link holds port, among the control sockets in
// control.DefaultDir; "" when none does.
func daemonOnPort(ctx context.Context, port string) (path, ifname string) {
	want := resolvedPath(port)
	socks, _ := filepath.Glob(filepath.Join(control.DefaultDir, "*.sock"))
	for _, sock := range socks {
		c, err := control.Dial(ctx, sock)
		if err != nil {
			continue
		}
		links, err := c.List(ctx)
		_ = c.Close()
		if err != nil {
			continue
		}
		for _, l := range links {
			if l.Port != "" && resolvedPath(l.Port) == want {
				return sock, l.Ifname
			}
		}
	}
	return "", ""
}

// resolvedPath follows symlinks (/dev/serial/by-id/...) so two names of one device compare equal.
func resolvedPath(p string) string {
	if r, err := filepath.EvalSymlinks(p); err == nil {
		return r
	}
	return filepath.Clean(p)
}

// atThroughDaemon runs cmds on the daemon's AT channel and prints the answers as `pppdial at`
// does on a port.
func atThroughDaemon(ctx context.Context, path, ifname string, cmds []string, stdout, stderr io.Writer) int {
	c, code := dialDaemon(ctx, "at", path, stderr)
	if c == nil {
		return code
	}
	defer c.Close()
	for i, cmd := range cmds {
		if !strings.HasPrefix(strings.ToUpper(cmd), "AT") {
			cmds[i] = "AT" + cmd
		}
	}
	results, err := c.AT(ctx, ifname, cmds...)
	var rerr *control.RemoteError
	if errors.As(err, &rerr) {
		results = rerr.AT
	}
	code = exitOK
	for _, r := range results {
		fmt.Fprintf(stdout, "> %s\n", r.Cmd)
		for _, l := range r.Lines {
			fmt.Fprintln(stdout, l)
		}
		if r.Error != "" {
			fmt.Fprintln(stdout, r.Error)
			code = exitModem
		} else {
			fmt.Fprintln(stdout, "OK")
		}
	}
	if err != nil {
		if errors.Is(err, control.ErrUnsupported) {
			fmt.Fprintf(stderr, "pppdial at: the daemon on %s has no AT channel while its link is up (run it with --cmux)\n", path)
		} else {
			fmt.Fprintf(stderr, "pppdial at: %v\n", err)
		}
		return exitModem
	}
	return code
}
