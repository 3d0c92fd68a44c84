package socks

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/things-go/go-socks5"
	"github.com/things-go/go-socks5/statute"
)

// Default limits, sized for a Raspberry Pi serving programs on the same host or a small LAN.
const (
	// DefaultMaxConns bounds concurrent client connections (control connections of UDP
	// associations included): each costs two descriptors and two 32 KiB copy buffers, so 64
	// stays under 5 MiB and far below a default 1024-descriptor limit.
	DefaultMaxConns = 64
	// DefaultMaxAssociations bounds concurrent UDP associations: each holds a relay socket,
	// up to DefaultMaxDestinations sockets on the link and a 64 KiB buffer per socket.
	DefaultMaxAssociations = 16
	// DefaultMaxDestinations bounds the destinations one association talks to at a time; the
	// least recently used is let go to make room for a new one.
	DefaultMaxDestinations = 16
	// DefaultHandshakeTimeout bounds a client's greeting, authentication and request: a local
	// program answers in milliseconds.
	DefaultHandshakeTimeout = 10 * time.Second
	// DefaultUDPIdleTimeout ends an association that relayed nothing for this long (DNS and
	// QUIC clients keep theirs busy; NAT mappings on a cellular network expire sooner).
	DefaultUDPIdleTimeout = 2 * time.Minute
	// DefaultDialTimeout bounds connecting to a destination over the link, name resolution
	// included.
	DefaultDialTimeout = 30 * time.Second
)

// ErrClosed is returned by Serve after Close.
var ErrClosed = errors.New("socks: server closed")

// Limits bound what clients can hold. A zero field takes its Default value.
type Limits struct {
	MaxConns         int           // concurrent client connections; excess closed at once
	MaxAssociations  int           // concurrent UDP associations; excess refused with a failure reply
	MaxDestinations  int           // destinations per association
	HandshakeTimeout time.Duration // greeting, authentication and request
	UDPIdleTimeout   time.Duration // an association with no datagram in either direction ends
	DialTimeout      time.Duration // connecting to (or resolving) a destination
}

func (l Limits) withDefaults() Limits {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	defd := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&l.MaxConns, DefaultMaxConns)
	def(&l.MaxAssociations, DefaultMaxAssociations)
	def(&l.MaxDestinations, DefaultMaxDestinations)
	defd(&l.HandshakeTimeout, DefaultHandshakeTimeout)
	defd(&l.UDPIdleTimeout, DefaultUDPIdleTimeout)
	defd(&l.DialTimeout, DefaultDialTimeout)
	return l
}

// CredentialStore checks RFC 1929 credentials. It has go-socks5's CredentialStore method, so
// any store written for that library fits; userAddr is the client's address.
type CredentialStore interface {
	Valid(user, password, userAddr string) bool
}

// Config configures a Server.
type Config struct {
	// Dial connects to a destination: network is "tcp" or "udp", address is host:port with
	// the host an IP address, or a name when Resolve is nil. Required.
	Dial func(ctx context.Context, network, address string) (net.Conn, error)
	// Resolve turns a host name from a request into an address. Nil passes names on to Dial
	// (bind.Dialer resolves them through the link's DNS); the host's resolver is never used.
	Resolve func(ctx context.Context, host string) (netip.Addr, error)
	// Credentials, if set, require RFC 1929 username/password authentication; clients that
	// offer only "no authentication" are refused.
	Credentials CredentialStore
	// Limits bound clients; zero fields take the defaults.
	Limits Limits
	// Logger receives debug lines (refusals, associations); nil discards. It never sees a
	// password.
	Logger *slog.Logger
}

// Server serves SOCKS5 on any number of listeners. Create it with New; it is safe for
// concurrent use.
type Server struct {
	cfg    Config
	lim    Limits
	log    *slog.Logger
	srv    *socks5.Server
	ctx    context.Context // ends at Close: cancels dials and ends associations
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu        sync.Mutex
	closed    bool
	listeners map[net.Listener]struct{}
	conns     map[*clientConn]struct{}
	assocs    int

	counters counters
}

// New returns a Server for cfg.
func New(cfg Config) (*Server, error) {
	if cfg.Dial == nil {
		return nil, errors.New("socks: Config.Dial is required")
	}
	s := &Server{
		cfg:       cfg,
		lim:       cfg.Limits.withDefaults(),
		log:       cfg.Logger,
		listeners: map[net.Listener]struct{}{},
		conns:     map[*clientConn]struct{}{},
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	opts := []socks5.Option{
		socks5.WithResolver(resolver{s}),
		socks5.WithRule(&socks5.PermitCommand{EnableConnect: true, EnableAssociate: true}),
		socks5.WithConnectHandle(s.connect),
		socks5.WithAssociateHandle(s.associate),
		socks5.WithLogger(libLogger{s.log}),
	}
	if cfg.Credentials != nil {
		opts = append(opts, socks5.WithCredential(cfg.Credentials))
	}
	s.srv = socks5.NewServer(opts...)
	return s, nil
}

// Serve accepts connections on ln until ctx ends, Close is called or ln fails, and closes ln.
// It returns nil when stopped by ctx, ErrClosed after Close, and otherwise ln's error.
// Connections it accepted live on until they end or Close.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		_ = ln.Close()
		return ErrClosed
	}
	s.listeners[ln] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.listeners, ln)
		s.mu.Unlock()
	}()
	stop := context.AfterFunc(ctx, func() { _ = ln.Close() })
	defer stop()
	defer ln.Close()

	var backoff time.Duration
	for {
		c, err := ln.Accept()
		if err != nil {
			switch {
			case s.isClosed():
				return ErrClosed
			case ctx.Err() != nil:
				return nil
			case errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) ||
				errors.Is(err, syscall.ENOBUFS) || errors.Is(err, syscall.ENOMEM):
				// Out of descriptors: wait for some to be freed rather than spin or give up.
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				s.log.Debug("socks: accept", "err", err, "retry", backoff)
				t := time.NewTimer(backoff)
				select {
				case <-t.C:
				case <-ctx.Done():
					t.Stop()
				}
				continue
			default:
				return fmt.Errorf("socks: accept: %w", err)
			}
		}
		backoff = 0
		cc, ok := s.admit(c)
		if !ok {
			continue
		}
		go s.serveConn(cc)
	}
}

// admit registers c, or refuses it at once when the server is full or closed: a SOCKS5
// client reads "no acceptable method" (or the close) instead of waiting in a queue.
func (s *Server) admit(c net.Conn) (*clientConn, bool) {
	s.mu.Lock()
	if s.closed || len(s.conns) >= s.lim.MaxConns {
		closed := s.closed
		s.mu.Unlock()
		if !closed {
			s.counters.refusedConns.Add(1)
			s.log.Debug("socks: connection refused: limit reached", "client", c.RemoteAddr(), "max", s.lim.MaxConns)
		}
		_ = c.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
		_, _ = c.Write([]byte{statute.VersionSocks5, statute.MethodNoAcceptable})
		_ = c.Close()
		return nil, false
	}
	cc := &clientConn{Conn: c}
	cc.ctx, cc.cancel = context.WithCancel(s.ctx)
	s.conns[cc] = struct{}{}
	s.wg.Add(1)
	s.mu.Unlock()
	return cc, true
}

func (s *Server) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// serveConn runs one client connection through go-socks5 and counts how it ended.
func (s *Server) serveConn(cc *clientConn) {
	defer s.wg.Done()
	defer func() {
		s.mu.Lock()
		delete(s.conns, cc)
		s.mu.Unlock()
	}()
	defer cc.Close()
	handshakeBy := time.Now().Add(s.lim.HandshakeTimeout)
	_ = cc.SetDeadline(handshakeBy)
	err := s.srv.ServeConn(cc)
	if err == nil {
		return
	}
	switch {
	case errors.Is(err, statute.ErrNoSupportedAuth) || errors.Is(err, statute.ErrUserAuthFailed):
		s.counters.refusedAuth.Add(1)
		s.log.Debug("socks: authentication refused", "client", cc.RemoteAddr())
	case !cc.handshakeDone.Load() && !time.Now().Before(handshakeBy):
		// go-socks5 formats read errors with %v: the timeout is known by the clock.
		s.counters.handshakeTimeouts.Add(1)
		s.log.Debug("socks: handshake timed out", "client", cc.RemoteAddr(), "timeout", s.lim.HandshakeTimeout)
	default:
		s.log.Debug("socks: connection ended", "client", cc.RemoteAddr(), "err", err)
	}
}

// Close stops every listener, closes every connection and association, and waits for their
// goroutines until ctx ends (then it returns ctx's error; they are on their way out).
func (s *Server) Close(ctx context.Context) error {
	s.mu.Lock()
	s.closed = true
	for ln := range s.listeners {
		_ = ln.Close()
	}
	for cc := range s.conns {
		_ = cc.Close()
	}
	s.mu.Unlock()
	s.cancel()
	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("socks: close: %w", ctx.Err())
	}
}

// clientConn is a client's connection as go-socks5 sees it: the handlers get it back as their
// writer, and with it the connection's context and state.
type clientConn struct {
	net.Conn
	ctx           context.Context // ends when the connection closes or the server does
	cancel        context.CancelFunc
	handshakeDone atomic.Bool
}

// Close closes the connection and cancels what it started.
func (c *clientConn) Close() error {
	c.cancel()
	return c.Conn.Close()
}

// CloseWrite half-closes the connection when the transport can (go-socks5's Proxy uses it to
// pass a destination's EOF on).
func (c *clientConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// established ends the handshake: its deadline no longer applies.
func (c *clientConn) established() {
	c.handshakeDone.Store(true)
	_ = c.SetDeadline(time.Time{})
}

// connOf returns the client connection behind a handler's writer.
func connOf(w io.Writer) (*clientConn, error) {
	cc, ok := w.(*clientConn)
	if !ok {
		return nil, fmt.Errorf("socks: handler called with %T, not a served connection", w)
	}
	return cc, nil
}

// connect serves CONNECT: dial the destination over the link, within the dial timeout and the
// connection's life, then copy both ways.
func (s *Server) connect(_ context.Context, w io.Writer, req *socks5.Request) error {
	cc, err := connOf(w)
	if err != nil {
		return err
	}
	cc.established()
	ctx, cancel := context.WithTimeout(cc.ctx, s.lim.DialTimeout)
	target, err := s.cfg.Dial(ctx, "tcp", req.DestAddr.String())
	cancel()
	if err != nil {
		s.counters.dialFailures.Add(1)
		if rerr := socks5.SendReply(w, replyFor(err), nil); rerr != nil {
			return fmt.Errorf("socks: reply: %w", rerr)
		}
		return fmt.Errorf("socks: connect %s: %w", req.DestAddr, err)
	}
	defer target.Close()
	stop := context.AfterFunc(cc.ctx, func() { _ = target.Close() })
	defer stop()
	if err := socks5.SendReply(w, statute.RepSuccess, target.LocalAddr()); err != nil {
		return fmt.Errorf("socks: reply: %w", err)
	}
	up := make(chan error, 1)
	go func() { up <- s.srv.Proxy(target, req.Reader) }()
	down := s.srv.Proxy(cc, target)
	if down != nil {
		// The destination failed: nothing more can reach the client; end the upload too.
		_ = cc.Close()
	}
	return errors.Join(down, <-up)
}

// replyFor maps a dial error to the RFC 1928 reply field.
func replyFor(err error) uint8 {
	var ne net.Error
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return statute.RepConnectionRefused
	case errors.Is(err, syscall.ENETUNREACH):
		return statute.RepNetworkUnreachable
	case errors.As(err, &ne) && ne.Timeout(), errors.Is(err, context.DeadlineExceeded):
		return statute.RepTTLExpired
	default:
		return statute.RepHostUnreachable
	}
}

// resolver adapts Config.Resolve to go-socks5. Without Resolve it leaves the name in the
// request (an empty IP), and Dial receives it.
type resolver struct{ s *Server }

// Resolve implements socks5.NameResolver.
func (r resolver) Resolve(ctx context.Context, name string) (context.Context, net.IP, error) {
	if r.s.cfg.Resolve == nil {
		return ctx, nil, nil
	}
	rctx, cancel := context.WithTimeout(r.s.ctx, r.s.lim.DialTimeout)
	defer cancel()
	a, err := r.s.cfg.Resolve(rctx, name)
	if err != nil {
		return ctx, nil, err
	}
	return ctx, net.IP(a.Unmap().AsSlice()), nil
}

// libLogger routes go-socks5's own messages (its default handlers are not used) to debug.
type libLogger struct{ l *slog.Logger }

// Errorf logs at debug level: the library reports routine events as errors.
func (l libLogger) Errorf(format string, args ...any) {
	l.l.Debug("socks: " + fmt.Sprintf(format, args...))
}
