package netif

import (
	"sync"
	"sync/atomic"

	"gvisor.dev/gvisor/pkg/buffer"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv6"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
)

// linkEndpoint is the raw-IP gVisor link endpoint between a Device and a
// stack. It is link/channel without the channel: outbound packets go
// straight to Device.WritePacket on the caller's goroutine (the Device
// provides the queueing and the back-pressure, as a serial port does), and
// inbound packets are delivered on the Device's goroutine. That keeps the
// data path free of goroutine hand-offs and of per-packet allocations.
type linkEndpoint struct {
	n   *Netif
	mtu atomic.Uint32

	mu         sync.RWMutex
	dispatcher stack.NetworkDispatcher

	// bufs holds *[]byte scratch buffers into which outbound packets are
	// flattened; a pool rather than one buffer because the stack writes
	// from several goroutines at once.
	bufs sync.Pool
}

var (
	_ stack.LinkEndpoint       = (*linkEndpoint)(nil)
	_ stack.QueueingDiscipline = (*linkEndpoint)(nil)
)

func newLinkEndpoint(n *Netif, mtu uint32) *linkEndpoint {
	e := &linkEndpoint{n: n}
	e.mtu.Store(mtu)
	e.bufs.New = func() any {
		b := make([]byte, 0, 2048)
		return &b
	}
	return e
}

// deliver hands one inbound packet (valid only during the call) to the
// stack. It is the Device's packet handler.
func (e *linkEndpoint) deliver(pkt []byte) {
	n := e.n
	if len(pkt) == 0 {
		n.ctr.errorsIn.Add(1)
		return
	}
	var proto tcpip.NetworkProtocolNumber
	switch header.IPVersion(pkt) {
	case header.IPv4Version:
		proto = ipv4.ProtocolNumber
	case header.IPv6Version:
		proto = ipv6.ProtocolNumber
	default:
		n.ctr.errorsIn.Add(1)
		return
	}
	if !n.up.Load() {
		n.ctr.dropsIn.Add(1)
		return
	}
	e.mu.RLock()
	d := e.dispatcher
	e.mu.RUnlock()
	if d == nil {
		n.ctr.dropsIn.Add(1)
		return
	}
	n.ctr.packetsIn.Add(1)
	n.ctr.bytesIn.Add(uint64(len(pkt)))
	if proto == ipv6.ProtocolNumber && isRouterAdvert(pkt) {
		n.handleRouterAdvert(pkt)
	}
	// MakeWithData copies pkt into a pooled chunk; the PacketBuffer comes
	// from gVisor's pool too, so nothing here allocates in steady state.
	pb := stack.NewPacketBuffer(stack.PacketBufferOptions{Payload: buffer.MakeWithData(pkt)})
	d.DeliverNetworkPacket(proto, pb)
	pb.DecRef()
}

// WritePackets implements stack.LinkWriter: each packet is flattened into
// a pooled buffer and written to the Device. (The NIC normally goes through
// WritePacket, the qdisc below; this serves any other LinkWriter user.)
func (e *linkEndpoint) WritePackets(pkts stack.PacketBufferList) (int, tcpip.Error) {
	sent := 0
	for _, pkt := range pkts.AsSlice() {
		if err := e.WritePacket(pkt); err != nil {
			if sent == 0 {
				return 0, err
			}
			break
		}
		sent++
	}
	return sent, nil
}

// WritePacket implements stack.QueueingDiscipline. The endpoint is its own
// qdisc: gVisor's default one wraps every packet in a PacketBufferList that
// escapes to the heap (one allocation per packet), and the Device already
// queues. The caller keeps its reference to pkt.
func (e *linkEndpoint) WritePacket(pkt *stack.PacketBuffer) tcpip.Error {
	n := e.n
	if !n.up.Load() {
		n.ctr.dropsOut.Add(1)
		return &tcpip.ErrClosedForSend{}
	}
	bp := e.bufs.Get().(*[]byte)
	b := flatten((*bp)[:0], pkt)
	err := n.dev.WritePacket(b)
	*bp = b[:0]
	e.bufs.Put(bp)
	if err != nil {
		n.ctr.errorsOut.Add(1)
		return &tcpip.ErrClosedForSend{}
	}
	n.ctr.packetsOut.Add(1)
	n.ctr.bytesOut.Add(uint64(len(b)))
	return nil
}

// flatten appends the whole packet (network header onwards) to dst,
// walking the view list instead of AsSlices, which allocates.
func flatten(dst []byte, pkt *stack.PacketBuffer) []byte {
	size := pkt.Size()
	if cap(dst) < size {
		dst = make([]byte, 0, size)
	}
	vl, off := pkt.AsViewList()
	for v := vl.Front(); v != nil; v = v.Next() {
		s := v.AsSlice()
		if off >= len(s) {
			off -= len(s)
			continue
		}
		dst = append(dst, s[off:]...)
		off = 0
	}
	return dst
}

// MTU implements stack.NetworkLinkEndpoint.
func (e *linkEndpoint) MTU() uint32 { return e.mtu.Load() }

// SetMTU implements stack.NetworkLinkEndpoint.
func (e *linkEndpoint) SetMTU(mtu uint32) { e.mtu.Store(mtu) }

// MaxHeaderLength implements stack.NetworkLinkEndpoint: raw IP, no header.
func (*linkEndpoint) MaxHeaderLength() uint16 { return 0 }

// LinkAddress implements stack.NetworkLinkEndpoint: point-to-point links
// have no link address.
func (*linkEndpoint) LinkAddress() tcpip.LinkAddress { return "" }

// SetLinkAddress implements stack.NetworkLinkEndpoint (ignored).
func (*linkEndpoint) SetLinkAddress(tcpip.LinkAddress) {}

// Capabilities implements stack.NetworkLinkEndpoint: no resolution (no
// ARP/NDP neighbour cache), checksums computed and verified by the stack.
func (*linkEndpoint) Capabilities() stack.LinkEndpointCapabilities { return 0 }

// Attach implements stack.NetworkLinkEndpoint.
func (e *linkEndpoint) Attach(d stack.NetworkDispatcher) {
	e.mu.Lock()
	e.dispatcher = d
	e.mu.Unlock()
}

// IsAttached implements stack.NetworkLinkEndpoint.
func (e *linkEndpoint) IsAttached() bool {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.dispatcher != nil
}

// Wait implements stack.NetworkLinkEndpoint: no goroutines to wait for.
func (*linkEndpoint) Wait() {}

// ARPHardwareType implements stack.NetworkLinkEndpoint.
func (*linkEndpoint) ARPHardwareType() header.ARPHardwareType { return header.ARPHardwareNone }

// AddHeader implements stack.NetworkLinkEndpoint (no link header).
func (*linkEndpoint) AddHeader(*stack.PacketBuffer) {}

// ParseHeader implements stack.NetworkLinkEndpoint (no link header).
func (*linkEndpoint) ParseHeader(*stack.PacketBuffer) bool { return true }

// Close implements stack.NetworkLinkEndpoint and stack.QueueingDiscipline.
func (e *linkEndpoint) Close() { e.Attach(nil) }

// SetOnCloseAction implements stack.NetworkLinkEndpoint.
func (*linkEndpoint) SetOnCloseAction(func()) {}
