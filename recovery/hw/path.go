package hw

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"time"
)

// Poll intervals are kept in [minPoll, maxPoll]: often enough to notice a port within a second,
// seldom enough not to spin.
const (
	minPoll     = 10 * time.Millisecond
	maxPoll     = time.Second
	defaultPoll = 100 * time.Millisecond
)

func pollInterval(d time.Duration) time.Duration {
	if d <= 0 {
		return defaultPoll
	}
	return min(max(d, minPoll), maxPoll)
}

// exists reports whether path (followed through symlinks, as a /dev/serial/by-id link) exists.
func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// WaitForPath polls until path exists (following symlinks: a by-id link whose target is back),
// or ctx ends. interval is clamped to [10 ms, 1 s]; 0 means 100 ms.
func WaitForPath(ctx context.Context, path string, interval time.Duration) error {
	return poll(ctx, interval, func() bool { return exists(path) })
}

// WaitGone polls until path no longer exists, or ctx ends.
func WaitGone(ctx context.Context, path string, interval time.Duration) error {
	return poll(ctx, interval, func() bool {
		_, err := os.Stat(path)
		return errors.Is(err, fs.ErrNotExist)
	})
}

// WaitReturn waits for a port that a reset takes away and brings back: first up to vanish for
// path to go (a modem that keeps its port never makes it go), then until it is there again or
// ctx ends.
func WaitReturn(ctx context.Context, path string, vanish, interval time.Duration) error {
	gctx, cancel := context.WithTimeout(ctx, vanish)
	_ = WaitGone(gctx, path, interval)
	cancel()
	return WaitForPath(ctx, path, interval)
}

func poll(ctx context.Context, interval time.Duration, done func() bool) error {
	t := time.NewTicker(pollInterval(interval))
	defer t.Stop()
	for {
		if done() {
			return nil
		}
		select {
		case <-t.C:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
