package ipv6cp

import (
	"bytes"
	"net/netip"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pppdial/pppdial/ppp/fsm"
)

// counter is a deterministic "random" source: each call fills b with the next byte value.
func counter(start byte) func(b []byte) {
	n := start
	return func(b []byte) {
		n++
		for i := range b {
			b[i] = n
		}
	}
}

func check(opts []byte, ours IID) (fsm.Code, []byte, IID) {
	var r fsm.Responder
	peer := CheckRequest(opts, ours, func(avoid ...IID) IID { return NewIID(counter(0x40), avoid...) }, &r)
	code, out := r.Result(nil)
	return code, out, peer
}

var ours = IID{1, 1, 1, 1, 1, 1, 1, 1}

func TestCheckRequest(t *testing.T) {
	peerID := []byte{1, 10, 2, 2, 2, 2, 2, 2, 2, 2}
	code, out, peer := check(peerID, ours)
	assert.Equal(t, fsm.ConfigureAck, code)
	assert.Equal(t, peerID, out)
	assert.Equal(t, IID{2, 2, 2, 2, 2, 2, 2, 2}, peer)

	code, out, _ = check([]byte{1, 10, 0, 0, 0, 0, 0, 0, 0, 0}, ours)
	assert.Equal(t, fsm.ConfigureNak, code, "zero identifier naked")
	assert.Equal(t, []byte{1, 10, 0x41, 0x41, 0x41, 0x41, 0x41, 0x41, 0x41, 0x41}, out)

	code, out, _ = check([]byte{1, 10, 1, 1, 1, 1, 1, 1, 1, 1}, ours)
	assert.Equal(t, fsm.ConfigureNak, code, "collision naked")
	assert.NotEqual(t, ours[:], out[2:])

	code, out, _ = check([]byte{2, 4, 0, 0x4f, 1, 10, 2, 2, 2, 2, 2, 2, 2, 2}, ours)
	assert.Equal(t, fsm.ConfigureReject, code)
	assert.Equal(t, []byte{2, 4, 0, 0x4f}, out)
}

// Two ends that drew the same identifier end with different ones.
func TestCollisionResolves(t *testing.T) {
	same := IID{7, 7, 7, 7, 7, 7, 7, 7}
	a := NewNegotiator(same, counter(0x10))
	b := NewNegotiator(IID{}, counter(0x20))
	b.local, b.want = same, same // b drew the same number
	reqB := b.AppendRequest(nil)
	code, nak := a.CheckRequest(reqB, nil)
	require.Equal(t, fsm.ConfigureNak, code)
	require.NoError(t, b.Naked(nak))
	reqB = b.AppendRequest(nil)
	code, _ = a.CheckRequest(reqB, nil)
	require.Equal(t, fsm.ConfigureAck, code)
	b.Acked(reqB)

	reqA := a.AppendRequest(nil)
	code, _ = b.CheckRequest(reqA, nil)
	require.Equal(t, fsm.ConfigureAck, code)
	a.Acked(reqA)
	assert.Equal(t, a.Local(), b.Peer())
	assert.Equal(t, b.Local(), a.Peer())
	assert.NotEqual(t, a.Local(), b.Local())
	assert.Equal(t, netip.MustParseAddr("fe80::707:707:707:707"), a.Local())
}

func TestFixedIDKeptOnNak(t *testing.T) {
	fixed := IID{0, 0, 0, 0, 0, 0, 0, 9}
	n := NewNegotiator(fixed, counter(0))
	require.NoError(t, n.Naked([]byte{1, 10, 3, 3, 3, 3, 3, 3, 3, 3}))
	assert.Equal(t, []byte{1, 10, 0, 0, 0, 0, 0, 0, 0, 9}, n.AppendRequest(nil))
}

func TestRejectedIdentifier(t *testing.T) {
	n := NewNegotiator(IID{}, counter(0x30))
	require.NoError(t, n.Rejected(n.AppendRequest(nil)))
	assert.Empty(t, n.AppendRequest(nil))
	n.Acked(nil)
	assert.True(t, n.Local().IsLinkLocalUnicast(), "our own identifier is still used")
	assert.False(t, n.Peer().IsValid())
	n.Reset()
	assert.NotEmpty(t, n.AppendRequest(nil))
}

func TestNewIID(t *testing.T) {
	id := NewIID(counter(0x01)) // 0x02 bytes: the U/L bit is cleared → 0x00 first byte
	assert.False(t, id.IsZero())
	assert.Zero(t, id[0]&0x02)
	assert.Equal(t, "0002:0202:0202:0202", id.String())
	assert.Equal(t, "<addr fe80::0002:0202:0202:0202> <opt 2 004f>", FormatOptions([]byte{1, 10, 0, 2, 2, 2, 2, 2, 2, 2, 2, 4, 0, 0x4f}))
}

func FuzzCheckRequest(f *testing.F) {
	f.Add([]byte{1, 10, 2, 2, 2, 2, 2, 2, 2, 2})
	f.Add([]byte{1, 10, 1, 1, 1, 1, 1, 1, 1, 1, 2, 4, 0, 0x4f})
	f.Fuzz(func(t *testing.T, opts []byte) {
		if fsm.ValidOptions(opts) != nil {
			return
		}
		code, out, peer := check(opts, ours)
		if fsm.ValidOptions(out) != nil {
			t.Fatalf("malformed reply %x", out)
		}
		if code == fsm.ConfigureAck && (!bytes.Equal(out, opts) || peer == ours) {
			t.Fatalf("bad ack %x", out)
		}
		if code == fsm.ConfigureNak {
			for _, data := range fsm.Options(out) {
				if IID(data) == ours || IID(data).IsZero() {
					t.Fatalf("nak suggests our or a zero id")
				}
			}
		}
		n := NewNegotiator(IID{}, counter(3))
		_ = n.Naked(opts)
		_ = n.Rejected(opts)
		_ = FormatOptions(opts)
	})
}
