package carrier

import (
	"context"
	"errors"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pppdial/pppdial/bind"
	"github.com/pppdial/pppdial/internal/serialline"
	"github.com/pppdial/pppdial/netif"
	"github.com/pppdial/pppdial/ppp"
)

// The network behind a call, as a dialer meets it: a PPP server that hands out the address and
// DNS server of its Config, answers DNS for its hosts and serves its pages over the link, counts
// what it did, and ends the call from its side with Terminate.
func TestServeACall(t *testing.T) {
	n := New(Config{})
	host, dev := serialline.Pipe(serialline.Options{})
	defer host.Close()
	defer dev.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	served := make(chan error, 1)
	go func() { served <- n.DataFunc()(ctx, dev) }()

	cli := ppp.NewConn(host, ppp.Config{Role: ppp.Client})
	cli.Start(ctx)
	st, err := cli.WaitUp(ctx)
	require.NoError(t, err)
	cfg := n.Config()
	assert.Equal(t, cfg.Peer, st.Local, "the address the network gives")
	assert.Equal(t, cfg.DNS, st.DNS)

	reg := netif.NewRegistry()
	nif, err := reg.AddPPP(cli, netif.Options{})
	require.NoError(t, err)
	require.NoError(t, nif.SetUp(netif.Config{Local: st.Local, Peer: st.Peer, DNS: st.DNS, MTU: st.MTU}))
	client := &http.Client{Transport: &http.Transport{
		DialContext: (&bind.Dialer{Interface: nif.Name(), Registry: reg}).DialContext}}
	defer client.CloseIdleConnections()
	addrs, err := (&bind.Resolver{Interface: nif.Name(), Registry: reg}).LookupNetIP(ctx, "ip4", DefaultHost)
	require.NoError(t, err)
	require.Equal(t, cfg.Hosts[DefaultHost], addrs[0], "the network's DNS answers for its hosts")
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addrs[0].String()+"/", nil)
	require.NoError(t, err)
	resp, err := client.Do(req)
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	assert.Equal(t, DefaultPage, body)
	s := n.Stats()
	assert.EqualValues(t, 1, s.Calls)
	assert.EqualValues(t, 1, s.LinksUp)
	assert.EqualValues(t, 1, s.HTTPReqs)
	assert.Positive(t, s.DNSQueries)

	// The operator drops the session: the client's link goes down by the peer's Terminate, and
	// the call's data function returns.
	n.Terminate(ctx)
	select {
	case <-cli.Done():
	case <-ctx.Done():
		t.Fatal("the client's link stayed up after the network's Terminate")
	}
	assert.True(t, errors.Is(cli.Err(), ppp.ErrPeerTerminated), "client's end: %v", cli.Err())
	select {
	case err := <-served:
		assert.NoError(t, err, "a call the network ended itself ends cleanly")
	case <-ctx.Done():
		t.Fatal("the call's data function did not return")
	}
}
