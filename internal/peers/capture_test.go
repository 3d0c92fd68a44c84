package peers_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pppdial/pppdial/internal/peers"
)

// TestWriteCaptures regenerates hdlc/testdata/captures/{slirp,pppd}-lcp.bin (see the README
// there) when PPPDIAL_WRITE_CAPTURES=1: it sends an LCP Configure-Request (ACCM 0, magic
// 0x12345678, PFC, ACFC), acks the peer's Configure-Request and records 2 s of what the peer
// writes.
func TestWriteCaptures(t *testing.T) {
	if os.Getenv("PPPDIAL_WRITE_CAPTURES") != "1" {
		t.Skip("set PPPDIAL_WRITE_CAPTURES=1 to rewrite hdlc/testdata/captures")
	}
	dir := filepath.Join("..", "..", "hdlc", "testdata", "captures")
	t.Run("slirp", func(t *testing.T) {
		port := peers.Slirp(t)
		require.NoError(t, os.WriteFile(filepath.Join(dir, "slirp-lcp.bin"), captureLCP(t, port), 0o644))
	})
	t.Run("pppd", func(t *testing.T) {
		vm := peers.PPPDVM(t)
		require.NoError(t, os.WriteFile(filepath.Join(dir, "pppd-lcp.bin"), captureLCP(t, vm.Port), 0o644))
	})
}

func captureLCP(t *testing.T, port *peers.Port) []byte {
	opts := []byte{2, 6, 0, 0, 0, 0, 5, 6, 0x12, 0x34, 0x56, 0x78, 7, 2, 8, 2}
	_, err := port.Write(encodeFrame(0xc021, lcpConfReq(1, opts...)))
	require.NoError(t, err)
	var stream []byte
	stream = append(stream, readUntil(port, 10*time.Second, func(b []byte) bool { return hasLCP(b, 1, -1) })...)
	for _, f := range decodeFrames(stream) {
		if f.protocol == 0xc021 && len(f.info) >= 4 && f.info[0] == 1 {
			ack := append([]byte{2}, f.info[1:]...)
			_, err := port.Write(encodeFrame(0xc021, ack))
			require.NoError(t, err)
			break
		}
	}
	stream = append(stream, readUntil(port, 2*time.Second, func([]byte) bool { return false })...)
	require.True(t, hasLCP(stream, 2, 1), "peer did not ack: % x", stream)
	return stream
}
