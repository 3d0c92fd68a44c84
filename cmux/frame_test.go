package cmux_test

import (
	"bytes"
	"testing"

	"github.com/pppdial/pppdial/cmux"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Vectors seen on the wire from other implementations (esp_modem's CMUX log, n_gsm): the
// initiator's SABM on DLC 0 and a responder's UA to it.
func TestFrameKnownVectors(t *testing.T) {
	sabm, err := cmux.AppendFrame(nil, cmux.Frame{DLCI: 0, CR: true, Type: cmux.SABM, PF: true})
	require.NoError(t, err)
	assert.Equal(t, []byte{0xF9, 0x03, 0x3F, 0x01, 0x1C, 0xF9}, sabm)
	ua, err := cmux.AppendFrame(nil, cmux.Frame{DLCI: 0, CR: true, Type: cmux.UA, PF: true})
	require.NoError(t, err)
	assert.Equal(t, []byte{0xF9, 0x03, 0x73, 0x01, 0xD7, 0xF9}, ua)
}

func TestFrameRoundTrip(t *testing.T) {
	info := bytes.Repeat([]byte{0xF9, 0x7E, 0x00, 0xFF}, 400)
	dec := cmux.NewDecoder(1500)
	for _, typ := range []cmux.FrameType{cmux.SABM, cmux.UA, cmux.DM, cmux.DISC, cmux.UIH, cmux.UI} {
		for _, dlci := range []uint8{0, 1, 2, 61, 63} {
			for _, n := range []int{0, 1, 127, 128, 255, 256, 1500} {
				for _, pf := range []bool{false, true} {
					f := cmux.Frame{DLCI: dlci, CR: dlci%2 == 0, Type: typ, PF: pf, Info: info[:n]}
					b, err := cmux.AppendFrame(nil, f)
					require.NoError(t, err)
					require.Len(t, b, cmux.FrameLen(n))
					require.Equal(t, len(b), dec.Feed(b))
					got, ok := dec.Next()
					require.True(t, ok, "%v", f)
					assert.Equal(t, f.DLCI, got.DLCI)
					assert.Equal(t, f.CR, got.CR)
					assert.Equal(t, f.Type, got.Type)
					assert.Equal(t, f.PF, got.PF)
					assert.Equal(t, f.Info, got.Info)
				}
			}
		}
	}
	_, ok := dec.Next()
	assert.False(t, ok)
	assert.Zero(t, dec.Stats().BadFCS+dec.Stats().Garbage+dec.Stats().Truncated+dec.Stats().Malformed)
}

func TestAppendFrameErrors(t *testing.T) {
	_, err := cmux.AppendFrame(nil, cmux.Frame{DLCI: 64, Type: cmux.UIH})
	assert.ErrorIs(t, err, cmux.ErrBadDLCI)
	_, err = cmux.AppendFrame(nil, cmux.Frame{DLCI: 1, Type: cmux.UIH, Info: make([]byte, cmux.MaxN1+1)})
	assert.ErrorIs(t, err, cmux.ErrFrameSize)
}

func frame(t *testing.T, f cmux.Frame) []byte {
	b, err := cmux.AppendFrame(nil, f)
	require.NoError(t, err)
	return b
}

// Damaged input is counted and dropped, and the frames around it come through, fed in one
// piece or a byte at a time.
func TestDecoderResync(t *testing.T) {
	good1 := frame(t, cmux.Frame{DLCI: 1, CR: true, Type: cmux.UIH, Info: []byte("AT\r")})
	good2 := frame(t, cmux.Frame{DLCI: 2, CR: true, Type: cmux.UIH, Info: []byte{0xF9, 0xF9, 1}})
	badFCS := frame(t, cmux.Frame{DLCI: 1, CR: true, Type: cmux.UIH, Info: []byte("xy")})
	badFCS[len(badFCS)-2] ^= 0x55
	oversize := frame(t, cmux.Frame{DLCI: 1, CR: true, Type: cmux.UIH, Info: make([]byte, 40)})
	truncated := frame(t, cmux.Frame{DLCI: 1, CR: true, Type: cmux.UIH, Info: []byte("abc")})
	truncated = truncated[:len(truncated)-1] // no closing flag: the next byte is garbage
	truncated = append(truncated, 'Z')
	var in []byte
	in = append(in, "garbage\r\n"...)
	in = append(in, good1...)
	in = append(in, badFCS...)
	in = append(in, oversize...)
	in = append(in, truncated...)
	in = append(in, good2...)
	in = append(in, 0x00, 0x01)
	in = append(in, good1...)

	for _, step := range []int{len(in), 1, 7} {
		dec := cmux.NewDecoder(31)
		var got [][]byte
		for i := 0; i < len(in); i += step {
			chunk := in[i:min(len(in), i+step)]
			for len(chunk) > 0 {
				n := dec.Feed(chunk)
				chunk = chunk[n:]
				for {
					f, ok := dec.Next()
					if !ok {
						break
					}
					got = append(got, append([]byte{f.DLCI}, f.Info...))
				}
			}
		}
		assert.Equal(t, [][]byte{
			append([]byte{1}, "AT\r"...),
			{2, 0xF9, 0xF9, 1},
			append([]byte{1}, "AT\r"...),
		}, got, "step %d", step)
		s := dec.Stats()
		assert.Equal(t, uint64(3), s.Frames)
		assert.Equal(t, uint64(1), s.BadFCS, "step %d", step)
		assert.Equal(t, uint64(1), s.Oversize, "step %d", step)
		assert.Equal(t, uint64(1), s.Truncated, "step %d", step)
		assert.NotZero(t, s.Garbage)
	}
}

func TestMsgRoundTrip(t *testing.T) {
	for _, m := range []cmux.Msg{
		{Type: cmux.MsgMSC, Command: true, Value: []byte{0x0B, 0x8D}},
		{Type: cmux.MsgTest, Command: false, Value: bytes.Repeat([]byte{7}, 300)},
		{Type: cmux.MsgCLD, Command: true},
	} {
		b := cmux.AppendMsg(nil, m)
		got, rest, err := cmux.ParseMsg(append(b, 0xAA))
		require.NoError(t, err)
		assert.Equal(t, m.Type, got.Type)
		assert.Equal(t, m.Command, got.Command)
		assert.Equal(t, len(m.Value), len(got.Value))
		assert.Equal(t, []byte{0xAA}, rest)
	}
	// The CLD command octets as n_gsm and every other implementation send them.
	assert.Equal(t, []byte{0xC3, 0x01}, cmux.AppendMsg(nil, cmux.Msg{Type: cmux.MsgCLD, Command: true}))
	for _, bad := range [][]byte{{}, {0xE3}, {0xE2, 0x01}, {0xE3, 0x05, 1}, {0xE3, 0x00, 0x00, 0x00}} {
		_, _, err := cmux.ParseMsg(bad)
		assert.ErrorIs(t, err, cmux.ErrBadMsg, "%x", bad)
	}
}
