//go:build linux

package bind_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/vishvananda/netns"

	"github.com/pppdial/pppdial/bind"
	"github.com/pppdial/pppdial/netif"
)

// The host-binding test runs in network namespaces it creates:
//
//	test ns T                               peer ns P
//	vA 10.201.1.1/24  <-- veth pair -->  vAp 10.201.1.2/24
//	vB 10.201.2.1/24  <-- veth pair -->  vBp 10.201.2.2/24
//	                                      lo  10.201.9.9/32 (servers)
//
// T reaches 10.201.9.9 through vA (metric 100) and through vB (metric 200).
// The parent test creates the namespaces and re-executes the test binary
// inside T (`ip netns exec T`), where the real checks run; the servers are
// opened in P from a thread switched into P.
const (
	envChild = "PPPDIAL_NETNS_CHILD"
	envPeer  = "PPPDIAL_NETNS_PEER"
	envIfA   = "PPPDIAL_NETNS_IFA"
	envIfB   = "PPPDIAL_NETNS_IFB"
	server   = "10.201.9.9"
)

func TestHostBindNetns(t *testing.T) {
	t.Parallel()
	if os.Getenv(envChild) != "" {
		hostBindChild(t)
		return
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root to create network namespaces")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("needs the ip command (iproute2)")
	}
	var rb [3]byte
	_, _ = rand.Read(rb[:])
	sfx := hex.EncodeToString(rb[:]) // unique per run: parallel runs do not collide
	nsT, nsP := "pppdial-t-"+sfx, "pppdial-p-"+sfx
	ifA, ifB := "pdA"+sfx, "pdB"+sfx

	run := func(args ...string) {
		t.Helper()
		out, err := exec.Command("ip", args...).CombinedOutput()
		require.NoError(t, err, "ip %s: %s", strings.Join(args, " "), out)
	}
	run("netns", "add", nsT)
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", nsT).Run() })
	run("netns", "add", nsP)
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", nsP).Run() })
	for _, ns := range []string{nsT, nsP} {
		// Quiet links: no IPv6 router solicitations or DAD on the veths.
		run("netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1")
		run("-n", ns, "link", "set", "lo", "up")
	}
	run("link", "add", ifA, "netns", nsT, "type", "veth", "peer", "name", ifA+"p", "netns", nsP)
	run("link", "add", ifB, "netns", nsT, "type", "veth", "peer", "name", ifB+"p", "netns", nsP)
	run("-n", nsT, "addr", "add", "10.201.1.1/24", "dev", ifA)
	run("-n", nsT, "addr", "add", "10.201.2.1/24", "dev", ifB)
	run("-n", nsP, "addr", "add", "10.201.1.2/24", "dev", ifA+"p")
	run("-n", nsP, "addr", "add", "10.201.2.2/24", "dev", ifB+"p")
	run("-n", nsP, "addr", "add", server+"/32", "dev", "lo")
	for _, l := range [][2]string{{nsT, ifA}, {nsT, ifB}, {nsP, ifA + "p"}, {nsP, ifB + "p"}} {
		run("-n", l[0], "link", "set", l[1], "up")
	}
	run("-n", nsT, "route", "add", server+"/32", "via", "10.201.1.2", "dev", ifA, "metric", "100")
	run("-n", nsT, "route", "add", server+"/32", "via", "10.201.2.2", "dev", ifB, "metric", "200")

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ip", "netns", "exec", nsT, os.Args[0],
		"-test.run=^TestHostBindNetns$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), envChild+"=1", envPeer+"="+nsP, envIfA+"="+ifA, envIfB+"="+ifB)
	out, err := cmd.CombinedOutput()
	t.Logf("inside %s:\n%s", nsT, out)
	require.NoError(t, err, "netns child failed")
	require.Contains(t, string(out), "--- PASS: TestHostBindNetns")
}

// inPeer runs fn on an OS thread switched into the peer namespace; the
// sockets fn creates stay in it.
func inPeer(t *testing.T, fn func()) {
	t.Helper()
	runtime.LockOSThread()
	orig, err := netns.Get()
	require.NoError(t, err)
	defer orig.Close()
	peer, err := netns.GetFromName(os.Getenv(envPeer))
	require.NoError(t, err)
	defer peer.Close()
	require.NoError(t, netns.Set(peer))
	defer func() {
		if netns.Set(orig) == nil {
			runtime.UnlockOSThread() // else the thread dies with the goroutine
		}
	}()
	fn()
}

// whoServer answers each TCP connection with the source address it came
// from, and each UDP datagram likewise.
func whoServer(t *testing.T, ln net.Listener, pc net.PacketConn) {
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			_, _ = io.WriteString(c, c.RemoteAddr().(*net.TCPAddr).IP.String())
			_ = c.Close()
		}
	})
	wg.Go(func() {
		buf := make([]byte, 1500)
		for {
			_, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			_, _ = pc.WriteTo([]byte(from.(*net.UDPAddr).IP.String()), from)
		}
	})
	t.Cleanup(func() { _ = ln.Close(); _ = pc.Close(); wg.Wait() })
}

func hostBindChild(t *testing.T) {
	ifA, ifB := os.Getenv(envIfA), os.Getenv(envIfB)
	ctx := testCtx(t, 40*time.Second)

	var ln net.Listener
	var pc, dnsPC net.PacketConn
	inPeer(t, func() {
		var err error
		ln, err = net.Listen("tcp4", server+":7000")
		require.NoError(t, err)
		pc, err = net.ListenPacket("udp4", server+":7001")
		require.NoError(t, err)
		dnsPC, err = net.ListenPacket("udp4", server+":53")
		require.NoError(t, err)
	})
	whoServer(t, ln, pc)
	dns := serveDNS(dnsPC, map[string][]netip.Addr{"peer.test.": {netip.MustParseAddr(server)}})
	t.Cleanup(dns.close)

	reg := netif.NewRegistry()
	nA, err := reg.AddHost(ifA)
	require.NoError(t, err)
	nB, err := reg.AddHost(ifB, netip.MustParseAddr(server))
	require.NoError(t, err)
	assert.True(t, nA.IsUp())
	assert.Equal(t, netip.MustParseAddr("10.201.2.1"), nB.Config().Local)

	who := func(ctx context.Context, dial func(context.Context, string, string) (net.Conn, error), addr string) (string, error) {
		c, err := dial(ctx, "tcp", addr)
		if err != nil {
			return "", err
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		b, err := io.ReadAll(c)
		return string(b), err
	}
	dialer := func(ifname string) func(context.Context, string, string) (net.Conn, error) {
		return (&bind.Dialer{Interface: ifname, Registry: reg}).DialContext
	}

	// Bound to vB: the packets leave through vB, not through vA, although
	// the routing table prefers vA. Nothing has used vA yet, so its
	// counter must not move at all.
	txA := nA.Counters().PacketsOut
	txB := nB.Counters().PacketsOut
	got, err := who(ctx, dialer(ifB), server+":7000")
	require.NoError(t, err)
	assert.Equal(t, "10.201.2.1", got)
	got, err = who(ctx, dialer(ifB), "peer.test:7000") // resolved through vB's DNS, over vB
	require.NoError(t, err)
	assert.Equal(t, "10.201.2.1", got)
	upc, err := (&bind.ListenConfig{Interface: ifB, Registry: reg}).ListenPacket(ctx, "udp4", ":0")
	require.NoError(t, err)
	_, err = upc.WriteTo([]byte("who"), &net.UDPAddr{IP: net.ParseIP(server), Port: 7001})
	require.NoError(t, err)
	_ = upc.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 64)
	k, _, err := upc.ReadFrom(buf)
	require.NoError(t, err)
	assert.Equal(t, "10.201.2.1", string(buf[:k]))
	_ = upc.Close()
	rtt, err := bind.Ping(ctx, ifB, netip.MustParseAddr(server)) // DefaultRegistry: kernel lookup
	require.NoError(t, err)
	assert.Positive(t, rtt)
	assert.Equal(t, txA, nA.Counters().PacketsOut, "a socket bound to %s sent through %s", ifB, ifA)
	assert.Greater(t, nB.Counters().PacketsOut, txB+10)
	assert.Contains(t, dns.seen(), "TypeA peer.test.")

	// Bound to vA, and unbound (the routing table: vA).
	got, err = who(ctx, dialer(ifA), server+":7000")
	require.NoError(t, err)
	assert.Equal(t, "10.201.1.1", got)
	got, err = who(ctx, (&net.Dialer{}).DialContext, server+":7000")
	require.NoError(t, err)
	assert.Equal(t, "10.201.1.1", got)

	// Errors: unknown interface, and a known one that is down.
	_, err = bind.Dial(ctx, "pdZnothere", "tcp", server+":7000")
	assert.ErrorIs(t, err, syscall.ENODEV)

	// Router: prefer vA, fail over to vB while vA is down, come back.
	r := bind.NewRouter(reg)
	r.SetPreference(ifA, ifB)
	got, err = who(ctx, r.DialContext, server+":7000")
	require.NoError(t, err)
	assert.Equal(t, "10.201.1.1", got)

	ipCmd(t, "link", "set", ifA, "down")
	require.False(t, nA.IsUp())
	_, err = who(ctx, dialer(ifA), server+":7000")
	assert.ErrorIs(t, err, syscall.ENETDOWN)
	txA = nA.Counters().PacketsOut
	got, err = who(ctx, r.DialContext, server+":7000")
	require.NoError(t, err)
	assert.Equal(t, "10.201.2.1", got, "router fails over to "+ifB)
	got, err = who(ctx, r.DialContext, "peer.test:7000") // name resolved over vB too
	require.NoError(t, err)
	assert.Equal(t, "10.201.2.1", got)
	assert.Equal(t, txA, nA.Counters().PacketsOut)

	ipCmd(t, "link", "set", ifA, "up")
	require.Eventually(t, nA.IsUp, 5*time.Second, 20*time.Millisecond, "carrier back on "+ifA)
	// Setting a link down drops its routes; restore ours.
	ipCmd(t, "route", "replace", server+"/32", "via", "10.201.1.2", "dev", ifA, "metric", "100")
	got, err = who(ctx, r.DialContext, server+":7000")
	require.NoError(t, err)
	assert.Equal(t, "10.201.1.1", got, "router returns to "+ifA)
}

func ipCmd(t *testing.T, args ...string) {
	t.Helper()
	out, err := exec.Command("ip", args...).CombinedOutput()
	require.NoError(t, err, "ip %v: %s", args, bytes.TrimSpace(out))
}
