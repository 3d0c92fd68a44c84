package main

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// onesSum adds b to a one's complement sum as 16-bit big-endian words.
func onesSum(sum uint32, b []byte) uint32 {
	for len(b) >= 2 {
		sum += uint32(binary.BigEndian.Uint16(b))
		b = b[2:]
	}
	if len(b) == 1 {
		sum += uint32(b[0]) << 8
	}
	return sum
}

func fold(sum uint32) uint16 {
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	return uint16(sum)
}

// tcpOf returns the TCP segment of an IPv4 or IPv6 packet and its pseudo-header sum.
func tcpOf(pkt []byte) ([]byte, uint32) {
	if pkt[0]>>4 == 4 {
		ihl := int(pkt[0]&0x0f) * 4
		tcp := pkt[ihl:]
		return tcp, onesSum(onesSum(0, pkt[12:20]), []byte{0, 6, byte(len(tcp) >> 8), byte(len(tcp))})
	}
	tcp := pkt[40:]
	return tcp, onesSum(onesSum(0, pkt[8:40]), []byte{0, 0, byte(len(tcp) >> 8), byte(len(tcp)), 0, 0, 0, 6})
}

// tcpChecksumOK verifies a segment's checksum against its pseudo-header.
func tcpChecksumOK(pkt []byte) bool {
	tcp, ph := tcpOf(pkt)
	return fold(onesSum(ph, tcp)) == 0xffff
}

func setTCPChecksum(pkt []byte) {
	tcp, ph := tcpOf(pkt)
	tcp[16], tcp[17] = 0, 0
	binary.BigEndian.PutUint16(tcp[16:], ^fold(onesSum(ph, tcp)))
}

// synPacket builds a TCP segment with flags and options opts (padded to 32 bits) and a payload,
// over IPv4 or IPv6, with a correct checksum.
func synPacket(v6 bool, flags byte, opts []byte, payload int) []byte {
	for len(opts)%4 != 0 {
		opts = append(opts, 0)
	}
	tcp := make([]byte, 20+len(opts)+payload)
	binary.BigEndian.PutUint16(tcp[0:], 40000)
	binary.BigEndian.PutUint16(tcp[2:], 80)
	binary.BigEndian.PutUint32(tcp[4:], 0x01020304)
	tcp[12] = byte((20 + len(opts)) / 4 << 4)
	tcp[13] = flags
	binary.BigEndian.PutUint16(tcp[14:], 64240)
	copy(tcp[20:], opts)
	for i := range payload {
		tcp[20+len(opts)+i] = byte(i*7 + 3)
	}
	var pkt []byte
	if v6 {
		pkt = make([]byte, 40, 40+len(tcp))
		pkt[0] = 0x60
		binary.BigEndian.PutUint16(pkt[4:], uint16(len(tcp)))
		pkt[6], pkt[7] = 6, 64
		copy(pkt[8:], []byte{0x20, 0x01, 0x0d, 0xb8, 0, 1, 15: 2})
		copy(pkt[24:], []byte{0x20, 0x01, 0x0d, 0xb8, 0, 1, 15: 1})
	} else {
		pkt = make([]byte, 20, 20+len(tcp))
		pkt[0] = 0x45
		binary.BigEndian.PutUint16(pkt[2:], uint16(20+len(tcp)))
		pkt[8], pkt[9] = 64, 6
		copy(pkt[12:], []byte{10, 0, 0, 2, 10, 0, 0, 1})
	}
	pkt = append(pkt, tcp...)
	setTCPChecksum(pkt)
	return pkt
}

func mssOpt(mss uint16) []byte { return []byte{2, 4, byte(mss >> 8), byte(mss)} }

// mssOf returns the MSS option's value, found by the test's own walk.
func mssOf(pkt []byte) uint16 {
	tcp, _ := tcpOf(pkt)
	opts := tcp[20 : int(tcp[12]>>4)*4]
	for i := 0; i < len(opts); {
		if opts[i] == 1 {
			i++
			continue
		}
		if opts[i] == 2 {
			return binary.BigEndian.Uint16(opts[i+2:])
		}
		if opts[i] == 0 {
			break
		}
		i += int(opts[i+1])
	}
	return 0
}

func TestClampMSS(t *testing.T) {
	t.Parallel()
	const syn, synAck, ack = 0x02, 0x12, 0x10
	sackTS := []byte{4, 2, 8, 10, 1, 2, 3, 4, 0, 0, 0, 0}
	for _, tc := range []struct {
		name    string
		v6      bool
		flags   byte
		opts    []byte
		payload int
		mtu     int
		changed bool
		want    uint16
	}{
		{"IPv4 SYN from Ethernet", false, syn, mssOpt(1460), 0, 1280, true, 1240},
		{"IPv4 SYN-ACK", false, synAck, mssOpt(1460), 0, 1280, true, 1240},
		{"IPv6 SYN", true, syn, mssOpt(1440), 0, 1280, true, 1220},
		{"MSS at an odd offset", false, syn, append(append([]byte{1}, mssOpt(1460)...), sackTS...), 0, 576, true, 536},
		{"MSS after other options", false, syn, append(append([]byte{}, sackTS...), mssOpt(1460)...), 0, 1400, true, 1360},
		{"odd payload length", false, syn, append([]byte{1}, mssOpt(65495)...), 3, 1500, true, 1460},
		{"MSS already small", false, syn, mssOpt(1200), 0, 1280, false, 1200},
		{"MSS exactly fits", false, syn, mssOpt(1240), 0, 1280, false, 1240},
		{"no SYN", false, ack, mssOpt(1460), 10, 1280, false, 1460},
		{"no MSS option", false, syn, sackTS, 0, 1280, false, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pkt := synPacket(tc.v6, tc.flags, tc.opts, tc.payload)
			require.True(t, tcpChecksumOK(pkt))
			before := bytes.Clone(pkt)
			assert.Equal(t, tc.changed, clampMSS(pkt, tc.mtu))
			assert.Equal(t, tc.want, mssOf(pkt))
			assert.True(t, tcpChecksumOK(pkt), "the checksum is updated with the MSS")
			if !tc.changed {
				assert.Equal(t, before, pkt, "left alone")
			}
		})
	}
}

// Packets that are not a clampable SYN are never touched, malformed ones included.
func TestClampMSSLeavesOthersAlone(t *testing.T) {
	t.Parallel()
	frag := synPacket(false, 0x02, mssOpt(1460), 0)
	binary.BigEndian.PutUint16(frag[6:], 0x0010) // a later fragment: its bytes are not a TCP header
	udp := synPacket(false, 0x02, mssOpt(1460), 0)
	udp[9] = 17
	badOff := synPacket(false, 0x02, mssOpt(1460), 0)
	badOff[20+12] = 0xf0 // data offset past the end
	badOpt := synPacket(false, 0x02, []byte{3, 0, 2, 4, 5, 0xb4}, 0)
	for name, pkt := range map[string][]byte{
		"empty": {}, "short IPv4": {0x45, 0, 0}, "short IPv6": {0x60}, "fragment": frag, "UDP": udp,
		"data offset beyond the packet": badOff, "zero-length option": badOpt,
		"truncated TCP": synPacket(false, 0x02, mssOpt(1460), 0)[:30], "version 5": {0x50, 1, 2, 3},
	} {
		before := bytes.Clone(pkt)
		assert.False(t, clampMSS(pkt, 1280), name)
		assert.Equal(t, before, pkt, name)
	}
}

// FuzzClampMSS: any bytes from the link or the kernel; clampMSS never panics, never changes a
// packet's length, only ever lowers an MSS, and keeps a valid checksum valid.
func FuzzClampMSS(f *testing.F) {
	f.Add(synPacket(false, 0x02, mssOpt(1460), 0), 1280)
	f.Add(synPacket(true, 0x12, append([]byte{1}, mssOpt(1440)...), 5), 1280)
	f.Add(synPacket(false, 0x10, []byte{4, 2, 2, 4, 5, 0xb4}, 0), 576)
	f.Add([]byte{0x45, 0, 0, 20}, 1500)
	f.Fuzz(func(t *testing.T, pkt []byte, mtu int) {
		mtu = 128 + (mtu&0xffff)%(65536-128)
		valid := len(pkt) >= 40 && (pkt[0]>>4 == 4 && int(pkt[0]&0x0f)*4 >= 20 && int(pkt[0]&0x0f)*4+20 <= len(pkt) ||
			pkt[0]>>4 == 6 && len(pkt) >= 60) && tcpChecksumOK(pkt)
		before := bytes.Clone(pkt)
		changed := clampMSS(pkt, mtu)
		require.Len(t, pkt, len(before))
		if !changed {
			require.True(t, bytes.Equal(before, pkt))
			return
		}
		if valid {
			require.True(t, tcpChecksumOK(pkt), "a valid checksum stays valid")
		}
		diff := 0
		for i := range pkt {
			if pkt[i] != before[i] {
				diff++
			}
		}
		require.LessOrEqual(t, diff, 4, "only the MSS and the checksum change")
	})
}

// BenchmarkClampMSS: the cost the clamp adds to every packet crossing the TUN — almost all
// of them full-sized data segments it only looks at — and to a SYN it rewrites.
func BenchmarkClampMSS(b *testing.B) {
	for _, bc := range []struct {
		name string
		pkt  []byte
	}{
		{"data", synPacket(false, 0x10, []byte{1, 1, 8, 10, 1, 2, 3, 4, 5, 6, 7, 8}, 1228)},
		{"SYN", synPacket(false, 0x02, mssOpt(1460), 0)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			pkt := bytes.Clone(bc.pkt)
			b.ReportAllocs()
			b.SetBytes(int64(len(pkt)))
			syn := pkt[33]&0x02 != 0
			for b.Loop() {
				if syn {
					copy(pkt, bc.pkt) // 44 bytes: undo the last rewrite
				}
				clampMSS(pkt, 1280)
			}
		})
	}
}
