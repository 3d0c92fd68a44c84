package bind

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"os"
	"time"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv6"
	"gvisor.dev/gvisor/pkg/tcpip/transport/icmp"
	"gvisor.dev/gvisor/pkg/waiter"

	"github.com/pppdial/pppdial/netif"
)

// Pinger sends ICMP echo requests over one interface.
type Pinger struct {
	// Interface is the interface name.
	Interface string
	// Registry to look Interface up in; nil means netif.DefaultRegistry.
	Registry *netif.Registry
	// Size is the echo payload size in bytes (default 56, as ping(8)).
	Size int
}

// Ping sends one ICMP echo request to dst over ifname and waits for the
// reply until ctx ends; it returns the round-trip time. On a pp<N>
// interface it uses the netstack's ICMP endpoint; on a host interface a
// raw ICMP socket bound to the device (needs CAP_NET_RAW).
func Ping(ctx context.Context, ifname string, dst netip.Addr) (time.Duration, error) {
	p := Pinger{Interface: ifname}
	return p.Ping(ctx, dst, 1)
}

// Ping sends one echo request with sequence number seq and waits for the
// matching reply.
func (p *Pinger) Ping(ctx context.Context, dst netip.Addr, seq uint16) (time.Duration, error) {
	dst = dst.Unmap()
	n, err := lookup(p.Registry, p.Interface)
	if err != nil {
		return 0, opError("ping", "ip", nil, nil, err)
	}
	size := p.Size
	if size <= 0 {
		size = 56
	}
	payload := make([]byte, size)
	_, _ = rand.Read(payload)
	var rtt time.Duration
	if n.Kind() == netif.KindHost {
		rtt, err = hostPing(ctx, n, dst, seq, payload)
	} else {
		rtt, err = stackPing(ctx, n, dst, seq, payload)
	}
	if err != nil {
		return 0, opError("ping", "ip", nil, &net.IPAddr{IP: dst.AsSlice()}, err)
	}
	return rtt, nil
}

// echo builds an echo request (type 8 or 128) with id, seq and payload;
// the checksum is left to the caller (gVisor and the kernel for ICMPv6
// fill it in).
func echo(v6 bool, id, seq uint16, payload []byte) []byte {
	b := make([]byte, 8+len(payload))
	b[0] = byte(header.ICMPv4Echo)
	if v6 {
		b[0] = byte(header.ICMPv6EchoRequest)
	}
	binary.BigEndian.PutUint16(b[4:], id)
	binary.BigEndian.PutUint16(b[6:], seq)
	copy(b[8:], payload)
	return b
}

// isReply reports whether msg (an ICMP message without IP header) is the
// echo reply to seq carrying payload; id is checked when checkID is set
// (gVisor rewrites the id of its ping endpoints, the kernel's raw sockets
// see every ICMP packet of the host).
func isReply(msg []byte, v6 bool, checkID bool, id, seq uint16, payload []byte) bool {
	want := byte(header.ICMPv4EchoReply)
	if v6 {
		want = byte(header.ICMPv6EchoReply)
	}
	return len(msg) >= 8 && msg[0] == want && msg[1] == 0 &&
		(!checkID || binary.BigEndian.Uint16(msg[4:]) == id) &&
		binary.BigEndian.Uint16(msg[6:]) == seq && bytes.Equal(msg[8:], payload)
}

func stackPing(ctx context.Context, n *netif.Netif, dst netip.Addr, seq uint16, payload []byte) (time.Duration, error) {
	v6 := dst.Is6()
	tp, np := icmp.ProtocolNumber4, ipv4.ProtocolNumber
	if v6 {
		tp, np = icmp.ProtocolNumber6, ipv6.ProtocolNumber
	}
	var wq waiter.Queue
	ep, terr := n.Stack().NewEndpoint(tp, np, &wq)
	if terr != nil {
		return 0, stackErr(n, "socket", terr)
	}
	defer ep.Close()
	if terr := ep.Connect(fullAddr(n, netip.AddrPortFrom(dst, 0))); terr != nil {
		return 0, stackErr(n, "connect", terr)
	}
	entry, ready := waiter.NewChannelEntry(waiter.ReadableEvents | waiter.EventHUp | waiter.EventErr)
	wq.EventRegister(&entry)
	defer wq.EventUnregister(&entry)

	start := time.Now()
	if _, terr := ep.Write(bytes.NewReader(echo(v6, 0, seq, payload)), tcpip.WriteOptions{}); terr != nil {
		return 0, stackErr(n, "sendto", terr)
	}
	var buf bytes.Buffer
	for {
		buf.Reset()
		_, terr := ep.Read(&buf, tcpip.ReadOptions{})
		switch terr.(type) {
		case nil:
			if isReply(buf.Bytes(), v6, false, 0, seq, payload) {
				return time.Since(start), nil
			}
			continue
		case *tcpip.ErrWouldBlock:
		default:
			return 0, stackErr(n, "recvfrom", terr)
		}
		select {
		case <-ready:
		case <-ctx.Done():
			return 0, withLink(n, mapCtxErr(ctx.Err()))
		}
		if err := n.CheckUp(); err != nil {
			return 0, err
		}
	}
}

func hostPing(ctx context.Context, n *netif.Netif, dst netip.Addr, seq uint16, payload []byte) (time.Duration, error) {
	v6 := dst.Is6()
	network, laddr := "ip4:icmp", "0.0.0.0"
	if v6 {
		network, laddr = "ip6:ipv6-icmp", "::"
	}
	pc, err := hostListenConfig(n).ListenPacket(ctx, network, laddr)
	if err != nil {
		return 0, err
	}
	defer pc.Close()
	stop := context.AfterFunc(ctx, func() { _ = pc.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	var idb [2]byte
	_, _ = rand.Read(idb[:])
	id := binary.BigEndian.Uint16(idb[:])
	msg := echo(v6, id, seq, payload)
	if !v6 {
		// The kernel checksums ICMPv6 on raw sockets, not ICMPv4.
		binary.BigEndian.PutUint16(msg[2:], ^checksum16(msg))
	}
	start := time.Now()
	if _, err := pc.WriteTo(msg, &net.IPAddr{IP: dst.AsSlice(), Zone: zoned(n, dst).Zone()}); err != nil {
		return 0, err
	}
	buf := make([]byte, 1500)
	for {
		k, from, err := pc.ReadFrom(buf)
		if err != nil {
			if ctx.Err() != nil && errors.Is(err, os.ErrDeadlineExceeded) {
				return 0, mapCtxErr(ctx.Err())
			}
			return 0, err
		}
		fa, ok := from.(*net.IPAddr)
		if !ok {
			continue
		}
		src, _ := netip.AddrFromSlice(fa.IP)
		if src.Unmap() == dst && isReply(buf[:k], v6, true, id, seq, payload) {
			return time.Since(start), nil
		}
	}
}

// checksum16 is the Internet checksum (RFC 1071) of b, not complemented.
func checksum16(b []byte) uint16 {
	var s uint32
	for len(b) >= 2 {
		s += uint32(b[0])<<8 | uint32(b[1])
		b = b[2:]
	}
	if len(b) == 1 {
		s += uint32(b[0]) << 8
	}
	for s>>16 != 0 {
		s = s&0xffff + s>>16
	}
	return uint16(s)
}
