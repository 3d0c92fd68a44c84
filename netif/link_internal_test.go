package netif

import (
	"testing"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
)

// captureDev records the last packet written.
type captureDev struct {
	n    int
	last []byte
}

func (d *captureDev) WritePacket(p []byte) error {
	d.n++
	d.last = append(d.last[:0], p...)
	return nil
}
func (d *captureDev) SetPacketHandler(func([]byte)) {}

// bounce is a NetworkDispatcher standing in for the stack: it sends every
// delivered packet straight back out through the endpoint, so a benchmark
// measures the link endpoint alone.
type bounce struct{ ep *linkEndpoint }

func (b bounce) DeliverNetworkPacket(_ tcpip.NetworkProtocolNumber, pkt *stack.PacketBuffer) {
	_ = b.ep.WritePacket(pkt)
}
func (bounce) DeliverLinkPacket(tcpip.NetworkProtocolNumber, *stack.PacketBuffer) {}

func newBounce() (*linkEndpoint, *captureDev) {
	dev := &captureDev{}
	n := &Netif{name: "pp0", dev: dev}
	n.up.Store(true)
	ep := newLinkEndpoint(n, DefaultMTU)
	n.ep = ep
	ep.Attach(bounce{ep})
	return ep, dev
}

func ipv4Packet(size int) []byte {
	p := make([]byte, size)
	p[0] = 0x45
	return p
}

func TestLinkBounce(t *testing.T) {
	ep, dev := newBounce()
	pkt := ipv4Packet(1500)
	for i := range pkt[1:] {
		pkt[i+1] = byte(i)
	}
	ep.deliver(pkt)
	if dev.n != 1 || string(dev.last) != string(pkt) {
		t.Fatalf("bounced packet differs: %d packets, %d bytes", dev.n, len(dev.last))
	}
	ep.deliver([]byte{0x10, 0})
	ep.deliver(nil)
	c := ep.n.ctr.snapshot()
	if c.ErrorsIn != 2 || c.PacketsIn != 1 || c.PacketsOut != 1 || c.BytesOut != 1500 {
		t.Fatalf("counters: %+v", c)
	}
	ep.n.up.Store(false)
	ep.deliver(pkt)
	if c := ep.n.ctr.snapshot(); c.DropsIn != 1 {
		t.Fatalf("down interface should drop: %+v", c)
	}
}

// BenchmarkLinkRoundTrip measures the data path this package owns: bytes
// from the Device into a gVisor PacketBuffer, handed to the dispatcher,
// flattened and written back to the Device. It must not allocate.
func BenchmarkLinkRoundTrip(b *testing.B) {
	for _, size := range []int{64, 1500} {
		b.Run(map[int]string{64: "64B", 1500: "1500B"}[size], func(b *testing.B) {
			ep, dev := newBounce()
			pkt := ipv4Packet(size)
			ep.deliver(pkt)
			b.SetBytes(int64(2 * size))
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				ep.deliver(pkt)
			}
			b.StopTimer()
			if len(dev.last) != size {
				b.Fatalf("bounced %d bytes, want %d", len(dev.last), size)
			}
		})
	}
}
