package netif

import (
	"testing"

	"gvisor.dev/gvisor/pkg/tcpip/header"
)

// FuzzParseRouterAdvert feeds arbitrary packets to the Router Advertisement parser: it must
// never panic, and what it accepts must be what SLAAC and RDNSS may act on.
func FuzzParseRouterAdvert(f *testing.F) {
	f.Add([]byte{0x60})
	f.Fuzz(func(t *testing.T, pkt []byte) {
		_ = isRouterAdvert(pkt)
		ra, err := parseRouterAdvert(pkt)
		if err != nil {
			return
		}
		if !ra.Router.IsLinkLocalUnicast() {
			t.Fatalf("accepted an advertisement from %v", ra.Router)
		}
		for _, p := range ra.Prefixes {
			if !p.Prefix.IsValid() || p.Prefix.Addr().IsLinkLocalUnicast() || p.Preferred > p.Valid || p.Valid > header.NDPInfiniteLifetime {
				t.Fatalf("accepted prefix %+v", p)
			}
		}
		if len(ra.DNS)*16 > len(pkt) {
			t.Fatalf("%d servers from %d bytes", len(ra.DNS), len(pkt))
		}
	})
}
