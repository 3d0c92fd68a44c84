package netif_test

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"testing"

	"github.com/stretchr/testify/require"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/checksum"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/transport/udp"
	"gvisor.dev/gvisor/pkg/waiter"

	"github.com/pppdial/pppdial/netif"
)

// loopDev is a Device that records what the stack writes and lets the
// benchmark inject inbound packets through the installed handler.
type loopDev struct {
	h    func([]byte)
	out  int
	last []byte
}

func (d *loopDev) WritePacket(p []byte) error {
	d.out++
	d.last = append(d.last[:0], p...)
	return nil
}
func (d *loopDev) SetPacketHandler(h func([]byte)) { d.h = h }

// echoRequest builds an IPv4 ICMP echo request from src to dst.
func echoRequest(src, dst netip.Addr, payload int) []byte {
	pkt := make([]byte, header.IPv4MinimumSize+header.ICMPv4MinimumSize+payload)
	ip := header.IPv4(pkt)
	ip.Encode(&header.IPv4Fields{
		TotalLength: uint16(len(pkt)), TTL: 64, Protocol: uint8(header.ICMPv4ProtocolNumber),
		SrcAddr: tcpip.AddrFrom4(src.As4()), DstAddr: tcpip.AddrFrom4(dst.As4()),
	})
	ip.SetChecksum(^ip.CalculateChecksum())
	icmp := header.ICMPv4(pkt[header.IPv4MinimumSize:])
	icmp.SetType(header.ICMPv4Echo)
	binary.BigEndian.PutUint16(icmp[4:], 0x1234)
	binary.BigEndian.PutUint16(icmp[6:], 1)
	icmp.SetChecksum(0)
	icmp.SetChecksum(^checksum.Checksum(icmp, 0))
	return pkt
}

// BenchmarkStackEchoRoundTrip measures one packet's round trip through the
// data path and gVisor: Device handler -> netstack (ICMP echo) ->
// Device.WritePacket. The one allocation per op is gVisor's: the route it
// builds for every echo reply (stack.makeRouteInner); the link endpoint's
// own share is BenchmarkLinkRoundTrip, 0 allocs.
func BenchmarkStackEchoRoundTrip(b *testing.B) {
	dev := &loopDev{}
	reg := netif.NewRegistry()
	n, err := reg.AddPPP(dev, netif.Options{Logger: quiet})
	require.NoError(b, err)
	defer func() { _ = reg.Remove(n) }()
	require.NoError(b, n.SetUp(netif.Config{Local: addrA, Peer: addrB}))
	req := echoRequest(addrB, addrA, 56)
	dev.h(req) // warm up pools and caches
	require.Equal(b, 1, dev.out)
	require.Equal(b, len(req), len(dev.last))
	b.SetBytes(int64(2 * len(req)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		dev.h(req)
	}
	b.StopTimer()
	require.Equal(b, b.N+1, dev.out)
}

// udpPacket builds an IPv4/UDP datagram.
func udpPacket(src netip.AddrPort, dst netip.AddrPort, payload int) []byte {
	pkt := make([]byte, header.IPv4MinimumSize+header.UDPMinimumSize+payload)
	ip := header.IPv4(pkt)
	s, d := tcpip.AddrFrom4(src.Addr().As4()), tcpip.AddrFrom4(dst.Addr().As4())
	ip.Encode(&header.IPv4Fields{
		TotalLength: uint16(len(pkt)), TTL: 64, Protocol: uint8(header.UDPProtocolNumber),
		SrcAddr: s, DstAddr: d,
	})
	ip.SetChecksum(^ip.CalculateChecksum())
	u := header.UDP(pkt[header.IPv4MinimumSize:])
	u.Encode(&header.UDPFields{SrcPort: src.Port(), DstPort: dst.Port(), Length: uint16(len(u))})
	xsum := header.PseudoHeaderChecksum(header.UDPProtocolNumber, s, d, uint16(len(u)))
	u.SetChecksum(^u.CalculateChecksum(checksum.Checksum(u.Payload(), xsum)))
	return pkt
}

// BenchmarkStackUDPRoundTrip measures a UDP echo through the data path:
// Device handler -> netstack -> UDP endpoint (read by the application,
// answered from a connected endpoint) -> netstack -> Device.WritePacket.
// Its allocations are inside gVisor's UDP endpoint (receive queue entry,
// header views, payload buffer), none in this package.
func BenchmarkStackUDPRoundTrip(b *testing.B) {
	dev := &loopDev{}
	reg := netif.NewRegistry()
	n, err := reg.AddPPP(dev, netif.Options{Logger: quiet})
	require.NoError(b, err)
	defer func() { _ = reg.Remove(n) }()
	require.NoError(b, n.SetUp(netif.Config{Local: addrA, Peer: addrB}))

	var wq waiter.Queue
	ep, terr := n.Stack().NewEndpoint(udp.ProtocolNumber, ipv4.ProtocolNumber, &wq)
	require.Nil(b, terr)
	defer ep.Close()
	require.Nil(b, ep.Bind(full(addrA, 7000)))
	require.Nil(b, ep.Connect(full(addrB, 5000)))

	req := udpPacket(netip.AddrPortFrom(addrB, 5000), netip.AddrPortFrom(addrA, 7000), 100)
	var rbuf bytes.Buffer
	rbuf.Grow(2048)
	var payload bytes.Reader
	echo := func() {
		dev.h(req)
		rbuf.Reset()
		if _, err := ep.Read(&rbuf, tcpip.ReadOptions{}); err != nil {
			b.Fatalf("read: %v", err)
		}
		payload.Reset(rbuf.Bytes())
		if _, err := ep.Write(&payload, tcpip.WriteOptions{}); err != nil {
			b.Fatalf("write: %v", err)
		}
	}
	echo()
	require.Equal(b, 1, dev.out)
	require.Equal(b, len(req), len(dev.last))
	b.SetBytes(int64(2 * len(req)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		echo()
	}
}
