package at

import (
	"context"
	"fmt"
	"strings"
)

// Identity is the modem's and the SIM's identity, read by the identity step (Config.Identity).
// Fields the modem did not answer stay empty. The IMSI is not here on purpose: it identifies
// the subscriber and is read only where it is needed (the APN lookup).
type Identity struct {
	Manufacturer string // AT+CGMI
	Model        string // AT+CGMM
	Revision     string // AT+CGMR, the firmware
	IMEI         string // AT+CGSN
	// ICCID is the SIM's serial number (AT+CCID, AT+QCCID, AT+ICCID or AT+CICCID, the first
	// that answers), as the modem gave it but for a quote, a prefix or a trailing pad F.
	ICCID string
}

// iccidCommands are the commands modems answer the ICCID to, tried in order until one gives
// one: 27.007 has none, so each family has its own (u-blox, SIMCom SIM800 and Quectel take
// +CCID; Quectel also +QCCID; Sierra and Telit +ICCID; SIMCom SIM7x00 +CICCID).
var iccidCommands = []string{"+CCID", "+QCCID", "+ICCID", "+CICCID"}

// maxIdentityText bounds a text identity field: it becomes a metric label and a status line.
const maxIdentityText = 64

// identity reads the modem's identity. It never fails the dial for a command the modem refuses
// or answers oddly (that field stays empty); only the context, or the port failing, ends it.
func (d *dialer) identity(ctx context.Context) (string, error) {
	var id Identity
	text := func(cmd string) (string, error) {
		info, err := d.p.exec(ctx, cmd, d.cfg.Timeouts.Command)
		if err != nil {
			return "", d.identityErr(ctx, err)
		}
		return identityText(info, cmd), nil
	}
	var err error
	for _, f := range []struct {
		dst *string
		cmd string
	}{{&id.Manufacturer, "+CGMI"}, {&id.Model, "+CGMM"}, {&id.Revision, "+CGMR"}} {
		if *f.dst, err = text(f.cmd); err != nil {
			return "", err
		}
	}
	imei, err := text("+CGSN")
	if err != nil {
		return "", err
	}
	id.IMEI = ParseIMEI(imei)
	for _, cmd := range iccidCommands {
		info, err := d.p.exec(ctx, cmd, d.cfg.Timeouts.Command)
		if err != nil {
			if err := d.identityErr(ctx, err); err != nil {
				return "", err
			}
			continue
		}
		if id.ICCID = ParseICCID(info); id.ICCID != "" {
			break
		}
	}
	d.info.Identity = id
	var parts []string
	if m := strings.TrimSpace(id.Manufacturer + " " + id.Model); m != "" {
		parts = append(parts, m)
	}
	if id.Revision != "" {
		parts = append(parts, "rev "+id.Revision)
	}
	if id.ICCID != "" {
		parts = append(parts, "ICCID "+id.ICCID)
	} else {
		parts = append(parts, "no ICCID")
	}
	return strings.Join(parts, ", "), nil
}

// identityErr keeps the errors that end the identity step: the context's and the port's.
// A refused or unanswered command only leaves its field empty.
func (d *dialer) identityErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if perr := d.p.failed(); perr != nil {
		return fmt.Errorf("identity: %w", perr)
	}
	d.cfg.Logger.Debug("at: identity: no answer", "err", err)
	return nil
}

// identityText is the first information line of an answer, without the command's echo-like
// "+CGMI: " prefix (some modems add it) or the "Revision: " label, cut to printable ASCII
// and a bounded length.
func identityText(info []string, cmd string) string {
	for _, l := range info {
		l = strings.TrimSpace(l)
		if v, ok := cutPrefixFold(l, cmd+":"); ok {
			l = strings.TrimSpace(v)
		}
		if v, ok := cutPrefixFold(l, "Revision:"); ok {
			l = strings.TrimSpace(v)
		}
		l = strings.Trim(l, `"`)
		var b strings.Builder
		for i := 0; i < len(l) && b.Len() < maxIdentityText; i++ {
			if c := l[i]; c >= 0x20 && c < 0x7f {
				b.WriteByte(c)
			}
		}
		if s := strings.TrimSpace(b.String()); s != "" {
			return s
		}
	}
	return ""
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix) {
		return s[len(prefix):], true
	}
	return s, false
}

// ParseICCID finds the ICCID in the answer to one of the ICCID commands: "+CCID: 8944...",
// "+QCCID: 8944...F", "+ICCID: \"8944...\"" or a bare number. It is 18 to 22 digits (ITU-T
// E.118), with the pad F some modems add to a 19-digit ICCID removed; "" when the answer holds
// none.
func ParseICCID(info []string) string {
	for _, l := range info {
		l = strings.TrimSpace(l)
		if strings.HasPrefix(l, "+") || strings.HasPrefix(l, "^") {
			if _, v, ok := strings.Cut(l, ":"); ok {
				l = v
			}
		}
		l = strings.Trim(strings.TrimSpace(l), `"`)
		l = strings.TrimRight(l, "fF")
		if len(l) >= 18 && len(l) <= 22 && allDigits(l) {
			return l
		}
	}
	return ""
}

// ParseIMEI returns s if it is an IMEI (15 digits) or IMEISV (16), else "": AT+CGSN on some
// modems answers the serial number in another form, which is not what the IMEI label promises.
func ParseIMEI(s string) string {
	s = strings.Trim(strings.TrimSpace(s), `"`)
	if (len(s) == 15 || len(s) == 16) && allDigits(s) {
		return s
	}
	return ""
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
