package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/pppdial/pppdial/demo"
)

const demoUsage = `Usage: pppdial demo [--json] [--baud N]

Runs the whole chain without hardware: an emulated SIM7600 modem on an emulated serial line, an
emulated operator network behind ATD (PPP server, DNS, a web server). pppdial dials it with its
real dialer, brings PPP up, resolves the page's name through the DNS server the link handed out,
fetches the page over the link's userspace TCP/IP stack, and hangs up.

Flags:
`

func cmdDemo(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("demo", stderr, demoUsage)
	asJSON := fs.Bool("json", false, "print events as JSON lines on stdout")
	baud := fs.Int("baud", 921600, "speed of the emulated serial line")
	verbose := fs.Bool("v", false, "debug logs of every layer on stderr")
	if code := parse(fs, args); code >= 0 {
		return code
	}
	// A newcomer reads the human lines; with --json they go to stderr and stdout stays JSON.
	human := stdout
	if *asJSON {
		human = stderr
	}
	rep := newReporter(stdout, human, *asJSON)
	rep.line("pppdial demo: emulated modem and network, no hardware")
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	opts := demo.Options{Baud: *baud, OnEvent: rep.event}
	if *verbose {
		opts.Logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	// Start, Fetch and Close rather than demo.Run: the fetch's summary is printed while the link
	// is up, before Close's "link down" line.
	chain, err := demo.Start(ctx, opts)
	if err != nil {
		rep.failure(err)
		return exitCode(err)
	}
	res, err := chain.Fetch(ctx)
	if err == nil {
		printDemo(stdout, res, *asJSON)
	}
	closeCtx, cancelClose := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancelClose()
	if cerr := chain.Close(closeCtx); err == nil {
		err = cerr
	}
	if err != nil {
		rep.failure(err)
		return exitCode(err)
	}
	return exitOK
}

// printDemo prints what the demo fetched, as one JSON record or as a few lines for a person.
func printDemo(stdout io.Writer, res *demo.Result, asJSON bool) {
	if asJSON {
		_ = json.NewEncoder(stdout).Encode(map[string]any{
			"time": time.Now(), "event": "demo", "ifname": res.Ifname, "url": res.URL,
			"bytes": len(res.Body), "local": res.Status.Local.String(), "peer": res.Status.Peer.String(),
			"dns": res.Status.DNS, "modem": res.Modem, "operator": res.Info.Operator,
			"elapsed": res.Elapsed.Round(time.Millisecond).String(),
		})
		return
	}
	fmt.Fprintf(stdout, "\nfetched %s over %s: %d bytes\n  %q\n", res.URL, res.Ifname, len(res.Body), res.Body)
	fmt.Fprintf(stdout, "link: local %s, peer %s, dns %s, mtu %d; modem %s on %s\n",
		res.Status.Local, res.Status.Peer, dnsList(res.Status.DNS), res.Status.MTU, res.Modem, res.Info.Operator)
	fmt.Fprintf(stdout, "traffic: %d packets in, %d out; done in %s\n\n",
		res.Stats.Netif.PacketsIn, res.Stats.Netif.PacketsOut, res.Elapsed.Round(time.Millisecond))
}
