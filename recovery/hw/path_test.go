package hw

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A by-id link whose target vanishes on reset and comes back 3 s later.
func TestWaitReturn(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "ttyUSB2")
	link := filepath.Join(dir, "usb-Quectel_EG25-G-if02-port0")
	require.NoError(t, os.WriteFile(target, nil, 0o644))
	require.NoError(t, os.Symlink(target, link))
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		time.AfterFunc(500*time.Millisecond, func() { os.Remove(target) })
		time.AfterFunc(3500*time.Millisecond, func() { os.WriteFile(target, nil, 0o644) })
		require.NoError(t, WaitReturn(context.Background(), link, 5*time.Second, 100*time.Millisecond))
		took := time.Since(start)
		assert.True(t, took >= 3500*time.Millisecond && took <= 3600*time.Millisecond, "noticed within one interval: %v", took)
	})
}

// A port that never goes away: WaitReturn gives up waiting for it to vanish and finds it there.
func TestWaitReturnPortStays(t *testing.T) {
	p := filepath.Join(t.TempDir(), "ttyACM0")
	require.NoError(t, os.WriteFile(p, nil, 0o644))
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		require.NoError(t, WaitReturn(context.Background(), p, 2*time.Second, 0))
		assert.Equal(t, 2*time.Second, time.Since(start))
	})
}

func TestWaitForPathBounded(t *testing.T) {
	p := filepath.Join(t.TempDir(), "never")
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		assert.ErrorIs(t, WaitForPath(ctx, p, time.Hour), context.DeadlineExceeded)
		assert.ErrorIs(t, WaitGone(ctx, t.TempDir(), 0), context.DeadlineExceeded)
	})
	assert.Equal(t, time.Second, pollInterval(time.Hour))
	assert.Equal(t, 10*time.Millisecond, pollInterval(time.Nanosecond))
	assert.Equal(t, 100*time.Millisecond, pollInterval(0))
}
