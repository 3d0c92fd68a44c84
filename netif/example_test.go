package netif_test

import (
	"context"
	"fmt"
	"net/netip"
	"time"

	"github.com/pppdial/pppdial/netif"
	"github.com/pppdial/pppdial/netif/netiftest"
)

// A session layer registers a pp interface per PPP link, brings it up when
// IPCP opens and down when the link ends; subscribers see every change.
func ExampleRegistry() {
	reg := netif.NewRegistry()
	// Events reach the subscriber in order on a goroutine of its own; Flush waits until it
	// has taken them (here: so that its lines come before the example's own).
	sub := reg.Subscribe(func(ev netif.Event) {
		fmt.Println("event:", ev.Netif, ev.Kind)
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	dev, peer := netiftest.Pipe(netiftest.Options{}) // a ppp.Conn in real use
	defer dev.Close()
	_ = peer

	pp, err := reg.AddPPP(dev, netif.Options{Logger: quiet, Default: true})
	if err != nil {
		panic(err)
	}
	_ = sub.Flush(ctx)
	fmt.Println(pp.Name(), "default:", reg.Default() == pp)

	_ = pp.SetUp(netif.Config{ // what IPCP negotiated
		Local: netip.MustParseAddr("10.64.64.64"),
		Peer:  netip.MustParseAddr("10.64.64.65"),
		DNS:   []netip.Addr{netip.MustParseAddr("10.11.12.13")},
	})
	_ = sub.Flush(ctx)
	fmt.Println(pp.Flags(), pp.Config().Local, pp.DNS())

	pp.SetDown(nil) // LCP terminated
	_ = reg.Remove(pp)
	_ = sub.Close(ctx) // unsubscribes once the events so far are taken
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
