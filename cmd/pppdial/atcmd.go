package main

import (
	"context"
	"fmt"
	"io"
)

const atUsage = `Usage: pppdial at --port PATH [--baud N] CMD...

Sends each AT command (with or without the leading "AT") and prints the modem's answer.

Flags:
`

func cmdAT(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("at", stderr, atUsage)
	port := fs.String("port", "", "the modem's serial port")
	baud := fs.Int("baud", 115200, "serial speed")
	if code := parse(fs, args); code >= 0 {
		return code
	}
	if *port == "" || fs.NArg() == 0 {
		fs.Usage()
		return exitUsage
	}
	_ = baud
	fmt.Fprintln(stderr, "pppdial at: not yet")
	return exitInternal
}
