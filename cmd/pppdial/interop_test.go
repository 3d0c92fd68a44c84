//go:build linux

package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pppdial/pppdial/internal/peers"
	"github.com/pppdial/pppdial/internal/socksclient"
	"github.com/pppdial/pppdial/modemsim"
)

// These tests drive the built binary against PPP implementations this project did not write
// (issue 7, "Evidence required"): slirp-fullbolt and pppd 2.4.9 in a VM, each behind an
// emulated modem on a pty, as a user's LTE hat would be. A missing peer or tool skips the test,
// or fails it under PPP_INTEROP=1 (peers.Interop).

// interopStopWithin is how long a service manager waits after SIGTERM (issue 7: 5 s).
const interopStopWithin = 5 * time.Second

// curl runs curl with args (bounded by timeout) and returns what it wrote to stdout. A missing
// curl is handled by the Interop rule.
func curl(t *testing.T, prefix []string, timeout time.Duration, args ...string) []byte {
	t.Helper()
	bin := peers.Tool(t, "curl")
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	argv := append(append(append([]string{}, prefix...), bin, "-sS", "--fail", "--max-time",
		strconv.Itoa(int(timeout/time.Second))), args...)
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Stderr = &stderr
	start := time.Now()
	out, err := cmd.Output()
	require.NoError(t, err, "curl %v: %s", args, stderr.String())
	t.Logf("curl %v: %d bytes in %v", args, len(out), time.Since(start).Round(time.Millisecond))
	return out
}

// stopAndCheck interrupts p as a user's Ctrl-C (or systemd's stop) would and checks the clean,
// bounded exit.
func stopAndCheck(t *testing.T, p *proc) {
	t.Helper()
	code, took := p.interrupt()
	assert.Equal(t, 0, code, "SIGINT exits 0; stderr:\n%s", p.stderr.String())
	assert.Less(t, took, interopStopWithin, "SIGINT exits within 5 s")
	t.Logf("SIGINT: exit %d in %v", code, took.Round(time.Millisecond))
}

// vmModem boots a pppd VM (with pppd options opts) and serves an emulated EC25 on a pty whose call is bridged to the
// VM's serial port; it returns the modem's pty path and the VM.
func vmModem(t *testing.T, opts ...string) (string, *peers.VM) {
	t.Helper()
	vm := peers.PPPDVM(t, opts...)
	// Only the bridge (opened per call) holds the VM's pty: nothing else may read pppd's bytes.
	_ = vm.Port.Close()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("pppd console.log tail:\n%s", lastLines(vm.ConsoleLog(), 80))
		}
	})
	return modemPTY(t, modemsim.EC25(), modemsim.BridgePTY(vm.PTY)), vm
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// TestCLIInteropSlirp: the binary dials an emulated EC25 whose call reaches slirp-fullbolt,
// serves SOCKS5, and curl fetches 1 MiB served on this machine's 127.0.0.1 through 10.0.2.2
// (slirp's alias for the host). Only IP addresses are used: no DNS may go through slirp.
// The --pcap capture of the whole session must decode cleanly in tshark.
func TestCLIInteropSlirp(t *testing.T) {
	peers.Tool(t, peers.SlirpBinary)
	peers.Tool(t, "curl")
	// slirp takes each argument as one command line ("mtu 1500"). This build rejects
	// "baudrate N" in every spelling ("Error: Invalid option"), and its default pacing is fast
	// enough, so none is given.
	path := modemPTY(t, modemsim.EC25(), modemsim.BridgeCommand(peers.SlirpBinary, "ppp"))
	port, want := serveBig(t)
	pcapFile := filepath.Join(t.TempDir(), "slirp.pcap")

	begin := time.Now()
	p := start(t, nil, "dial", "--port", path, "--json", "--guard", "100ms",
		"--socks", "127.0.0.1:0", "--pcap", pcapFile)
	up, socksEv := p.upAndSOCKS(60 * time.Second)
	t.Logf("up after %v: %v", time.Since(begin).Round(time.Millisecond), up)
	assert.Equal(t, "10.0.2.15", up["local"], "slirp assigns 10.0.2.15")
	socks := socksEv["addr"].(string)

	// --socks5 (not --socks5-hostname): curl sends the IP address itself, nothing resolves.
	body := curl(t, nil, 60*time.Second, "--socks5", socks, fmt.Sprintf("http://10.0.2.2:%d/", port))
	assert.Len(t, body, 1<<20)
	assert.Equal(t, want, sha256Hex(body), "the 1 MiB arrives intact")

	stopAndCheck(t, p)

	decoded := peers.CheckPcap(t, pcapFile)
	for _, proto := range []string{"Link Control Protocol", "Internet Protocol Control Protocol",
		"Transmission Control Protocol", "Termination Request"} {
		assert.True(t, strings.Contains(decoded, proto), "the capture holds %s", proto)
	}
}

// TestCLIInteropPPPDVM: the same against pppd 2.4.9 on the Linux kernel's ppp_async; the host
// name in the URL resolves through the link's DNS (10.0.0.1, inside the VM), as a SOCKS5
// client with --socks5-hostname asks.
func TestCLIInteropPPPDVM(t *testing.T) {
	peers.Tool(t, "curl")
	path, vm := vmModem(t)
	want, err := vm.BigSHA256()
	require.NoError(t, err)

	begin := time.Now()
	p := start(t, nil, "dial", "--port", path, "--json", "--guard", "100ms", "--socks", "127.0.0.1:0")
	up, socksEv := p.upAndSOCKS(90 * time.Second)
	t.Logf("up after %v: %v", time.Since(begin).Round(time.Millisecond), up)
	assert.Equal(t, "10.0.0.2", up["local"])
	assert.Equal(t, "10.0.0.1", up["peer"])
	assert.Equal(t, []any{"10.0.0.1"}, up["dns"])
	socks := socksEv["addr"].(string)

	body := curl(t, nil, 120*time.Second, "--socks5-hostname", socks, "http://peer.test/big.bin")
	assert.Len(t, body, 1<<20)
	assert.Equal(t, want, sha256Hex(body), "big.bin arrives intact")

	stopAndCheck(t, p)
}

// netns creates a network namespace with a unique name, deleted in t.Cleanup, and returns its
// name. It needs root (the caller checks) and ip(8).
func netns(t *testing.T, ip string) string {
	t.Helper()
	var b [4]byte
	_, _ = rand.Read(b[:])
	name := "pppdial-test-" + hex.EncodeToString(b[:])
	out, err := exec.Command(ip, "netns", "add", name).CombinedOutput()
	require.NoError(t, err, "ip netns add: %s", out)
	t.Cleanup(func() {
		if out, err := exec.Command(ip, "netns", "del", name).CombinedOutput(); err != nil {
			t.Errorf("ip netns del %s: %v: %s", name, err, out)
		}
	})
	return name
}

// requireRoot skips t when it does not run as root. This is a skip even under PPP_INTEROP=1:
// the Interop rule is about installed peers and tools, and no installation gives an ordinary
// user the right to create network namespaces and TUN devices.
func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: creates a network namespace and a TUN interface in it")
	}
}

// tunRig is what a --tun test against pppd needs: root, the VM behind an emulated modem (its
// pty path), big.bin's sha256, and a network namespace of its own (ip(8), its name, and the
// command prefix that runs a program in it).
type tunRig struct {
	path, want, ip, ns string
	vm                 *peers.VM
	inNS               []string
}

func newTunRig(t *testing.T) tunRig {
	t.Helper()
	requireRoot(t)
	r := tunRig{ip: peers.Tool(t, "ip")}
	peers.Tool(t, "curl")
	r.path, r.vm = vmModem(t)
	var err error
	r.want, err = r.vm.BigSHA256()
	require.NoError(t, err)
	r.ns = netns(t, r.ip)
	r.inNS = []string{r.ip, "netns", "exec", r.ns}
	return r
}

// TestCLIInteropTUN: with --tun the link becomes the kernel interface pp0 (inside a network
// namespace the test creates, so the host's routes are untouched), and an ordinary program —
// curl bound to pp0 — fetches big.bin from pppd's side of the link through the kernel.
func TestCLIInteropTUN(t *testing.T) {
	tr := newTunRig(t)
	path, want, ip, ns, inNS := tr.path, tr.want, tr.ip, tr.ns, tr.inNS

	begin := time.Now()
	p := start(t, inNS, "dial", "--port", path, "--tun", "--ifname", "pp0", "--defaultroute",
		"--json", "--guard", "100ms")
	up := p.waitEvent("up", 90*time.Second)
	t.Logf("up after %v: %v", time.Since(begin).Round(time.Millisecond), up)
	assert.Equal(t, "pp0", up["ifname"])
	assert.Equal(t, "10.0.0.2", up["local"])

	// The `up` event means the kernel interface is ready: addresses, point-to-point peer, the
	// default route.
	show := func(args ...string) string {
		out, err := exec.Command(ip, append([]string{"-n", ns}, args...)...).CombinedOutput()
		require.NoError(t, err, "ip %v: %s", args, out)
		return string(out)
	}
	assert.Contains(t, show("addr", "show", "dev", "pp0"), "inet 10.0.0.2 peer 10.0.0.1/32")
	assert.Contains(t, show("route", "show", "default"), "dev pp0")

	body := curl(t, inNS, 120*time.Second, "--interface", "pp0", "http://10.0.0.1/big.bin")
	assert.Len(t, body, 1<<20)
	assert.Equal(t, want, sha256Hex(body), "big.bin arrives intact through the kernel")

	stopAndCheck(t, p)
	out, err := exec.Command(ip, "-n", ns, "link", "show", "pp0").CombinedOutput()
	assert.Error(t, err, "pp0 is removed on exit: %s", out)
}

// TestCLIInteropTUNNeedsNetAdmin: --tun without CAP_NET_ADMIN ends with the usage exit code and
// one line that says what is missing and how to grant it, before the modem is dialed.
func TestCLIInteropTUNNeedsNetAdmin(t *testing.T) {
	var prefix []string
	if os.Geteuid() == 0 {
		// Root loses CAP_NET_ADMIN when it leaves the bounding set: the exec'd binary cannot
		// regain it. It runs in a namespace of its own should it create a TUN all the same.
		setpriv := peers.Tool(t, "setpriv")
		ip := peers.Tool(t, "ip")
		prefix = []string{ip, "netns", "exec", netns(t, ip),
			setpriv, "--bounding-set=-net_admin", "--inh-caps=-net_admin", "--"}
	} else if hasNetAdmin(t) {
		t.Skip("this user holds CAP_NET_ADMIN and is not root: nothing can drop it for the child")
	}
	path := filepath.Join(t.TempDir(), "no-modem") // never opened: the TUN comes first
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	argv := append(append([]string{}, prefix...), bin, "dial", "--port", path, "--tun")
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Stderr = &stderr
	err := cmd.Run()
	require.NoError(t, ctx.Err(), "pppdial --tun did not finish; stderr:\n%s", stderr.String())
	assert.Equal(t, exitUsage, exitStatus(err), stderr.String())
	last := lastLine(stderr.String())
	assert.True(t, strings.HasPrefix(last, "pppdial: "), "one line names the cause: %q", last)
	assert.Contains(t, last, "CAP_NET_ADMIN")
	assert.NotContains(t, stderr.String(), path, "it fails before opening the port")
}

// hasNetAdmin reports whether this process holds CAP_NET_ADMIN (bit 12 of CapEff).
func hasNetAdmin(t *testing.T) bool {
	b, err := os.ReadFile("/proc/self/status")
	require.NoError(t, err)
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "CapEff:"); ok {
			caps, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			require.NoError(t, err)
			return caps&(1<<12) != 0
		}
	}
	return false
}

// TestCLIInteropSlirpSOCKSUDP: the SOCKS UDP relay of the built binary, its datagrams carried
// by slirp to a UDP echo server on this host's 127.0.0.1 (slirp's 10.0.2.2), is held to its
// client: another host's datagrams (127.0.0.2 stands for one on the LAN) are not carried, the
// relay is not on the wildcard address, and it closes with the client's control connection.
func TestCLIInteropSlirpSOCKSUDP(t *testing.T) {
	peers.Tool(t, peers.SlirpBinary)
	path := modemPTY(t, modemsim.EC25(), modemsim.BridgeCommand(peers.SlirpBinary, "ppp"))
	echo, err := socksclient.NewUDPEcho("127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = echo.Close() })
	dst := fmt.Sprintf("10.0.2.2:%d", echo.Addr().Port())

	p := start(t, nil, "dial", "--port", path, "--json", "--guard", "100ms", "--socks", "127.0.0.1:0")
	_, ev := p.upAndSOCKS(60 * time.Second)
	assert.Equal(t, "loopback-only", ev["mode"])

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ctl, err := socksclient.Associate(ctx, "tcp", ev["addr"].(string), socksclient.Auth{}, "0.0.0.0:0")
	require.NoError(t, err)
	defer ctl.Close()
	relay := ctl.Bound
	assert.Equal(t, "127.0.0.1", relay.Addr().String(), "BND.ADDR: where the client connected")
	elsewhere := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.2"), relay.Port())
	closed, err := socksclient.PortUnreachable(netip.MustParseAddrPort("127.0.0.2:0"), elsewhere, time.Second)
	require.NoError(t, err)
	assert.True(t, closed, "the relay's port on 127.0.0.2 has no socket: it is not bound to the wildcard")

	client, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(relay))
	require.NoError(t, err)
	defer client.Close()
	exchange := func(payload string) {
		t.Helper()
		d, err := socksclient.Datagram(dst, []byte(payload))
		require.NoError(t, err)
		b := make([]byte, 2048)
		// slirp may lose the first datagram while it sets up its socket: retry a few times.
		for attempt := 0; attempt < 5; attempt++ {
			_, err = client.Write(d)
			require.NoError(t, err)
			require.NoError(t, client.SetReadDeadline(time.Now().Add(2*time.Second)))
			n, err := client.Read(b)
			if err != nil {
				continue
			}
			from, data, err := socksclient.ParseDatagram(b[:n])
			require.NoError(t, err)
			assert.Equal(t, dst, from, "the answer names its source")
			assert.Equal(t, payload, string(data))
			return
		}
		t.Fatalf("no answer to %q through the relay", payload)
	}
	exchange("first")
	got := <-echo.Seen
	assert.Equal(t, "first", got.Payload)
	t.Logf("relayed over slirp: the echo server saw %v", got.From)

	// A datagram to the relay from another address: not carried. The relay reads its socket
	// in order, and the link, slirp and loopback keep the order, so had it been carried the echo
	// server would have seen it before the client's next datagram.
	foreign, err := socksclient.Datagram(dst, []byte("foreign"))
	require.NoError(t, err)
	stranger, err := net.DialUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 2)}, net.UDPAddrFromAddrPort(relay))
	require.NoError(t, err)
	defer stranger.Close()
	_, err = stranger.Write(foreign)
	require.NoError(t, err)
	exchange("second")
	for _, got := range drain(echo.Seen) {
		assert.NotEqual(t, "foreign", got.Payload, "the echo server never sees another host's datagram")
	}

	require.NoError(t, ctl.Close())
	start := time.Now()
	closed, err = socksclient.PortUnreachable(netip.MustParseAddrPort("127.0.0.1:0"), relay, time.Second)
	require.NoError(t, err)
	assert.True(t, closed, "the relay closes within a second of its control connection")
	t.Logf("relay closed %v after the control connection", time.Since(start).Round(time.Millisecond))

	stopAndCheck(t, p)
}

// drain returns what ch holds now, without waiting.
func drain(ch chan socksclient.Received) []socksclient.Received {
	var out []socksclient.Received
	for {
		select {
		case r := <-ch:
			out = append(out, r)
		default:
			return out
		}
	}
}
