package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/pppdial/pppdial/at"
	"github.com/pppdial/pppdial/control"
	"github.com/pppdial/pppdial/line"
)

const atUsage = `Usage: pppdial at (--port PATH [--baud N] | --control SOCKET [--ifname NAME]) [--timeout D] CMD...

Sends each AT command (with or without its leading "AT") to the modem and prints the answers,
then the final result (OK, ERROR, +CME ERROR: ...). Unsolicited result codes that arrive
meanwhile are printed with a "urc:" prefix. Exit 0 when every command got OK.

When a running "pppdial dial" holds PATH, the commands go through that daemon's AT channel
(CMUX DLC 1: the daemon needs --cmux) instead of the port under it; --control SOCKET names the
daemon directly, and --ifname one of its links (default: its first; "pppdial up" runs several).
No process opens a port a daemon holds, root included.

  pppdial at --port /dev/ttyUSB2 ATI +CSQ +CREG? +COPS?

Flags:
`

func cmdAT(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("at", stderr, atUsage)
	port := fs.String("port", "", "the modem's serial port")
	baud := fs.Int("baud", 115200, "serial speed")
	timeout := fs.Duration("timeout", 5*time.Second, "how long to wait for each answer")
	sock := fs.String("control", "", "send the commands through the daemon on this control socket")
	ifname := fs.String("ifname", "", "with --control: the daemon's link (default: its first)")
	if code := parse(fs, args); code >= 0 {
		return code
	}
	if (*port == "") == (*sock == "") || fs.NArg() == 0 || (*ifname != "" && *sock == "") {
		fs.Usage()
		return exitUsage
	}
	daemonCtx := func() (context.Context, context.CancelFunc) {
		// The daemon runs them one after the other, each bounded by --timeout.
		return context.WithTimeout(ctx, time.Duration(fs.NArg()+1)*(*timeout))
	}
	if *sock != "" {
		ctx, cancel := daemonCtx()
		defer cancel()
		return atThroughDaemon(ctx, *sock, *ifname, fs.Args(), stdout, stderr)
	}
	l, err := line.Open(*port, line.Options{Baud: *baud})
	if errors.Is(err, line.ErrBusy) {
		ctx, cancel := daemonCtx()
		defer cancel()
		if path, ifname := daemonOnPort(ctx, *port); path != "" {
			return atThroughDaemon(ctx, path, ifname, fs.Args(), stdout, stderr)
		}
		fmt.Fprintf(stderr, "pppdial at: %s is in use by another process, and no pppdial daemon in %s holds it\n", *port, control.DefaultDir)
		return exitModem
	}
	if err != nil {
		fmt.Fprintf(stderr, "pppdial at: %v — check --port (`pppdial ports` lists them)\n", err)
		return exitModem
	}
	p := at.NewPort(l)
	defer p.Close()
	answers, err := at.Commands(ctx, p, fs.Args(), *timeout, func(e at.Event) {
		if e.Kind == at.EventURC {
			fmt.Fprintf(stdout, "urc: %s\n", e.Line)
		}
	}, nil)
	code := exitOK
	for _, a := range answers {
		fmt.Fprintf(stdout, "> %s\n", a.Command)
		for _, l := range a.Info {
			fmt.Fprintf(stdout, "%s\n", l)
		}
		if a.Err != nil {
			fmt.Fprintf(stdout, "%v\n", a.Err)
			code = exitModem
		} else {
			fmt.Fprintln(stdout, "OK")
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "pppdial at: %v\n", err)
		return exitModem
	}
	return code
}
