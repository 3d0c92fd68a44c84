package bind_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pppdial/pppdial/bind"
	"github.com/pppdial/pppdial/internal/peers"
	"github.com/pppdial/pppdial/line"
	"github.com/pppdial/pppdial/netif"
	"github.com/pppdial/pppdial/ppp"
)

// dialPeer runs a client ppp.Conn on rw, registers its pp interface and
// brings it up with what IPCP/IPV6CP negotiated, as the session layer does.
func dialPeer(t *testing.T, rw line.Line, cfg ppp.Config) (*netif.Registry, *netif.Netif, *ppp.Conn) {
	t.Helper()
	cfg.Role = ppp.Client
	cfg.Logger = quiet
	conn := ppp.NewConn(rw, cfg)
	reg := netif.NewRegistry()
	n, err := reg.AddPPP(conn, netif.Options{Logger: quiet})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(func() {
		cctx, ccancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer ccancel()
		_ = conn.Close(cctx)
		cancel()
		_ = reg.Remove(n)
	})
	conn.Start(ctx)
	wctx, wcancel := context.WithTimeout(ctx, 60*time.Second)
	defer wcancel()
	st, err := conn.WaitUp(wctx)
	require.NoError(t, err)
	require.NoError(t, n.SetUp(netif.Config{Local: st.Local, Peer: st.Peer, LocalV6: st.LocalV6,
		PeerV6: st.PeerV6, DNS: st.DNS, MTU: st.MTU}))
	return reg, n, conn
}

func httpGet(ctx context.Context, t *testing.T, d *bind.Dialer, url string) []byte {
	t.Helper()
	tr := &http.Transport{DialContext: d.DialContext}
	defer tr.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	require.NoError(t, err)
	resp, err := (&http.Client{Transport: tr}).Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return body
}

// Through slirp-fullbolt: an HTTP GET of 1 MiB served on 127.0.0.1 by the
// test, fetched over the link via 10.0.2.2. No DNS goes through slirp.
func TestInteropSlirpHTTP(t *testing.T) {
	body := make([]byte, 1<<20)
	_, _ = rand.Read(body)
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	require.NoError(t, err)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write(body)
	}), ReadHeaderTimeout: 10 * time.Second}
	served := make(chan struct{})
	go func() { defer close(served); _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close(); <-served })

	port := peers.Slirp(t)
	reg, n, _ := dialPeer(t, port, ppp.Config{})
	// slirp's DNS (10.0.2.3) forwards to the real resolver: never use it.
	cfg := n.Config()
	cfg.DNS = nil
	require.NoError(t, n.SetUp(cfg))
	assert.Equal(t, netip.MustParseAddr("10.0.2.15"), n.Config().Local)
	assert.Empty(t, n.DNS(), "no DNS server: nothing may resolve through slirp")

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	url := fmt.Sprintf("http://10.0.2.2:%d/big.bin", ln.Addr().(*net.TCPAddr).Port)
	start := time.Now()
	got := httpGet(ctx, t, &bind.Dialer{Interface: n.Name(), Registry: reg}, url)
	assert.Equal(t, sha256.Sum256(body), sha256.Sum256(got))
	t.Logf("%d bytes in %v", len(got), time.Since(start))
}

// Through pppd 2.4.9 in the VM: http://peer.test/big.bin, the name
// resolved by the DNS server IPCP handed out, over the link; also ping and
// UDP echo.
func TestInteropPPPDVM(t *testing.T) {
	vm := peers.PPPDVM(t)
	want, err := vm.BigSHA256()
	require.NoError(t, err)
	reg, n, conn := dialPeer(t, vm.Port, ppp.Config{IPv6: true})
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("netif %s: %+v; ppp: %+v, status %+v, err %v", n.Name(), n.Counters(), conn.Stats(), conn.Status(), conn.Err())
		}
	})
	dns := netip.MustParseAddr("10.0.0.1")
	require.Contains(t, n.DNS(), dns, "the DNS server IPCP handed out")

	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	// The first packets may arrive while pppd is still opening the kernel's
	// IP path (IPCP just opened on our side): probe as ping(8) does, once a
	// second.
	var rtt time.Duration
	p := bind.Pinger{Interface: n.Name(), Registry: reg}
	for seq := uint16(1); seq <= 20; seq++ {
		pctx, pcancel := context.WithTimeout(ctx, time.Second)
		rtt, err = p.Ping(pctx, dns, seq)
		pcancel()
		if err == nil {
			break
		}
	}
	require.NoError(t, err)
	t.Logf("ping 10.0.0.1 over %s: %v", n.Name(), rtt)

	addrs, err := (&bind.Resolver{Interface: n.Name(), Registry: reg}).LookupNetIP(ctx, "ip4", "peer.test")
	require.NoError(t, err)
	assert.Equal(t, []netip.Addr{dns}, addrs)

	c, err := (&bind.Dialer{Interface: n.Name(), Registry: reg}).DialContext(ctx, "udp", "peer.test:7")
	require.NoError(t, err)
	_, err = c.Write([]byte("echo over pp"))
	require.NoError(t, err)
	_ = c.SetReadDeadline(time.Now().Add(20 * time.Second))
	buf := make([]byte, 64)
	k, err := c.Read(buf)
	require.NoError(t, err)
	assert.Equal(t, "echo over pp", string(buf[:k]))
	_ = c.Close()

	got := httpGet(ctx, t, &bind.Dialer{Interface: n.Name(), Registry: reg}, "http://peer.test/big.bin")
	sum := sha256.Sum256(got)
	assert.Equal(t, want, hex.EncodeToString(sum[:]))
}
