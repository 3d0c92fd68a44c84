package carrier

import (
	"encoding/binary"
	"net/netip"
	"strings"
)

// DNS record types and the one class this server knows.
const (
	dnsTypeA    = 1
	dnsTypeAAAA = 28
	dnsClassIN  = 1
)

// AnswerDNS appends to dst the answer to the DNS query in msg (RFC 1035), from hosts: an A
// record for a known name, an empty NOERROR answer for other types of a known name, NXDOMAIN for
// unknown names. It reports false for anything that is not a well-formed single-question query,
// which the server then ignores, as real servers ignore garbage.
func AnswerDNS(dst, msg []byte, hosts map[string]netip.Addr) ([]byte, bool) {
	if len(msg) < 12 {
		return dst, false
	}
	flags := binary.BigEndian.Uint16(msg[2:])
	if flags&0x8000 != 0 || binary.BigEndian.Uint16(msg[4:]) != 1 { // a response, or not one question
		return dst, false
	}
	name, end, ok := parseName(msg, 12)
	if !ok || end+4 > len(msg) {
		return dst, false
	}
	qtype := binary.BigEndian.Uint16(msg[end:])
	qclass := binary.BigEndian.Uint16(msg[end+2:])
	question := msg[12 : end+4]

	addr, known := hosts[strings.ToLower(name)]
	rcode := uint16(0)
	answer := known && qclass == dnsClassIN && qtype == dnsTypeA && addr.Is4()
	if !known {
		rcode = 3 // NXDOMAIN
	}
	// QR, the query's opcode and RD, RA set.
	respFlags := 0x8000 | flags&0x7900 | 0x0080 | rcode
	dst = binary.BigEndian.AppendUint16(dst, binary.BigEndian.Uint16(msg))
	dst = binary.BigEndian.AppendUint16(dst, respFlags)
	dst = binary.BigEndian.AppendUint16(dst, 1) // QDCOUNT
	ancount := uint16(0)
	if answer {
		ancount = 1
	}
	dst = binary.BigEndian.AppendUint16(dst, ancount)
	dst = binary.BigEndian.AppendUint32(dst, 0) // NSCOUNT, ARCOUNT
	dst = append(dst, question...)
	if answer {
		dst = append(dst, 0xc0, 12) // the name, as a pointer to the question's
		dst = binary.BigEndian.AppendUint16(dst, dnsTypeA)
		dst = binary.BigEndian.AppendUint16(dst, dnsClassIN)
		dst = binary.BigEndian.AppendUint32(dst, 60) // TTL
		dst = binary.BigEndian.AppendUint16(dst, 4)
		a := addr.As4()
		dst = append(dst, a[:]...)
	}
	return dst, true
}

// parseName reads an uncompressed name (queries carry no pointers) starting at off and returns
// it without the trailing dot, and the offset after it.
func parseName(msg []byte, off int) (string, int, bool) {
	var b strings.Builder
	for {
		if off >= len(msg) {
			return "", 0, false
		}
		l := int(msg[off])
		off++
		if l == 0 {
			return b.String(), off, b.Len() <= 253
		}
		if l > 63 || off+l > len(msg) {
			return "", 0, false
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.Write(msg[off : off+l])
		off += l
	}
}
