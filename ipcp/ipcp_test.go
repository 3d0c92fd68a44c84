package ipcp

import (
	"net/netip"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pppdial/pppdial/ppp/fsm"
)

var (
	a = netip.MustParseAddr
	// slirp's IPCP Configure-Request: VJ compression and 0.0.0.0 for itself.
	slirpReq = []byte{2, 6, 0x00, 0x2d, 0x0f, 0x01, 3, 6, 0, 0, 0, 0}
	// slirp's Nak of our first request: address and primary DNS, nothing about 131.
	slirpNak = []byte{3, 6, 10, 0, 2, 15, 129, 6, 10, 0, 2, 3}
)

func check(opts []byte, p Policy) (fsm.Code, []byte, Options) {
	var r fsm.Responder
	peer := CheckRequest(opts, p, &r)
	code, out := r.Result(nil)
	return code, out, peer
}

var client = Policy{AskDNS: true}
var server = Policy{Server: true, LocalAddr: a("10.0.0.1"), PeerAddr: a("10.0.0.2"), DNS: []netip.Addr{a("10.0.0.1"), a("9.9.9.9")}}

func TestClientInitialRequest(t *testing.T) {
	assert.Equal(t, []byte{3, 6, 0, 0, 0, 0, 129, 6, 0, 0, 0, 0, 131, 6, 0, 0, 0, 0}, AppendRequest(nil, client.Initial()))
	p := Policy{LocalAddr: a("192.168.1.5")}
	assert.Equal(t, []byte{3, 6, 192, 168, 1, 5}, AppendRequest(nil, p.Initial()))
	assert.Equal(t, []byte{3, 6, 10, 0, 0, 1}, AppendRequest(nil, server.Initial()))
	assert.Empty(t, AppendRequest(nil, Policy{Server: true}.Initial()), "a server without an address sends none")
}

func TestClientAnswersSlirpRequest(t *testing.T) {
	code, out, _ := check(slirpReq, client)
	assert.Equal(t, fsm.ConfigureReject, code)
	assert.Equal(t, slirpReq[:6], out, "VJ rejected first (a Reject carries only rejects)")
	// slirp then asks 0.0.0.0 for itself alone: it is given an address (it closes IPCP without).
	code, out, _ = check([]byte{3, 6, 0, 0, 0, 0}, client)
	assert.Equal(t, fsm.ConfigureNak, code)
	assert.Equal(t, []byte{3, 6, 10, 64, 64, 64}, out)
	code, _, peer := check([]byte{3, 6, 10, 64, 64, 64}, client)
	assert.Equal(t, fsm.ConfigureAck, code)
	assert.Equal(t, FallbackPeerAddr, peer.Addr)
	// With a configured peer address, that one is suggested.
	code, out, _ = check([]byte{3, 6, 0, 0, 0, 0}, Policy{PeerAddr: a("10.0.2.2")})
	assert.Equal(t, fsm.ConfigureNak, code)
	assert.Equal(t, []byte{3, 6, 10, 0, 2, 2}, out)
	// A peer that sends no address at all is acked.
	code, _, _ = check(nil, client)
	assert.Equal(t, fsm.ConfigureAck, code)
}

func TestClientAcksPeerAddress(t *testing.T) {
	code, out, peer := check([]byte{3, 6, 10, 0, 0, 1}, client)
	assert.Equal(t, fsm.ConfigureAck, code)
	assert.Equal(t, []byte{3, 6, 10, 0, 0, 1}, out)
	assert.Equal(t, a("10.0.0.1"), peer.Addr)
}

func TestClientRejectsDNSAndUnknown(t *testing.T) {
	code, out, _ := check([]byte{3, 6, 10, 0, 0, 1, 129, 6, 0, 0, 0, 0, 130, 6, 0, 0, 0, 0, 1, 10, 1, 2, 3, 4, 5, 6, 7, 8, 200, 2}, client)
	assert.Equal(t, fsm.ConfigureReject, code)
	assert.Equal(t, []byte{129, 6, 0, 0, 0, 0, 130, 6, 0, 0, 0, 0, 1, 10, 1, 2, 3, 4, 5, 6, 7, 8, 200, 2}, out)
}

func TestServerAssigns(t *testing.T) {
	// Our client's first request.
	code, out, _ := check(AppendRequest(nil, client.Initial()), server)
	assert.Equal(t, fsm.ConfigureNak, code)
	assert.Equal(t, []byte{3, 6, 10, 0, 0, 2, 129, 6, 10, 0, 0, 1, 131, 6, 9, 9, 9, 9}, out)
	// The corrected request is acked.
	req := []byte{3, 6, 10, 0, 0, 2, 129, 6, 10, 0, 0, 1, 131, 6, 9, 9, 9, 9}
	code, out, peer := check(req, server)
	assert.Equal(t, fsm.ConfigureAck, code)
	assert.Equal(t, req, out)
	assert.Equal(t, Options{Addr: a("10.0.0.2"), DNS1: a("10.0.0.1"), DNS2: a("9.9.9.9")}, peer)
	// A server with a single DNS rejects 131.
	one := server
	one.DNS = one.DNS[:1]
	code, out, _ = check([]byte{3, 6, 10, 0, 0, 2, 131, 6, 0, 0, 0, 0}, one)
	assert.Equal(t, fsm.ConfigureReject, code)
	assert.Equal(t, []byte{131, 6, 0, 0, 0, 0}, out)
	// VJ from a pppd-style client is rejected.
	code, _, _ = check([]byte{2, 6, 0, 0x2d, 0x0f, 0x01, 3, 6, 10, 0, 0, 2}, server)
	assert.Equal(t, fsm.ConfigureReject, code)
}

// slirp naks address and primary DNS and says nothing of 131: the next request carries the
// assigned values and no longer asks for 131.
func TestSlirpIgnoresSecondaryDNS(t *testing.T) {
	n := NewNegotiator(client)
	require.NoError(t, n.Naked(slirpNak))
	next := n.AppendRequest(nil)
	assert.Equal(t, []byte{3, 6, 10, 0, 2, 15, 129, 6, 10, 0, 2, 3}, next)
	n.Acked(next)
	res, ok := n.Result()
	require.True(t, ok)
	assert.Equal(t, a("10.0.2.15"), res.Local)
	assert.False(t, res.Peer.IsValid(), "no peer address acked in this exchange")
	assert.Equal(t, []netip.Addr{a("10.0.2.3")}, res.DNS)
}

func TestApplyNakIgnoresZeroSuggestions(t *testing.T) {
	want := client.Initial()
	got, err := ApplyNak(want, []byte{3, 6, 0, 0, 0, 0, 129, 6, 0, 0, 0, 0, 131, 6, 8, 8, 4, 4})
	require.NoError(t, err)
	assert.Equal(t, Options{Addr: unspecified, DNS1: unspecified, DNS2: a("8.8.4.4")}, got)
	_, err = ApplyNak(want, []byte{3, 7})
	assert.ErrorIs(t, err, fsm.ErrMalformed)
}

func TestApplyReject(t *testing.T) {
	got, err := ApplyReject(client.Initial(), []byte{129, 6, 0, 0, 0, 0, 131, 6, 0, 0, 0, 0})
	require.NoError(t, err)
	assert.Equal(t, Options{Addr: unspecified}, got)
	got, err = ApplyReject(got, []byte{3, 6, 0, 0, 0, 0})
	require.NoError(t, err)
	assert.Equal(t, Options{}, got)
	assert.Empty(t, AppendRequest(nil, got))
}

func TestResultWithoutAddress(t *testing.T) {
	n := NewNegotiator(client)
	require.NoError(t, n.Rejected([]byte{3, 6, 0, 0, 0, 0}))
	n.Acked(n.AppendRequest(nil))
	_, ok := n.Result()
	assert.False(t, ok, "no address assigned and none configured")

	n = NewNegotiator(Policy{LocalAddr: a("192.168.7.7")})
	require.NoError(t, n.Rejected([]byte{3, 6, 192, 168, 7, 7}))
	n.Acked(nil)
	res, ok := n.Result()
	assert.True(t, ok)
	assert.Equal(t, a("192.168.7.7"), res.Local, "configured address used when the option is rejected")
}

func TestServerNegotiatorResult(t *testing.T) {
	n := NewNegotiator(server)
	req := []byte{3, 6, 10, 0, 0, 2}
	code, _ := n.CheckRequest(req, nil)
	require.Equal(t, fsm.ConfigureAck, code)
	n.Acked(n.AppendRequest(nil))
	res, ok := n.Result()
	require.True(t, ok)
	assert.Equal(t, Result{Local: a("10.0.0.1"), Peer: a("10.0.0.2"), DNS: server.DNS}, res)
}

func TestParseAndFormat(t *testing.T) {
	o, err := ParseRequest([]byte{3, 6, 10, 0, 0, 2, 129, 6, 10, 0, 0, 1, 131, 6, 9, 9, 9, 9})
	require.NoError(t, err)
	assert.Equal(t, Options{Addr: a("10.0.0.2"), DNS1: a("10.0.0.1"), DNS2: a("9.9.9.9")}, o)
	assert.Equal(t, "<compress 0x002d> <addr 0.0.0.0>", FormatOptions(slirpReq))
	assert.Equal(t, "<ms-dns1 1.1.1.1> <ms-dns2 8.8.8.8> <opt 9 >", FormatOptions([]byte{129, 6, 1, 1, 1, 1, 131, 6, 8, 8, 8, 8, 9, 2}))
}

func TestResultDeduplicatesDNS(t *testing.T) {
	n := NewNegotiator(client)
	require.NoError(t, n.Naked([]byte{3, 6, 10, 0, 0, 2, 129, 6, 10, 0, 0, 1, 131, 6, 10, 0, 0, 1}))
	n.Acked(nil)
	res, ok := n.Result()
	require.True(t, ok)
	assert.Equal(t, []netip.Addr{a("10.0.0.1")}, res.DNS)
}
