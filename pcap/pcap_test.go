package pcap_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/pcapgo"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/pppdial/pppdial/internal/peers"
	"github.com/pppdial/pppdial/pcap"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// checksum is the Internet checksum (RFC 1071).
func checksum(b []byte) uint16 {
	var s uint32
	for i := 0; i+1 < len(b); i += 2 {
		s += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if len(b)%2 == 1 {
		s += uint32(b[len(b)-1]) << 8
	}
	for s > 0xffff {
		s = s>>16 + s&0xffff
	}
	return ^uint16(s)
}

// icmpEcho is an IPv4 ICMP echo request 10.0.0.2 -> 10.0.0.1 with valid checksums.
func icmpEcho() []byte {
	icmp := []byte{8, 0, 0, 0, 0x12, 0x34, 0, 1, 'p', 'p', 'p', 'd', 'i', 'a', 'l', '!'}
	binary.BigEndian.PutUint16(icmp[2:], checksum(icmp))
	ip := []byte{0x45, 0, 0, 0, 0, 1, 0x40, 0, 64, 1, 0, 0, 10, 0, 0, 2, 10, 0, 0, 1}
	binary.BigEndian.PutUint16(ip[2:], uint16(len(ip)+len(icmp)))
	binary.BigEndian.PutUint16(ip[10:], checksum(ip))
	return append(ip, icmp...)
}

// udp6 is an IPv6 UDP packet fe80::1 -> fe80::2 port 7 with a valid checksum.
func udp6() []byte {
	src := []byte{0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}
	dst := []byte{0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2}
	payload := []byte("echo")
	udp := []byte{0x30, 0x39, 0, 7, 0, byte(8 + len(payload)), 0, 0}
	udp = append(udp, payload...)
	pseudo := append(append(append([]byte{}, src...), dst...), 0, 0, 0, byte(len(udp)), 0, 0, 0, 17)
	binary.BigEndian.PutUint16(udp[6:], checksum(append(pseudo, udp...)))
	ip := []byte{0x60, 0, 0, 0, 0, byte(len(udp)), 17, 64}
	return append(append(append(ip, src...), dst...), udp...)
}

type rec struct {
	dir   pcap.Direction
	proto uint16
	info  []byte
	want  string // the innermost protocol tshark must name in frame.protocols
}

var frames = []rec{
	// LCP ConfReq: MRU 1500, magic, PFC, ACFC
	{pcap.Sent, 0xc021, []byte{1, 1, 0, 0x12, 1, 4, 5, 0xdc, 5, 6, 0x12, 0x34, 0x56, 0x78, 7, 2, 8, 2}, "ppp:lcp"},
	// LCP ConfAck from the peer of the same
	{pcap.Received, 0xc021, []byte{2, 1, 0, 0x12, 1, 4, 5, 0xdc, 5, 6, 0x12, 0x34, 0x56, 0x78, 7, 2, 8, 2}, "ppp:lcp"},
	// PAP Authenticate-Request user/secret
	{pcap.Sent, 0xc023, append([]byte{1, 1, 0, 16, 4}, append([]byte("user"), append([]byte{6}, []byte("secret")...)...)...), "ppp:pap"},
	// IPCP ConfReq: IP-Address 0.0.0.0, primary DNS 0.0.0.0
	{pcap.Sent, 0x8021, []byte{1, 1, 0, 16, 3, 6, 0, 0, 0, 0, 129, 6, 0, 0, 0, 0}, "ppp:ipcp"},
	// IPCP ConfNak: 10.0.0.2, DNS 10.0.0.1
	{pcap.Received, 0x8021, []byte{3, 1, 0, 16, 3, 6, 10, 0, 0, 2, 129, 6, 10, 0, 0, 1}, "ppp:ipcp"},
	// IPV6CP ConfReq: interface identifier
	{pcap.Received, 0x8057, []byte{1, 1, 0, 14, 1, 10, 0x9c, 0x52, 0xd2, 0xd8, 0x9e, 0xe5, 0xb2, 0xb1}, "ppp:ipv6cp"},
	// LCP Protocol-Reject of CCP
	{pcap.Sent, 0xc021, []byte{8, 2, 0, 10, 0x80, 0xfd, 1, 1, 0, 4}, "ppp:lcp:ccp"},
	{pcap.Sent, 0x0021, icmpEcho(), "ppp:ip:icmp"},
	{pcap.Received, 0x0057, udp6(), "ppp:ipv6:udp"},
}

func writeAll(t *testing.T, path string) {
	t.Helper()
	w, err := pcap.Create(path)
	require.NoError(t, err)
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 123456789, time.UTC)
	for i, f := range frames {
		require.NoError(t, w.WriteFrame(t0.Add(time.Duration(i)*time.Millisecond), f.dir, f.proto, f.info))
	}
	require.NoError(t, w.Close())
}

// TestReadBack reads the file with pcapgo: header fields and every record byte for byte.
func TestReadBack(t *testing.T) {
	path := filepath.Join(t.TempDir(), "link.pcap")
	writeAll(t, path)
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	r, err := pcapgo.NewReader(f)
	require.NoError(t, err)
	assert.Equal(t, pcap.LinkTypePPPWithDir, r.LinkType())
	assert.EqualValues(t, pcap.SnapLen, r.Snaplen())
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 123456789, time.UTC)
	for i, want := range frames {
		data, ci, err := r.ReadPacketData()
		require.NoError(t, err, "record %d", i)
		assert.True(t, ci.Timestamp.Equal(t0.Add(time.Duration(i)*time.Millisecond)), "nanosecond timestamp of %d: %v", i, ci.Timestamp)
		head := []byte{byte(want.dir), 0xff, 0x03, byte(want.proto >> 8), byte(want.proto)}
		assert.Equal(t, append(head, want.info...), data, "record %d", i)
	}
	_, _, err = r.ReadPacketData()
	assert.ErrorIs(t, err, io.EOF)
}

// TestTshark: tshark decodes every record with the right protocol and direction, and finds
// nothing malformed.
func TestTshark(t *testing.T) {
	path := filepath.Join(t.TempDir(), "link.pcap")
	writeAll(t, path)

	fields := peers.Tshark(t, "-r", path, "-T", "fields", "-e", "frame.p2p_dir", "-e", "frame.protocols")
	lines := strings.Split(strings.TrimSpace(fields), "\n")
	require.Len(t, lines, len(frames), "%s", fields)
	// frame.p2p_dir is Wireshark's own numbering (P2P_DIR_SENT 0, P2P_DIR_RECV 1), the opposite
	// of the byte in the file (0x01 sent); -V prints it as "Point-to-Point Direction: Sent (0)".
	wiresharkDir := map[pcap.Direction]string{pcap.Sent: "0", pcap.Received: "1"}
	for i, l := range lines {
		dir, protos, _ := strings.Cut(l, "\t")
		assert.Equal(t, wiresharkDir[frames[i].dir], dir, "frame %d direction", i+1)
		assert.True(t, strings.HasPrefix(protos, frames[i].want), "frame %d: protocols %q, want %s...", i+1, protos, frames[i].want)
	}

	verbose := peers.CheckPcap(t, path)
	assert.Equal(t, 5, strings.Count(verbose, "Point-to-Point Direction: Sent"))
	assert.Equal(t, 4, strings.Count(verbose, "Point-to-Point Direction: Received"))
	for _, want := range []string{"PPP Link Control Protocol", "PPP Password Authentication Protocol",
		"PPP IP Control Protocol", "PPP IPv6 Control Protocol", "Internet Control Message Protocol",
		"User Datagram Protocol", "Maximum Receive Unit: 1500", "IP Address: 10.0.0.2",
		"Primary DNS Address: 10.0.0.1", "Peer-ID: user", "Rejected Protocol: Compression Control Protocol (0x80fd)"} {
		assert.True(t, strings.Contains(verbose, want), "tshark -V lacks %q", want)
	}
}

// TestTsharkFlagsMalformed keeps the check above honest: a bad LCP length is reported.
func TestTsharkFlagsMalformed(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bad.pcap")
	w, err := pcap.Create(path)
	require.NoError(t, err)
	require.NoError(t, w.WriteFrame(time.Now(), pcap.Received, 0xc021, []byte{1, 1, 0, 0x40, 1, 4}))
	require.NoError(t, w.WriteFrame(time.Now(), pcap.Received, 0xc021, []byte{9, 1, 0, 8, 0, 0, 0, 0}))
	require.NoError(t, w.Close())
	bad := peers.BadPackets(peers.Tshark(t, "-r", path, "-V"))
	assert.Contains(t, bad, "Frame 1:")
	assert.NotContains(t, bad, "Frame 2:", "an Echo-Request is fine")
}

// TestTruncate: a frame longer than SnapLen is cut in the file but keeps its real length.
func TestTruncate(t *testing.T) {
	var buf bytes.Buffer
	w, err := pcap.NewWriter(&buf)
	require.NoError(t, err)
	big := make([]byte, pcap.SnapLen+100)
	require.NoError(t, w.WriteFrame(time.Now(), pcap.Sent, 0x0021, big))
	require.NoError(t, w.Close())
	r, err := pcapgo.NewReader(&buf)
	require.NoError(t, err)
	data, ci, err := r.ReadPacketData()
	require.NoError(t, err)
	assert.Len(t, data, pcap.SnapLen)
	assert.Equal(t, gopacket.CaptureInfo{Timestamp: ci.Timestamp, CaptureLength: pcap.SnapLen, Length: len(big) + 4 + 1}, ci)
}

// TestConcurrent: records written from many goroutines never interleave.
func TestConcurrent(t *testing.T) {
	var buf bytes.Buffer
	w, err := pcap.NewWriter(&buf)
	require.NoError(t, err)
	const goroutines, each = 8, 200
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			info := bytes.Repeat([]byte{byte(g)}, 10+g*37)
			for range each {
				assert.NoError(t, w.WriteFrame(time.Now(), pcap.Direction(g%2), 0x0021, info))
			}
		}()
	}
	wg.Wait()
	require.NoError(t, w.Close())
	r, err := pcapgo.NewReader(&buf)
	require.NoError(t, err)
	n := 0
	for {
		data, _, err := r.ReadPacketData()
		if err != nil {
			break
		}
		n++
		g := int(data[5])
		require.Len(t, data, 5+10+g*37)
		assert.Equal(t, byte(g%2), data[0])
		assert.Equal(t, bytes.Repeat([]byte{byte(g)}, 10+g*37), data[5:])
	}
	assert.Equal(t, goroutines*each, n)
}

type failWriter struct{ after int }

var errDisk = errors.New("disk full")

func (f *failWriter) Write(p []byte) (int, error) {
	if f.after <= 0 {
		return 0, errDisk
	}
	f.after--
	return len(p), nil
}

func TestErrors(t *testing.T) {
	_, err := pcap.NewWriter(&failWriter{})
	require.ErrorIs(t, err, errDisk)

	w, err := pcap.NewWriter(&failWriter{after: 1})
	require.NoError(t, err)
	err = w.WriteFrame(time.Now(), pcap.Sent, 0xc021, []byte{9, 1, 0, 8, 0, 0, 0, 0})
	require.ErrorIs(t, err, errDisk)
	require.ErrorIs(t, w.WriteFrame(time.Now(), pcap.Sent, 0xc021, nil), errDisk, "sticky")
	require.ErrorIs(t, w.Flush(), errDisk)
	require.NoError(t, w.Close())

	w, err = pcap.NewWriter(&bytes.Buffer{})
	require.NoError(t, err)
	require.NoError(t, w.Close())
	require.NoError(t, w.Close(), "second Close")
	require.ErrorIs(t, w.WriteFrame(time.Now(), pcap.Sent, 0xc021, nil), pcap.ErrClosed)

	_, err = pcap.Create(filepath.Join(t.TempDir(), "no", "such", "dir.pcap"))
	require.ErrorIs(t, err, os.ErrNotExist)
}

func TestDirectionString(t *testing.T) {
	assert.Equal(t, "received", pcap.Received.String())
	assert.Equal(t, "sent", pcap.Sent.String())
	assert.Equal(t, "Direction(7)", pcap.Direction(7).String())
}

func BenchmarkWriteFrame(b *testing.B) {
	w, err := pcap.NewWriter(discard{})
	require.NoError(b, err)
	info := icmpEcho()
	now := time.Now()
	b.ReportAllocs()
	b.SetBytes(int64(len(info)))
	for b.Loop() {
		if err := w.WriteFrame(now, pcap.Sent, 0x0021, info); err != nil {
			b.Fatal(err)
		}
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
