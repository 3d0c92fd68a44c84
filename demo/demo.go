// Package demo runs the whole pppdial chain without hardware, for `pppdial demo` and for
// newcomers reading the examples: an emulated modem (modemsim) on an emulated serial line, an
// emulated operator network behind ATD, the real dialer, PPP and a page fetched over the link.
// It lives outside the root package so that a program that imports pppdial to dial a real modem
// does not link the simulator, nor net/http.
package demo

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/pppdial/pppdial"
	"github.com/pppdial/pppdial/at"
	"github.com/pppdial/pppdial/bind"
	"github.com/pppdial/pppdial/internal/serialline"
	"github.com/pppdial/pppdial/line"
	"github.com/pppdial/pppdial/modemsim"
	"github.com/pppdial/pppdial/modemsim/carrier"
	"github.com/pppdial/pppdial/netif"
	"github.com/pppdial/pppdial/ppp"
)

// Options tune Run. The zero value runs the default demo.
type Options struct {
	// Profile is the emulated modem (default modemsim.SIM7600()).
	Profile *modemsim.Profile
	// Baud paces the emulated serial line (default 921600, a typical USB modem's AT port).
	Baud int
	// OnEvent receives the session's events as pppdial.Config.OnEvent does: in order, on a
	// goroutine of their own; Start returns once the up event was taken, Close (and Run) once
	// the last, the link's down, was.
	OnEvent func(pppdial.Event)
	// Logger receives debug logs of every layer; nil discards them.
	Logger *slog.Logger
}

// Result is what the demo did.
type Result struct {
	Modem   string     // the emulated modem's model
	Info    at.Info    // what the dialer learnt: operator, signal, technology
	Ifname  string     // the interface the page was fetched over
	Status  ppp.Status // the link's addresses, DNS, MTU
	URL     string     // the page fetched
	Body    []byte     // its content
	Elapsed time.Duration
	Stats   pppdial.Stats // the link's counters after the fetch
}

// Chain is the chain brought up by Start: the emulated modem and network, and a session whose
// link is up. It exists apart from Run so that a caller can show the fetch's result while the
// link is still up, and only then hang up.
type Chain struct {
	start     time.Time
	modem     string
	sess      *pppdial.Session
	reg       *netif.Registry
	stopModem func() // stops the emulated modem and waits for it
}

// Run runs the whole chain without hardware: an emulated modem on an emulated serial line,
// with an emulated carrier network behind ATD (a PPP server with HTTP and DNS). It dials the
// modem through the real dialer, brings PPP up, registers a pp<N> interface in a private
// registry, resolves the page's host name through the DNS server IPCP handed out and fetches
// the page over the link's userspace TCP/IP stack, then closes everything. It is Start, Fetch
// and Close in one call.
func Run(ctx context.Context, opts Options) (*Result, error) {
	c, err := Start(ctx, opts)
	if err != nil {
		return nil, err
	}
	defer func() {
		closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = c.Close(closeCtx)
	}()
	return c.Fetch(ctx)
}

// Start starts the emulated modem and network and dials them (see Run): when it returns
// without error the link is up. Close the Chain when done.
func Start(ctx context.Context, opts Options) (*Chain, error) {
	start := time.Now()
	profile := modemsim.SIM7600()
	if opts.Profile != nil {
		profile = *opts.Profile
	}
	if opts.Baud == 0 {
		opts.Baud = 921600
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	network := carrier.New(carrier.Config{Logger: log.With("side", "carrier")})
	modem := modemsim.New(profile, network.DataFunc())
	modem.Logger = log.With("side", "modem")
	host, modemEnd := serialline.Pipe(serialline.Options{Baud: opts.Baud})

	// The modem serves on its own context, not ctx: it must outlive a cancelled Start or
	// Fetch long enough for Close to hang up through it.
	modemCtx, cancelModem := context.WithCancel(context.WithoutCancel(ctx))
	modemDone := make(chan error, 1)
	go func() { modemDone <- modem.Serve(modemCtx, modemEnd) }()
	stopModem := func() {
		cancelModem()
		host.Close()
		<-modemDone
	}

	reg := netif.NewRegistry()
	opened := false
	sess, err := pppdial.Dial(ctx, pppdial.Config{
		Open: func(context.Context) (line.Line, error) {
			if opened {
				return nil, fmt.Errorf("the emulated line is gone")
			}
			opened = true
			return host, nil
		},
		Modem:    at.Config{APN: "internet"},
		PPP:      ppp.Config{EchoInterval: 10 * time.Second},
		Registry: reg,
		OnEvent:  opts.OnEvent,
		Logger:   log.With("side", "host"),
	})
	if err != nil {
		stopModem()
		return nil, err
	}
	return &Chain{start: start, modem: profile.Model, sess: sess, reg: reg, stopModem: stopModem}, nil
}

// Fetch resolves the demo page's host name through the link's DNS server and fetches the page
// over the link. Result.Elapsed counts from Start.
func (c *Chain) Fetch(ctx context.Context) (*Result, error) {
	sess := c.sess
	res := &Result{Modem: c.modem, Info: sess.ModemInfo(), Ifname: sess.Netif().Name(), Status: sess.Status()}
	res.URL = "http://" + carrier.DefaultHost + "/"
	client := &http.Client{
		Transport: &http.Transport{DialContext: (&bind.Dialer{Interface: res.Ifname, Registry: c.reg}).DialContext},
		Timeout:   30 * time.Second,
	}
	defer client.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, res.URL, nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("demo: fetch over %s: %w", res.Ifname, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("demo: fetch over %s: %s", res.Ifname, resp.Status)
	}
	if res.Body, err = io.ReadAll(resp.Body); err != nil {
		return nil, fmt.Errorf("demo: fetch over %s: %w", res.Ifname, err)
	}
	res.Stats = sess.Stats()
	res.Elapsed = time.Since(c.start)
	return res, nil
}

// Close ends the session (LCP Terminate, hang-up) and stops the emulated modem. ctx bounds the
// session's close; the modem stops either way.
func (c *Chain) Close(ctx context.Context) error {
	err := c.sess.Close(ctx)
	c.stopModem()
	return err
}
