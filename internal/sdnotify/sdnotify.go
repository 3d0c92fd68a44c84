// Package sdnotify tells systemd how the daemon is doing: READY=1 when the
// link is first up, one STATUS= line per state change, EXTEND_TIMEOUT_USEC
// while a slow start is still making progress, STOPPING=1 at shutdown, and
// WATCHDOG=1 pings only while the session is healthy, so that systemd
// restarts a process that is alive but stuck.
//
// It wraps github.com/coreos/go-systemd/v22/daemon. Without NOTIFY_SOCKET
// (not started by systemd, or not Type=notify) every method does nothing.
package sdnotify

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"
)

// Notifier sends notifications to the socket systemd named in NOTIFY_SOCKET.
// Its methods are safe for concurrent use.
type Notifier struct {
	enabled  bool
	watchdog time.Duration
	log      *slog.Logger
}

// New reads NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID. It fails only
// when WATCHDOG_USEC or WATCHDOG_PID is malformed: a daemon that cannot
// tell how often to ping would be killed by the watchdog it ignores. A nil
// logger discards the watchdog's reports.
func New(logger *slog.Logger) (*Notifier, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	n := &Notifier{enabled: os.Getenv("NOTIFY_SOCKET") != "", log: logger}
	if !n.enabled {
		return n, nil
	}
	wd, err := daemon.SdWatchdogEnabled(false)
	if err != nil {
		return nil, fmt.Errorf("sdnotify: %w", err)
	}
	n.watchdog = wd
	return n, nil
}

// Enabled reports whether NOTIFY_SOCKET was set.
func (n *Notifier) Enabled() bool { return n.enabled }

// WatchdogTimeout is WATCHDOG_USEC: how long systemd waits for a ping
// before it restarts the service. 0 when the watchdog is off (or watches
// another process).
func (n *Notifier) WatchdogTimeout() time.Duration { return n.watchdog }

// Ready sends READY=1: the service is up.
func (n *Notifier) Ready() error { return n.send(daemon.SdNotifyReady) }

// Stopping sends STOPPING=1: the service is shutting down.
func (n *Notifier) Stopping() error { return n.send(daemon.SdNotifyStopping) }

// Status sends STATUS= with line, which systemctl status shows. Line breaks
// become spaces: the message is newline-separated assignments, and text
// from a modem or the network must not add one (a READY=1 of its own).
func (n *Notifier) Status(line string) error {
	line = strings.TrimSpace(strings.Map(func(r rune) rune {
		if r == '\n' || r == '\r' {
			return ' '
		}
		return r
	}, line))
	return n.send("STATUS=" + line)
}

// ExtendTimeout sends EXTEND_TIMEOUT_USEC: systemd's start (or stop)
// timeout is extended to d from now. Send it again before d runs out to
// keep extending.
func (n *Notifier) ExtendTimeout(d time.Duration) error {
	return n.send(fmt.Sprintf("EXTEND_TIMEOUT_USEC=%d", d.Microseconds()))
}

func (n *Notifier) send(state string) error {
	if !n.enabled {
		return nil
	}
	if _, err := daemon.SdNotify(false, state); err != nil {
		return fmt.Errorf("sdnotify: %s: %w", state, err)
	}
	return nil
}

// Watchdog sends WATCHDOG=1 every half of WATCHDOG_USEC while healthy
// returns true, until ctx ends; when healthy returns false the pings stop,
// and systemd restarts the service once its timeout passes. A failed ping
// is logged and retried at the next tick. Without the watchdog Watchdog
// returns nil at once.
func (n *Notifier) Watchdog(ctx context.Context, healthy func() bool) error {
	if n.watchdog <= 0 {
		return nil
	}
	t := time.NewTicker(n.watchdog / 2)
	defer t.Stop()
	pinging := true
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		ok := healthy()
		if ok != pinging {
			pinging = ok
			if ok {
				n.log.Info("systemd watchdog: healthy again, pings resume")
			} else {
				n.log.Warn("systemd watchdog: session unhealthy, pings stop", "restart_after", n.watchdog)
			}
		}
		if !ok {
			continue
		}
		if err := n.send(daemon.SdNotifyWatchdog); err != nil {
			n.log.Warn("systemd watchdog: ping failed", "err", err)
		}
	}
}
