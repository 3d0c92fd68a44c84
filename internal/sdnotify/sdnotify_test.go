package sdnotify

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// listen makes a datagram socket standing in for systemd's and points
// NOTIFY_SOCKET at it.
func listen(t *testing.T) *net.UnixConn {
	t.Helper()
	path := filepath.Join(t.TempDir(), "notify")
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	t.Setenv("NOTIFY_SOCKET", path)
	return c
}

// received returns the datagrams waiting on c, without blocking (a blocked
// read would stop synctest's clock).
func received(t *testing.T, c *net.UnixConn) []string {
	t.Helper()
	rc, err := c.SyscallConn()
	require.NoError(t, err)
	var got []string
	buf := make([]byte, 4096)
	for {
		var n int
		var rerr error
		require.NoError(t, rc.Read(func(fd uintptr) bool {
			n, _, rerr = syscall.Recvfrom(int(fd), buf, syscall.MSG_DONTWAIT)
			return true
		}))
		if errors.Is(rerr, syscall.EAGAIN) {
			return got
		}
		require.NoError(t, rerr)
		got = append(got, string(buf[:n]))
	}
}

func TestMessages(t *testing.T) {
	c := listen(t)
	t.Setenv("WATCHDOG_USEC", "")
	n, err := New(nil)
	require.NoError(t, err)
	require.True(t, n.Enabled())
	assert.Zero(t, n.WatchdogTimeout())

	require.NoError(t, n.ExtendTimeout(90*time.Second))
	require.NoError(t, n.Ready())
	require.NoError(t, n.Status("up 10.0.0.2 operator pppd-vm\nREADY=1\r\n"))
	require.NoError(t, n.Stopping())
	assert.Equal(t, []string{
		"EXTEND_TIMEOUT_USEC=90000000",
		"READY=1",
		"STATUS=up 10.0.0.2 operator pppd-vm READY=1",
		"STOPPING=1",
	}, received(t, c))
	assert.NoError(t, n.Watchdog(t.Context(), func() bool { return true }), "no watchdog: returns at once")
}

func TestWithoutSystemd(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", "")
	t.Setenv("WATCHDOG_USEC", "2000000")
	n, err := New(nil)
	require.NoError(t, err)
	assert.False(t, n.Enabled())
	assert.Zero(t, n.WatchdogTimeout())
	assert.NoError(t, n.Ready())
	assert.NoError(t, n.Status("x"))
	assert.NoError(t, n.Stopping())
	assert.NoError(t, n.ExtendTimeout(time.Second))
	assert.NoError(t, n.Watchdog(t.Context(), func() bool { return true }))
}

func TestSocketGone(t *testing.T) {
	c := listen(t)
	n, err := New(nil)
	require.NoError(t, err)
	c.Close()
	assert.Error(t, n.Ready(), "a socket that went away is reported")
}

func TestWatchdogEnvironment(t *testing.T) {
	tests := []struct {
		usec, pid string
		want      time.Duration
		fails     bool
	}{
		{"2000000", "", 2 * time.Second, false},
		{"2000000", strconv.Itoa(os.Getpid()), 2 * time.Second, false},
		{"2000000", strconv.Itoa(os.Getpid() + 1), 0, false}, // another process's watchdog
		{"two seconds", "", 0, true},
		{"0", "", 0, true},
		{"2000000", "me", 0, true},
	}
	for _, tt := range tests {
		listen(t)
		t.Setenv("WATCHDOG_USEC", tt.usec)
		t.Setenv("WATCHDOG_PID", tt.pid)
		n, err := New(nil)
		if tt.fails {
			assert.Error(t, err, "WATCHDOG_USEC=%q WATCHDOG_PID=%q", tt.usec, tt.pid)
			continue
		}
		require.NoError(t, err)
		assert.Equal(t, tt.want, n.WatchdogTimeout(), "WATCHDOG_USEC=%q WATCHDOG_PID=%q", tt.usec, tt.pid)
	}
}

// With WATCHDOG_USEC=2 s the pings come every second while healthy, stop
// while not, and resume; Watchdog returns when its context ends.
func TestWatchdogCadence(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := listen(t)
		t.Setenv("WATCHDOG_USEC", "2000000")
		var logs bytes.Buffer
		n, err := New(slog.New(slog.NewTextHandler(&logs, nil)))
		require.NoError(t, err)
		var healthy atomic.Bool
		healthy.Store(true)
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- n.Watchdog(ctx, healthy.Load) }()

		pings := func(d time.Duration) int {
			t.Helper()
			time.Sleep(d)
			synctest.Wait()
			got := received(t, c)
			for _, m := range got {
				require.Equal(t, "WATCHDOG=1", m)
			}
			return len(got)
		}
		assert.Equal(t, 0, pings(999*time.Millisecond), "none before half the timeout")
		assert.Equal(t, 1, pings(time.Millisecond))
		assert.Equal(t, 3, pings(3*time.Second))

		healthy.Store(false)
		assert.Equal(t, 0, pings(5*time.Second), "no pings while unhealthy")
		assert.Contains(t, logs.String(), "pings stop")

		healthy.Store(true)
		assert.Equal(t, 2, pings(2*time.Second))
		assert.Contains(t, logs.String(), "pings resume")

		cancel()
		require.NoError(t, <-done)
		assert.Equal(t, 0, pings(10*time.Second), "none after the context ends")
	})
}
