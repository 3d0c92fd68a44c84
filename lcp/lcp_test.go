package lcp

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pppdial/pppdial/ppp/fsm"
)

func seq(vals ...uint32) func() uint32 {
	i := 0
	return func() uint32 {
		v := vals[i%len(vals)]
		i++
		return v
	}
}

func check(t *testing.T, opts []byte, p Policy, ourMagic uint32) (fsm.Code, []byte, Verdict) {
	t.Helper()
	var r fsm.Responder
	v := CheckRequest(opts, p, ourMagic, seq(0x99999999), &r)
	code, out := r.Result(nil)
	return code, out, v
}

var clientPolicy = Policy{AcceptPAP: true, AcceptCHAP: true}

// slirp's first LCP Configure-Request: MRU 1500, magic, PFC, ACFC.
var slirpReq = []byte{1, 4, 0x05, 0xdc, 5, 6, 0x12, 0x34, 0x56, 0x78, 7, 2, 8, 2}

func TestCheckRequestAcksSlirp(t *testing.T) {
	code, out, v := check(t, slirpReq, clientPolicy, 0xabcdef01)
	assert.Equal(t, fsm.ConfigureAck, code)
	assert.Equal(t, slirpReq, out)
	assert.Equal(t, Options{MRU: 1500, Magic: 0x12345678, PFC: true, ACFC: true}, v.Peer)
	assert.Equal(t, 1500, v.Peer.EffectiveMRU())
	assert.Equal(t, DefaultACCM, v.Peer.EffectiveACCM())
}

func TestCheckRequestRules(t *testing.T) {
	cases := []struct {
		name   string
		policy Policy
		opts   []byte
		code   fsm.Code
		out    []byte
	}{
		{"accm acked", clientPolicy, []byte{2, 6, 0, 0x0a, 0, 0}, fsm.ConfigureAck, []byte{2, 6, 0, 0x0a, 0, 0}},
		{"small MRU naked up to 128", clientPolicy, []byte{1, 4, 0, 64}, fsm.ConfigureNak, []byte{1, 4, 0, 128}},
		{"MRU 576 acked", clientPolicy, []byte{1, 4, 0x02, 0x40}, fsm.ConfigureAck, []byte{1, 4, 0x02, 0x40}},
		{"bad MRU length rejected", clientPolicy, []byte{1, 3, 0}, fsm.ConfigureReject, []byte{1, 3, 0}},
		{"PAP acked", clientPolicy, []byte{3, 4, 0xc0, 0x23}, fsm.ConfigureAck, []byte{3, 4, 0xc0, 0x23}},
		{"CHAP-MD5 acked", clientPolicy, []byte{3, 5, 0xc2, 0x23, 5}, fsm.ConfigureAck, []byte{3, 5, 0xc2, 0x23, 5}},
		{"MS-CHAPv2 naked to CHAP-MD5", clientPolicy, []byte{3, 5, 0xc2, 0x23, 0x81}, fsm.ConfigureNak, []byte{3, 5, 0xc2, 0x23, 5}},
		{"EAP naked to CHAP-MD5", clientPolicy, []byte{3, 4, 0xc2, 0x27}, fsm.ConfigureNak, []byte{3, 5, 0xc2, 0x23, 5}},
		{"CHAP naked to PAP when only PAP", Policy{AcceptPAP: true}, []byte{3, 5, 0xc2, 0x23, 5}, fsm.ConfigureNak, []byte{3, 4, 0xc0, 0x23}},
		{"auth rejected when we authenticate with nothing", Policy{}, []byte{3, 4, 0xc0, 0x23}, fsm.ConfigureReject, []byte{3, 4, 0xc0, 0x23}},
		{"quality protocol rejected", clientPolicy, []byte{4, 8, 0xc0, 0x25, 0, 0, 0, 10}, fsm.ConfigureReject, []byte{4, 8, 0xc0, 0x25, 0, 0, 0, 10}},
		{"unknown rejected", clientPolicy, []byte{1, 4, 5, 0xdc, 13, 3, 6}, fsm.ConfigureReject, []byte{13, 3, 6}},
		{"PFC rejected when disabled", Policy{NoPFC: true}, []byte{7, 2, 8, 2}, fsm.ConfigureReject, []byte{7, 2}},
		{"PFC with data rejected", clientPolicy, []byte{7, 3, 0}, fsm.ConfigureReject, []byte{7, 3, 0}},
		{"zero magic naked", clientPolicy, []byte{5, 6, 0, 0, 0, 0}, fsm.ConfigureNak, []byte{5, 6, 0x99, 0x99, 0x99, 0x99}},
		{"repeated option rejected", clientPolicy, []byte{1, 4, 5, 0xdc, 1, 4, 5, 0xdc}, fsm.ConfigureReject, []byte{1, 4, 5, 0xdc}},
		{"reject wins over nak", clientPolicy, []byte{1, 4, 0, 1, 13, 2}, fsm.ConfigureReject, []byte{13, 2}},
		{"empty request acked", clientPolicy, nil, fsm.ConfigureAck, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, out, _ := check(t, c.opts, c.policy, 0x01020304)
			assert.Equal(t, c.code, code)
			assert.Equal(t, c.out, out)
		})
	}
}

func TestMagicLoopbackDetected(t *testing.T) {
	code, out, v := check(t, []byte{5, 6, 1, 2, 3, 4}, clientPolicy, 0x01020304)
	assert.True(t, v.Loopback)
	assert.Equal(t, fsm.ConfigureNak, code)
	assert.Equal(t, []byte{5, 6, 0x99, 0x99, 0x99, 0x99}, out)
}

func TestPolicyInitial(t *testing.T) {
	o := Policy{MRU: 1500, RequireAuth: AuthCHAP}.Initial(7)
	assert.Equal(t, Options{HasACCM: true, Auth: AuthCHAP, Magic: 7, PFC: true, ACFC: true}, o, "MRU 1500 is the default: not requested")
	req := AppendRequest(nil, o)
	assert.Equal(t, []byte{2, 6, 0, 0, 0, 0, 3, 5, 0xc2, 0x23, 5, 5, 6, 0, 0, 0, 7, 7, 2, 8, 2}, req)
	back, err := ParseRequest(req)
	require.NoError(t, err)
	assert.Equal(t, o, back)

	o = Policy{MRU: 576, NoACCM: true, NoPFC: true, NoACFC: true, NoMagic: true, RequireAuth: AuthPAP}.Initial(7)
	assert.Equal(t, []byte{1, 4, 2, 0x40, 3, 4, 0xc0, 0x23}, AppendRequest(nil, o))
}

func TestApplyNak(t *testing.T) {
	p := Policy{RequireAuth: AuthCHAP}
	want := p.Initial(5)
	want.MRU = 1500
	got, res, err := ApplyNak(want, []byte{1, 4, 2, 0x40, 2, 6, 0, 0x0a, 0, 0}, p, seq(77))
	require.NoError(t, err)
	assert.Equal(t, uint16(576), got.MRU)
	assert.Equal(t, uint32(0x000a0000), got.ACCM, "naked ACCM bits are added")
	assert.False(t, res.AuthRefused)

	got, res, err = ApplyNak(want, []byte{1, 4, 0, 10}, p, seq(77))
	require.NoError(t, err)
	assert.Equal(t, uint16(1500), got.MRU, "an MRU below 128 is not taken")
	assert.False(t, res.Loopback)

	got, res, err = ApplyNak(want, []byte{3, 4, 0xc0, 0x23}, p, seq(77))
	require.NoError(t, err)
	assert.True(t, res.AuthRefused, "no downgrade from CHAP to PAP")
	assert.Equal(t, AuthNone, got.Auth)

	got, res, err = ApplyNak(want, []byte{5, 6, 0, 0, 0, 5}, p, seq(5, 77))
	require.NoError(t, err)
	assert.True(t, res.Loopback)
	assert.Equal(t, uint32(77), got.Magic, "a new magic, different from the old one")

	_, _, err = ApplyNak(want, []byte{1, 9}, p, seq(77))
	assert.ErrorIs(t, err, fsm.ErrMalformed)
}

func TestApplyReject(t *testing.T) {
	want := Policy{MRU: 576, RequireAuth: AuthPAP}.Initial(5)
	got, res, err := ApplyReject(want, AppendRequest(nil, want))
	require.NoError(t, err)
	assert.Equal(t, Options{}, got, "everything rejected: nothing requested")
	assert.True(t, res.AuthRefused)

	got, res, err = ApplyReject(want, []byte{7, 2})
	require.NoError(t, err)
	assert.False(t, got.PFC)
	assert.True(t, got.ACFC)
	assert.False(t, res.AuthRefused)
}

func TestNegotiatorAgainstItself(t *testing.T) {
	a := NewNegotiator(Policy{RequireAuth: AuthCHAP}, seq(1, 2, 3))
	b := NewNegotiator(clientPolicy, seq(10, 20, 30))
	req := a.AppendRequest(nil)
	code, out := b.CheckRequest(req, nil)
	require.Equal(t, fsm.ConfigureAck, code)
	assert.Equal(t, req, out)
	a.Acked(out)
	assert.Equal(t, AuthCHAP, b.Peer().Auth, "b agreed to authenticate with CHAP")
	assert.Equal(t, AuthCHAP, a.Ours().Auth)
	assert.Equal(t, uint32(1), a.Magic())
}

func TestNegotiatorLoopback(t *testing.T) {
	n := NewNegotiator(clientPolicy, seq(42, 43, 44, 45))
	own := n.AppendRequest(nil)
	code, _ := n.CheckRequest(own, nil) // our own request came back
	assert.Equal(t, fsm.ConfigureNak, code)
	assert.Equal(t, 1, n.Loopbacks())
	assert.NotEqual(t, own, n.AppendRequest(nil), "our magic changed")
	require.NoError(t, n.Naked([]byte{5, 6, 0, 0, 0, 1}))
	assert.Equal(t, 2, n.Loopbacks())
}

func TestNegotiatorAuthRefused(t *testing.T) {
	n := NewNegotiator(Policy{RequireAuth: AuthPAP}, seq(42))
	require.NoError(t, n.Rejected([]byte{3, 4, 0xc0, 0x23}))
	assert.True(t, n.AuthRefused())
	n.Reset()
	assert.False(t, n.AuthRefused())
	require.NoError(t, n.Naked([]byte{3, 5, 0xc2, 0x23, 5}))
	assert.True(t, n.AuthRefused())
}

func TestPacketCodecs(t *testing.T) {
	pr := AppendProtocolReject(nil, 0x80fd, []byte{1, 2, 3, 4, 5}, 5)
	assert.Equal(t, []byte{0x80, 0xfd, 1, 2, 3}, pr)
	proto, info, err := ParseProtocolReject(pr)
	require.NoError(t, err)
	assert.Equal(t, uint16(0x80fd), proto)
	assert.Equal(t, []byte{1, 2, 3}, info)
	_, _, err = ParseProtocolReject([]byte{1})
	assert.ErrorIs(t, err, ErrShort)

	m, rest, err := ParseEcho([]byte{1, 2, 3, 4, 'x'})
	require.NoError(t, err)
	assert.Equal(t, uint32(0x01020304), m)
	assert.Equal(t, []byte("x"), rest)
	_, _, err = ParseEcho([]byte{1, 2, 3})
	assert.ErrorIs(t, err, ErrShort)
}

func TestFormatOptions(t *testing.T) {
	assert.Equal(t, "<mru 1500> <magic 0x12345678> <pcomp> <accomp>", FormatOptions(slirpReq))
	assert.Equal(t, "<asyncmap 0xa0000> <auth CHAP> <opt 13 06>", FormatOptions([]byte{2, 6, 0, 0x0a, 0, 0, 3, 5, 0xc2, 0x23, 5, 13, 3, 6}))
	assert.Equal(t, "PAP", AuthPAP.String())
	assert.Equal(t, "none", AuthNone.String())
}
