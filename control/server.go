package control

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"slices"
	"sync"
	"syscall"
	"time"
)

// Handlers are a link's callbacks into its session. Each gets a context that ends with the
// request's timeout or the server's shutdown, and must return when it ends.
type Handlers struct {
	// Status returns the link's status. Required.
	Status func(ctx context.Context) Status
	// Redial drops the link and dials again now; nil: redial is not supported.
	Redial func(ctx context.Context) error
	// AT runs one AT command on the link's AT channel and returns its information lines (the
	// final result code not included); nil: the link has no AT channel while connected.
	AT func(ctx context.Context, cmd string) ([]string, error)
}

// Options bound a Server; zero fields take the defaults.
type Options struct {
	MaxClients     int           // connections served at once; more are answered busy (8)
	IdleTimeout    time.Duration // a connection with no request for this long is closed (30 s)
	RequestTimeout time.Duration // the Handlers' context per request (2 min: AT+COPS=? is slow)
	WriteTimeout   time.Duration // writing one response (10 s)
	// ShutdownTimeout bounds Serve's wait, once its context ended, for requests still running (5 s).
	ShutdownTimeout time.Duration
	Logger          *slog.Logger // nil: discard
	// Now is the clock Status.Uptime is computed with; nil: time.Now. Deadlines use time.Now.
	Now func() time.Time
}

// Server answers control requests for its links. Links may be added and removed while it serves.
type Server struct {
	opts Options

	mu    sync.Mutex
	names []string // registration order: the first answers requests without an ifname
	links map[string]Handlers
}

// ErrShutdownTimeout is returned by Serve when requests were still running ShutdownTimeout
// after its context ended (a Handler that ignores its context).
var ErrShutdownTimeout = errors.New("control: requests still running at shutdown")

// NewServer returns a Server without links.
func NewServer(opts Options) *Server {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	if opts.MaxClients <= 0 {
		opts.MaxClients = 8
	}
	def(&opts.IdleTimeout, 30*time.Second)
	def(&opts.RequestTimeout, 2*time.Minute)
	def(&opts.WriteTimeout, 10*time.Second)
	def(&opts.ShutdownTimeout, 5*time.Second)
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Server{opts: opts, links: map[string]Handlers{}}
}

// Add registers link ifname. It fails for an invalid name, a nil Status or a name already
// registered.
func (s *Server) Add(ifname string, h Handlers) error {
	if err := CheckIfname(ifname, false); err != nil {
		return fmt.Errorf("control: %w", err)
	}
	if h.Status == nil {
		return errors.New("control: Handlers.Status is required")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.links[ifname]; ok {
		return fmt.Errorf("control: link %s already registered", ifname)
	}
	s.links[ifname] = h
	s.names = append(s.names, ifname)
	return nil
}

// Remove unregisters link ifname; requests naming it then get ErrNoLink.
func (s *Server) Remove(ifname string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.links, ifname)
	s.names = slices.DeleteFunc(s.names, func(n string) bool { return n == ifname })
}

// link returns the Handlers of ifname, or of the first link when ifname is empty.
func (s *Server) link(ifname string) (string, Handlers, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ifname == "" {
		if len(s.names) == 0 {
			return "", Handlers{}, fmt.Errorf("%w: no link is running", ErrNoLink)
		}
		ifname = s.names[0]
	}
	h, ok := s.links[ifname]
	if !ok {
		return "", Handlers{}, fmt.Errorf("%w: %s", ErrNoLink, ifname)
	}
	return ifname, h, nil
}

// Serve accepts connections on ln until ctx ends, then closes ln and every connection, waits
// up to ShutdownTimeout for requests running, and returns nil (ErrShutdownTimeout if some
// were still running). It returns an error wrapping Accept's if ln fails first (running out of
// file descriptors is waited out instead). ln is closed when Serve returns.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	defer ln.Close()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		conns = map[net.Conn]struct{}{}
	)
	stop := context.AfterFunc(ctx, func() {
		ln.Close()
		mu.Lock()
		for c := range conns {
			c.Close()
		}
		mu.Unlock()
	})
	defer stop()

	var acceptErr error
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() == nil && (errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE)) {
				// Out of descriptors: wait for connections to end rather than stop serving.
				s.opts.Logger.Warn("control: accept", "err", err)
				select {
				case <-time.After(100 * time.Millisecond):
				case <-ctx.Done():
				}
				continue
			}
			if ctx.Err() == nil {
				acceptErr = fmt.Errorf("control: accept: %w", err)
				cancel()
			}
			break
		}
		mu.Lock()
		if ctx.Err() != nil {
			mu.Unlock()
			c.Close()
			break
		}
		if len(conns) >= s.opts.MaxClients {
			mu.Unlock()
			s.refuse(c)
			continue
		}
		conns[c] = struct{}{}
		mu.Unlock()
		wg.Go(func() {
			defer func() {
				mu.Lock()
				delete(conns, c)
				mu.Unlock()
				c.Close()
			}()
			s.serveConn(ctx, c)
		})
	}

	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	t := time.NewTimer(s.opts.ShutdownTimeout)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		return errors.Join(acceptErr, ErrShutdownTimeout)
	}
	return acceptErr
}

// refuse answers a connection over the limit with busy and closes it, without blocking the
// accept loop for longer than a short write.
func (s *Server) refuse(c net.Conn) {
	c.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
	s.write(c, failure(fmt.Errorf("%w: %d connections", ErrBusy, s.opts.MaxClients)))
	c.Close()
	s.opts.Logger.Warn("control: connection refused: too many clients", "limit", s.opts.MaxClients)
}

func (s *Server) serveConn(ctx context.Context, c net.Conn) {
	r := bufio.NewReaderSize(c, 1024)
	for ctx.Err() == nil {
		c.SetReadDeadline(time.Now().Add(s.opts.IdleTimeout))
		line, err := readLine(r, MaxRequestBytes)
		if errors.Is(err, ErrTooLarge) {
			c.SetWriteDeadline(time.Now().Add(s.opts.WriteTimeout))
			s.write(c, failure(err))
			return // the rest of the line cannot be told from the next request
		}
		if err != nil {
			return // EOF, idle deadline, or closed at shutdown
		}
		resp := s.handle(ctx, line)
		c.SetWriteDeadline(time.Now().Add(s.opts.WriteTimeout))
		if err := s.write(c, resp); err != nil {
			return
		}
	}
}

// readLine reads one line of at most max bytes (newline included) and returns it without the
// newline (and a CR before it). A longer line is ErrTooLarge; a last line without newline
// counts.
func readLine(r *bufio.Reader, max int) ([]byte, error) {
	var line []byte
	for {
		frag, err := r.ReadSlice('\n')
		line = append(line, frag...)
		if len(line) > max || len(line) == max && line[len(line)-1] != '\n' {
			return nil, fmt.Errorf("%w: over %d bytes", ErrTooLarge, max-1)
		}
		switch {
		case err == nil:
			line = line[:len(line)-1]
			return bytes.TrimSuffix(line, []byte{'\r'}), nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF) && len(line) > 0:
			return line, nil
		default:
			return nil, err
		}
	}
}

func (s *Server) write(c net.Conn, resp Response) error {
	b, err := json.Marshal(resp)
	if err != nil {
		b, _ = json.Marshal(failure(fmt.Errorf("%w: encode response: %v", ErrFailed, err)))
	}
	_, err = c.Write(append(b, '\n'))
	return err
}

// failure is the Response for err, coded by the sentinel it wraps.
func failure(err error) Response {
	code := CodeFailed
	for _, c := range codeErrs {
		if errors.Is(err, c.err) {
			code = c.code
			break
		}
	}
	return Response{Code: code, Error: err.Error()}
}

// handle answers one request line.
func (s *Server) handle(ctx context.Context, line []byte) Response {
	req, err := ParseRequest(line)
	if err != nil {
		s.opts.Logger.Debug("control: bad request", "err", err)
		return failure(err)
	}
	ctx, cancel := context.WithTimeout(ctx, s.opts.RequestTimeout)
	defer cancel()
	if req.Op == OpList {
		return Response{OK: true, Links: s.list(ctx)}
	}
	name, h, err := s.link(req.Ifname)
	if err != nil {
		return failure(err)
	}
	s.opts.Logger.Info("control: request", "op", req.Op, "ifname", name) // never the commands
	switch req.Op {
	case OpStatus:
		st := s.status(ctx, name, h)
		return Response{OK: true, Status: &st}
	case OpRedial:
		if h.Redial == nil {
			return failure(fmt.Errorf("%w: redial on %s", ErrUnsupported, name))
		}
		if err := h.Redial(ctx); err != nil {
			return failure(fmt.Errorf("%w: redial %s: %w", ErrFailed, name, err))
		}
		return Response{OK: true}
	default: // OpAT: ParseRequest admits no other
		return s.at(ctx, name, h, req.Cmds)
	}
}

func (s *Server) status(ctx context.Context, name string, h Handlers) Status {
	st := h.Status(ctx)
	st.Ifname = name
	st.Uptime = 0
	if !st.UpSince.IsZero() {
		st.Uptime = Duration(s.opts.Now().Sub(st.UpSince))
	}
	return st
}

func (s *Server) list(ctx context.Context) []Status {
	s.mu.Lock()
	names := slices.Clone(s.names)
	s.mu.Unlock()
	out := []Status{}
	for _, n := range names {
		if _, h, err := s.link(n); err == nil { // not removed meanwhile
			out = append(out, s.status(ctx, n, h))
		}
	}
	return out
}

func (s *Server) at(ctx context.Context, name string, h Handlers, cmds []string) Response {
	if h.AT == nil {
		return failure(fmt.Errorf("%w: %s has no AT channel", ErrUnsupported, name))
	}
	results := make([]ATResult, 0, len(cmds))
	for _, cmd := range cmds {
		lines, err := h.AT(ctx, cmd)
		if lines == nil {
			lines = []string{}
		}
		r := ATResult{Cmd: cmd, Lines: lines}
		if err != nil {
			r.Error = err.Error()
			resp := failure(fmt.Errorf("%w: %s: %w", ErrFailed, cmd, err))
			resp.AT = append(results, r)
			return resp
		}
		results = append(results, r)
	}
	return Response{OK: true, AT: results}
}
