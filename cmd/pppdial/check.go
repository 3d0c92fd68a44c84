package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/pppdial/pppdial/internal/config"
)

const checkUsage = `Usage: pppdial check -c FILE

Reads the configuration file that "pppdial up -c FILE" runs and reports every problem with its
line: an unknown key, a value of the wrong type or that its flag refuses, two links on one port
or one interface name, a link without a port, a secret file that group or others can read, flags
that exclude each other (what "pppdial dial" would refuse), an egress member or probe that does
not fit the links.
Nothing is dialed. Exit 0 when the file is valid (warnings, such as a secret written in the
file, go to stderr), 2 when it is not.

The file is TOML: a [[link]] table per link whose keys are the "pppdial dial" flags, spelled as
the flags are (lcp-echo-interval = "10s"), and an [egress] table for the flags that serve every
link (socks, socks-*, tun, defaultroute, resolv-conf, json, v, stats-interval, metrics, control,
state-dir, ready-on, watchdog-grace, egress, egress-probe, recover-after). pin and password also take pin-file and password-file: a
file only its owner may read (chmod 600).

Flags:
`

// egressFlags are the dial flags that belong to the process, not to one link: in a config file
// they sit in [egress]. Every other flag, including one added later, is a per-link key; a flag
// named socks-* is an egress flag by its name.
var egressFlags = map[string]bool{
	"socks": true, "tun": true, "defaultroute": true, "resolv-conf": true,
	"json": true, "v": true, "stats-interval": true,
	"metrics": true, "control": true, "state-dir": true,
	"ready-on": true, "watchdog-grace": true,
	"egress": true, "egress-probe": true, "recover-after": true,
}

func isEgressFlag(name string) bool {
	return egressFlags[name] || strings.HasPrefix(name, "socks-")
}

// dialFlagSet returns a fresh flag set holding the dial flags of one side: the link's
// (egress=false) or the egress's. Both come from the one table, dialOptions.register.
func dialFlagSet(egress bool) *flag.FlagSet {
	all := flag.NewFlagSet("dial", flag.ContinueOnError)
	new(dialOptions).register(all)
	fs := flag.NewFlagSet("dial", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	all.VisitAll(func(f *flag.Flag) {
		if isEgressFlag(f.Name) == egress {
			fs.Var(f.Value, f.Name, f.Usage)
		}
	})
	return fs
}

// configSchema is the config file's keys: the dial flags.
func configSchema() config.Schema {
	return config.Schema{
		Link:        func() *flag.FlagSet { return dialFlagSet(false) },
		Egress:      func() *flag.FlagSet { return dialFlagSet(true) },
		Secrets:     []string{"pin", "password"},
		SecretFiles: []string{"socks-password-file"},
		Port:        "port",
		Ifname:      "ifname",
		CheckLink: func(fs *flag.FlagSet) error {
			if name := fs.Lookup("ifname").Value.String(); name != "" && !validIfname(name) {
				return &config.KeyError{Key: "ifname", Err: fmt.Errorf("%q: want ppN (pp0, pp1, ...)", name)}
			}
			return nil
		},
		CheckEgress: func(fs *flag.FlagSet) error {
			o := egressOptions{members: *fs.Lookup("egress").Value.(*egressList),
				probes: *fs.Lookup("egress-probe").Value.(*egressProbes)}
			o.recoverAfter, _ = fs.Lookup("recover-after").Value.(flag.Getter).Get().(time.Duration)
			if err := o.check(); err != nil {
				key := "egress-probe"
				if o.recoverAfter <= 0 {
					key = "recover-after"
				}
				return &config.KeyError{Key: key, Err: err}
			}
			return nil
		},
	}
}

func cmdCheck(_ context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("check", stderr, checkUsage)
	path := fs.String("c", "", "the configuration file (required)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if *path == "" || fs.NArg() > 0 {
		fmt.Fprint(stderr, "pppdial check: want -c FILE and nothing else\n\n"+checkUsage)
		fs.PrintDefaults()
		return exitUsage
	}
	file, err := config.Load(*path, configSchema())
	if err != nil {
		var cerr *config.Error
		if errors.As(err, &cerr) {
			fmt.Fprintln(stderr, cerr)
		} else {
			fmt.Fprintf(stderr, "pppdial check: %v\n", err)
		}
		return exitUsage
	}
	// What one key cannot show but up would refuse: flags that exclude each other in a link
	// (with the [egress] ones), an egress member or probe that does not fit the links.
	if _, err := (upArgs{path: *path}).plan(file, nil); err != nil {
		fmt.Fprintln(stderr, err)
		return exitUsage
	}
	for _, w := range file.Warnings {
		fmt.Fprintf(stderr, "%s: warning: %s\n", w.Position(), w.Reason())
	}
	names := make([]string, len(file.Links))
	for i, l := range file.Links {
		names[i] = l.Name + " on " + l.Port
	}
	fmt.Fprintf(stdout, "%s: valid: %d link(s): %s\n", *path, len(file.Links), strings.Join(names, ", "))
	return exitOK
}
