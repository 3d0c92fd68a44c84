package hdlc

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The captures in testdata/captures are what slirp and pppd really sent in
// answer to an LCP Configure-Request (see the README there). Decoding them
// byte for byte checks the decoder against two implementations we did not
// write, and re-encoding what came out checks the encoder bit for bit.

func readCapture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "captures", name))
	require.NoError(t, err)
	return b
}

// decodeCapture decodes a peer's stream the way a link does: once the
// peer's Configure-Ack for our request (which asked for ACCM 0) arrives, the
// peer sends control characters unescaped, so the receive ACCM goes to 0 —
// from inside the callback, mid-chunk.
func decodeCapture(chunks [][]byte) ([]frame, Stats) {
	d := NewDecoder()
	var got []frame
	fn := func(p uint16, info []byte) {
		got = append(got, frame{p, bytes.Clone(info)})
		if p == protoLCP && len(info) > 0 && info[0] == 2 {
			d.SetACCM(0)
		}
	}
	for _, c := range chunks {
		d.Feed(c, fn)
	}
	return got, d.Stats()
}

// chunkings returns the stream whole, byte by byte, in 7-byte pieces, and
// split in two at every position.
func chunkings(s []byte) [][][]byte {
	var out [][][]byte
	out = append(out, [][]byte{s})
	for _, n := range []int{1, 7} {
		var cs [][]byte
		for i := 0; i < len(s); i += n {
			cs = append(cs, s[i:min(i+n, len(s))])
		}
		out = append(out, cs)
	}
	for i := range s {
		out = append(out, [][]byte{s[:i], s[i:]})
	}
	return out
}

var (
	slirpConfReq = frame{protoLCP, []byte{
		0x01, 0x01, 0x00, 0x12,
		0x01, 0x04, 0x05, 0xdc, // MRU 1500
		0x05, 0x06, 0x1f, 0x12, 0x6f, 0x15, // Magic-Number
		0x07, 0x02, // PFC
		0x08, 0x02, // ACFC
	}}
	// Our request, acked as sent.
	ackOfOurs = frame{protoLCP, []byte{
		0x02, 0x01, 0x00, 0x14,
		0x02, 0x06, 0x00, 0x00, 0x00, 0x00, // ACCM 0
		0x05, 0x06, 0x50, 0x50, 0x44, 0x31, // Magic-Number
		0x07, 0x02, 0x08, 0x02, // PFC, ACFC
	}}
	slirpIPCP = frame{0x8021, []byte{
		0x01, 0x01, 0x00, 0x10,
		0x03, 0x06, 0x00, 0x00, 0x00, 0x00, // IP-Address 0.0.0.0
		0x02, 0x06, 0x00, 0x2d, 0x0f, 0x01, // VJ, 16 slots, slot-id compression
	}}
	slirpCCP = frame{0x80fd, []byte{0x01, 0x01, 0x00, 0x04}}

	pppdConfReq = frame{protoLCP, []byte{
		0x01, 0x01, 0x00, 0x14,
		0x02, 0x06, 0x00, 0x00, 0x00, 0x00, // ACCM 0
		0x05, 0x06, 0x50, 0x38, 0x25, 0x41, // Magic-Number
		0x07, 0x02, 0x08, 0x02, // PFC, ACFC
	}}
	pppdIPCP = frame{0x8021, []byte{
		0x01, 0x01, 0x00, 0x10,
		0x02, 0x06, 0x00, 0x2d, 0x0f, 0x01, // VJ
		0x03, 0x06, 0x0a, 0x00, 0x00, 0x01, // IP-Address 10.0.0.1
	}}
	pppdIPV6CP = frame{0x8057, []byte{
		0x01, 0x01, 0x00, 0x0e,
		0x01, 0x0a, 0xd4, 0xae, 0x2f, 0x94, 0x9c, 0xac, 0x13, 0x2f, // Interface-Identifier
	}}
)

func TestCaptureSlirp(t *testing.T) {
	rx := readCapture(t, "slirp-rx.bin")
	banner := bytes.Index(rx, []byte("SLiRP Ready"))
	require.GreaterOrEqual(t, banner, 0)
	want := []frame{slirpConfReq, ackOfOurs, slirpIPCP, slirpCCP, slirpIPCP, slirpCCP, slirpIPCP, slirpCCP}
	for _, cs := range chunkings(rx) {
		got, st := decodeCapture(cs)
		require.Equal(t, want, got, "%d chunks", len(cs))
		// The banner before the first flag is not an error.
		require.Equal(t, Stats{FramesIn: uint64(len(want)), BytesIn: uint64(len(rx))}, st)
	}

	// slirp escapes like we do, closes and opens every frame with its own
	// flag, sends LCP Configure-* under the default ACCM, everything else
	// under the ACCM 0 we asked for, and never compresses its headers.
	e := NewEncoder()
	e.SetACCM(0)
	var re []byte
	for _, f := range want {
		re = append(re, e.AppendFrame(nil, f.Proto, f.Info)...)
	}
	start := bytes.IndexByte(rx, flagSeq)
	assert.Equal(t, rx[start:], re, "re-encoded frames differ from slirp's bytes")
}

func TestCapturePPPD(t *testing.T) {
	rx := readCapture(t, "pppd-rx.bin")
	want := []frame{ackOfOurs, pppdConfReq, pppdIPCP, pppdIPV6CP, pppdIPCP, pppdIPV6CP, pppdIPCP, pppdIPV6CP}
	for _, cs := range chunkings(rx) {
		got, st := decodeCapture(cs)
		require.Equal(t, want, got, "%d chunks", len(cs))
		require.Equal(t, Stats{FramesIn: uint64(len(want)), BytesIn: uint64(len(rx))}, st)
	}

	// pppd (Linux ppp_async) omits the opening flag when its previous frame
	// went out moments before (flag_time), and once LCP is open it omits
	// address and control (it acked our ACFC). Encoding each burst into one
	// buffer with ACFC, PFC and ACCM 0 gives its bytes exactly. Bursts: the
	// Ack; its Request with IPCP and IPV6CP right after LCP opened; then
	// two retransmissions of IPCP and IPV6CP.
	e := NewEncoder()
	e.SetACCM(0)
	e.SetACFC(true)
	e.SetPFC(true)
	var re []byte
	for _, burst := range [][]frame{want[:1], want[1:4], want[4:6], want[6:]} {
		var b []byte
		for _, f := range burst {
			b = e.AppendFrame(b, f.Proto, f.Info)
		}
		re = append(re, b...)
	}
	assert.Equal(t, rx, re, "re-encoded frames differ from pppd's bytes")
}

// What the capture tool sent must itself decode to the request and acks
// the READMEs describe, so the captures are read in the right light.
func TestCaptureTx(t *testing.T) {
	confReq := frame{protoLCP, []byte{1, 1, 0, 20, 2, 6, 0, 0, 0, 0, 5, 6, 0x50, 0x50, 0x44, 0x31, 7, 2, 8, 2}}
	ack := func(f frame) frame {
		info := bytes.Clone(f.Info)
		info[0] = 2
		return frame{f.Proto, info}
	}
	for name, want := range map[string][]frame{
		"slirp-tx.bin": {confReq, ack(slirpConfReq)},
		"pppd-tx.bin":  {confReq, ack(pppdConfReq)},
	} {
		got, st := decodeCapture([][]byte{readCapture(t, name)})
		assert.Equal(t, want, got, name)
		assert.Zero(t, st.Errors(), name)
	}
}

// The interop harness's captures (testdata/captures/*-lcp.bin, see the
// README): the same exchange with Magic-Number 0x12345678 in our request,
// one round each, no banner.
var ackOf12345678 = frame{protoLCP, []byte{
	0x02, 0x01, 0x00, 0x14,
	0x02, 0x06, 0x00, 0x00, 0x00, 0x00, // ACCM 0
	0x05, 0x06, 0x12, 0x34, 0x56, 0x78, // Magic-Number
	0x07, 0x02, 0x08, 0x02, // PFC, ACFC
}}

func TestCaptureSlirpLCP(t *testing.T) {
	rx := readCapture(t, "slirp-lcp.bin")
	confReq := frame{protoLCP, []byte{
		0x01, 0x01, 0x00, 0x12,
		0x01, 0x04, 0x05, 0xdc, // MRU 1500
		0x05, 0x06, 0x73, 0xf8, 0xd4, 0xc0, // Magic-Number
		0x07, 0x02, 0x08, 0x02, // PFC, ACFC
	}}
	want := []frame{confReq, ackOf12345678, slirpIPCP, slirpCCP}
	for _, cs := range chunkings(rx) {
		got, st := decodeCapture(cs)
		require.Equal(t, want, got, "%d chunks", len(cs))
		require.Equal(t, Stats{FramesIn: uint64(len(want)), BytesIn: uint64(len(rx))}, st)
	}
	e := NewEncoder()
	e.SetACCM(0)
	var re []byte
	for _, f := range want {
		re = append(re, e.AppendFrame(nil, f.Proto, f.Info)...)
	}
	assert.Equal(t, rx, re, "re-encoded frames differ from slirp's bytes")
}

func TestCapturePPPDLCP(t *testing.T) {
	rx := readCapture(t, "pppd-lcp.bin")
	confReq := frame{protoLCP, []byte{
		0x01, 0x01, 0x00, 0x14,
		0x02, 0x06, 0x00, 0x00, 0x00, 0x00, // ACCM 0
		0x05, 0x06, 0xa8, 0xe1, 0x17, 0x82, // Magic-Number
		0x07, 0x02, 0x08, 0x02, // PFC, ACFC
	}}
	ipv6cp := frame{0x8057, []byte{
		0x01, 0x01, 0x00, 0x0e,
		0x01, 0x0a, 0x81, 0x3a, 0xb1, 0xcf, 0x45, 0x93, 0x35, 0xb2, // fe80::813a:b1cf:4593:35b2
	}}
	want := []frame{ackOf12345678, confReq, pppdIPCP, ipv6cp}
	for _, cs := range chunkings(rx) {
		got, st := decodeCapture(cs)
		require.Equal(t, want, got, "%d chunks", len(cs))
		require.Equal(t, Stats{FramesIn: uint64(len(want)), BytesIn: uint64(len(rx))}, st)
	}
	// Bursts as in TestCapturePPPD: the Ack alone, then Request, IPCP and
	// IPV6CP back to back sharing flags, with ACFC after LCP opened.
	e := NewEncoder()
	e.SetACCM(0)
	e.SetACFC(true)
	e.SetPFC(true)
	re := e.AppendFrame(nil, want[0].Proto, want[0].Info)
	var b []byte
	for _, f := range want[1:] {
		b = e.AppendFrame(b, f.Proto, f.Info)
	}
	assert.Equal(t, rx, append(re, b...), "re-encoded frames differ from pppd's bytes")
}
