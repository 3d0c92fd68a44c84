package at

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ErrMalformed is wrapped by the error of an answer parser given lines that do not have the
// documented shape.
var ErrMalformed = errors.New("at: malformed answer")

// ErrNoContextMTU is wrapped by ContextMTU's error when the modem answered AT+CGCONTRDP but
// gave no MTU for the context: it is not active (yet), the modem leaves the field out (most
// do), or the answer is for another APN than the one dialed.
var ErrNoContextMTU = errors.New("the modem reports no MTU for the context")

// ContextParams is one line of the answer to AT+CGCONTRDP (3GPP TS 27.007 §10.1.23, "PDP context
// read dynamic parameters"): the parameters the network gave an active context.
//
//	+CGCONTRDP: <cid>,<bearer_id>,<apn>[,<local_addr and subnet_mask>[,<gw_addr>[,<DNS_prim_addr>
//	  [,<DNS_sec_addr>[,<P-CSCF_prim_addr>[,<P-CSCF_sec_addr>[,<IM_CN_Signalling_Flag>
//	  [,<LIPA_indication>[,<IPv4_MTU>[,<WLAN_Offload>[,<Local_Addr_Ind>[,<Non-IP_MTU>...]]]]]]]]]]]]
//
// Modems stop after any field (most after the DNS servers or the IM CN flag), quote the strings
// or not (Quectel's SDX55 firmware does not), and an IPv4V6 context takes two lines, IPv4's
// first. Before 27.007 v9.4.0 the subnet mask was a field of its own after the local address;
// such a line is recognised (a bare address followed by a netmask) and its later fields counted
// one further on.
type ContextParams struct {
	CID int
	// BearerID is the EPS bearer (or NSAPI); -1 when the modem leaves it empty (nRF91).
	BearerID int
	// APN is the APN as the network reports it, often with the operator's
	// ".mnc<MNC>.mcc<MCC>.gprs" appended.
	APN string
	// MTU is <IPv4_MTU>: the largest IPv4 packet the network carries on the context; 0 when
	// the modem leaves the field out or reports a value no IPv4 link can have (below 68).
	MTU int
	// LegacyMask is set when the line has the pre-v9.4.0 layout (subnet mask in a field of
	// its own).
	LegacyMask bool
}

// mtuField is <IPv4_MTU>'s index among the fields of a current-layout line.
const mtuField = 11

// ParseCGCONTRDP reads the answer to AT+CGCONTRDP[=<cid>]: one ContextParams per
// "+CGCONTRDP:" line, in order. Other lines (a URC slipped in) are skipped; an answer without
// any such line (no context active) is nil and no error. A "+CGCONTRDP:" line without a
// numeric <cid> or with fewer than three fields is an error wrapping ErrMalformed.
func ParseCGCONTRDP(lines []string) ([]ContextParams, error) {
	var out []ContextParams
	for _, l := range lines {
		v, ok := strings.CutPrefix(strings.TrimSpace(l), "+CGCONTRDP:")
		if !ok {
			continue
		}
		f := fields(v)
		if len(f) < 3 {
			return nil, malformed("+CGCONTRDP wants <cid>,<bearer_id>,<apn>", l)
		}
		cid, err := strconv.Atoi(f[0])
		if err != nil || cid < 0 {
			return nil, malformed("+CGCONTRDP's <cid> is not a number", l)
		}
		c := ContextParams{CID: cid, BearerID: -1, APN: f[2]}
		if b, err := strconv.Atoi(f[1]); err == nil && b >= 0 {
			c.BearerID = b
		}
		i := mtuField
		if len(f) > 4 && bareAddress(f[3]) && netmask(f[4]) {
			c.LegacyMask = true
			i++
		}
		if len(f) > i {
			if m, err := strconv.Atoi(f[i]); err == nil && m >= 68 && m <= 65535 {
				c.MTU = m
			}
		}
		out = append(out, c)
	}
	return out, nil
}

// malformed wraps ErrMalformed with what was wrong; the line is quoted, bounded in length.
func malformed(what, line string) error {
	if len(line) > 120 {
		line = line[:120] + "..."
	}
	return fmt.Errorf("%w: %s: %q", ErrMalformed, what, line)
}

// dottedOctets returns the number of dot-separated decimal octets (0..255) s is made of, or 0
// when it is anything else. 27.007 writes IPv4 addresses as 4 octets, IPv6 ones as 16, and an
// address with its subnet mask as twice that.
func dottedOctets(s string) int {
	n := 0
	for part := range strings.SplitSeq(s, ".") {
		if len(part) == 0 || len(part) > 3 {
			return 0
		}
		v, err := strconv.Atoi(part)
		if err != nil || v < 0 || v > 255 || part[0] == '+' || part[0] == '-' {
			return 0
		}
		n++
	}
	return n
}

// bareAddress reports an address without a subnet mask: 4 or 16 dotted octets, or IPv6 text.
func bareAddress(s string) bool {
	if strings.Contains(s, ":") {
		return !strings.Contains(s, "/")
	}
	n := dottedOctets(s)
	return n == 4 || n == 16
}

// netmask reports a subnet mask in dotted octets (4 or 16) whose first octet is 255: what the
// pre-v9.4.0 layout has after the local address. A gateway address never starts with 255, so
// the current layout's <gw_addr> is not mistaken for one.
func netmask(s string) bool {
	n := dottedOctets(s)
	if (n != 4 && n != 16) || !strings.HasPrefix(s, "255.") {
		return false
	}
	var bits []byte
	for part := range strings.SplitSeq(s, ".") {
		v, _ := strconv.Atoi(part)
		bits = append(bits, byte(v))
	}
	// Contiguous ones, then zeros.
	zero := false
	for _, b := range bits {
		for bit := 7; bit >= 0; bit-- {
			one := b&(1<<bit) != 0
			if one && zero {
				return false
			}
			zero = zero || !one
		}
	}
	return true
}

// sameAPN reports whether the APN a network reports for a context is the one configured: the
// network often appends ".mnc<MNC>.mcc<MCC>.gprs" (3GPP TS 23.003 §9.1.2, the operator
// identifier), and APNs compare without case.
func sameAPN(reported, configured string) bool {
	r := strings.ToLower(reported)
	if i := strings.LastIndex(r, ".mnc"); i >= 0 && strings.HasSuffix(r, ".gprs") &&
		strings.Contains(r[i:], ".mcc") {
		r = r[:i]
	}
	return r == strings.ToLower(configured)
}

// contextMTU picks context cid's MTU from an AT+CGCONTRDP answer: the smallest one its lines
// report (an IPv4V6 context has two). apn, if set, must be the APN the context has: a context
// still active with another one (the attach's default bearer, before ATD) says nothing about
// the call about to be dialed.
func contextMTU(info []string, cid int, apn string) (int, error) {
	params, err := ParseCGCONTRDP(info)
	if err != nil {
		return 0, fmt.Errorf("%w (%w)", ErrNoContextMTU, err)
	}
	found, mtu := false, 0
	for _, c := range params {
		if c.CID != cid {
			continue
		}
		found = true
		if apn != "" && c.APN != "" && !sameAPN(c.APN, apn) {
			return 0, fmt.Errorf("%w: context %d is active with APN %q, not %q", ErrNoContextMTU, cid, c.APN, apn)
		}
		if c.MTU > 0 && (mtu == 0 || c.MTU < mtu) {
			mtu = c.MTU
		}
	}
	switch {
	case !found:
		return 0, fmt.Errorf("%w: context %d is not active", ErrNoContextMTU, cid)
	case mtu == 0:
		return 0, fmt.Errorf("%w: the answer has no <IPv4_MTU>", ErrNoContextMTU)
	}
	return mtu, nil
}

// ContextMTU asks the modem for the network's IPv4 MTU on context cid (AT+CGCONTRDP=<cid>) and
// returns it. A modem that refuses the command returns its error (ErrCommandFailed,
// *CMEError); one that answers without an MTU for the context (inactive, or the field left
// out) an error wrapping ErrNoContextMTU. timeout bounds the command.
//
// The context must be active for an answer: on a multiplexed modem, ask on the AT channel while
// the link is up. Config.QueryMTU asks before ATD, where only an LTE modem whose attach
// activated the context already has one.
func ContextMTU(ctx context.Context, p *Port, cid int, timeout time.Duration) (int, error) {
	info, err := p.Exec(ctx, "+CGCONTRDP="+strconv.Itoa(cid), timeout)
	if err != nil {
		return 0, err
	}
	return contextMTU(info, cid, "")
}

// mtu is the dial step for Config.QueryMTU: it never fails the dial (only a cancelled dial or
// a port gone ends it), and says in its detail what the modem answered.
func (d *dialer) mtu(ctx context.Context) (string, error) {
	d.info.MTU = 0
	cmd := "+CGCONTRDP=" + strconv.Itoa(d.cfg.CID)
	info, err := d.p.exec(ctx, cmd, d.cfg.Timeouts.Command)
	if err == nil {
		var mtu int
		if mtu, err = contextMTU(info, d.cfg.CID, d.apnName); err == nil {
			d.info.MTU = mtu
			return fmt.Sprintf("%d (AT%s)", mtu, cmd), nil
		}
	}
	if ctx.Err() != nil || d.p.failed() != nil {
		return "", err
	}
	return fmt.Sprintf("not reported (AT%s: %v)", cmd, err), nil
}
