package main

import (
	"context"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pppdial/pppdial"
	"github.com/pppdial/pppdial/control"
	"github.com/pppdial/pppdial/ppp"
)

// The service of several links: each link's state, status and control handlers are its own,
// STATUS= summarises them all with the member carrying new connections, and the watchdog's test
// holds while one link is healthy. A removed link leaves the control socket.
func TestServiceSeveralLinks(t *testing.T) {
	dir, err := os.MkdirTemp("", "svc") // a short path: a unix socket's name has 108 bytes
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "pppdial.sock")
	t.Setenv("NOTIFY_SOCKET", "") // the test's own systemd, if any, is not told

	ctx, cancel := context.WithCancel(t.Context())
	o := serviceOptions{readyOn: "up", watchdogGrace: time.Minute, control: sock, usageInterval: time.Minute, billingDay: 1}
	rep := newReporter(io.Discard, io.Discard, false)
	svc, wait, err := startService(ctx, o, upDefaultControl, "", rep, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	defer func() {
		cancel()
		wait()
	}()
	for _, name := range []string{"pp0", "pp1"} {
		lo := linkOptions{ifname: name, port: "/dev/tty" + name, usage: o, stateDir: t.TempDir()}
		_, err := svc.addLink(lo)
		require.NoError(t, err)
	}
	start := time.Now()
	assert.True(t, svc.healthy(), "both links are dialing within the grace")

	svc.event(pppdial.Event{Kind: pppdial.EventProgress, Ifname: "pp0", Attempt: 1, Step: "register"})
	svc.event(pppdial.Event{Kind: pppdial.EventUp, Ifname: "pp1", Time: time.Now(), Attempt: 1,
		Status: ppp.Status{Local: netip.MustParseAddr("10.0.0.2"), Peer: netip.MustParseAddr("10.0.0.1")}})
	svc.event(pppdial.Event{Kind: pppdial.EventRoute, Ifname: "pp1", Detail: "pp1 up"})
	assert.Equal(t, "new connections over pp1; pp0 dialing (attempt 1): register; pp1 up 10.0.0.2", svc.statusLine)
	assert.True(t, svc.ready.Load(), "READY=1 at the first link up")

	links, _ := svc.snapshot()
	require.Len(t, links, 2)
	later := start.Add(2 * time.Minute) // past --watchdog-grace
	assert.False(t, links[0].healthy(later), "pp0 never came up")
	assert.True(t, links[1].healthy(later), "pp1 is up")

	c, err := control.Dial(ctx, sock)
	require.NoError(t, err)
	defer c.Close()
	sts, err := c.List(ctx)
	require.NoError(t, err)
	require.Len(t, sts, 2)
	assert.Equal(t, "pp0", sts[0].Ifname)
	assert.Equal(t, "/dev/ttypp0", sts[0].Port)
	assert.False(t, sts[0].Up)
	assert.False(t, sts[0].Active)
	assert.Equal(t, "pp1", sts[1].Ifname)
	assert.True(t, sts[1].Up)
	assert.True(t, sts[1].Active, "pp1 carries new connections")
	assert.Equal(t, netip.MustParseAddr("10.0.0.2"), sts[1].Addresses.Local)
	err = c.Redial(ctx, "pp0")
	assert.ErrorContains(t, err, errNotDialed.Error(), "no session yet")

	// pp1 goes down: the line says so; an event of a link the service does not know is dropped.
	svc.event(pppdial.Event{Kind: pppdial.EventDown, Ifname: "pp1", Time: time.Now(), Code: "link-lost"})
	svc.event(pppdial.Event{Kind: pppdial.EventRoute, From: "pp1", Detail: "pp1 down"})
	svc.event(pppdial.Event{Kind: pppdial.EventUp, Ifname: "pp7"})
	assert.Equal(t, "no healthy link; pp0 dialing (attempt 1): register; pp1 dead", svc.statusLine)

	svc.removeLink("pp0")
	sts, err = c.List(ctx)
	require.NoError(t, err)
	require.Len(t, sts, 1)
	assert.Equal(t, "pp1", sts[0].Ifname)
	assert.Equal(t, "dead", svc.statusLine, "one link left: its own line")
}
