package bind

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/dns/dnsmessage"

	"github.com/pppdial/pppdial/netif"
)

// Resolver resolves names through one interface's DNS servers, over that
// interface.
//
// It is a small DNS client rather than a net.Resolver{PreferGo: true,
// Dial: ...}: the Go resolver takes its server list, search domains, ndots,
// timeouts and /etc/hosts from the host's configuration, which belongs to
// the host's default interface. A per-link resolver must ask exactly the
// servers IPCP handed out, in order, with failover between them, and must
// not append the WLAN's search domains to names sent over cellular. What it
// does: A/AAAA queries over UDP, retried across the servers, TCP when the
// answer is truncated, CNAME chains inside one answer, errors as
// *net.DNSError like the net package's.
type Resolver struct {
	// Interface is the interface whose DNS servers are asked, over which
	// the queries travel.
	Interface string
	// Registry to look Interface up in; nil means netif.DefaultRegistry.
	Registry *netif.Registry
	// Servers, if set, replace the interface's DNS servers (port 53 if 0).
	Servers []netip.AddrPort
	// Timeout bounds one query to one server (default 3 s; a cellular
	// link has long first-packet latency).
	Timeout time.Duration
	// Attempts is how many rounds over the servers are made (default 2).
	Attempts int
}

// NewResolver returns a Resolver for ifname in netif.DefaultRegistry.
func NewResolver(ifname string) *Resolver { return &Resolver{Interface: ifname} }

// ErrNoServers is the DNSError text when an interface has no DNS servers.
const errNoServers = "no DNS servers on interface"

// LookupHost returns the addresses of host as strings.
func (r *Resolver) LookupHost(ctx context.Context, host string) ([]string, error) {
	addrs, err := r.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(addrs))
	for i, a := range addrs {
		out[i] = a.String()
	}
	return out, nil
}

// LookupNetIP returns the addresses of host: network "ip4" asks for A
// records, "ip6" for AAAA, "ip" for A and, when the interface has a global
// IPv6 address, AAAA too (IPv4 first). An IP literal is returned as is.
func (r *Resolver) LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error) {
	if ip, ok := parseIP(host); ok {
		return []netip.Addr{ip}, nil
	}
	var types []dnsmessage.Type
	switch network {
	case "ip4":
		types = []dnsmessage.Type{dnsmessage.TypeA}
	case "ip6":
		types = []dnsmessage.Type{dnsmessage.TypeAAAA}
	case "ip":
		types = []dnsmessage.Type{dnsmessage.TypeA}
	default:
		return nil, net.UnknownNetworkError(network)
	}
	n, err := lookup(r.Registry, r.Interface)
	if err != nil {
		return nil, &net.DNSError{Err: err.Error(), Name: host, UnwrapErr: err}
	}
	if network == "ip" && (n.Kind() == netif.KindHost || hasGlobalV6(n)) {
		types = append(types, dnsmessage.TypeAAAA)
	}
	servers := r.servers(n)
	if len(servers) == 0 {
		return nil, &net.DNSError{Err: errNoServers + " " + n.Name(), Name: host}
	}
	name := host
	if !strings.HasSuffix(name, ".") {
		name += "."
	}
	qname, err := dnsmessage.NewName(name)
	if err != nil {
		return nil, &net.DNSError{Err: "invalid name", Name: host, IsNotFound: true}
	}

	results := make([][]netip.Addr, len(types))
	errs := make([]error, len(types))
	var wg sync.WaitGroup
	for i, t := range types {
		wg.Go(func() { results[i], errs[i] = r.query(ctx, servers, host, qname, t) })
	}
	wg.Wait()
	var out []netip.Addr
	for _, res := range results {
		out = append(out, res...)
	}
	if len(out) > 0 {
		return out, nil
	}
	for _, e := range errs {
		if e != nil {
			return nil, e
		}
	}
	return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
}

// servers returns the configured servers or the interface's ones; host
// interfaces without any fall back to the host's /etc/resolv.conf (a
// loopback stub such as 127.0.0.53 cannot be reached through a socket
// bound to wlan0: give such interfaces their DNS servers in AddHost).
func (r *Resolver) servers(n *netif.Netif) []netip.AddrPort {
	if len(r.Servers) > 0 {
		out := make([]netip.AddrPort, len(r.Servers))
		for i, s := range r.Servers {
			if s.Port() == 0 {
				s = netip.AddrPortFrom(s.Addr(), 53)
			}
			out[i] = s
		}
		return out
	}
	dns := n.DNS()
	if len(dns) == 0 && n.Kind() == netif.KindHost {
		dns = resolvConfServers("/etc/resolv.conf")
	}
	out := make([]netip.AddrPort, len(dns))
	for i, a := range dns {
		out[i] = netip.AddrPortFrom(a, 53)
	}
	return out
}

// resolvConfServers reads the nameserver lines of a resolv.conf file.
func resolvConfServers(path string) []netip.Addr {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []netip.Addr
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) >= 2 && fs[0] == "nameserver" {
			if a, ok := parseIP(fs[1]); ok {
				out = append(out, a)
			}
		}
	}
	return out
}

// query asks the servers in turn, Attempts rounds, until one answers.
// NXDOMAIN and empty answers are final; timeouts and failures move on.
func (r *Resolver) query(ctx context.Context, servers []netip.AddrPort, host string, qname dnsmessage.Name, qtype dnsmessage.Type) ([]netip.Addr, error) {
	attempts := r.Attempts
	if attempts <= 0 {
		attempts = 2
	}
	timeout := r.Timeout
	if timeout <= 0 {
		timeout = 3 * time.Second
	}
	var last error
	for range attempts {
		for _, srv := range servers {
			if err := ctx.Err(); err != nil {
				return nil, &net.DNSError{Err: err.Error(), Name: host, Server: srv.String(),
					IsTimeout: errors.Is(err, context.DeadlineExceeded), UnwrapErr: err}
			}
			addrs, err := r.exchange(ctx, srv, timeout, host, qname, qtype)
			if err == nil {
				return addrs, nil
			}
			var de *net.DNSError
			if errors.As(err, &de) && de.IsNotFound {
				return nil, err
			}
			last = err
		}
	}
	return nil, last
}

// exchange sends one query to srv over the interface, by UDP and, if the
// answer is truncated, again by TCP.
func (r *Resolver) exchange(ctx context.Context, srv netip.AddrPort, timeout time.Duration, host string, qname dnsmessage.Name, qtype dnsmessage.Type) ([]netip.Addr, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	q := dnsmessage.Question{Name: qname, Type: qtype, Class: dnsmessage.ClassINET}
	d := Dialer{Interface: r.Interface, Registry: r.Registry, Resolver: r}
	for _, network := range []string{"udp", "tcp"} {
		id := newID()
		msg, err := buildQuery(id, q)
		if err != nil {
			return nil, &net.DNSError{Err: err.Error(), Name: host, Server: srv.String()}
		}
		resp, err := roundTrip(ctx, &d, network, srv, msg)
		if err != nil {
			return nil, &net.DNSError{Err: err.Error(), Name: host, Server: srv.String(),
				IsTimeout: isTimeout(err), IsTemporary: true, UnwrapErr: err}
		}
		addrs, truncated, err := parseResponse(resp, id, q)
		if truncated && network == "udp" {
			continue
		}
		if err != nil {
			var de *net.DNSError
			if errors.As(err, &de) {
				de.Name, de.Server = host, srv.String()
			}
			return nil, err
		}
		return addrs, nil
	}
	return nil, &net.DNSError{Err: "truncated answer over TCP", Name: host, Server: srv.String()}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}

func newID() uint16 {
	var b [2]byte
	_, _ = rand.Read(b[:])
	return binary.BigEndian.Uint16(b[:])
}

func buildQuery(id uint16, q dnsmessage.Question) ([]byte, error) {
	b := dnsmessage.NewBuilder(make([]byte, 0, 512), dnsmessage.Header{ID: id, RecursionDesired: true})
	b.EnableCompression()
	if err := b.StartQuestions(); err != nil {
		return nil, err
	}
	if err := b.Question(q); err != nil {
		return nil, err
	}
	return b.Finish()
}

// roundTrip sends msg to srv and returns the answer. UDP answers with the
// wrong ID are skipped (a late answer to an earlier query), TCP uses the
// two-byte length prefix (RFC 1035 4.2.2).
func roundTrip(ctx context.Context, d *Dialer, network string, srv netip.AddrPort, msg []byte) ([]byte, error) {
	c, err := d.DialContext(ctx, network, srv.String())
	if err != nil {
		return nil, err
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = c.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { _ = c.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if network == "udp" {
		if _, err := c.Write(msg); err != nil {
			return nil, err
		}
		buf := make([]byte, 1232)
		for {
			k, err := c.Read(buf)
			if err != nil {
				return nil, err
			}
			if k >= 2 && binary.BigEndian.Uint16(buf) == binary.BigEndian.Uint16(msg) {
				return buf[:k], nil
			}
		}
	}
	out := make([]byte, 2+len(msg))
	binary.BigEndian.PutUint16(out, uint16(len(msg)))
	copy(out[2:], msg)
	if _, err := c.Write(out); err != nil {
		return nil, err
	}
	var lb [2]byte
	if _, err := io.ReadFull(c, lb[:]); err != nil {
		return nil, err
	}
	resp := make([]byte, binary.BigEndian.Uint16(lb[:]))
	if _, err := io.ReadFull(c, resp); err != nil {
		return nil, err
	}
	return resp, nil
}

// parseResponse checks an answer against the query (ID, question) and
// extracts the addresses of q.Name, following CNAMEs within the answer. It
// parses bytes from the network: it must never panic.
func parseResponse(resp []byte, id uint16, q dnsmessage.Question) (addrs []netip.Addr, truncated bool, err error) {
	var p dnsmessage.Parser
	h, err := p.Start(resp)
	if err != nil {
		return nil, false, &net.DNSError{Err: "cannot parse answer: " + err.Error()}
	}
	if h.ID != id || !h.Response {
		return nil, false, &net.DNSError{Err: "answer does not match the query"}
	}
	if h.Truncated {
		return nil, true, nil
	}
	qs, err := p.AllQuestions()
	if err != nil || len(qs) != 1 || qs[0].Type != q.Type || !strings.EqualFold(qs[0].Name.String(), q.Name.String()) {
		return nil, false, &net.DNSError{Err: "answer is for another question"}
	}
	switch h.RCode {
	case dnsmessage.RCodeSuccess:
	case dnsmessage.RCodeNameError:
		return nil, false, &net.DNSError{Err: "no such host", IsNotFound: true}
	default:
		return nil, false, &net.DNSError{Err: "server misbehaving: " + h.RCode.String(), IsTemporary: true}
	}
	answers, err := p.AllAnswers()
	if err != nil {
		return nil, false, &net.DNSError{Err: "cannot parse answer: " + err.Error()}
	}
	// Names that stand for q.Name: itself and the CNAME chain from it.
	names := map[string]bool{strings.ToLower(q.Name.String()): true}
	for changed := true; changed; {
		changed = false
		for _, a := range answers {
			cn, ok := a.Body.(*dnsmessage.CNAMEResource)
			if !ok || !names[strings.ToLower(a.Header.Name.String())] {
				continue
			}
			if t := strings.ToLower(cn.CNAME.String()); !names[t] {
				names[t] = true
				changed = true
			}
		}
	}
	for _, a := range answers {
		if !names[strings.ToLower(a.Header.Name.String())] {
			continue
		}
		switch b := a.Body.(type) {
		case *dnsmessage.AResource:
			if q.Type == dnsmessage.TypeA {
				addrs = append(addrs, netip.AddrFrom4(b.A))
			}
		case *dnsmessage.AAAAResource:
			if q.Type == dnsmessage.TypeAAAA {
				addrs = append(addrs, netip.AddrFrom16(b.AAAA))
			}
		}
	}
	if len(addrs) == 0 {
		return nil, false, &net.DNSError{Err: "no such host", IsNotFound: true}
	}
	return addrs, false, nil
}
