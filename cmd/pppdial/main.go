// Command pppdial brings a cellular modem online over PPP, without pppd or chat scripts.
//
//	pppdial dial --port /dev/ttyUSB3 --apn internet     # online; Ctrl-C hangs up
//	pppdial demo                                        # no hardware: an emulated modem and network
//	pppdial up -c /etc/pppdial/pppdial.toml             # several links, traffic over the healthiest
//
// Run `pppdial help` for every command, flag and exit code.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/pppdial/pppdial"
)

// Exit codes, documented in the usage text: a service manager acts on them.
const (
	exitOK           = 0 // clean stop (also after SIGINT/SIGTERM)
	exitInternal     = 1 // anything not listed below
	exitUsage        = 2 // bad flags or arguments
	exitModem        = 3 // port, modem, SIM or dial failure
	exitRegistration = 4 // not registered on the network (denied, timeout, roaming with --no-roaming)
	exitPPP          = 5 // PPP negotiation or authentication failed
	exitLinkLost     = 6 // the link dropped and --persist was not given
	exitNoDaemon     = 7 // status, redial: no daemon answers on the control socket
	exitQuota        = 8 // the SIM used its --quota and --quota-action stop ended the session
)

const usageText = `pppdial brings a cellular modem online over PPP.

Usage:
  pppdial dial --port PATH [flags]   dial and keep the link up (pppdial dial -h for flags)
  pppdial up -c FILE                 run every link of a configuration file in one process, new
                                     connections over the healthiest (pppdial up -h)
  pppdial check -c FILE              check a configuration file (links and egress; pppdial check -h)
  pppdial demo [--json]              no hardware: an emulated modem and PPP peer in-process;
                                     dials it, fetches a page over the link, prints what happened
  pppdial replay FILE...             replay recorded modem transcripts against the dialer
  pppdial status [--json] [IFNAME]   ask the running daemon how its links are doing
  pppdial redial [IFNAME]            ask the running daemon to drop a link and dial again now
  pppdial at --port PATH CMD...      send AT commands and print the answers (through the daemon
                                     that holds PATH, if one does)
  pppdial ports                      list serial ports and which look like a modem's AT/PPP port
  pppdial version                    print the version

Every flag can also come from the environment: PPPDIAL_ and the flag's name in capitals with
underscores (PPPDIAL_APN, PPPDIAL_PIN, PPPDIAL_PASSWORD), so secrets stay out of the process
list. A flag on the command line wins over the environment.

Exit codes:
  0  clean stop (also after SIGINT or SIGTERM)
  1  internal error
  2  usage: bad flags or arguments
  3  modem: port, modem not answering, SIM (no SIM, wrong PIN, PUK) or dial (NO CARRIER, BUSY)
  4  registration: denied by the network or timed out
  5  PPP: negotiation or authentication failed
  6  link lost without --persist
  7  status, redial: no daemon answers on the control socket
  8  the SIM used its --quota and --quota-action stop ended the session
With --persist and --maxfail N, the exit code is that of the last of the N failures.
`

// version is set at build time with -ldflags "-X main.version=v1.2.3".
var version = "devel"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run is the whole program, testable without exec: it returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usageText)
		return exitUsage
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "dial":
		return cmdDial(ctx, rest, stdout, stderr)
	case "up":
		return cmdUp(ctx, rest, stdout, stderr)
	case "check":
		return cmdCheck(ctx, rest, stdout, stderr)
	case "demo":
		return cmdDemo(ctx, rest, stdout, stderr)
	case "replay":
		return cmdReplay(ctx, rest, stdout, stderr)
	case "at":
		return cmdAT(ctx, rest, stdout, stderr)
	case "status":
		return cmdStatus(ctx, rest, stdout, stderr)
	case "redial":
		return cmdRedial(ctx, rest, stdout, stderr)
	case "ports":
		return cmdPorts(rest, stdout, stderr)
	case "version", "--version", "-version":
		fmt.Fprintln(stdout, "pppdial", version)
		return exitOK
	case "help", "-h", "--help", "-help":
		fmt.Fprint(stdout, usageText)
		return exitOK
	default:
		fmt.Fprintf(stderr, "pppdial: unknown command %q\n\n%s", cmd, usageText)
		return exitUsage
	}
}

// newFlagSet returns a flag set whose errors go to stderr and do not exit.
func newFlagSet(name string, stderr io.Writer, usage string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, usage)
		fs.PrintDefaults()
	}
	return fs
}

// parse parses args (after the environment) and maps the outcome to an exit code: -1 to go on.
func parse(fs *flag.FlagSet, args []string) int {
	err := parseWithEnv(fs, args)
	switch {
	case err == nil:
		return -1
	case errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.As(err, new(*envError)):
		fmt.Fprintf(fs.Output(), "pppdial %s: %v\n", fs.Name(), err)
		return exitUsage
	default:
		return exitUsage
	}
}

// exitCode maps a session's error to the documented exit code.
func exitCode(err error) int {
	switch pppdial.Code(err) {
	case "", pppdial.CodeCanceled:
		return exitOK
	case pppdial.CodeUsage:
		return exitUsage
	case pppdial.CodePort, pppdial.CodeModem, pppdial.CodeSIM, pppdial.CodeDial:
		return exitModem
	case pppdial.CodeRegistration, pppdial.CodeRoaming:
		return exitRegistration
	case pppdial.CodeAuth, pppdial.CodePPP:
		return exitPPP
	case pppdial.CodeLinkLost:
		return exitLinkLost
	}
	return exitInternal
}
