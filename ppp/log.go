package ppp

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/pppdial/pppdial/ipcp"
	"github.com/pppdial/pppdial/ipcp/ipv6cp"
	"github.com/pppdial/pppdial/lcp"
	"github.com/pppdial/pppdial/ppp/fsm"
)

// protocolName returns pppd's name for a protocol.
func protocolName(p uint16) string {
	switch p {
	case ProtoLCP:
		return "LCP"
	case ProtoPAP:
		return "PAP"
	case ProtoCHAP:
		return "CHAP"
	case ProtoIPCP:
		return "IPCP"
	case ProtoIPV6CP:
		return "IPV6CP"
	case ProtoIPv4:
		return "IP"
	case ProtoIPv6:
		return "IPv6"
	case 0x80fd:
		return "CCP"
	}
	return fmt.Sprintf("proto=%#04x", p)
}

// FormatPacket renders a control packet the way pppd's debug log does, e.g.
// "LCP ConfReq id=0x1 <mru 1500> <magic 0x12345678>". Passwords in PAP requests are never shown.
func FormatPacket(protocol uint16, info []byte) string {
	var b strings.Builder
	b.WriteString(protocolName(protocol))
	code, id, data, err := parsePacket(info)
	if err != nil {
		fmt.Fprintf(&b, " malformed (%d bytes)", len(info))
		return b.String()
	}
	switch protocol {
	case ProtoPAP:
		names := map[uint8]string{papRequest: "AuthReq", papAck: "AuthAck", papNak: "AuthNak"}
		fmt.Fprintf(&b, " %s id=%#x", names[code], id)
		switch code {
		case papRequest:
			if user, _, err := ParsePAPRequest(data); err == nil {
				fmt.Fprintf(&b, " user=%q password=<hidden>", user)
			}
		case papAck, papNak:
			fmt.Fprintf(&b, " %q", ParsePAPReply(data))
		}
		return b.String()
	case ProtoCHAP:
		names := map[uint8]string{chapChallenge: "Challenge", chapResponse: "Response", chapSuccess: "Success", chapFailure: "Failure"}
		fmt.Fprintf(&b, " %s id=%#x", names[code], id)
		switch code {
		case chapChallenge, chapResponse:
			if _, name, err := ParseCHAP(data); err == nil {
				fmt.Fprintf(&b, " name=%q", name)
			}
		case chapSuccess, chapFailure:
			fmt.Fprintf(&b, " %q", data)
		}
		return b.String()
	}
	c := fsm.Code(code)
	fmt.Fprintf(&b, " %v id=%#x", c, id)
	switch c {
	case fsm.ConfigureRequest, fsm.ConfigureAck, fsm.ConfigureNak, fsm.ConfigureReject:
		var opts string
		switch protocol {
		case ProtoLCP:
			opts = lcp.FormatOptions(data)
		case ProtoIPCP:
			opts = ipcp.FormatOptions(data)
		case ProtoIPV6CP:
			opts = ipv6cp.FormatOptions(data)
		}
		if opts != "" {
			b.WriteString(" " + opts)
		}
	case fsm.ProtocolReject:
		if p, _, err := lcp.ParseProtocolReject(data); err == nil {
			fmt.Fprintf(&b, " rejected=%s", protocolName(p))
		}
	case fsm.EchoRequest, fsm.EchoReply, fsm.DiscardRequest:
		if m, _, err := lcp.ParseEcho(data); err == nil {
			fmt.Fprintf(&b, " magic=%#x", m)
		}
	}
	return b.String()
}

func (l *Link) logPacket(dir Direction, protocol uint16, info []byte) {
	if !l.log.Enabled(context.Background(), slog.LevelDebug) {
		return
	}
	l.log.Debug("ppp: "+dir.String(), "pkt", FormatPacket(protocol, info))
}
