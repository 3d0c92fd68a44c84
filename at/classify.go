package at

import (
	"strconv"
	"strings"

	"github.com/pppdial/pppdial/at/cell"
)

// lineKind is what a line from the modem is, given the command waiting for an answer.
type lineKind int

const (
	lineEmpty  lineKind = iota
	lineEcho            // the modem echoing our command
	lineOK              // final result: OK
	lineError           // final result: ERROR, +CME ERROR, +CMS ERROR
	lineResult          // a dial result code: CONNECT, NO CARRIER, BUSY, NO ANSWER, NO DIALTONE
	lineURC             // unsolicited: never part of an answer
	lineInfo            // an information line belonging to the pending command's answer
	lineJunk            // binary or garbled bytes
)

// String names the kind, for tests and logs.
func (k lineKind) String() string {
	switch k {
	case lineEmpty:
		return "empty"
	case lineEcho:
		return "echo"
	case lineOK:
		return "ok"
	case lineError:
		return "error"
	case lineResult:
		return "result"
	case lineURC:
		return "urc"
	case lineInfo:
		return "info"
	case lineJunk:
		return "junk"
	}
	return "?"
}

// urcPrefixes are lines modems send on their own: boot banners, SIM and network state, incoming
// calls and messages, vendor indications. A line with one of these prefixes is an answer only
// when the pending command asks for exactly that (see isAnswer).
var urcPrefixes = []string{
	"RDY", "APP RDY", "+APPRDY", "SMS DONE", "PB DONE", "SMS Ready", "Call Ready", "^SYSSTART",
	"+CPIN:", "+CFUN:", "+QIND:", "+QUSIM:", "+QIURC:", "+QSTATE", "+SIMCARD:", "+PACSP",
	"+CREG:", "+CGREG:", "+CEREG:", "+C5GREG:", "+CGEV:",
	"RING", "+CRING:", "+CLIP:", "+CMTI:", "+CMT:", "+CDS:", "+CDSI:", "+CBM:", "+CUSD:",
	"+CIEV:", "+CTZV:", "+CTZE:", "+CTZU:", "*PSUTTZ:", "+PSUTTZ:", "DST:", "+CPSMSTATUS:",
	"+UUPSDD:", "+UUPSDA:", "+UUSORD:", "+UUSOCL:", "+UMWI:", "+UREG:", "+UUSIMSTAT:",
	"+STIN:", "^MODE:", "^RSSI:", "^HCSQ:", "^BOOT:", "^SIMST:", "^SRVST:",
	"NORMAL POWER DOWN", "UNDER-VOLTAGE", "OVER-VOLTAGE", "POWERED DOWN",
}

// isURCPrefixed reports whether line starts like an unsolicited result code.
func isURCPrefixed(line string) bool {
	for _, p := range urcPrefixes {
		if strings.HasPrefix(line, p) {
			return true
		}
	}
	return false
}

// cmdID is the command's name: "+CREG" for "+CREG?", "E" for "E0".
func cmdID(cmd string) string {
	if i := strings.IndexAny(cmd, "=?"); i >= 0 {
		return cmd[:i]
	}
	return cmd
}

// isSet reports whether cmd is a set command (+X=..., not the test form +X=?): their answers
// carry no information lines, so a line with the command's prefix is a URC.
func isSet(cmd string) bool {
	i := strings.IndexByte(cmd, '=')
	return i >= 0 && !strings.HasPrefix(cmd[i:], "=?")
}

// regCommands are the registration commands whose URC and read answer share a prefix.
var regCommands = map[string]bool{"+CREG": true, "+CGREG": true, "+CEREG": true, "+C5GREG": true}

// isAnswer reports whether a URC-prefixed line is really the answer to cmd (the command pending,
// without "AT"). +CREG-style lines are told apart by shape: the read answer is "<n>,<stat>[,...]"
// with a bare number second, the URC is "<stat>" or "<stat>,"<lac>",...".
func isAnswer(line, cmd string) bool {
	if cmd == "" || isSet(cmd) {
		return false
	}
	id := cmdID(cmd)
	if !strings.HasPrefix(id, "+") && !strings.HasPrefix(id, "^") {
		return false
	}
	if !strings.HasPrefix(line, id+":") {
		return false
	}
	if regCommands[id] && strings.HasSuffix(cmd, "?") {
		f := fields(line[len(id)+1:])
		if len(f) < 2 {
			return false
		}
		_, err := strconv.Atoi(f[1])
		return err == nil
	}
	return true
}

// isJunk reports bytes no modem sends in a text line: control characters and DEL. Bytes of 0x80
// and above are let through, since operator names may be UTF-8.
func isJunk(line string) bool {
	for i := 0; i < len(line); i++ {
		c := line[i]
		if (c < 0x20 && c != '\t') || c == 0x7f {
			return true
		}
	}
	return false
}

// resultCodes maps V.250 dial result codes, verbose and numeric (ATV0), to their verbose word.
var resultCodes = map[string]string{
	"NO CARRIER": "NO CARRIER", "BUSY": "BUSY", "NO ANSWER": "NO ANSWER",
	"NO DIALTONE": "NO DIALTONE", "NO DIAL TONE": "NO DIALTONE",
	"3": "NO CARRIER", "7": "BUSY", "8": "NO ANSWER", "6": "NO DIALTONE", "1": "CONNECT",
}

// classify says what line is while cmd (without "AT"; "" when idle) waits for its answer.
func classify(line, cmd string) lineKind {
	line = strings.TrimSpace(line)
	switch {
	case line == "":
		return lineEmpty
	case isJunk(line):
		return lineJunk
	case line == "OK" || (line == "0" && strings.HasPrefix(cmd, "D")):
		return lineOK
	case strings.HasPrefix(line, "ERROR") || strings.HasPrefix(line, "+CME ERROR") ||
		strings.HasPrefix(line, "+CMS ERROR") || (line == "4" && strings.HasPrefix(cmd, "D")):
		return lineError
	case len(line) >= 2 && strings.EqualFold(line[:2], "AT"):
		return lineEcho
	case strings.HasPrefix(cmd, "D") && (strings.HasPrefix(line, "CONNECT") || resultCodes[line] != ""):
		return lineResult
	case isURCPrefixed(line) && !isAnswer(line, cmd):
		return lineURC
	}
	return lineInfo
}

// fields splits the value part of an information line at commas outside quotes, trimming
// spaces and the quotes themselves.
func fields(s string) []string {
	var out []string
	var b strings.Builder
	inq := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"':
			inq = !inq
		case c == ',' && !inq:
			out = append(out, strings.TrimSpace(b.String()))
			b.Reset()
		default:
			b.WriteByte(c)
		}
	}
	out = append(out, strings.TrimSpace(b.String()))
	return out
}

// valueOf returns the part after "prefix:" of the last line in info that has it.
func valueOf(info []string, prefix string) (string, bool) {
	for i := len(info) - 1; i >= 0; i-- {
		l := strings.TrimSpace(info[i])
		if strings.HasPrefix(l, prefix+":") {
			return strings.TrimSpace(l[len(prefix)+1:]), true
		}
	}
	return "", false
}

// Signal is the modem's +CSQ answer.
type Signal struct {
	RSSI  int  // 0..31, 99 = unknown
	BER   int  // 0..7, 99 = unknown
	DBm   int  // received power in dBm; meaningful when Known
	Known bool // false when the modem reports 99 (not known or not detectable)
}

// parseCSQ parses "+CSQ: <rssi>,<ber>" (the value after the colon) with the cell package's
// parser: dBm = -113 + 2*rssi (27.007 §8.5).
func parseCSQ(v string) (Signal, bool) {
	c, err := cell.ParseCSQValue(v)
	if err != nil {
		return Signal{}, false
	}
	s := Signal{RSSI: c.RSSI, BER: c.BER}
	s.DBm, s.Known = c.DBm()
	return s, true
}

// RegStatus is a registration state (<stat> of +CREG/+CGREG/+CEREG, 27.007 §7.2).
type RegStatus int

// Registration states as 27.007 numbers them.
const (
	RegNotSearching RegStatus = 0
	RegHome         RegStatus = 1
	RegSearching    RegStatus = 2
	RegDenied       RegStatus = 3
	RegUnknown      RegStatus = 4
	RegRoaming      RegStatus = 5
	RegHomeSMSOnly  RegStatus = 6
	RegRoamSMSOnly  RegStatus = 7
	RegEmergency    RegStatus = 8
	RegHomeCSFB     RegStatus = 9
	RegRoamCSFB     RegStatus = 10
)

// Registered reports a state in which a data call can be placed: home or roaming.
func (s RegStatus) Registered() bool {
	return s == RegHome || s == RegRoaming || s == RegHomeCSFB || s == RegRoamCSFB
}

// String names the state.
func (s RegStatus) String() string {
	switch s {
	case RegNotSearching:
		return "not searching"
	case RegHome:
		return "home"
	case RegSearching:
		return "searching"
	case RegDenied:
		return "denied"
	case RegUnknown:
		return "unknown"
	case RegRoaming:
		return "roaming"
	case RegHomeSMSOnly:
		return "home, SMS only"
	case RegRoamSMSOnly:
		return "roaming, SMS only"
	case RegEmergency:
		return "emergency only"
	case RegHomeCSFB:
		return "home, CSFB not preferred"
	case RegRoamCSFB:
		return "roaming, CSFB not preferred"
	}
	return "stat " + strconv.Itoa(int(s))
}

// regInfo is one parsed registration line.
type regInfo struct {
	stat RegStatus
	act  int // -1 when absent
}

// parseReg parses the value of a +CREG/+CGREG/+CEREG line. A read answer is
// "<n>,<stat>[,<lac>,<ci>[,<AcT>...]]"; a URC is "<stat>[,<lac>,<ci>[,<AcT>...]]".
func parseReg(v string, isURC bool) (regInfo, bool) {
	f := fields(v)
	i := 1
	if isURC {
		i = 0
	}
	if len(f) <= i {
		return regInfo{}, false
	}
	st, err := strconv.Atoi(f[i])
	if err != nil || st < 0 || st > 255 {
		return regInfo{}, false
	}
	r := regInfo{stat: RegStatus(st), act: -1}
	if len(f) > i+3 {
		if a, err := strconv.Atoi(f[i+3]); err == nil {
			r.act = a
		}
	}
	return r, true
}

// AccessTechName names a 27.007 <AcT> number (+COPS, +CREG): "GSM", "LTE", "LTE-M", "NB-IoT", ...
func AccessTechName(act int) string { return cell.AcTName(act) }

// parseCOPS parses "+COPS: <mode>[,<format>,<oper>[,<AcT>]]" (the value after the colon).
func parseCOPS(v string) (oper string, act int, ok bool) {
	c, err := cell.ParseCOPSValue(v)
	if err != nil {
		return "", -1, false
	}
	return c.Operator, c.AcT, true
}
