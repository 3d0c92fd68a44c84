package bind_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"syscall"
	"time"

	"github.com/pppdial/pppdial/bind"
	"github.com/pppdial/pppdial/netif"
	"github.com/pppdial/pppdial/netif/netiftest"
)

// Dial picks the link per connection: here over a pp interface whose
// peer (another stack on an in-memory link, standing in for the network
// behind a modem) runs a small TCP service.
func ExampleDial() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	// In a program the session layer does this with a ppp.Conn.
	reg := netif.DefaultRegistry
	dev, peerDev := netiftest.Pipe(netiftest.Options{})
	defer dev.Close()
	cell, _ := reg.AddPPP(dev, netif.Options{Logger: quiet})
	defer reg.Remove(cell)
	peer, _ := reg.AddPPP(peerDev, netif.Options{Logger: quiet})
	defer reg.Remove(peer)
	local, remote := netip.MustParseAddr("10.64.64.64"), netip.MustParseAddr("10.64.64.65")
	_ = cell.SetUp(netif.Config{Local: local, Peer: remote})
	_ = peer.SetUp(netif.Config{Local: remote, Peer: local})

	ln, _ := bind.Listen(ctx, peer.Name(), "tcp", ":80")
	done := make(chan struct{})
	go func() {
		defer close(done)
		c, err := ln.Accept()
		if err == nil {
			_, _ = io.WriteString(c, "hello over "+cell.Name())
			_ = c.Close()
		}
	}()

	c, err := bind.Dial(ctx, cell.Name(), "tcp", "10.64.64.65:80")
	if err != nil {
		fmt.Println(err)
		return
	}
	b, _ := io.ReadAll(c)
	_ = c.Close()
	_ = ln.Close()
	<-done
	fmt.Println(string(b) == "hello over "+cell.Name())

	_, err = bind.Dial(ctx, "wwan7", "tcp", "10.64.64.65:80")
	fmt.Println("unknown interface:", errors.Is(err, syscall.ENODEV))
	cell.SetDown(errors.New("NO CARRIER"))
	_, err = bind.Dial(ctx, cell.Name(), "tcp", "10.64.64.65:80")
	fmt.Println("interface down:", errors.Is(err, syscall.ENETDOWN))
	// Output:
	// true
	// unknown interface: true
	// interface down: true
}

// A Dialer plugs into http.Transport: every request of this client goes
// over pp0, names resolved through pp0's DNS servers.
func ExampleDialer() {
	client := &http.Client{Transport: &http.Transport{
		DialContext: (&bind.Dialer{Interface: "pp0"}).DialContext,
	}}
	_ = client // client.Get("http://example.com/")
}

// A gateway prefers WLAN and falls back to cellular while WLAN is down;
// one request can still name its link explicitly.
func ExampleRouter() {
	r := bind.NewRouter(nil)
	r.SetPreference("wlan0", "pp0")
	r.AddRoute(netip.MustParsePrefix("10.0.0.0/8"), "pp0") // the operator's private APN network
	client := &http.Client{Transport: &http.Transport{DialContext: r.DialContext}}
	req, _ := http.NewRequestWithContext(bind.WithInterface(context.Background(), "pp0"), http.MethodGet, "http://example.com/", nil)
	_, _ = client, req // client.Do(req) goes over pp0
}
