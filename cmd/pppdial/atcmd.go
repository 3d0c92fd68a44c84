package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/pppdial/pppdial/at"
	"github.com/pppdial/pppdial/line"
)

const atUsage = `Usage: pppdial at --port PATH [--baud N] [--timeout D] CMD...

Sends each AT command (with or without its leading "AT") to the modem and prints the answers,
then the final result (OK, ERROR, +CME ERROR: ...). Unsolicited result codes that arrive
meanwhile are printed with a "urc:" prefix. Exit 0 when every command got OK.

  pppdial at --port /dev/ttyUSB2 ATI +CSQ +CREG? +COPS?

Flags:
`

func cmdAT(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("at", stderr, atUsage)
	port := fs.String("port", "", "the modem's serial port")
	baud := fs.Int("baud", 115200, "serial speed")
	timeout := fs.Duration("timeout", 5*time.Second, "how long to wait for each answer")
	if code := parse(fs, args); code >= 0 {
		return code
	}
	if *port == "" || fs.NArg() == 0 {
		fs.Usage()
		return exitUsage
	}
	l, err := line.Open(*port, line.Options{Baud: *baud})
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
