package sdnotify_test

import (
	"context"
	"log/slog"
	"time"

	"github.com/pppdial/pppdial/internal/sdnotify"
)

// A daemon under systemd (Type=notify, WatchdogSec=) reports its start,
// its state and its health; outside systemd the same calls do nothing.
func Example() {
	n, err := sdnotify.New(slog.Default())
	if err != nil {
		panic(err) // malformed WATCHDOG_USEC
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	linkUp := func() bool { return true } // the session's health: up, or within its grace
	go n.Watchdog(ctx, linkUp)

	_ = n.ExtendTimeout(2 * time.Minute) // still waiting for registration
	_ = n.Ready()                        // the link is up
	_ = n.Status("up: 10.0.0.2, pppd-vm LTE, -73 dBm")
	_ = n.Stopping() // SIGTERM
}
