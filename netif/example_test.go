package netif_test

import (
	"fmt"
	"net/netip"

	"github.com/pppdial/pppdial/netif"
	"github.com/pppdial/pppdial/netif/netiftest"
)

// A session layer registers a pp interface per PPP link, brings it up when
// IPCP opens and down when the link ends; subscribers see every change.
func ExampleRegistry() {
	reg := netif.NewRegistry()
	cancel := reg.Subscribe(func(ev netif.Event) {
		fmt.Println("event:", ev.Netif, ev.Kind)
	})
	defer cancel()

	dev, peer := netiftest.Pipe(netiftest.Options{}) // a ppp.Conn in real use
	defer dev.Close()
	_ = peer

	pp, err := reg.AddPPP(dev, netif.Options{Logger: quiet, Default: true})
	if err != nil {
		panic(err)
	}
	fmt.Println(pp.Name(), "default:", reg.Default() == pp)

	_ = pp.SetUp(netif.Config{ // what IPCP negotiated
		Local: netip.MustParseAddr("10.64.64.64"),
		Peer:  netip.MustParseAddr("10.64.64.65"),
		DNS:   []netip.Addr{netip.MustParseAddr("10.11.12.13")},
	})
	fmt.Println(pp.Flags(), pp.Config().Local, pp.DNS())

	pp.SetDown(nil) // LCP terminated
	_ = reg.Remove(pp)
	// Output:
	// event: pp0 added
	// event: pp0 default
	// pp0 default: true
	// event: pp0 link-up
	// event: pp0 up
	// up|link-up|point-to-point 10.64.64.64 [10.11.12.13]
	// event: pp0 down
	// event: pp0 link-down
	// event: pp0 removed
	// event: <nil> default
}
