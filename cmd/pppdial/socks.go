package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"time"

	"github.com/pppdial/pppdial"
	"github.com/pppdial/pppdial/bind"
	"github.com/pppdial/pppdial/internal/config"
	"github.com/pppdial/pppdial/netif"
	"github.com/pppdial/pppdial/socks"
)

// socksPasswordEnv holds the SOCKS password. It is read as is, not through a flag: a password
// flag would invite putting it on the command line, which every user of the machine can read.
const socksPasswordEnv = "PPPDIAL_SOCKS_PASSWORD"

// The SOCKS server's exposure, as the start-up line and the JSON "socks" event name it.
const (
	socksModeAuth     = "auth"          // RFC 1929 username/password required
	socksModeOpen     = "open"          // no authentication, reachable from the network (--socks-open)
	socksModeLoopback = "loopback-only" // no authentication, TCP on a loopback address
	socksModeUnix     = "unix-socket"   // no authentication, a unix socket (mode 0660)
)

// socksOptions are the --socks* flags of `pppdial dial`.
type socksOptions struct {
	addr, user, passwordFile  string
	open                      bool
	maxConns, maxUDP          int
	handshakeTimeout, udpIdle time.Duration
}

func (o *socksOptions) register(fs flagRegistrar) {
	fs.StringVar(&o.addr, "socks", "", "serve SOCKS5 on ADDR: host:port (127.0.0.1:1080) or a unix socket (unix:/run/pppdial/socks.sock, or a path starting with /); connections leave over the link")
	fs.StringVar(&o.user, "socks-user", "", "require SOCKS5 username/password authentication (RFC 1929) as NAME; the password comes from $"+socksPasswordEnv+" or --socks-password-file, never the command line")
	fs.StringVar(&o.passwordFile, "socks-password-file", "", "read the SOCKS password from FILE's first line (FILE must not be accessible by group or others)")
	fs.BoolVar(&o.open, "socks-open", false, "DANGEROUS: allow --socks on a non-loopback address without authentication; anyone who reaches it spends the link's data")
	fs.IntVar(&o.maxConns, "socks-max-conns", socks.DefaultMaxConns, "most concurrent SOCKS connections; more are refused at once")
	fs.IntVar(&o.maxUDP, "socks-max-udp", socks.DefaultMaxAssociations, "most concurrent SOCKS UDP associations; more are refused")
	fs.DurationVar(&o.handshakeTimeout, "socks-handshake-timeout", socks.DefaultHandshakeTimeout, "a SOCKS client must authenticate and send its request within this time")
	fs.DurationVar(&o.udpIdle, "socks-udp-idle", socks.DefaultUDPIdleTimeout, "a SOCKS UDP association with no datagram for this long ends")
}

// flagRegistrar is the part of flag.FlagSet the option types register with.
type flagRegistrar interface {
	StringVar(*string, string, string, string)
	IntVar(*int, string, int, string)
	BoolVar(*bool, string, bool, string)
	DurationVar(*time.Duration, string, time.Duration, string)
	Var(flag.Value, string, string)
}

// socksListener is the SOCKS side of `pppdial dial` before the link is up: the listener is
// open (so a taken port or a refused exposure fails before the modem is dialed) and the
// credentials read.
type socksListener struct {
	ln    net.Listener
	creds socks.CredentialStore
	user  string
	mode  string
}

// listen validates the SOCKS flags and opens the listener. Every error is a usage error.
func (o *socksOptions) listen(ctx context.Context) (*socksListener, error) {
	password, havePassword := os.LookupEnv(socksPasswordEnv)
	if o.addr == "" {
		if o.user != "" || o.passwordFile != "" || o.open {
			return nil, errors.New("--socks-user, --socks-password-file and --socks-open need --socks")
		}
		return nil, nil
	}
	if o.maxConns < 1 || o.maxUDP < 1 || o.handshakeTimeout <= 0 || o.udpIdle <= 0 {
		return nil, errors.New("--socks-max-conns, --socks-max-udp, --socks-handshake-timeout and --socks-udp-idle must be positive")
	}
	sl := &socksListener{user: o.user}
	switch {
	case o.user == "" && (havePassword || o.passwordFile != ""):
		return nil, fmt.Errorf("a SOCKS password is set (%s or --socks-password-file) but --socks-user is not", socksPasswordEnv)
	case o.user != "" && havePassword && o.passwordFile != "":
		return nil, fmt.Errorf("--socks-user: the password comes from %s or --socks-password-file, not both", socksPasswordEnv)
	case o.user != "" && o.passwordFile != "":
		var err error
		if password, err = readPasswordFile(o.passwordFile); err != nil {
			return nil, err
		}
	case o.user != "" && !havePassword:
		return nil, fmt.Errorf("--socks-user %s: set the password in %s or --socks-password-file", o.user, socksPasswordEnv)
	}
	if o.user != "" {
		// RFC 1929 carries each in one length byte.
		if len(o.user) > 255 || password == "" || len(password) > 255 {
			return nil, errors.New("--socks-user: the user name and password must be 1 to 255 bytes")
		}
		sl.creds = socks.UserPassword(o.user, password)
	}

	ln, err := socks.Listen(ctx, o.addr)
	if err != nil {
		return nil, fmt.Errorf("--socks: %w", err)
	}
	local := socks.LocalOnly(ln.Addr())
	switch {
	case sl.creds != nil:
		sl.mode = socksModeAuth
	case local && socks.UnixPath(o.addr) != "":
		sl.mode = socksModeUnix
	case local:
		sl.mode = socksModeLoopback
	case o.open:
		sl.mode = socksModeOpen
	default:
		_ = ln.Close()
		return nil, fmt.Errorf("--socks %s listens beyond this host (%s) without authentication: "+
			"anyone who reaches it would use the link and its data plan. Set --socks-user (password in %s "+
			"or --socks-password-file), listen on 127.0.0.1, or add --socks-open if that is really meant",
			o.addr, ln.Addr(), socksPasswordEnv)
	}
	sl.ln = ln
	return sl, nil
}

// readPasswordFile returns the first line of path, which must be readable by its owner only.
func readPasswordFile(path string) (string, error) {
	password, err := config.ReadSecretFile(path)
	if err != nil {
		return "", fmt.Errorf("--socks-password-file: %w", err)
	}
	return password, nil
}

// socksRoute is how the SOCKS server reaches destinations: over one link (dial) or over the
// member a group's router picks per connection (up).
type socksRoute struct {
	dial    func(ctx context.Context, network, address string) (net.Conn, error)
	resolve func(ctx context.Context, host string) (netip.Addr, error) // nil: names go to dial
}

// sessionDialer routes every connection over the session's interface; host names resolve
// through the link's DNS servers, over the link.
func sessionDialer(sess *pppdial.Session, reg *netif.Registry) socksRoute {
	ifname := sess.Netif().Name()
	dialer := &bind.Dialer{Interface: ifname, Registry: reg}
	resolver := &bind.Resolver{Interface: ifname, Registry: reg}
	return socksRoute{dial: dialer.DialContext, resolve: func(ctx context.Context, host string) (netip.Addr, error) {
		// "ip": A, and AAAA too once the link has a global IPv6 address (IPv4 first).
		addrs, err := resolver.LookupNetIP(ctx, "ip", host)
		if err != nil {
			return netip.Addr{}, err
		}
		if len(addrs) == 0 {
			return netip.Addr{}, fmt.Errorf("socks: %s: no address", host)
		}
		return addrs[0], nil
	}}
}

// routerDialer routes each connection over the interface the router picks for it (a group's
// active member); a name is resolved through the DNS servers of the interface picked, over it
// (bind.Router.DialContext), so it is never asked of one link and used over another.
func routerDialer(r *bind.Router) socksRoute {
	return socksRoute{dial: r.DialContext}
}

// start serves SOCKS5 on the listener, reaching destinations as route says.
func (sl *socksListener) start(o *socksOptions, route socksRoute, log *slog.Logger) (*socks.Server, error) {
	srv, err := socks.New(socks.Config{
		Dial:        route.dial,
		Resolve:     route.resolve,
		Credentials: sl.creds,
		Limits: socks.Limits{MaxConns: o.maxConns, MaxAssociations: o.maxUDP,
			HandshakeTimeout: o.handshakeTimeout, UDPIdleTimeout: o.udpIdle},
		Logger: log,
	})
	if err != nil {
		return nil, err
	}
	go func() { _ = srv.Serve(context.Background(), sl.ln) }()
	return srv, nil
}

// describe is the start-up line's note on the server's exposure.
func (sl *socksListener) describe() string {
	switch sl.mode {
	case socksModeAuth:
		return "auth: username/password required, user " + sl.user
	case socksModeOpen:
		return "open: NO authentication, reachable from the network (--socks-open)"
	case socksModeUnix:
		return "unix-socket: no authentication, owner and group may connect"
	}
	return "loopback-only: no authentication, this host only"
}

// stopSOCKS closes the SOCKS server and its connections within a second.
func stopSOCKS(srv *socks.Server) {
	if srv == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = srv.Close(ctx)
}
