package socks

import (
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/pppdial/pppdial/internal/socksclient"
)

func TestConnectRelays(t *testing.T) {
	_, proxy, _ := serve(t, Config{}, nil)
	c, err := socksclient.Connect(testCtx(t), "tcp", proxy, socksclient.Auth{}, tcpEcho(t))
	require.NoError(t, err)
	defer c.Close()
	echoOnce(t, c, "hello over the link")
}

func TestConnectResolvesThroughResolve(t *testing.T) {
	echo := netip.MustParseAddrPort(tcpEcho(t))
	var asked string
	_, proxy, _ := serve(t, Config{Resolve: func(_ context.Context, host string) (netip.Addr, error) {
		asked = host
		return echo.Addr(), nil
	}}, nil)
	c, err := socksclient.Connect(testCtx(t), "tcp", proxy, socksclient.Auth{},
		net.JoinHostPort("echo.test", itoa(echo.Port())))
	require.NoError(t, err)
	defer c.Close()
	echoOnce(t, c, "by name")
	assert.Equal(t, "echo.test", asked)
}

func TestConnectRefusedDestination(t *testing.T) {
	// A port nothing listens on: the dial's ECONNREFUSED becomes reply 5.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	s, proxy, _ := serve(t, Config{}, nil)
	_, err = socksclient.Connect(testCtx(t), "tcp", proxy, socksclient.Auth{}, addr)
	var refused *socksclient.RefusedError
	require.ErrorAs(t, err, &refused)
	assert.Equal(t, "request", refused.Stage)
	assert.Equal(t, byte(5), refused.Code, "connection refused")
	assert.Equal(t, uint64(1), s.Stats().DialFailures)
}

func TestAuthentication(t *testing.T) {
	const password = "s3cret-Pa55word"
	s, proxy, logs := serve(t, Config{Credentials: UserPassword("alice", password)}, nil)
	echo := tcpEcho(t)
	udp := newUDPEcho(t)
	ctx := testCtx(t)
	var refused *socksclient.RefusedError

	for _, cmd := range []string{"connect", "associate"} {
		t.Run(cmd, func(t *testing.T) {
			do := func(auth socksclient.Auth) (*socksclient.Conn, error) {
				if cmd == "connect" {
					return socksclient.Connect(ctx, "tcp", proxy, auth, echo)
				}
				return socksclient.Associate(ctx, "tcp", proxy, auth, "0.0.0.0:0")
			}
			_, err := do(socksclient.Auth{})
			require.ErrorAs(t, err, &refused, "a client offering no authentication")
			assert.Equal(t, "method", refused.Stage)
			assert.Equal(t, byte(0xff), refused.Code, "RFC 1928: no acceptable methods")

			_, err = do(socksclient.Auth{User: "alice", Password: "wrong"})
			require.ErrorAs(t, err, &refused, "a wrong password")
			assert.Equal(t, "auth", refused.Stage)
			assert.Equal(t, byte(1), refused.Code, "RFC 1929: failure status")

			_, err = do(socksclient.Auth{User: "bob", Password: password})
			require.ErrorAs(t, err, &refused, "a wrong user")

			c, err := do(socksclient.Auth{User: "alice", Password: password})
			require.NoError(t, err)
			defer c.Close()
			if cmd == "connect" {
				echoOnce(t, c, "authenticated")
				return
			}
			u, err := net.Dial("udp", c.Bound.String())
			require.NoError(t, err)
			defer u.Close()
			_, got := relayExchange(t, u, udp.Addr().String(), "authenticated datagram")
			assert.Equal(t, "authenticated datagram", got)
		})
	}
	closeServer(t, s) // its handlers have returned: the counters are final
	assert.Equal(t, uint64(6), s.Stats().RefusedAuth)
	assert.NotContains(t, logs.String(), password)
	assert.Contains(t, logs.String(), "authentication refused", "refusals are logged (without the password)")
}

func TestUserPasswordCompares(t *testing.T) {
	p := UserPassword("u", "pw")
	assert.True(t, p.Valid("u", "pw", ""))
	assert.False(t, p.Valid("u", "pw2", ""))
	assert.False(t, p.Valid("u", "p", ""))
	assert.False(t, p.Valid("", "pw", ""))
	assert.False(t, p.Valid("u2", "pw", ""))
}

// TestConnLimit: past MaxConns a client is refused at once, and the admitted ones go on.
func TestConnLimit(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) }) // registered first: runs after the server closed
	s, proxy, _ := serve(t, Config{Limits: Limits{MaxConns: 2}}, nil)
	echo := tcpEcho(t)
	udp := newUDPEcho(t)
	ctx := testCtx(t)
	tcp, err := socksclient.Connect(ctx, "tcp", proxy, socksclient.Auth{}, echo)
	require.NoError(t, err)
	defer tcp.Close()
	assoc, err := socksclient.Associate(ctx, "tcp", proxy, socksclient.Auth{}, "0.0.0.0:0")
	require.NoError(t, err)
	defer assoc.Close()

	for range 3 {
		requireRefusedAtOnce(t, proxy)
	}
	assert.Equal(t, uint64(3), s.Stats().RefusedConns)

	echoOnce(t, tcp, "still here")
	u, err := net.Dial("udp", assoc.Bound.String())
	require.NoError(t, err)
	defer u.Close()
	_, got := relayExchange(t, u, udp.Addr().String(), "still relayed")
	assert.Equal(t, "still relayed", got)

	// A freed slot takes a new client.
	require.NoError(t, tcp.Close())
	waitFor(t, func() bool { return s.Stats().Conns == 1 })
	c, err := socksclient.Connect(ctx, "tcp", proxy, socksclient.Auth{}, echo)
	require.NoError(t, err)
	defer c.Close()
	echoOnce(t, c, "admitted after a slot freed")
}

// requireRefusedAtOnce opens a connection to proxy and requires a refusal — "no acceptable
// methods" or the connection closed — within 100 ms.
func requireRefusedAtOnce(t *testing.T, proxy string) {
	t.Helper()
	c, err := net.DialTimeout("tcp", proxy, time.Second)
	require.NoError(t, err)
	defer c.Close()
	start := time.Now()
	require.NoError(t, c.SetDeadline(start.Add(100*time.Millisecond)))
	_, _ = c.Write([]byte{5, 1, 0}) // may meet the close already
	b := make([]byte, 2)
	n, err := io.ReadFull(c, b)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("no refusal within 100 ms (read %d bytes)", n)
	}
	if err == nil {
		assert.Equal(t, []byte{5, 0xff}, b, "refused: no acceptable methods")
		_, err = c.Read(b)
		assert.Error(t, err, "then closed")
		assert.False(t, errors.As(err, &ne) && ne.Timeout(), "closed, not left open: %v", err)
	}
	t.Logf("refused in %v (%v)", time.Since(start).Round(time.Microsecond), err)
}

func TestAssociationLimit(t *testing.T) {
	s, proxy, _ := serve(t, Config{Limits: Limits{MaxAssociations: 1}}, nil)
	ctx := testCtx(t)
	first, err := socksclient.Associate(ctx, "tcp", proxy, socksclient.Auth{}, "0.0.0.0:0")
	require.NoError(t, err)
	defer first.Close()
	start := time.Now()
	_, err = socksclient.Associate(ctx, "tcp", proxy, socksclient.Auth{}, "0.0.0.0:0")
	var refused *socksclient.RefusedError
	require.ErrorAs(t, err, &refused)
	assert.Equal(t, byte(1), refused.Code, "general SOCKS server failure")
	assert.Less(t, time.Since(start), time.Second)
	assert.Equal(t, uint64(1), s.Stats().RefusedAssociations)
	assert.Equal(t, 1, s.Stats().Associations)
}

func TestHandshakeTimeout(t *testing.T) {
	s, proxy, _ := serve(t, Config{Limits: Limits{HandshakeTimeout: 100 * time.Millisecond}}, nil)
	c, err := net.Dial("tcp", proxy)
	require.NoError(t, err)
	defer c.Close()
	_, err = c.Write([]byte{5, 1, 0}) // greeting, then silence
	require.NoError(t, err)
	require.NoError(t, c.SetReadDeadline(time.Now().Add(5*time.Second)))
	b := make([]byte, 2)
	_, err = io.ReadFull(c, b)
	require.NoError(t, err)
	assert.Equal(t, []byte{5, 0}, b)
	_, err = c.Read(b)
	var ne net.Error
	require.False(t, errors.As(err, &ne) && ne.Timeout(), "the server closed the silent client: %v", err)
	assert.Error(t, err)
	closeServer(t, s) // its handlers have returned: the counters are final
	assert.Equal(t, uint64(1), s.Stats().HandshakeTimeouts)
}

func TestUnixSocket(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "socks.sock")
	ln, err := Listen(context.Background(), "unix:"+path)
	require.NoError(t, err)
	fi, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(UnixSocketMode), fi.Mode().Perm())
	assert.True(t, LocalOnly(ln.Addr()))
	assert.Equal(t, path, ln.Addr().String())

	s, _, _ := serve(t, Config{}, ln)
	ctx := testCtx(t)
	c, err := socksclient.Connect(ctx, "unix", path, socksclient.Auth{}, tcpEcho(t))
	require.NoError(t, err)
	defer c.Close()
	echoOnce(t, c, "over a unix socket")

	_, err = socksclient.Associate(ctx, "unix", path, socksclient.Auth{}, "0.0.0.0:0")
	var refused *socksclient.RefusedError
	require.ErrorAs(t, err, &refused)
	assert.Equal(t, byte(7), refused.Code, "command not supported")
	assert.Equal(t, uint64(1), s.Stats().RefusedAssociations)

	// A live socket is not taken over.
	_, err = Listen(ctx, path)
	assert.ErrorIs(t, err, syscall.EADDRINUSE)
}

func TestUnixSocketStale(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "socks.sock")
	// A socket left behind by a killed server: bound, nobody listening.
	stale, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	require.NoError(t, err)
	stale.SetUnlinkOnClose(false)
	require.NoError(t, stale.Close())
	_, err = os.Lstat(path)
	require.NoError(t, err, "the stale socket file stays")

	ln, err := Listen(context.Background(), path)
	require.NoError(t, err, "a stale socket is replaced")
	require.NoError(t, ln.Close())
	_, err = os.Lstat(path)
	assert.ErrorIs(t, err, os.ErrNotExist, "Close removes the socket file")

	// Anything else at the path is not removed.
	require.NoError(t, os.WriteFile(path, []byte("data"), 0o600))
	_, err = Listen(context.Background(), path)
	assert.ErrorContains(t, err, "not a socket")
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, "data", string(b))
}

func TestLocalOnly(t *testing.T) {
	for addr, want := range map[string]bool{
		"127.0.0.1:0": true, "[::1]:0": true, "0.0.0.0:0": false, "[::]:0": false, ":0": false,
	} {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			t.Logf("%s: %v (skipped)", addr, err)
			continue
		}
		assert.Equal(t, want, LocalOnly(ln.Addr()), addr)
		_ = ln.Close()
	}
	assert.Equal(t, "/run/x.sock", UnixPath("unix:/run/x.sock"))
	assert.Equal(t, "/run/x.sock", UnixPath("/run/x.sock"))
	assert.Equal(t, "", UnixPath("127.0.0.1:1080"))
}

func TestServeAfterCloseAndCtx(t *testing.T) {
	s, err := New(Config{Dial: loopbackDial})
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	cancel()
	select {
	case err := <-done:
		assert.NoError(t, err, "stopped by its context")
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return after its context ended")
	}
	require.NoError(t, s.Close(context.Background()))
	ln2, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	assert.ErrorIs(t, s.Serve(context.Background(), ln2), ErrClosed)
	_, err = New(Config{})
	assert.Error(t, err, "Dial is required")
}

func itoa(p uint16) string { return strconv.Itoa(int(p)) }
