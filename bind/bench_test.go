package bind_test

import (
	"context"
	"testing"
	"time"

	"github.com/pppdial/pppdial/bind"
	"github.com/pppdial/pppdial/netif/netiftest"
)

// BenchmarkTCPTransfer measures bulk TCP goodput between two netstacks on
// an in-memory packet pipe (no serial line): the ceiling of the stack and
// data path, 4 MiB per op.
func BenchmarkTCPTransfer(b *testing.B) {
	l := newLink(b, nil, netiftest.Options{Queue: 1024})
	const size = 4 << 20
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		transfer(b, l, size, 30*time.Second)
	}
}

// BenchmarkPing measures an ICMP echo round trip pp0 -> pp1 -> pp0.
func BenchmarkPing(b *testing.B) {
	l := newLink(b, nil, netiftest.Options{})
	p := bind.Pinger{Interface: l.cli.Name(), Registry: l.reg}
	ctx := context.Background()
	b.ReportAllocs()
	seq := uint16(0)
	for b.Loop() {
		seq++
		if _, err := p.Ping(ctx, srvAddr, seq); err != nil {
			b.Fatal(err)
		}
	}
}
