package socks_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"time"

	"github.com/pppdial/pppdial/socks"
)

// A SOCKS5 server whose connections leave through a dial function; for pppdial that is a
// bind.Dialer on the cellular interface ("pp0"), here the host's own network.
func ExampleServer() {
	srv, err := socks.New(socks.Config{
		Dial: (&net.Dialer{}).DialContext, // e.g. (&bind.Dialer{Interface: "pp0"}).DialContext
		// Offered beyond this host, the server would want a password:
		// Credentials: socks.UserPassword("alice", os.Getenv("PPPDIAL_SOCKS_PASSWORD")),
		Limits: socks.Limits{MaxConns: 32},
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}
	ln, err := socks.Listen(context.Background(), "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}
	fmt.Println("local only:", socks.LocalOnly(ln.Addr()))
	go srv.Serve(context.Background(), ln) //nolint:errcheck // returns ErrClosed after Close

	// ... programs use ln.Addr() as their SOCKS5 proxy ...

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	fmt.Println("closed:", srv.Close(ctx))
	fmt.Println("refused so far:", srv.Stats().RefusedConns)
	// Output:
	// local only: true
	// closed: <nil>
	// refused so far: 0
}
