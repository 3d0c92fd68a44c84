package ppp_test

import (
	"context"
	"fmt"
	"net/netip"
	"time"

	"github.com/pppdial/pppdial/internal/serialline"
	"github.com/pppdial/pppdial/ppp"
)

// A client Conn dials a server Conn over an in-memory serial line: the server demands CHAP,
// assigns 10.0.0.2 and hands out a DNS server; the client learns both through IPCP.
func ExampleConn() {
	clientPort, serverPort := serialline.Pipe(serialline.Options{})
	defer clientPort.Close()
	defer serverPort.Close()

	server := ppp.NewConn(serverPort, ppp.Config{
		Role:        ppp.Server,
		RequireAuth: ppp.AuthCHAP,
		Username:    "user",
		Password:    "secret",
		LocalAddr:   netip.MustParseAddr("10.0.0.1"),
		PeerAddr:    netip.MustParseAddr("10.0.0.2"),
		DNS:         []netip.Addr{netip.MustParseAddr("10.0.0.1")},
	})
	client := ppp.NewConn(clientPort, ppp.Config{
		Username:     "user",
		Password:     "secret",
		EchoInterval: 10 * time.Second, // notice a dead peer within ~40 s
	})

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	server.Start(ctx)
	client.Start(ctx)

	st, err := client.WaitUp(ctx)
	if err != nil {
		fmt.Println("link failed:", err)
		return
	}
	fmt.Println("phase:", st.Phase)
	fmt.Println("local:", st.Local, "peer:", st.Peer, "dns:", st.DNS, "mtu:", st.MTU)

	// Close sends LCP Terminate-Request and returns once the peer acked it.
	if err := client.Close(ctx); err != nil {
		fmt.Println("close:", err)
	}
	fmt.Println("client:", client.Err())
	<-server.Done()
	fmt.Println("server:", server.Err())
	// Output:
	// phase: Network
	// local: 10.0.0.2 peer: 10.0.0.1 dns: [10.0.0.1] mtu: 1500
	// client: link closed
	// server: terminated by peer
}
