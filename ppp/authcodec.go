package ppp

import (
	"crypto/md5"
	"encoding/binary"
	"errors"
)

// PPP protocol numbers the link demultiplexes.
const (
	ProtoIPv4   uint16 = 0x0021
	ProtoIPv6   uint16 = 0x0057
	ProtoLCP    uint16 = 0xc021
	ProtoPAP    uint16 = 0xc023
	ProtoCHAP   uint16 = 0xc223
	ProtoIPCP   uint16 = 0x8021
	ProtoIPV6CP uint16 = 0x8057
)

// PAP codes (RFC 1334 section 2.2).
const (
	papRequest = 1
	papAck     = 2
	papNak     = 3
)

// CHAP codes (RFC 1994 section 4).
const (
	chapChallenge = 1
	chapResponse  = 2
	chapSuccess   = 3
	chapFailure   = 4
)

// errShortPacket reports a PAP or CHAP packet whose fields do not fit.
var errShortPacket = errors.New("ppp: short or malformed packet")

// parsePacket splits a PAP/CHAP/LCP-shaped packet (code, id, length, data), dropping padding
// after the length.
func parsePacket(b []byte) (code, id uint8, data []byte, err error) {
	if len(b) < 4 {
		return 0, 0, nil, errShortPacket
	}
	n := int(binary.BigEndian.Uint16(b[2:4]))
	if n < 4 || n > len(b) {
		return 0, 0, nil, errShortPacket
	}
	return b[0], b[1], b[4:n], nil
}

// appendPacket appends a packet with the given code, id and data parts.
func appendPacket(dst []byte, code, id uint8, parts ...[]byte) []byte {
	start := len(dst)
	dst = append(dst, code, id, 0, 0)
	for _, p := range parts {
		dst = append(dst, p...)
	}
	binary.BigEndian.PutUint16(dst[start+2:], uint16(len(dst)-start))
	return dst
}

// ParsePAPRequest decodes a PAP Authenticate-Request's data into peer ID and password.
func ParsePAPRequest(data []byte) (user, password []byte, err error) {
	if len(data) < 1 || int(data[0])+1 > len(data) {
		return nil, nil, errShortPacket
	}
	user = data[1 : 1+data[0]]
	rest := data[1+data[0]:]
	if len(rest) < 1 || int(rest[0])+1 > len(rest) {
		return nil, nil, errShortPacket
	}
	return user, rest[1 : 1+rest[0]], nil
}

// appendPAPRequest appends an Authenticate-Request's data; fields longer than 255 bytes are
// truncated (the length octet cannot say more).
func appendPAPRequest(dst []byte, user, password string) []byte {
	user, password = user[:min(len(user), 255)], password[:min(len(password), 255)]
	dst = append(dst, byte(len(user)))
	dst = append(dst, user...)
	dst = append(dst, byte(len(password)))
	return append(dst, password...)
}

// ParsePAPReply decodes an Authenticate-Ack's or -Nak's message. A message length running
// past the packet is tolerated (the rest is taken): some peers get it wrong and the message is
// only informative.
func ParsePAPReply(data []byte) (msg []byte) {
	if len(data) < 1 {
		return nil
	}
	n := min(int(data[0]), len(data)-1)
	return data[1 : 1+n]
}

// ParseCHAP decodes a CHAP Challenge's or Response's data into value and name.
func ParseCHAP(data []byte) (value, name []byte, err error) {
	if len(data) < 1 || int(data[0])+1 > len(data) || data[0] == 0 {
		return nil, nil, errShortPacket
	}
	return data[1 : 1+data[0]], data[1+data[0]:], nil
}

// appendCHAP appends a Challenge's or Response's data.
func appendCHAP(dst, value []byte, name string) []byte {
	dst = append(dst, byte(len(value)))
	dst = append(dst, value...)
	return append(dst, name...)
}

// CHAPResponse computes the CHAP-MD5 response value: MD5(id || secret || challenge)
// (RFC 1994 section 4.1).
func CHAPResponse(id uint8, secret string, challenge []byte) [md5.Size]byte {
	h := md5.New()
	h.Write([]byte{id})
	h.Write([]byte(secret))
	h.Write(challenge)
	var out [md5.Size]byte
	h.Sum(out[:0])
	return out
}
