//go:build linux

package main

import (
	"net/netip"
	"os/exec"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pppdial/pppdial/internal/peers"
)

// ipv6Global checks an ipv6-up event: one global address in pppd-vm's prefix, carrying the
// IPV6CP interface identifier of the link-local address.
func ipv6Global(t *testing.T, ev map[string]any) netip.Prefix {
	t.Helper()
	global, ok := ev["global"].([]any)
	require.True(t, ok && len(global) == 1, "ipv6-up carries the global address: %v", ev)
	p, err := netip.ParsePrefix(global[0].(string))
	require.NoError(t, err)
	assert.True(t, netip.MustParsePrefix("2001:db8:1::/64").Contains(p.Addr()), "%v", p)
	ll, err := netip.ParseAddr(ev["local"].(string))
	require.NoError(t, err)
	a, b := ll.As16(), p.Addr().As16()
	assert.Equal(t, a[8:], b[8:], "the interface identifier is IPV6CP's")
	return p
}

// TestCLIInteropIPv6SOCKS: --ipv6 --pdp IPV4V6 against pppd with +ipv6: ipv6-up reports the
// global address formed from dnsmasq's advertisement, and curl through --socks fetches big.bin
// from [2001:db8:1::1] over IPv6.
func TestCLIInteropIPv6SOCKS(t *testing.T) {
	peers.Tool(t, "curl")
	path, vm := vmModem(t, "+ipv6")
	want, err := vm.BigSHA256()
	require.NoError(t, err)

	// The SOCKS server listens on ::1, so that curl -6 reaches it too.
	p := start(t, nil, "dial", "--port", path, "--json", "--guard", "100ms", "--ipv6", "--pdp", "IPV4V6",
		"--socks", "[::1]:0")
	_, socksEv := p.upAndSOCKS(90 * time.Second)
	socks := socksEv["addr"].(string)
	ev := p.waitEvent("ipv6-up", 30*time.Second)
	t.Logf("ipv6-up: %v", ev)
	ipv6Global(t, ev)

	body := curl(t, nil, 120*time.Second, "-6", "--socks5-hostname", socks, "http://[2001:db8:1::1]/big.bin")
	assert.Len(t, body, 1<<20)
	assert.Equal(t, want, sha256Hex(body), "big.bin arrives intact over IPv6")

	stopAndCheck(t, p)
}

// TestCLIInteropIPv6TUN: with --tun in a network namespace the kernel's pp0 gets the IPV6CP
// link-local address and forms its global one from the advertisement; curl bound to pp0
// fetches big.bin from [2001:db8:1::1] over IPv6 through the kernel.
func TestCLIInteropIPv6TUN(t *testing.T) {
	requireRoot(t)
	ip := peers.Tool(t, "ip")
	peers.Tool(t, "curl")
	path, vm := vmModem(t, "+ipv6")
	want, err := vm.BigSHA256()
	require.NoError(t, err)
	ns := netns(t, ip)
	inNS := []string{ip, "netns", "exec", ns}

	p := start(t, inNS, "dial", "--port", path, "--tun", "--ifname", "pp0", "--defaultroute",
		"--ipv6", "--pdp", "IPV4V6", "--json", "--guard", "100ms")
	p.waitEvent("up", 90*time.Second)
	ev := p.waitEvent("ipv6-up", 30*time.Second)
	t.Logf("ipv6-up: %v", ev)
	global := ipv6Global(t, ev)

	show := func(args ...string) string {
		out, err := exec.Command(ip, append([]string{"-n", ns}, args...)...).CombinedOutput()
		require.NoError(t, err, "ip %v: %s", args, out)
		return string(out)
	}
	addrs := show("-6", "addr", "show", "dev", "pp0")
	assert.Contains(t, addrs, "inet6 "+global.String())
	assert.Contains(t, addrs, "inet6 "+ev["local"].(string)+"/64")
	assert.Contains(t, show("-6", "route", "show", "default"), "dev pp0", "--defaultroute: the advertised default route")

	body := curl(t, inNS, 120*time.Second, "-6", "--interface", "pp0", "http://[2001:db8:1::1]/big.bin")
	assert.Len(t, body, 1<<20)
	assert.Equal(t, want, sha256Hex(body), "big.bin arrives intact over IPv6 through the kernel")

	stopAndCheck(t, p)
}

// TestCLIInteropIPv6Refused: --ipv6 against a pppd with IPv6 off (noipv6: it Protocol-Rejects
// IPV6CP): the link stays up on IPv4 and the progress stream says IPv6 was refused.
func TestCLIInteropIPv6Refused(t *testing.T) {
	path, vm := vmModem(t, "noipv6")
	p := start(t, nil, "dial", "--port", path, "--json", "--guard", "100ms", "--ipv6", "--pdp", "IPV4V6")
	// The refusal may come before IPCP opens or after: take both events in either order.
	var up, refused map[string]any
	deadline := time.After(90 * time.Second)
	for up == nil || refused == nil {
		select {
		case ev, ok := <-p.events:
			require.True(t, ok, "pppdial exited: %v", p.err)
			switch {
			case ev["event"] == "up":
				up = ev
			case ev["event"] == "progress" && ev["step"] == "ipv6":
				refused = ev
			}
		case <-deadline:
			t.Fatalf("up: %v, IPv6 refusal: %v", up, refused)
		}
	}
	assert.Equal(t, "10.0.0.2", up["local"])
	assert.Regexp(t, `^IPv6 refused by the network \(.*IPV6CP.*\); IPv4 only$`, refused["detail"])
	stopAndCheck(t, p)
	assert.Contains(t, p.stderr.String(), "IPv4 only", "the human line says it too")
	assert.Contains(t, vm.ConsoleLog(), "ProtRej", "pppd rejected IPV6CP")
}
