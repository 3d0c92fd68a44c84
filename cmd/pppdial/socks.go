package main

import (
	"context"
	"fmt"
	"net"

	"github.com/things-go/go-socks5"

	"github.com/pppdial/pppdial"
	"github.com/pppdial/pppdial/bind"
	"github.com/pppdial/pppdial/netif"
)

// serveSOCKS serves SOCKS5 (CONNECT and UDP ASSOCIATE) on addr; every connection leaves over
// the session's interface and host names resolve through the link's DNS servers, over the link.
func serveSOCKS(addr string, sess *pppdial.Session, reg *netif.Registry) (net.Listener, error) {
	ifname := sess.Netif().Name()
	dialer := &bind.Dialer{Interface: ifname, Registry: reg}
	resolver := &bind.Resolver{Interface: ifname, Registry: reg}
	srv := socks5.NewServer(
		socks5.WithDial(dialer.DialContext),
		socks5.WithResolver(linkResolver{resolver}),
		socks5.WithLogger(socksLogger{}),
	)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	go func() { _ = srv.Serve(ln) }()
	return ln, nil
}

// linkResolver resolves SOCKS requests' host names through the link's own DNS.
type linkResolver struct{ r *bind.Resolver }

func (l linkResolver) Resolve(ctx context.Context, name string) (context.Context, net.IP, error) {
	// "ip": A, and AAAA too once the link has a global IPv6 address (IPv4 first).
	addrs, err := l.r.LookupNetIP(ctx, "ip", name)
	if err != nil {
		return ctx, nil, err
	}
	if len(addrs) == 0 {
		return ctx, nil, fmt.Errorf("socks: %s: no address", name)
	}
	return ctx, net.IP(addrs[0].AsSlice()), nil
}

// socksLogger discards the SOCKS library's log: it reports routine events (every UDP
// association, every client that goes away) as errors, which would drown the link's own lines.
type socksLogger struct{}

// Errorf discards the message.
func (socksLogger) Errorf(string, ...any) {}
