package netiftest

import (
	"context"
	"runtime"
	"strings"
	"time"
)

// WaitBlocked waits until a goroutine is parked (not running or runnable) with every one of
// frames in its stack, or ctx ends: e.g. "TestLinkDown.func2" (the test's own goroutine, so
// that a parallel test's cannot count) and "gonet.(*TCPConn).Read". Tests of "a call in progress is woken
// when the link goes down" need the call to be blocked before they take the link down; a
// fixed sleep only makes that likely, and on a loaded machine tests the other order. The
// userspace stack cannot run under testing/synctest, whose Wait would say it exactly.
func WaitBlocked(ctx context.Context, frames ...string) error {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		for _, g := range strings.Split(string(buf[:n]), "\n\n") {
			header, _, _ := strings.Cut(g, "\n")
			if !strings.Contains(header, "[running]") && !strings.Contains(header, "[runnable]") &&
				containsAll(g, frames) {
				return nil
			}
		}
		// Polling a condition, not ordering by time: each look is a full stack dump, so
		// give the scheduler a moment between looks.
		t := time.NewTimer(time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

func containsAll(s string, subs []string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}
