package ppp_test

// Interop tests: a client Conn against PPP implementations this project did not write
// (internal/peers): slirp-fullbolt and pppd 2.4.9 in a VM. Skipped with the reason when a peer is
// not installed; required with PPP_INTEROP=1. Every run is recorded with package pcap through
// Config.Trace and the capture must decode in tshark without a malformed packet.
//
//	PPP_INTEROP=1 go test -run Interop -v ./ppp
//	PPPDIAL_PCAP_DIR=/tmp/pcaps ...   keeps the captures for Wireshark

import (
	"bytes"
	"context"
	"encoding/binary"

	"log/slog"
	"net"
	"net/netip"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pppdial/pppdial/internal/peers"
	"github.com/pppdial/pppdial/line"
	"github.com/pppdial/pppdial/pcap"
	"github.com/pppdial/pppdial/ppp"
)

// interopClient is a client Conn on a real peer's port, recorded to a pcap file.
type interopClient struct {
	t     *testing.T
	conn  *ppp.Conn
	pcap  *pcap.Writer
	path  string
	logs  *lockedBuffer
	inbox chan []byte // inbound IP packets (copies)
}

// lockedBuffer collects the Conn's debug log; it is printed only when the test fails (the Conn's
// goroutines may log after the test body, where t.Log is not allowed).
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startClient starts a client Conn with cfg on port and stops it in t.Cleanup (the peer's own
// cleanup, registered earlier, runs after).
func startClient(t *testing.T, port line.Line, name string, cfg ppp.Config) *interopClient {
	t.Helper()
	w, path := peers.Record(t, name)
	c := &interopClient{t: t, pcap: w, path: path, logs: &lockedBuffer{}, inbox: make(chan []byte, 64)}
	cfg.Role = ppp.Client
	cfg.Logger = slog.New(slog.NewTextHandler(c.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	cfg.Trace = func(ts time.Time, d ppp.Direction, proto uint16, info []byte) {
		_ = w.WriteFrame(ts, pcap.Direction(d), proto, info)
	}
	c.conn = ppp.NewConn(port, cfg)
	c.conn.SetPacketHandler(func(pkt []byte) {
		select {
		case c.inbox <- bytes.Clone(pkt):
		default:
		}
	})
	ctx, cancel := context.WithCancel(context.Background())
	c.conn.Start(ctx)
	t.Cleanup(func() {
		cctx, ccancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer ccancel()
		if err := c.conn.Close(cctx); err != nil {
			t.Errorf("Close: %v", err)
		}
		cancel()
		if t.Failed() {
			t.Logf("Conn log:\n%s", c.logs.String())
		}
	})
	return c
}

// waitUp waits for IPCP to open.
func (c *interopClient) waitUp(d time.Duration) ppp.Status {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	st, err := c.conn.WaitUp(ctx)
	require.NoError(c.t, err, "WaitUp; Conn.Err=%v", c.conn.Err())
	return st
}

// finish closes the Conn and the capture and checks the capture with tshark.
func (c *interopClient) finish() string {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	assert.NoError(c.t, c.conn.Close(ctx), "Close")
	assert.ErrorIs(c.t, c.conn.Err(), ppp.ErrClosed, "the link ended because we closed it")
	require.NoError(c.t, c.pcap.Close())
	return peers.CheckPcap(c.t, c.path)
}

// roundTrip sends pkt and waits for an inbound packet that match accepts.
func (c *interopClient) roundTrip(pkt []byte, d time.Duration, match func([]byte) bool) []byte {
	c.t.Helper()
	require.NoError(c.t, c.conn.WritePacket(pkt))
	timeout := time.After(d)
	for {
		select {
		case in := <-c.inbox:
			if match(in) {
				return in
			}
		case <-timeout:
			c.t.Fatalf("no answer within %v to % x", d, pkt[:min(len(pkt), 40)])
			return nil
		case <-c.conn.Done():
			c.t.Fatalf("link ended while waiting for an answer: %v", c.conn.Err())
			return nil
		}
	}
}

// allBytes is a payload holding every byte value: flags, escapes, XON/XOFF, controls.
func allBytes() []byte {
	b := make([]byte, 256)
	for i := range b {
		b[i] = byte(i)
	}
	return b
}

// TestInteropSlirp: slirp assigns 10.0.2.15 through IPCP, and a UDP datagram to 10.0.2.2 reaches
// a socket of this test on 127.0.0.1 and its answer comes back over the link.
func TestInteropSlirp(t *testing.T) {
	port := peers.Slirp(t)
	c := startClient(t, port, "slirp", ppp.Config{})
	st := c.waitUp(15 * time.Second)
	assert.Equal(t, netip.MustParseAddr("10.0.2.15"), st.Local)
	assert.True(t, st.IPv4)
	// slirp asks 0.0.0.0 for itself: it must be given an address (Nak), or it terminates IPCP
	// at once after IPCP opens (a ConfRej leaves it without one).
	time.Sleep(500 * time.Millisecond)
	require.True(t, c.conn.Status().IPv4, "slirp ended IPCP right after it opened (see the IPCP "+
		"ConfReq/ConfRej of its IP-Address 0.0.0.0 and its TermReq in the log)")

	// A UDP echo server on loopback; slirp maps 10.0.2.2 to the host's 127.0.0.1.
	srv, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	require.NoError(t, err)
	defer srv.Close()
	go func() {
		buf := make([]byte, 2048)
		for {
			n, from, err := srv.ReadFromUDP(buf)
			if err != nil {
				return
			}
			_, _ = srv.WriteToUDP(append([]byte("echo:"), buf[:n]...), from)
		}
	}()
	srvPort := uint16(srv.LocalAddr().(*net.UDPAddr).Port)
	payload := allBytes()
	pkt := udp4(st.Local, netip.MustParseAddr("10.0.2.2"), 40000, srvPort, payload)
	in := c.roundTrip(pkt, 10*time.Second, func(b []byte) bool {
		return len(b) > 28 && b[9] == 17 && binary.BigEndian.Uint16(b[22:24]) == 40000
	})
	assert.Equal(t, append([]byte("echo:"), payload...), in[28:], "UDP answer through slirp")

	// The link stays up: slirp must not end IPCP (it does when its own 0.0.0.0 is acked).
	time.Sleep(2 * time.Second)
	assert.True(t, c.conn.Status().IPv4, "IPCP still open after 2 s")
	assert.NoError(t, c.conn.Err())
	stats := c.conn.Stats()
	assert.NotZero(t, stats.ProtocolRejects, "slirp's CCP is Protocol-Rejected")

	verbose := c.finish()
	assert.Contains(t, verbose, "Rejected Protocol: Compression Control Protocol (0x80fd)")
}

// pppdCase is one pppd-vm configuration.
type pppdCase struct {
	name string
	opts []string
	cfg  ppp.Config
	// check runs while the link is up, after the common checks.
	check func(t *testing.T, vm *peers.VM, c *interopClient, st ppp.Status)
	// after checks the capture's tshark -V text.
	after func(t *testing.T, verbose string)
}

var (
	pppdAddr   = netip.MustParseAddr("10.0.0.1")
	clientAddr = netip.MustParseAddr("10.0.0.2")
	// pppd pads this message: "local  IP address 10.0.0.1".
	reLocalIP = regexp.MustCompile(`local\s+IP address 10\.0\.0\.1`)
)

var pppdCases = []pppdCase{
	{
		name: "default",
		check: func(t *testing.T, vm *peers.VM, c *interopClient, st ppp.Status) {
			// pppd offers IPV6CP; a client without IPv6 Protocol-Rejects it.
			waitConsole(t, vm, regexp.MustCompile(`rcvd \[LCP ProtRej id=0x[0-9a-f]+ 80 57`))
			assert.False(t, st.IPv6)
		},
	},
	{
		name: "require-pap",
		opts: []string{"require-pap"},
		cfg:  ppp.Config{Username: "user", Password: "secret"},
		check: func(t *testing.T, vm *peers.VM, c *interopClient, st ppp.Status) {
			assert.Contains(t, vm.ConsoleLog(), `rcvd [PAP AuthReq id=0x1 user="user" password=<hidden>]`)
			assert.Regexp(t, `sent \[PAP AuthAck id=0x1`, vm.ConsoleLog())
		},
	},
	{
		name: "require-chap",
		opts: []string{"require-chap"},
		cfg:  ppp.Config{Username: "user", Password: "secret"},
		check: func(t *testing.T, vm *peers.VM, c *interopClient, st ppp.Status) {
			assert.Regexp(t, `rcvd \[CHAP Response id=0x[0-9a-f]+ <[0-9a-f]{32}>, name = "user"\]`, vm.ConsoleLog())
			assert.Regexp(t, `sent \[CHAP Success id=0x[0-9a-f]+`, vm.ConsoleLog())
		},
	},
	{
		name: "mru-576",
		opts: []string{"mru 576"},
		check: func(t *testing.T, vm *peers.VM, c *interopClient, st ppp.Status) {
			assert.Equal(t, 576, st.MTU, "the peer's MRU bounds what we send")
			big := icmpEcho4(clientAddr, pppdAddr, 7, 1, make([]byte, 600))
			assert.ErrorIs(t, c.conn.WritePacket(big), ppp.ErrPacketTooBig)
			// A packet of exactly 576 bytes passes.
			ok := icmpEcho4(clientAddr, pppdAddr, 7, 2, make([]byte, 576-28))
			c.roundTrip(ok, 10*time.Second, isEchoReply4(7, 2))
		},
	},
	{
		name: "asyncmap-0xa0000",
		opts: []string{"asyncmap 0xa0000"},
		check: func(t *testing.T, vm *peers.VM, c *interopClient, st ppp.Status) {
			assert.Contains(t, vm.ConsoleLog(), "rcvd [LCP ConfAck id=0x1 <asyncmap 0xa0000>")
			// pppd's kernel discards unescaped XON/XOFF (0x11, 0x13) now: a ping whose payload holds
			// them (and every other byte) only comes back if we escape them.
			for seq := uint16(10); seq < 13; seq++ {
				pkt := icmpEcho4(clientAddr, pppdAddr, 9, seq, bytes.Repeat([]byte{0x11, 0x13, 0x7d, 0x7e}, 64))
				c.roundTrip(pkt, 10*time.Second, isEchoReply4(9, seq))
			}
		},
	},
	{
		name: "lcp-echo",
		opts: []string{"lcp-echo-interval 1", "lcp-echo-failure 2"},
		check: func(t *testing.T, vm *peers.VM, c *interopClient, st ppp.Status) {
			time.Sleep(5 * time.Second)
			assert.True(t, c.conn.Status().IPv4, "link up after 5 s of pppd's echoes")
			assert.NoError(t, c.conn.Err())
			log := vm.ConsoleLog()
			// pppd logs only its first Echo-Request (it stops logging echoes once the link is
			// up), so count them in our capture after finish; here its verdict must be absent.
			assert.Contains(t, log, "sent [LCP EchoReq id=0x0")
			assert.NotContains(t, log, "No response to")
			assert.NotContains(t, log, "appears to be disconnected")
		},
		after: func(t *testing.T, verbose string) {
			assert.GreaterOrEqual(t, strings.Count(verbose, "Code: Echo Request (9)"), 5, "pppd's Echo-Requests")
			assert.GreaterOrEqual(t, strings.Count(verbose, "Code: Echo Reply (10)"), 5, "our Echo-Replies")
		},
	},
	{
		name: "ipv6",
		opts: []string{"+ipv6"},
		cfg:  ppp.Config{IPv6: true},
		check: func(t *testing.T, vm *peers.VM, c *interopClient, st ppp.Status) {
			deadline := time.Now().Add(15 * time.Second)
			for !c.conn.Status().IPv6 && time.Now().Before(deadline) {
				time.Sleep(50 * time.Millisecond)
			}
			st = c.conn.Status()
			require.True(t, st.IPv6, "IPV6CP opened")
			assert.True(t, st.LocalV6.IsLinkLocalUnicast(), "%v", st.LocalV6)
			assert.True(t, st.PeerV6.IsLinkLocalUnicast(), "%v", st.PeerV6)
			// Compare parsed addresses: pppd prints groups with leading zeros (":0aa7:").
			m := waitConsole(t, vm, regexp.MustCompile(`local\s+LL address (\S+)`))
			assert.Equal(t, st.PeerV6, parseLL(t, m[1]), "pppd's link-local address")
			m = waitConsole(t, vm, regexp.MustCompile(`remote LL address (\S+)`))
			assert.Equal(t, st.LocalV6, parseLL(t, m[1]), "ours, as pppd saw it")
			// ICMPv6 echo to pppd's link-local address, answered by the VM's kernel.
			pkt := icmp6Echo(st.LocalV6, st.PeerV6, 11, 1, allBytes())
			in := c.roundTrip(pkt, 10*time.Second, isEchoReply6(11, 1))
			assert.Equal(t, allBytes(), in[48:])
		},
	},
}

// TestInteropPPPD runs a client Conn against pppd 2.4.9 (kernel ppp_async) in the VM, once per
// configuration. Up to two VMs run at once (peers caps them).
func TestInteropPPPD(t *testing.T) {
	for _, tc := range pppdCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			vm := peers.PPPDVM(t, tc.opts...)
			c := startClient(t, vm.Port, "pppd-"+tc.name, tc.cfg)
			st := c.waitUp(30 * time.Second)
			assert.Equal(t, clientAddr, st.Local)
			assert.Equal(t, pppdAddr, st.Peer)
			assert.Contains(t, st.DNS, pppdAddr, "ms-dns 10.0.0.1")
			waitConsole(t, vm, reLocalIP)

			// Every byte value survives the round trip through pppd's kernel.
			pkt := icmpEcho4(clientAddr, pppdAddr, 1, 1, allBytes())
			in := c.roundTrip(pkt, 10*time.Second, isEchoReply4(1, 1))
			assert.Equal(t, allBytes(), in[28:], "ping payload")

			if tc.check != nil {
				tc.check(t, vm, c, st)
			}
			verbose := c.finish()
			assert.Contains(t, verbose, "PPP IP Control Protocol")
			if tc.after != nil {
				tc.after(t, verbose)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_, err := vm.WaitConsoleMatch(ctx, regexp.MustCompile(`rcvd \[LCP TermReq`))
			assert.NoError(t, err, "pppd saw our Terminate-Request")
			assert.Zero(t, c.conn.Stats().Framing.FCSErrors, "no FCS errors from pppd's frames: %+v", c.conn.Stats().Framing)
		})
	}
}

// waitConsole waits (10 s) for re in pppd's log and returns the match.
func waitConsole(t *testing.T, vm *peers.VM, re *regexp.Regexp) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	m, err := vm.WaitConsoleMatch(ctx, re)
	require.NoError(t, err)
	return m
}

// --- packets (the VMs' kernels answer ICMP; slirp relays UDP to the host) ---

func csum(sum uint32, b []byte) uint32 {
	for i := 0; i+1 < len(b); i += 2 {
		sum += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if len(b)%2 == 1 {
		sum += uint32(b[len(b)-1]) << 8
	}
	return sum
}

func fold(sum uint32) uint16 {
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	return ^uint16(sum)
}

func ipv4Header(src, dst netip.Addr, proto byte, payloadLen int) []byte {
	h := make([]byte, 20)
	h[0] = 0x45
	binary.BigEndian.PutUint16(h[2:], uint16(20+payloadLen))
	binary.BigEndian.PutUint16(h[4:], 0x1234)
	h[8] = 64
	h[9] = proto
	s, d := src.As4(), dst.As4()
	copy(h[12:], s[:])
	copy(h[16:], d[:])
	binary.BigEndian.PutUint16(h[10:], fold(csum(0, h)))
	return h
}

func icmpEcho4(src, dst netip.Addr, id, seq uint16, payload []byte) []byte {
	icmp := make([]byte, 8, 8+len(payload))
	icmp[0] = 8
	binary.BigEndian.PutUint16(icmp[4:], id)
	binary.BigEndian.PutUint16(icmp[6:], seq)
	icmp = append(icmp, payload...)
	binary.BigEndian.PutUint16(icmp[2:], fold(csum(0, icmp)))
	return append(ipv4Header(src, dst, 1, len(icmp)), icmp...)
}

func isEchoReply4(id, seq uint16) func([]byte) bool {
	return func(b []byte) bool {
		return len(b) >= 28 && b[0]>>4 == 4 && b[9] == 1 && b[20] == 0 &&
			binary.BigEndian.Uint16(b[24:]) == id && binary.BigEndian.Uint16(b[26:]) == seq
	}
}

func udp4(src, dst netip.Addr, sport, dport uint16, payload []byte) []byte {
	u := make([]byte, 8, 8+len(payload))
	binary.BigEndian.PutUint16(u[0:], sport)
	binary.BigEndian.PutUint16(u[2:], dport)
	binary.BigEndian.PutUint16(u[4:], uint16(8+len(payload)))
	u = append(u, payload...)
	s, d := src.As4(), dst.As4()
	pseudo := append(append(s[:], d[:]...), 0, 17, byte(len(u)>>8), byte(len(u)))
	binary.BigEndian.PutUint16(u[6:], fold(csum(csum(0, pseudo), u)))
	return append(ipv4Header(src, dst, 17, len(u)), u...)
}

func icmp6Echo(src, dst netip.Addr, id, seq uint16, payload []byte) []byte {
	icmp := make([]byte, 8, 8+len(payload))
	icmp[0] = 128
	binary.BigEndian.PutUint16(icmp[4:], id)
	binary.BigEndian.PutUint16(icmp[6:], seq)
	icmp = append(icmp, payload...)
	s, d := src.As16(), dst.As16()
	pseudo := append(append(s[:], d[:]...), 0, 0, byte(len(icmp)>>8), byte(len(icmp)), 0, 0, 0, 58)
	binary.BigEndian.PutUint16(icmp[2:], fold(csum(csum(0, pseudo), icmp)))
	h := make([]byte, 40)
	h[0] = 0x60
	binary.BigEndian.PutUint16(h[4:], uint16(len(icmp)))
	h[6] = 58
	h[7] = 255
	copy(h[8:], s[:])
	copy(h[24:], d[:])
	return append(h, icmp...)
}

func isEchoReply6(id, seq uint16) func([]byte) bool {
	return func(b []byte) bool {
		return len(b) >= 48 && b[0]>>4 == 6 && b[6] == 58 && b[40] == 129 &&
			binary.BigEndian.Uint16(b[44:]) == id && binary.BigEndian.Uint16(b[46:]) == seq
	}
}

// parseLL parses an IPv6 address as pppd logs it.
func parseLL(t *testing.T, s string) netip.Addr {
	t.Helper()
	a, err := netip.ParseAddr(s)
	require.NoError(t, err, "pppd's address %q", s)
	return a
}
