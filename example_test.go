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
