package main

import (
	"encoding/binary"
	"math/bits"
)

// clampMSS lowers the MSS option of a TCP segment with SYN set (a SYN or a SYN-ACK, IPv4 or
// IPv6 without extension headers) to the largest segment that fits mtu, updating the TCP
// checksum incrementally (RFC 1624), and reports whether it changed pkt. Anything else —
// another protocol, a later fragment, a malformed header — is left alone: the kernel or the
// peer judges it, as it would without the clamp.
//
// Why: the kernel derives the MSS of its own connections from the TUN device's MTU, but
// connections it forwards (a LAN behind the gateway) carry their hosts' MSS, 1460 on
// Ethernet, and a path MTU below 1500 would then cost fragmentation or black-holed segments
// (ICMP is often filtered on cellular networks). Clamping both directions, as
// `iptables -j TCPMSS --clamp-mss-to-pmtu` does, makes both ends send segments that fit.
func clampMSS(pkt []byte, mtu int) bool {
	if len(pkt) < 1 {
		return false
	}
	var tcp []byte
	var maxMSS int
	switch pkt[0] >> 4 {
	case 4:
		if len(pkt) < 20 {
			return false
		}
		ihl := int(pkt[0]&0x0f) * 4
		if ihl < 20 || len(pkt) < ihl || pkt[9] != 6 || binary.BigEndian.Uint16(pkt[6:8])&0x1fff != 0 {
			return false // not TCP, or not the fragment that holds the TCP header
		}
		tcp, maxMSS = pkt[ihl:], mtu-40
	case 6:
		if len(pkt) < 40 || pkt[6] != 6 {
			return false
		}
		tcp, maxMSS = pkt[40:], mtu-60
	default:
		return false
	}
	if len(tcp) < 20 || tcp[13]&0x02 == 0 || maxMSS <= 0 {
		return false
	}
	end := int(tcp[12]>>4) * 4
	if end < 20 || end > len(tcp) {
		return false
	}
	for i := 20; i < end; {
		switch kind := tcp[i]; {
		case kind == 0: // end of options
			return false
		case kind == 1: // no-operation
			i++
			continue
		case i+1 >= end || tcp[i+1] < 2 || i+int(tcp[i+1]) > end:
			return false
		case kind == 2 && tcp[i+1] == 4:
			old := binary.BigEndian.Uint16(tcp[i+2:])
			if int(old) <= maxMSS {
				return false
			}
			mss := uint16(maxMSS)
			binary.BigEndian.PutUint16(tcp[i+2:], mss)
			if (i+2)%2 == 1 {
				// The field straddles two of the checksum's 16-bit words: its bytes count
				// swapped, and the one's complement sum commutes with the swap.
				old, mss = bits.ReverseBytes16(old), bits.ReverseBytes16(mss)
			}
			sum := binary.BigEndian.Uint16(tcp[16:18])
			binary.BigEndian.PutUint16(tcp[16:18], checksumReplace(sum, old, mss))
			return true
		}
		i += int(tcp[i+1])
	}
	return false
}

// checksumReplace updates an Internet checksum for one 16-bit word changing from old to new
// (RFC 1624, eqn. 3: HC' = ~(~HC + ~m + m')).
func checksumReplace(sum, old, new uint16) uint16 {
	s := uint32(^sum) + uint32(^old) + uint32(new)
	s = s&0xffff + s>>16
	s = s&0xffff + s>>16
	return ^uint16(s)
}
