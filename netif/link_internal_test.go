package netif

import (
	"errors"
	"testing"

	"gvisor.dev/gvisor/pkg/buffer"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/header"
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

// failAfterDev accepts ok packets, then fails every write (a link gone down under the stack).
type failAfterDev struct {
	ok      int
	written [][]byte
}

func (d *failAfterDev) WritePacket(p []byte) error {
	if len(d.written) >= d.ok {
		return errors.New("link down")
	}
	d.written = append(d.written, append([]byte(nil), p...))
	return nil
}
func (d *failAfterDev) SetPacketHandler(func([]byte)) {}

// WritePackets writes a batch in order and stops at the first packet the Device refuses: the
// count says how many went out, an error only when none did, as stack.LinkWriter wants.
func TestLinkWritePackets(t *testing.T) {
	batch := func(sizes ...int) stack.PacketBufferList {
		var l stack.PacketBufferList
		for i, size := range sizes {
			p := ipv4Packet(size)
			p[size-1] = byte(i + 1)
			l.PushBack(stack.NewPacketBuffer(stack.PacketBufferOptions{Payload: buffer.MakeWithData(p)}))
		}
		return l
	}
	for _, tc := range []struct {
		ok, want int
		err      bool
	}{{ok: 3, want: 3}, {ok: 2, want: 2}, {ok: 0, want: 0, err: true}} {
		dev := &failAfterDev{ok: tc.ok}
		n := &Netif{name: "pp0", dev: dev}
		n.up.Store(true)
		ep := newLinkEndpoint(n, DefaultMTU)
		pkts := batch(100, 200, 300)
		sent, err := ep.WritePackets(pkts)
		pkts.DecRef()
		if sent != tc.want || (err != nil) != tc.err {
			t.Fatalf("device taking %d: sent %d, err %v; want %d, error %v", tc.ok, sent, err, tc.want, tc.err)
		}
		for i, p := range dev.written {
			if len(p) != 100*(i+1) || p[len(p)-1] != byte(i+1) {
				t.Fatalf("packet %d out of order or cut: %d bytes, last byte %d", i, len(p), p[len(p)-1])
			}
		}
		wantErrors := uint64(0)
		if tc.ok < 3 {
			wantErrors = 1 // the batch stops at the first refusal
		}
		if c := n.ctr.snapshot(); c.PacketsOut != uint64(tc.want) || c.ErrorsOut != wantErrors {
			t.Fatalf("device taking %d: counters %+v", tc.ok, c)
		}
	}
}

// The endpoint is a point-to-point IP link as gVisor sees it: no link address, no link header,
// no neighbour resolution, and attached exactly while a dispatcher is set.
func TestLinkEndpointIsPointToPoint(t *testing.T) {
	ep, _ := newBounce()
	ep.SetLinkAddress("\x02\x00\x00\x00\x00\x01")
	if ep.LinkAddress() != "" || ep.MaxHeaderLength() != 0 || ep.Capabilities() != 0 ||
		ep.ARPHardwareType() != header.ARPHardwareNone {
		t.Fatalf("not a bare IP link: address %q, header %d, caps %v, ARP type %v",
			ep.LinkAddress(), ep.MaxHeaderLength(), ep.Capabilities(), ep.ARPHardwareType())
	}
	pkt := stack.NewPacketBuffer(stack.PacketBufferOptions{Payload: buffer.MakeWithData(ipv4Packet(20))})
	defer pkt.DecRef()
	ep.AddHeader(pkt)
	if pkt.Size() != 20 || !ep.ParseHeader(pkt) {
		t.Fatalf("a link header was added or refused: %d bytes", pkt.Size())
	}
	if !ep.IsAttached() {
		t.Fatal("not attached with a dispatcher")
	}
	ep.SetOnCloseAction(func() { t.Error("a point-to-point link has no close action to run") })
	ep.Close()
	ep.Wait()
	if ep.IsAttached() {
		t.Fatal("still attached after Close")
	}
}
