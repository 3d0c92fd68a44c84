package main

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/pppdial/pppdial"
)

// egressOptions are the flags choosing which interface carries new connections when a process
// runs several links (pppdial up): the preference list, the host members' probes and the
// hysteresis. They are [egress] keys; on dial they are accepted and change nothing, a lone link
// being its own egress.
type egressOptions struct {
	members      egressList
	probes       egressProbes
	recoverAfter time.Duration
}

func (o *egressOptions) register(fs flagRegistrar) {
	fs.Var(&o.members, "egress", `the interfaces that may carry new connections, in preference order: links' ifnames and host interfaces (pp0,pp1,wlan0; repeatable). Default: the links in file order`)
	fs.Var(&o.probes, "egress-probe", "a host member's data-path probe, NAME=tcp:ADDR:PORT or NAME=icmp:ADDR (repeatable); a link's own probe is its --probe")
	fs.DurationVar(&o.recoverAfter, "recover-after", 30*time.Second, "how long a member that failed must stay healthy before new connections move back to it")
}

// check reports what one flag alone cannot: a probe for an interface the list leaves out.
func (o *egressOptions) check() error {
	if o.recoverAfter <= 0 {
		return fmt.Errorf("--recover-after %v: want a positive duration", o.recoverAfter)
	}
	if len(o.members) == 0 {
		return nil
	}
	for _, p := range o.probes {
		if !slices.Contains(o.members, p.name) {
			return fmt.Errorf("--egress-probe %s: %s is not in --egress %s", p.name+"="+p.probe.String(), p.name, o.members.String())
		}
	}
	return nil
}

// probeMap is GroupConfig.Probes.
func (o *egressOptions) probeMap() map[string]pppdial.Probe {
	if len(o.probes) == 0 {
		return nil
	}
	m := make(map[string]pppdial.Probe, len(o.probes))
	for _, p := range o.probes {
		m[p.name] = p.probe
	}
	return m
}

// egressList is --egress: interface names, repeatable or comma-separated, each once.
type egressList []string

func (l *egressList) String() string {
	if l == nil {
		return ""
	}
	return strings.Join(*l, ",")
}

func (l *egressList) Set(s string) error {
	for name := range strings.SplitSeq(s, ",") {
		name = strings.TrimSpace(name)
		if err := checkInterfaceName(name); err != nil {
			return err
		}
		if slices.Contains(*l, name) {
			return fmt.Errorf("%s is listed twice", name)
		}
		*l = append(*l, name)
	}
	return nil
}

// checkInterfaceName accepts what Linux accepts as an interface name (IFNAMSIZ - 1 bytes, no
// slash, no white space), so that a typo is a usage error, not a member that is never healthy.
func checkInterfaceName(name string) error {
	switch {
	case name == "":
		return errors.New("an empty interface name")
	case len(name) > 15:
		return fmt.Errorf("%q: an interface name has at most 15 characters", name)
	case name == "." || name == "..", strings.ContainsAny(name, "/:= \t\n"):
		return fmt.Errorf("%q: not an interface name", name)
	}
	return nil
}

// egressProbe is one --egress-probe.
type egressProbe struct {
	name  string
	probe pppdial.Probe
}

// egressProbes is --egress-probe: NAME=PROBE, repeatable, one per interface.
type egressProbes []egressProbe

func (p *egressProbes) String() string {
	if p == nil {
		return ""
	}
	parts := make([]string, len(*p))
	for i, e := range *p {
		parts[i] = e.name + "=" + e.probe.String()
	}
	return strings.Join(parts, ",")
}

func (p *egressProbes) Set(s string) error {
	name, spec, ok := strings.Cut(strings.TrimSpace(s), "=")
	if !ok {
		return fmt.Errorf("%q: want NAME=tcp:ADDR:PORT or NAME=icmp:ADDR", s)
	}
	if err := checkInterfaceName(name); err != nil {
		return err
	}
	if slices.ContainsFunc(*p, func(e egressProbe) bool { return e.name == name }) {
		return fmt.Errorf("%s has two probes", name)
	}
	probe, err := pppdial.ParseProbe(spec)
	if err != nil {
		return err
	}
	*p = append(*p, egressProbe{name, probe})
	return nil
}
