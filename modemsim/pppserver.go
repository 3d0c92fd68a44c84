package modemsim

import (
	"context"
	"fmt"
	"io"
	"net/netip"
	"time"

	"github.com/pppdial/pppdial/line"
	"github.com/pppdial/pppdial/ppp"
)

// Default addresses of PPPServer when its config leaves them unset: the network side is
// 10.64.64.1, it assigns 10.64.64.2 and hands out itself as DNS.
var (
	DefaultServerAddr = netip.MustParseAddr("10.64.64.1")
	DefaultPeerAddr   = netip.MustParseAddr("10.64.64.2")
)

// PPPServer is a DataFunc that runs the project's own PPP server (ppp.Conn in the Server role)
// behind CONNECT, as a cellular network's PPP endpoint would. Unset addresses take
// DefaultServerAddr and DefaultPeerAddr. onConn, if set, gets the Conn before it starts (to set
// a packet handler, read events or wait for it to come up). When the call ends (ATH, carrier
// drop) the server closes the link, bounded by two seconds.
func PPPServer(cfg ppp.Config, onConn func(*ppp.Conn)) DataFunc {
	cfg.Role = ppp.Server
	if !cfg.LocalAddr.IsValid() {
		cfg.LocalAddr = DefaultServerAddr
	}
	if !cfg.PeerAddr.IsValid() {
		cfg.PeerAddr = DefaultPeerAddr
	}
	if cfg.DNS == nil {
		cfg.DNS = []netip.Addr{cfg.LocalAddr}
	}
	return func(ctx context.Context, data line.Line) error {
		if err := cfg.Validate(); err != nil {
			return fmt.Errorf("modemsim: %w", err)
		}
		c := ppp.NewConn(data, cfg)
		if onConn != nil {
			onConn(c)
		}
		c.Start(ctx)
		select {
		case <-ctx.Done():
		case <-c.Done():
		}
		cctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		cerr := c.Close(cctx)
		if cl, ok := data.(io.Closer); ok {
			_ = cl.Close()
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err := c.Err(); err != nil {
			return err
		}
		return cerr
	}
}
