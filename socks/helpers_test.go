package socks

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/pppdial/pppdial/internal/socksclient"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// loopbackDial stands for the link's dialer: destinations are on this host.
var loopbackDial = (&net.Dialer{}).DialContext

// logBuffer collects a Server's debug log.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// serve starts a Server for cfg (Dial defaults to loopbackDial) on ln, or on 127.0.0.1:0 when
// ln is nil, and returns it with its address. Cleanup closes it within a deadline and checks
// that Serve returned.
func serve(t *testing.T, cfg Config, ln net.Listener) (*Server, string, *logBuffer) {
	t.Helper()
	if cfg.Dial == nil {
		cfg.Dial = loopbackDial
	}
	logs := &logBuffer{}
	cfg.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	s, err := New(cfg)
	require.NoError(t, err)
	if ln == nil {
		ln, err = net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
	}
	served := make(chan error, 1)
	go func() { served <- s.Serve(context.Background(), ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		require.NoError(t, s.Close(ctx))
		select {
		case err := <-served:
			require.ErrorIs(t, err, ErrClosed)
		case <-ctx.Done():
			t.Fatal("Serve did not return after Close")
		}
	})
	return s, ln.Addr().String(), logs
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// tcpEcho serves a TCP echo on 127.0.0.1 and returns its address.
func tcpEcho(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				_, _ = io.Copy(c, c)
			}()
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		wg.Wait()
	})
	return ln.Addr().String()
}

// newUDPEcho serves a UDP echo on 127.0.0.1 until the test ends.
func newUDPEcho(t *testing.T) *socksclient.UDPEcho {
	t.Helper()
	e, err := socksclient.NewUDPEcho("127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = e.Close() })
	return e
}

// echoOnce writes msg on c and reads it back within a second.
func echoOnce(t *testing.T, c net.Conn, msg string) {
	t.Helper()
	require.NoError(t, c.SetDeadline(time.Now().Add(time.Second)))
	_, err := c.Write([]byte(msg))
	require.NoError(t, err)
	b := make([]byte, len(msg))
	_, err = io.ReadFull(c, b)
	require.NoError(t, err)
	require.Equal(t, msg, string(b))
}

// relayExchange sends payload to dst through the relay from c and returns the answer's
// source and payload, reading within a second.
func relayExchange(t *testing.T, c net.Conn, dst, payload string) (string, string) {
	t.Helper()
	d, err := socksclient.Datagram(dst, []byte(payload))
	require.NoError(t, err)
	_, err = c.Write(d)
	require.NoError(t, err)
	return readRelayed(t, c, time.Second)
}

func readRelayed(t *testing.T, c net.Conn, within time.Duration) (string, string) {
	t.Helper()
	require.NoError(t, c.SetReadDeadline(time.Now().Add(within)))
	b := make([]byte, 2048)
	n, err := c.Read(b)
	require.NoError(t, err)
	from, data, err := socksclient.ParseDatagram(b[:n])
	require.NoError(t, err)
	return from, string(data)
}

// portClosed reports whether a datagram to addr from a fresh socket on laddr draws an ICMP
// port unreachable (nothing bound there) within a second.
func portClosed(t *testing.T, laddr, addr string) bool {
	t.Helper()
	closed, err := socksclient.PortUnreachable(netip.MustParseAddrPort(laddr), netip.MustParseAddrPort(addr), time.Second)
	require.NoError(t, err)
	return closed
}

// closeServer closes s (the test's cleanup closes it again, which is fine) and returns once its
// handlers have returned.
func closeServer(t *testing.T, s *Server) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.NoError(t, s.Close(ctx))
}

// waitFor waits up to two seconds for cond: a server's counters trail what its client sees by
// a moment (the refusal is written, then counted).
func waitFor(t *testing.T, cond func() bool) bool {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(2 * time.Millisecond)
	}
	return true
}
