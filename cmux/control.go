package cmux

import (
	"errors"
	"fmt"
)

// MsgType is the type of a control channel message (27.010 clause 5.4.6.3): the type octet
// without its EA and C/R bits.
type MsgType byte

// Control channel messages. Their values are the type octet with EA set and C/R clear.
const (
	MsgPN    MsgType = 0x81 // DLC parameter negotiation
	MsgPSC   MsgType = 0x41 // power saving control
	MsgCLD   MsgType = 0xC1 // multiplexer close down
	MsgTest  MsgType = 0x21 // test: the peer echoes the value
	MsgFCon  MsgType = 0xA1 // flow control on: the sender may receive again (all DLCs)
	MsgFCoff MsgType = 0x61 // flow control off: the sender cannot receive (all DLCs but 0)
	MsgMSC   MsgType = 0xE1 // modem status command: V.24 signals and flow control of one DLC
	MsgNSC   MsgType = 0x11 // non supported command response
	MsgRPN   MsgType = 0x91 // remote port negotiation
	MsgRLS   MsgType = 0x51 // remote line status
	MsgSNC   MsgType = 0xD1 // service negotiation
)

// String names the message type as 27.010 does ("MSC", "CLD").
func (t MsgType) String() string {
	switch t {
	case MsgPN:
		return "PN"
	case MsgPSC:
		return "PSC"
	case MsgCLD:
		return "CLD"
	case MsgTest:
		return "Test"
	case MsgFCon:
		return "FCon"
	case MsgFCoff:
		return "FCoff"
	case MsgMSC:
		return "MSC"
	case MsgNSC:
		return "NSC"
	case MsgRPN:
		return "RPN"
	case MsgRLS:
		return "RLS"
	case MsgSNC:
		return "SNC"
	}
	return fmt.Sprintf("MsgType(%#02x)", byte(t))
}

// Signals are the V.24 signals octet of an MSC message (27.010 clause 5.4.6.3.7), EA excluded.
type Signals byte

// The MSC signal bits.
const (
	SigFC  Signals = 0x02 // flow control: 1 = the sender cannot accept frames on this DLC
	SigRTC Signals = 0x04 // ready to communicate (DSR/DTR)
	SigRTR Signals = 0x08 // ready to receive (RTS/CTS)
	SigIC  Signals = 0x40 // incoming call (RI)
	SigDV  Signals = 0x80 // data valid (DCD)
)

// Msg is one control channel message, carried in the information field of a UIH frame on
// DLC 0. Several messages may share one frame.
type Msg struct {
	Type    MsgType
	Command bool   // C/R bit of the type octet: a command (true) or its response
	Value   []byte // the value octets; points into the frame when decoded
}

// ErrBadMsg is returned (wrapped) by ParseMsg for a control message that does not parse.
var ErrBadMsg = errors.New("cmux: malformed control message")

// AppendMsg appends the encoding of m to dst.
func AppendMsg(dst []byte, m Msg) []byte {
	t := byte(m.Type) | bitEA
	if m.Command {
		t |= bitCR
	}
	dst = append(dst, t)
	// The length octets carry 7 bits each, least significant first, EA in the last.
	n := len(m.Value)
	for n > 127 {
		dst = append(dst, byte(n<<1))
		n >>= 7
	}
	dst = append(dst, byte(n)<<1|bitEA)
	return append(dst, m.Value...)
}

// ParseMsg decodes the first control message in p and returns it with the rest of p.
func ParseMsg(p []byte) (Msg, []byte, error) {
	if len(p) < 2 {
		return Msg{}, nil, fmt.Errorf("%w: %d bytes", ErrBadMsg, len(p))
	}
	t := p[0]
	if t&bitEA == 0 {
		// Multi-octet types exist only for extensions nobody sends.
		return Msg{}, nil, fmt.Errorf("%w: type octet %#02x without EA", ErrBadMsg, t)
	}
	n, i := 0, 1
	for shift := 0; ; shift += 7 {
		if i >= len(p) || shift > 14 {
			return Msg{}, nil, fmt.Errorf("%w: length field", ErrBadMsg)
		}
		n |= int(p[i]>>1) << shift
		i++
		if p[i-1]&bitEA != 0 {
			break
		}
	}
	if len(p)-i < n {
		return Msg{}, nil, fmt.Errorf("%w: %v value of %d bytes, %d present", ErrBadMsg, MsgType(t&^bitCR), n, len(p)-i)
	}
	return Msg{Type: MsgType(t &^ bitCR), Command: t&bitCR != 0, Value: p[i : i+n : i+n]}, p[i+n:], nil
}

// mscValue encodes the value of an MSC message for dlci: the DLCI octet (EA and the fixed 1 in
// the C/R position) and the signals octet.
func mscValue(dst []byte, dlci uint8, s Signals) []byte {
	return append(dst, dlci<<2|bitCR|bitEA, byte(s)|bitEA)
}

// parseMSC decodes an MSC value: the DLCI and its signals (a break octet, if any, is ignored).
func parseMSC(v []byte) (uint8, Signals, bool) {
	if len(v) < 2 || v[0]&bitEA == 0 {
		return 0, 0, false
	}
	return v[0] >> 2, Signals(v[1] &^ bitEA), true
}
