package bind

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"sync"
	"syscall"

	"github.com/pppdial/pppdial/netif"
)

type ctxKey struct{}

// WithInterface returns a context that makes a Router (and Netdev sockets
// without SO_BINDTODEVICE) use ifname for everything dialled with it: the
// explicit choice, e.g. per HTTP request through a Router's DialContext.
func WithInterface(ctx context.Context, ifname string) context.Context {
	return context.WithValue(ctx, ctxKey{}, ifname)
}

// InterfaceFromContext returns the interface set by WithInterface.
func InterfaceFromContext(ctx context.Context) (string, bool) {
	s, ok := ctx.Value(ctxKey{}).(string)
	return s, ok && s != ""
}

// Route sends destinations inside Prefix through Interface.
type Route struct {
	Prefix    netip.Prefix
	Interface string
}

// Router picks the interface for each connection of a gateway:
//
//  1. the interface named in the context (WithInterface), whatever its
//     state (down -> ENETDOWN, unknown -> ENODEV);
//  2. the longest Route prefix containing the destination whose interface
//     is healthy;
//  3. the first healthy interface of the preference list (SetPreference:
//     "wlan0", "pp0" = prefer WLAN, fail over to cellular while it is down,
//     return as soon as it is back, since health is checked per dial);
//  4. the registry's default interface, if healthy.
//
// Otherwise the dial fails with ENETUNREACH. A Router is safe for
// concurrent use.
type Router struct {
	// Registry holds the interfaces; nil means netif.DefaultRegistry.
	Registry *netif.Registry
	// Healthy decides whether an interface may carry traffic; nil means
	// (*netif.Netif).IsUp (flags up and link up, from the kernel for host
	// interfaces). Plug a probe-based check in here.
	Healthy func(*netif.Netif) bool

	mu     sync.RWMutex
	routes []Route
	prefer []string
}

// NewRouter returns a Router over reg (nil: netif.DefaultRegistry).
func NewRouter(reg *netif.Registry) *Router { return &Router{Registry: reg} }

// AddRoute routes prefix through ifname (replacing a route for the same
// prefix).
func (r *Router) AddRoute(prefix netip.Prefix, ifname string) {
	prefix = prefix.Masked()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.routes = slices.DeleteFunc(r.routes, func(x Route) bool { return x.Prefix == prefix })
	r.routes = append(r.routes, Route{Prefix: prefix, Interface: ifname})
	// Longest prefix first, so the first healthy match wins.
	slices.SortStableFunc(r.routes, func(a, b Route) int { return b.Prefix.Bits() - a.Prefix.Bits() })
}

// RemoveRoute deletes the route for prefix.
func (r *Router) RemoveRoute(prefix netip.Prefix) {
	prefix = prefix.Masked()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.routes = slices.DeleteFunc(r.routes, func(x Route) bool { return x.Prefix == prefix })
}

// Routes returns the routes, longest prefix first.
func (r *Router) Routes() []Route {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return slices.Clone(r.routes)
}

// SetPreference sets the ordered list of interfaces to try for
// destinations no route covers.
func (r *Router) SetPreference(ifnames ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.prefer = slices.Clone(ifnames)
}

func (r *Router) registry() *netif.Registry {
	if r.Registry == nil {
		return netif.DefaultRegistry
	}
	return r.Registry
}

func (r *Router) healthy(n *netif.Netif) bool {
	if r.Healthy != nil {
		return r.Healthy(n)
	}
	return n.IsUp()
}

// ErrNoRoute is matched (with syscall.ENETUNREACH) by Pick's error when no
// interface is available.
var ErrNoRoute = errors.New("bind: no usable interface")

// Pick returns the interface for dst (dst may be the zero Addr when only
// the preference and the default apply, e.g. to resolve a name).
func (r *Router) Pick(ctx context.Context, dst netip.Addr) (*netif.Netif, error) {
	reg := r.registry()
	if name, ok := InterfaceFromContext(ctx); ok {
		return lookup(reg, name)
	}
	r.mu.RLock()
	routes, prefer := r.routes, r.prefer
	r.mu.RUnlock()
	try := func(name string) *netif.Netif {
		n, err := reg.Lookup(name)
		if err != nil || !r.healthy(n) {
			return nil
		}
		return n
	}
	if dst.IsValid() {
		dst = dst.Unmap()
		for _, rt := range routes {
			if rt.Prefix.Contains(dst) {
				if n := try(rt.Interface); n != nil {
					return n, nil
				}
			}
		}
	}
	for _, name := range prefer {
		if n := try(name); n != nil {
			return n, nil
		}
	}
	if d := reg.Default(); d != nil && r.healthy(d) {
		return d, nil
	}
	return nil, fmt.Errorf("%w for %v: %w", ErrNoRoute, dst, syscall.ENETUNREACH)
}

// DialContext dials address over the interface Pick chooses; names are
// resolved through the interface chosen without a destination. It fits
// http.Transport.DialContext.
func (r *Router) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	proto, fam, err := parseNetwork(network)
	if err != nil {
		return nil, opError("dial", network, nil, nil, err)
	}
	host, port, err := splitHostPort(ctx, proto, address)
	if err != nil {
		return nil, opError("dial", network, nil, nil, err)
	}
	var addrs []netip.Addr
	if ip, ok := parseIP(host); ok {
		addrs = []netip.Addr{ip}
	} else {
		n, err := r.Pick(ctx, netip.Addr{})
		if err != nil {
			return nil, opError("dial", network, nil, nil, err)
		}
		res := Resolver{Interface: n.Name(), Registry: r.registry()}
		if addrs, err = res.LookupNetIP(ctx, fam.ipNetwork(), host); err != nil {
			return nil, opError("dial", network, nil, nil, err)
		}
	}
	var first error
	for _, a := range addrs {
		if !fam.allows(a) {
			continue
		}
		n, err := r.Pick(ctx, a)
		if err == nil {
			d := Dialer{Interface: n.Name(), Registry: r.registry()}
			var c net.Conn
			if c, err = d.DialContext(ctx, network, netip.AddrPortFrom(a, port).String()); err == nil {
				return c, nil
			}
		}
		if first == nil {
			first = err
		}
		if ctx.Err() != nil {
			break
		}
	}
	if first == nil {
		first = &net.AddrError{Err: "no suitable address found", Addr: host}
	}
	return nil, opError("dial", network, nil, nil, first)
}
