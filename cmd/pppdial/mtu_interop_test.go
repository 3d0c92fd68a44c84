//go:build linux

package main

import (
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/gopacket/gopacket/pcapgo"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pppdial/pppdial/internal/peers"
	"github.com/pppdial/pppdial/pcap"
)

// largestIP reads a --pcap capture and returns the largest IPv4 packet in each direction.
func largestIP(t *testing.T, path string) (sent, rcvd int) {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	r, err := pcapgo.NewReader(f)
	require.NoError(t, err)
	for {
		data, ci, err := r.ReadPacketData()
		if errors.Is(err, io.EOF) {
			return sent, rcvd
		}
		require.NoError(t, err)
		// Direction, address, control, protocol (always uncompressed in the capture), packet.
		if len(data) < 5 || data[3] != 0x00 || data[4] != 0x21 {
			continue
		}
		n := ci.Length - 5
		if pcap.Direction(data[0]) == pcap.Sent {
			sent = max(sent, n)
		} else {
			rcvd = max(rcvd, n)
		}
	}
}

// checkMTU1280 checks the acceptance of issue 13's MTU part on one run: pppd was asked for MRU
// 1280, the up event reports 1280, and no packet on the link, either way, was longer.
func checkMTU1280(t *testing.T, vm *peers.VM, up map[string]any, pcapFile string) {
	t.Helper()
	assert.Equal(t, float64(1280), up["mtu"], "the up event reports the MTU in force")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	assert.NoError(t, vm.WaitConsole(ctx, "<mru 1280>"), "pppd logs the MRU we asked for")
	sent, rcvd := largestIP(t, pcapFile)
	t.Logf("largest IPv4 packet on the link: sent %d, received %d", sent, rcvd)
	assert.LessOrEqual(t, sent, 1280, "nothing sent above the MTU")
	assert.LessOrEqual(t, rcvd, 1280, "nothing received above the MTU")
	assert.Greater(t, rcvd, 1200, "big.bin came in full-sized segments: the check measured something")
}

// TestCLIInteropMTU: `--mtu 1280` against pppd 2.4.9 (issue 13): LCP asks for MRU 1280,
// big.bin arrives intact through the userspace stack (SOCKS5), and the capture of the link
// shows no packet longer than 1280 bytes in either direction.
func TestCLIInteropMTU(t *testing.T) {
	peers.Tool(t, "curl")
	path, vm := vmModem(t)
	want, err := vm.BigSHA256()
	require.NoError(t, err)
	pcapFile := filepath.Join(t.TempDir(), "mtu.pcap")

	p := start(t, nil, "dial", "--port", path, "--json", "--guard", "100ms", "--mtu", "1280",
		"--socks", "127.0.0.1:0", "--pcap", pcapFile)
	up, socksEv := p.upAndSOCKS(90 * time.Second)
	socks := socksEv["addr"].(string)
	body := curl(t, nil, 120*time.Second, "--socks5-hostname", socks, "http://peer.test/big.bin")
	assert.Len(t, body, 1<<20)
	assert.Equal(t, want, sha256Hex(body), "big.bin arrives intact")
	stopAndCheck(t, p)
	checkMTU1280(t, vm, up, pcapFile)
}

// TestCLIInteropMTUTUN: the same through the host kernel (--tun in a network namespace): pp0's
// MTU is 1280, so the kernel's own connection advertises MSS 1240, and the SYN clamp keeps
// forwarded ones in line too.
func TestCLIInteropMTUTUN(t *testing.T) {
	tr := newTunRig(t)
	path, vm, want, ip, ns, inNS := tr.path, tr.vm, tr.want, tr.ip, tr.ns, tr.inNS
	pcapFile := filepath.Join(t.TempDir(), "mtu-tun.pcap")

	p := start(t, inNS, "dial", "--port", path, "--tun", "--ifname", "pp0", "--json", "--guard", "100ms",
		"--mtu", "1280", "--pcap", pcapFile)
	up := p.waitEvent("up", 90*time.Second)
	out, err := exec.Command(ip, "-n", ns, "link", "show", "pp0").CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.Contains(t, string(out), "mtu 1280", "the TUN device has the MTU in force")
	body := curl(t, inNS, 120*time.Second, "--interface", "pp0", "http://10.0.0.1/big.bin")
	assert.Len(t, body, 1<<20)
	assert.Equal(t, want, sha256Hex(body), "big.bin arrives intact through the kernel")
	stopAndCheck(t, p)
	checkMTU1280(t, vm, up, pcapFile)
}
