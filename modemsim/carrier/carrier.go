// Package carrier emulates the network behind a cellular modem: the operator's PPP server,
// which hands the dialer an address and DNS servers, and a few hosts on the far side of the link
// (HTTP, DNS, TCP and UDP echo) served by a userspace TCP/IP stack.
//
// A Network's DataFunc plugs into a modemsim.Modem behind ATD, so that `pppdial demo` and the
// tests run the whole chain — AT dialing, PPP negotiation, the pp<N> interface and sockets over
// it — in one process, without hardware and without reaching any real network.
package carrier

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pppdial/pppdial/bind"
	"github.com/pppdial/pppdial/line"
	"github.com/pppdial/pppdial/modemsim"
	"github.com/pppdial/pppdial/netif"
	"github.com/pppdial/pppdial/netif/netiftest"
	"github.com/pppdial/pppdial/ppp"
)

// Config describes the emulated network. The zero value is usable: see the defaults.
type Config struct {
	// Local is the server's address (default 10.64.64.1); Peer the address handed to the
	// dialer (default 10.64.64.2).
	Local, Peer netip.Addr
	// DNS are the name servers handed out (default: Local, where the emulated DNS answers).
	DNS []netip.Addr
	// Hosts are the names the emulated DNS server answers (default "demo.pppdial.test" -> Local);
	// every other name is NXDOMAIN.
	Hosts map[string]netip.Addr
	// Pages are served over HTTP on port 80 of Local, by path (default "/" and "/index.html"
	// with a short greeting).
	Pages map[string][]byte
	// PPP tunes the server side of the link: RequireAuth with Username and Password, echo
	// interval, IPv6. Role and addresses are set from the fields above, and OnEvent is the
	// network's own (it follows each link to configure its interface).
	PPP ppp.Config
	// IPv6Prefix, with PPP.IPv6, is the /64 the network advertises once IPV6CP is up, as a
	// cellular gateway does: it answers the dialer's Router Solicitations with a Router
	// Advertisement of the prefix, and serves HTTP on the prefix's address ::1 as well.
	IPv6Prefix netip.Prefix
	// Logger receives the server's logs; nil discards them.
	Logger *slog.Logger
}

// DefaultPage is what the emulated web server answers for "/" unless Config.Pages says otherwise.
var DefaultPage = []byte("hello from the pppdial carrier network\n")

// DefaultHost is the name the emulated DNS server knows by default.
const DefaultHost = "demo.pppdial.test"

// Stats count what the network saw.
type Stats struct {
	Calls       int64 // data calls served (DataFunc invocations)
	LinksUp     int64 // calls whose IPCP opened
	HTTPReqs    int64 // HTTP requests served
	DNSQueries  int64 // DNS queries answered
	EchoStreams int64 // TCP echo connections
}

// Network is an emulated carrier network. One Network may serve many calls, one after the
// other or at once (each gets its own link and stack).
type Network struct {
	cfg   Config
	log   *slog.Logger
	reg   *netif.Registry
	stats struct{ calls, up, http, dns, echo atomic.Int64 }

	mu    sync.Mutex
	conns map[*ppp.Conn]struct{}
}

// New returns a network with cfg's defaults filled in.
func New(cfg Config) *Network {
	if !cfg.Local.IsValid() {
		cfg.Local = netip.MustParseAddr("10.64.64.1")
	}
	if !cfg.Peer.IsValid() {
		cfg.Peer = netip.MustParseAddr("10.64.64.2")
	}
	if cfg.DNS == nil {
		cfg.DNS = []netip.Addr{cfg.Local}
	}
	if cfg.Hosts == nil {
		cfg.Hosts = map[string]netip.Addr{DefaultHost: cfg.Local}
	}
	if cfg.Pages == nil {
		cfg.Pages = map[string][]byte{"/": DefaultPage, "/index.html": DefaultPage}
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Network{cfg: cfg, log: log, reg: netif.NewRegistry(), conns: map[*ppp.Conn]struct{}{}}
}

// Config returns the network's configuration, defaults filled in.
func (n *Network) Config() Config { return n.cfg }

// Stats returns the counters so far.
func (n *Network) Stats() Stats {
	return Stats{
		Calls: n.stats.calls.Load(), LinksUp: n.stats.up.Load(), HTTPReqs: n.stats.http.Load(),
		DNSQueries: n.stats.dns.Load(), EchoStreams: n.stats.echo.Load(),
	}
}

// Terminate ends every call in progress from the server side with an LCP Terminate-Request, as
// an operator's network does when it drops a session.
func (n *Network) Terminate(ctx context.Context) {
	n.mu.Lock()
	conns := make([]*ppp.Conn, 0, len(n.conns))
	for c := range n.conns {
		conns = append(conns, c)
	}
	n.mu.Unlock()
	for _, c := range conns {
		_ = c.Close(ctx)
	}
}

// DataFunc returns the function a modemsim.Modem runs behind CONNECT: a PPP server on the data
// stream with the network's hosts behind it, until the call ends.
func (n *Network) DataFunc() modemsim.DataFunc { return n.serve }

func (n *Network) serve(ctx context.Context, data line.Line) error {
	n.stats.calls.Add(1)
	pcfg := n.cfg.PPP
	pcfg.Role = ppp.Server
	pcfg.LocalAddr, pcfg.PeerAddr, pcfg.DNS = n.cfg.Local, n.cfg.Peer, n.cfg.DNS
	if pcfg.Logger == nil {
		pcfg.Logger = n.log
	}
	// The link's events are handled on this goroutine (below); the observer hands them over.
	events, eventsOver := make(chan ppp.Event, 16), make(chan struct{})
	pcfg.OnEvent = func(e ppp.Event) {
		select {
		case events <- e:
		case <-eventsOver: // serve has returned: nobody reads any more
		}
	}
	conn := ppp.NewConn(data, pcfg)
	dev := &router{Conn: conn}
	nif, err := n.reg.AddPPP(dev, netif.Options{Logger: n.log})
	if err != nil {
		return fmt.Errorf("carrier: %w", err)
	}
	defer n.reg.Remove(nif)
	n.mu.Lock()
	n.conns[conn] = struct{}{}
	n.mu.Unlock()
	defer func() {
		n.mu.Lock()
		delete(n.conns, conn)
		n.mu.Unlock()
	}()

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	// The server's side is configured and listening before the link starts: the dialer may
	// send its first packet (a DNS query) the instant its IPCP opens, which can be before this
	// side has processed its own IPCP event, and a real operator's hosts are always there.
	ncfg := netif.Config{Local: n.cfg.Local, Peer: n.cfg.Peer, DNS: n.cfg.DNS}
	if err := nif.SetUp(ncfg); err != nil {
		return fmt.Errorf("carrier: %w", err)
	}
	services, err := n.startServices(runCtx, nif.Name())
	if err != nil {
		return err
	}
	conn.Start(runCtx)
	defer func() {
		services.stop()
		closeCtx, cancelClose := context.WithTimeout(context.WithoutCancel(ctx), 3*time.Second)
		defer cancelClose()
		_ = conn.Close(closeCtx)
	}()
	defer close(eventsOver) // first: the events of the Close above go nowhere
	handle := func(ev ppp.Event) (end bool, err error) {
		switch ev.Kind {
		case ppp.EventUp:
			n.stats.up.Add(1)
			// Same addresses: only the MTU changes and the listeners stay.
			ncfg.MTU = ev.Status.MTU
			if err := nif.SetUp(ncfg); err != nil {
				return true, fmt.Errorf("carrier: %w", err)
			}
		case ppp.EventIPv6Up:
			if err := n.upIPv6(runCtx, nif, dev, &ncfg, ev.Status, services); err != nil {
				return true, err
			}
		case ppp.EventDown:
			nif.SetDown(ev.Err)
			if errors.Is(ev.Err, ppp.ErrClosed) {
				return true, nil
			}
			return true, ev.Err
		}
		return false, nil
	}
	for {
		select {
		case ev := <-events:
			if end, err := handle(ev); end {
				return err
			}
		case <-conn.Done():
			// The observer was handed EventDown before Done closed: take what it left.
			for {
				select {
				case ev := <-events:
					if end, err := handle(ev); end {
						return err
					}
				default:
					return conn.Err()
				}
			}
		}
	}
}

// upIPv6 gives the server's interface its link-local address and the prefix's ::1, serves
// HTTP there, and starts answering Router Solicitations.
func (n *Network) upIPv6(ctx context.Context, nif *netif.Netif, dev *router, cfg *netif.Config, st ppp.Status, s *services) error {
	if !n.cfg.IPv6Prefix.IsValid() {
		return nil
	}
	p := n.cfg.IPv6Prefix.Masked()
	host := p.Addr().Next()
	cfg.LocalV6, cfg.PeerV6, cfg.ExtraV6 = st.LocalV6, st.PeerV6, []netip.Prefix{netip.PrefixFrom(host, p.Bits())}
	if err := nif.SetUp(*cfg); err != nil {
		return fmt.Errorf("carrier: %w", err)
	}
	ln, err := (&bind.ListenConfig{Interface: nif.Name(), Registry: n.reg}).Listen(ctx, "tcp6", netip.AddrPortFrom(host, 80).String())
	if err != nil {
		return fmt.Errorf("carrier: http6: %w", err)
	}
	s.serveHTTP(n, ln)
	ra := netiftest.RA{Src: st.LocalV6, RouterLifetime: 30 * time.Minute,
		Prefixes: []netiftest.RAPrefix{{Prefix: p, Valid: netiftest.Infinite, Preferred: netiftest.Infinite}}}.Marshal()
	dev.ra.Store(&ra)
	return nil
}

// router is the link as the server's interface sees it, except that the dialer's Router
// Solicitations are answered here with the network's Router Advertisement (once IPv6 is up).
type router struct {
	*ppp.Conn
	ra atomic.Pointer[[]byte]
}

// SetPacketHandler installs h behind the Router Solicitation check.
func (r *router) SetPacketHandler(h func([]byte)) {
	if h == nil {
		r.Conn.SetPacketHandler(nil)
		return
	}
	r.Conn.SetPacketHandler(func(pkt []byte) {
		if _, ok := netiftest.RouterSolicit(pkt); ok {
			if ra := r.ra.Load(); ra != nil {
				_ = r.Conn.WritePacket(*ra)
			}
			return
		}
		h(pkt)
	})
}

// services are the hosts behind the link, listening on the server's stack.
type services struct {
	closers []io.Closer
	wg      sync.WaitGroup
}

func (s *services) stop() {
	for _, c := range s.closers {
		_ = c.Close()
	}
	s.wg.Wait()
}

func (n *Network) startServices(ctx context.Context, ifname string) (*services, error) {
	lc := bind.ListenConfig{Interface: ifname, Registry: n.reg}
	s := &services{}
	httpLn, err := lc.Listen(ctx, "tcp4", ":80")
	if err != nil {
		return nil, fmt.Errorf("carrier: http: %w", err)
	}
	echoLn, err := lc.Listen(ctx, "tcp4", ":7")
	if err != nil {
		httpLn.Close()
		return nil, fmt.Errorf("carrier: echo: %w", err)
	}
	dnsPC, err := lc.ListenPacket(ctx, "udp4", ":53")
	if err != nil {
		httpLn.Close()
		echoLn.Close()
		return nil, fmt.Errorf("carrier: dns: %w", err)
	}
	s.closers = []io.Closer{echoLn, dnsPC}
	s.serveHTTP(n, httpLn)
	s.wg.Add(2)
	go func() { defer s.wg.Done(); n.echo(echoLn) }()
	go func() { defer s.wg.Done(); n.dns(dnsPC) }()
	return s, nil
}

// serveHTTP serves the network's pages on ln until stop.
func (s *services) serveHTTP(n *Network, ln net.Listener) {
	srv := &http.Server{Handler: n.pages(), ReadHeaderTimeout: 10 * time.Second}
	s.closers = append(s.closers, srv, ln)
	s.wg.Add(1)
	go func() { defer s.wg.Done(); _ = srv.Serve(ln) }()
}

func (n *Network) pages() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.stats.http.Add(1)
		page, ok := n.cfg.Pages[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		_, _ = w.Write(page)
	})
}

func (n *Network) echo(ln net.Listener) {
	var wg sync.WaitGroup
	defer wg.Wait()
	var mu sync.Mutex
	open := map[net.Conn]struct{}{}
	defer func() {
		mu.Lock()
		for c := range open {
			c.Close()
		}
		mu.Unlock()
	}()
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		n.stats.echo.Add(1)
		mu.Lock()
		open[c] = struct{}{}
		mu.Unlock()
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _ = io.Copy(c, c)
			c.Close()
			mu.Lock()
			delete(open, c)
			mu.Unlock()
		}()
	}
}

func (n *Network) dns(pc net.PacketConn) {
	buf := make([]byte, 512)
	var out []byte
	for {
		k, from, err := pc.ReadFrom(buf)
		if err != nil {
			return
		}
		var ok bool
		out, ok = AnswerDNS(out[:0], buf[:k], n.cfg.Hosts)
		if !ok {
			continue
		}
		n.stats.dns.Add(1)
		_, _ = pc.WriteTo(out, from)
	}
}
