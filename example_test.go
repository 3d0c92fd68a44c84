package pppdial_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/pppdial/pppdial"
	"github.com/pppdial/pppdial/at"
	"github.com/pppdial/pppdial/bind"
)

// A gateway program's start: dial the modem, then put one connection on the cellular link by
// naming its interface. Other sockets keep using the host's own stack (wlan0, eth0).
func ExampleDial() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	sess, err := pppdial.Dial(ctx, pppdial.Config{
		Port:    "/dev/ttyUSB3",
		Modem:   at.Config{APN: "internet"},
		Persist: true, // redial after drops, with backoff
	})
	if err != nil {
		fmt.Println("dial:", err, "code:", pppdial.Code(err))
		return
	}
	defer sess.Close(context.Background())

	client := &http.Client{Transport: &http.Transport{
		DialContext: (&bind.Dialer{Interface: sess.Netif().Name()}).DialContext, // "pp0"
	}}
	resp, err := client.Get("http://example.com/")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(len(body), "bytes over", sess.Netif().Name())
}

// A gateway with two modems and Wi-Fi: new connections go to the first healthy member of the
// egress (pp0, then pp1, then wlan0), move away when it fails, and come back to a member that
// failed only once it has been healthy for RecoverAfter. Existing connections stay where they
// are.
func ExampleStartGroup() {
	probe := pppdial.Probe{Network: "tcp", Addr: "192.0.2.1:443", Interval: 10 * time.Second}
	g, err := pppdial.StartGroup(context.Background(), pppdial.GroupConfig{
		Links: []pppdial.Config{
			{IfName: "pp0", Port: "/dev/serial/by-id/usb-Quectel_EC25-if03-port0", Modem: at.Config{APN: "internet"},
				Persist: true, Probe: probe},
			{IfName: "pp1", Port: "/dev/ttyAMA0", Modem: at.Config{APN: "iot.example"}, Persist: true, Probe: probe},
		},
		Egress:       []string{"pp0", "pp1", "wlan0"},
		Probes:       map[string]pppdial.Probe{"wlan0": probe},
		RecoverAfter: 30 * time.Second,
		OnEvent: func(e pppdial.Event) {
			if e.Kind == pppdial.EventRoute {
				fmt.Printf("new connections: %s (was %q): %s\n", e.Ifname, e.From, e.Detail)
			}
		},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = g.Close(ctx)
	}()

	// Each request's connection goes over the member active when it is opened.
	client := &http.Client{Transport: &http.Transport{DialContext: g.Router().DialContext}}
	resp, err := client.Get("http://example.com/")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	fmt.Println(resp.Status, "over", g.Active())
}
