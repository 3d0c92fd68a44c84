package socks

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/things-go/go-socks5"
	"github.com/things-go/go-socks5/statute"
)

// maxDatagram is the largest UDP payload (IPv4: 65535 - 20 - 8).
const maxDatagram = 65507

var (
	// ErrNoClientAddress refuses UDP ASSOCIATE on a connection without an IP address (a unix
	// socket): there is no client address to hold the relay to.
	ErrNoClientAddress = errors.New("socks: UDP ASSOCIATE needs a TCP control connection")
	// ErrTooManyAssociations refuses UDP ASSOCIATE when Limits.MaxAssociations are open.
	ErrTooManyAssociations = errors.New("socks: too many UDP associations")
)

// associate serves UDP ASSOCIATE (RFC 1928 section 7) with a relay held to the client.
func (s *Server) associate(_ context.Context, w io.Writer, req *socks5.Request) error {
	cc, err := connOf(w)
	if err != nil {
		return err
	}
	local, lok := tcpAddrPort(cc.LocalAddr())
	remote, rok := tcpAddrPort(cc.RemoteAddr())
	if !lok || !rok {
		s.counters.refusedAssocs.Add(1)
		_ = socks5.SendReply(w, statute.RepCommandNotSupported, nil)
		return ErrNoClientAddress
	}
	if !s.acquireAssociation() {
		s.counters.refusedAssocs.Add(1)
		s.log.Debug("socks: UDP ASSOCIATE refused: limit reached", "client", remote, "max", s.lim.MaxAssociations)
		_ = socks5.SendReply(w, statute.RepServerFailure, nil)
		return ErrTooManyAssociations
	}
	defer s.releaseAssociation()
	cc.established()

	// The address the client reached us on is one it can send to, and binding it (never the
	// wildcard) keeps the relay off every other interface.
	pc, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(local.Addr(), 0)))
	if err != nil {
		_ = socks5.SendReply(w, statute.RepServerFailure, nil)
		return fmt.Errorf("socks: UDP relay: %w", err)
	}
	a := &association{
		s: s, cc: cc, pc: pc,
		client: remote.Addr(),
		dests:  map[string]*destination{},
		done:   make(chan struct{}),
	}
	// A client that names its port (RFC 1928: DST.PORT of the request) gets only that one.
	if p := req.DestAddr.Port; p > 0 && p <= 0xffff {
		a.port.Store(uint32(p))
	}
	if err := socks5.SendReply(w, statute.RepSuccess, pc.LocalAddr()); err != nil {
		_ = pc.Close()
		return fmt.Errorf("socks: reply: %w", err)
	}
	s.log.Debug("socks: UDP association", "client", remote, "relay", pc.LocalAddr())
	a.run(req.Reader)
	return nil
}

// tcpAddrPort returns a TCP address's address and port, unmapped (an IPv4 client of a
// dual-stack listener shows as ::ffff:a.b.c.d).
func tcpAddrPort(a net.Addr) (netip.AddrPort, bool) {
	t, ok := a.(*net.TCPAddr)
	if !ok {
		return netip.AddrPort{}, false
	}
	ap := t.AddrPort()
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), ap.Addr().IsValid()
}

func (s *Server) acquireAssociation() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.assocs >= s.lim.MaxAssociations {
		return false
	}
	s.assocs++
	return true
}

func (s *Server) releaseAssociation() {
	s.mu.Lock()
	s.assocs--
	s.mu.Unlock()
}

// association is one UDP ASSOCIATE: the relay socket facing the client and one connected
// socket over the link per destination. Only the relay loop touches dests.
type association struct {
	s      *Server
	cc     *clientConn
	pc     *net.UDPConn
	client netip.Addr    // the control connection's remote IP: the only source accepted
	port   atomic.Uint32 // the client's source port once known; 0 before
	last   atomic.Int64  // time of the last datagram either way (UnixNano)

	dests map[string]*destination
	wg    sync.WaitGroup // answer readers, the control watch, the idle watch
	done  chan struct{}
	once  sync.Once
}

// destination is a socket on the link connected to one destination: it receives only what
// that destination sends, so answers come only from where the client wrote to.
type destination struct {
	conn net.Conn
	used time.Time   // last write (relay loop only), for eviction
	dead atomic.Bool // its reader ended: replace it on the next datagram
}

// run relays until the control connection closes, the association idles out or the server
// closes, then releases everything it holds.
func (a *association) run(ctrl io.Reader) {
	a.touch()
	a.wg.Add(2)
	go func() {
		defer a.wg.Done()
		// RFC 1928: the association ends with its TCP connection, which carries nothing else.
		_, _ = io.Copy(io.Discard, ctrl)
		a.stop()
	}()
	go a.watchIdle()
	stop := context.AfterFunc(a.cc.ctx, a.stop)
	defer stop()

	buf := make([]byte, maxDatagram)
	for {
		n, src, err := a.pc.ReadFromUDPAddrPort(buf)
		if err != nil {
			break
		}
		a.fromClient(buf[:n], src)
	}
	a.stop()
	for _, d := range a.dests {
		_ = d.conn.Close()
	}
	a.wg.Wait()
	a.s.log.Debug("socks: UDP association ended", "client", a.client, "relay", a.pc.LocalAddr())
}

// stop ends the association: the relay socket and the control connection close.
func (a *association) stop() {
	a.once.Do(func() {
		close(a.done)
		_ = a.pc.Close()
		_ = a.cc.Close()
	})
}

func (a *association) touch() { a.last.Store(time.Now().UnixNano()) }

// watchIdle stops the association once no datagram has passed for UDPIdleTimeout.
func (a *association) watchIdle() {
	defer a.wg.Done()
	idle := a.s.lim.UDPIdleTimeout
	t := time.NewTimer(idle)
	defer t.Stop()
	for {
		select {
		case <-a.done:
			return
		case <-t.C:
			if quiet := time.Since(time.Unix(0, a.last.Load())); quiet < idle {
				t.Reset(idle - quiet)
				continue
			}
			a.s.counters.idleAssocs.Add(1)
			a.s.log.Debug("socks: UDP association idle", "client", a.client, "timeout", idle)
			a.stop()
			return
		}
	}
}

// fromClient relays one datagram read on the relay socket from src, or counts why not.
func (a *association) fromClient(b []byte, src netip.AddrPort) {
	c := &a.s.counters
	if src.Addr().Unmap() != a.client {
		c.foreign.Add(1)
		return
	}
	if p := a.port.Load(); p != 0 && uint16(p) != src.Port() {
		c.foreign.Add(1)
		return
	}
	d, err := statute.ParseDatagram(b)
	if err != nil {
		c.malformed.Add(1)
		return
	}
	if d.Frag != 0 {
		c.fragmented.Add(1)
		return
	}
	// The first good datagram fixes the client's port for the association's life.
	a.port.CompareAndSwap(0, uint32(src.Port()))
	dest, err := a.destination(d.DstAddr)
	if err != nil {
		c.unreachable.Add(1)
		a.s.log.Debug("socks: UDP destination", "client", a.client, "err", err)
		return
	}
	dest.used = time.Now()
	if _, err := dest.conn.Write(d.Data); err != nil {
		c.unreachable.Add(1)
		dest.dead.Store(true)
		return
	}
	a.touch()
}

// destination returns the socket for spec, dialing it (and letting the least recently used
// one go when MaxDestinations are open) on first use.
func (a *association) destination(spec statute.AddrSpec) (*destination, error) {
	key := spec.String()
	if d, ok := a.dests[key]; ok {
		if !d.dead.Load() {
			return d, nil
		}
		a.drop(key, d)
	}
	if len(a.dests) >= a.s.lim.MaxDestinations {
		var oldKey string
		var old *destination
		for k, d := range a.dests {
			if old == nil || d.used.Before(old.used) {
				oldKey, old = k, d
			}
		}
		a.drop(oldKey, old)
	}
	if spec.Port <= 0 || spec.Port > 0xffff {
		return nil, fmt.Errorf("socks: destination %s: bad port", key)
	}
	ctx, cancel := context.WithTimeout(a.cc.ctx, a.s.lim.DialTimeout)
	defer cancel()
	addr := key
	if spec.FQDN != "" && a.s.cfg.Resolve != nil {
		ip, err := a.s.cfg.Resolve(ctx, spec.FQDN)
		if err != nil {
			return nil, fmt.Errorf("socks: resolve %s: %w", spec.FQDN, err)
		}
		addr = netip.AddrPortFrom(ip.Unmap(), uint16(spec.Port)).String()
	}
	conn, err := a.s.cfg.Dial(ctx, "udp", addr)
	if err != nil {
		return nil, err
	}
	d := &destination{conn: conn}
	a.dests[key] = d
	a.wg.Add(1)
	go a.answers(d)
	return d, nil
}

func (a *association) drop(key string, d *destination) {
	_ = d.conn.Close()
	delete(a.dests, key)
}

// answers carries what d's destination sends back to the client, behind a SOCKS UDP header
// naming the destination.
func (a *association) answers(d *destination) {
	defer a.wg.Done()
	defer d.dead.Store(true)
	var from statute.AddrSpec
	if ra, ok := d.conn.RemoteAddr().(*net.UDPAddr); ok {
		from.IP, from.Port = ra.IP, ra.Port
	}
	from.AddrType = statute.ATYPIPv6
	if ip4 := from.IP.To4(); ip4 != nil {
		from.AddrType, from.IP = statute.ATYPIPv4, ip4
	}
	if from.IP == nil {
		return
	}
	hdr := (&statute.Datagram{DstAddr: from}).Header()
	buf := make([]byte, len(hdr)+maxDatagram)
	copy(buf, hdr)
	for {
		n, err := d.conn.Read(buf[len(hdr):])
		if err != nil {
			return
		}
		to := netip.AddrPortFrom(a.client, uint16(a.port.Load()))
		if _, err := a.pc.WriteToUDPAddrPort(buf[:len(hdr)+n], to); err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		a.touch()
	}
}
