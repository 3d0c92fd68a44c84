package carrier

import (
	"encoding/binary"
	"net/netip"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func query(id uint16, name string, qtype uint16) []byte {
	q := binary.BigEndian.AppendUint16(nil, id)
	q = append(q, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0) // RD, one question
	start := 0
	for i := 0; i <= len(name); i++ {
		if i == len(name) || name[i] == '.' {
			q = append(q, byte(i-start))
			q = append(q, name[start:i]...)
			start = i + 1
		}
	}
	q = append(q, 0)
	q = binary.BigEndian.AppendUint16(q, qtype)
	return binary.BigEndian.AppendUint16(q, dnsClassIN)
}

var hosts = map[string]netip.Addr{"demo.pppdial.test": netip.MustParseAddr("10.64.64.1")}

func TestAnswerDNSKnownName(t *testing.T) {
	q := query(0x1234, "Demo.PPPdial.test", dnsTypeA)
	out, ok := AnswerDNS(nil, q, hosts)
	require.True(t, ok)
	assert.Equal(t, []byte{0x12, 0x34}, out[:2], "id echoed")
	assert.Equal(t, uint16(0x8180), binary.BigEndian.Uint16(out[2:]), "response, RD+RA, NOERROR")
	assert.Equal(t, uint16(1), binary.BigEndian.Uint16(out[6:]), "one answer")
	assert.Equal(t, q[12:], out[12:len(q)], "question echoed")
	assert.Equal(t, []byte{10, 64, 64, 1}, out[len(out)-4:])
}

func TestAnswerDNSUnknownAndOtherTypes(t *testing.T) {
	out, ok := AnswerDNS(nil, query(1, "example.com", dnsTypeA), hosts)
	require.True(t, ok)
	assert.Equal(t, uint16(3), binary.BigEndian.Uint16(out[2:])&0xf, "NXDOMAIN")
	assert.Equal(t, uint16(0), binary.BigEndian.Uint16(out[6:]))

	out, ok = AnswerDNS(nil, query(2, "demo.pppdial.test", dnsTypeAAAA), hosts)
	require.True(t, ok)
	assert.Equal(t, uint16(0), binary.BigEndian.Uint16(out[2:])&0xf, "NOERROR, no AAAA")
	assert.Equal(t, uint16(0), binary.BigEndian.Uint16(out[6:]))
}

func TestAnswerDNSIgnoresGarbage(t *testing.T) {
	for name, msg := range map[string][]byte{
		"short":         {1, 2, 3},
		"response":      append([]byte{0, 1, 0x81, 0x80}, query(1, "a.b", 1)[4:]...),
		"two qs":        append([]byte{0, 1, 1, 0, 0, 2}, query(1, "a.b", 1)[6:]...),
		"label overrun": append(query(1, "ab", 1)[:12], 60, 'a'),
		"no type":       query(1, "ab", 1)[:16],
	} {
		_, ok := AnswerDNS(nil, msg, hosts)
		assert.False(t, ok, name)
	}
}

func FuzzAnswerDNS(f *testing.F) {
	f.Add(query(7, "demo.pppdial.test", dnsTypeA))
	f.Add(query(8, "x", dnsTypeAAAA))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, msg []byte) {
		out, ok := AnswerDNS(nil, msg, hosts)
		if !ok {
			return
		}
		// An answer always echoes the id and holds at least header + question.
		if len(out) < 12 || out[0] != msg[0] || out[1] != msg[1] {
			t.Fatalf("bad answer %x to %x", out, msg)
		}
	})
}
