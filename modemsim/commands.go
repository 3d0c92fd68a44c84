package modemsim

import (
	"strconv"
	"strings"
	"time"

	"github.com/pppdial/pppdial/at"
	"github.com/pppdial/pppdial/line"
)

func itoa(n int) string { return strconv.Itoa(n) }

// maxCommandLine bounds a command line, as a modem's input buffer does.
const maxCommandLine = 1024

// onCommandBytes echoes and collects command lines (ended by CR; LF ignored; backspace edits).
func (s *session) onCommandBytes(b []byte) {
	if !s.booted || s.dialing {
		return // deaf while booting; a real modem aborts a dial on input, this one ignores it
	}
	if _, dead := s.m.wedgeState(); dead {
		return // ATWedge: nothing answers until the reset line is pulsed
	}
	if s.echo {
		s.send(append([]byte(nil), b...))
	}
	for _, c := range b {
		switch c {
		case '\r':
			line := string(s.line)
			s.line = s.line[:0]
			s.execLine(line)
			if s.dialing || (s.call != nil && s.online) || s.cmuxN1 > 0 {
				return // the rest of the chunk is not for the command interpreter
			}
		case '\n':
		case 0x08, 0x7f:
			if len(s.line) > 0 {
				s.line = s.line[:len(s.line)-1]
			}
		default:
			if len(s.line) < maxCommandLine {
				s.line = append(s.line, c)
			}
		}
	}
}

// result is what one command of a line produced.
type result struct {
	info  []string
	final string // a final result other than OK ("ERROR", "+CME ERROR: ...", "CONNECT", "NO CARRIER")
	async bool   // the final result comes later (ATD)
	then  func() // run once the line's answer is written (AT+IPR's speed change)
}

// execLine runs a command line: everything before "AT" is ignored (V.250 5.2.1), several
// commands may follow one AT ("ATE0V1", "AT+CSQ;+CREG?").
func (s *session) execLine(line string) {
	i := indexAT(line)
	if i < 0 {
		return
	}
	body := line[i+2:]
	s.m.mu.Lock()
	s.m.stats.Commands++
	s.m.commands = append(s.m.commands, "AT"+body)
	s.m.mu.Unlock()
	s.log.Debug("modemsim: >", "cmd", "AT"+body)
	var info []string
	var then func()
	for _, c := range splitCommands(body) {
		r := s.exec(c)
		info = append(info, r.info...)
		if r.then != nil {
			then = r.then
		}
		if r.async {
			return
		}
		if r.final != "" {
			s.cmuxN1 = 0 // a command after AT+CMUX failed: the line stays in AT mode
			s.sendLinesThen(then, append(info, r.final)...)
			return
		}
	}
	s.sendLinesThen(then, append(info, "OK")...)
}

// splitCommands cuts a command line body into single commands.
func splitCommands(body string) []string {
	var out []string
	for body != "" {
		c := body[0]
		switch {
		case c == ';' || c == ' ':
			body = body[1:]
		case strings.ContainsRune("+^$#%*", rune(c)):
			// Extended command: up to ';' outside quotes.
			end, inq := len(body), false
			for i := 1; i < len(body); i++ {
				if body[i] == '"' {
					inq = !inq
				}
				if body[i] == ';' && !inq {
					end = i
					break
				}
			}
			out = append(out, body[:end])
			body = body[end:]
		case c == 'D' || c == 'd':
			return append(out, body) // the dial string takes the rest of the line
		case c == 'S' || c == 's':
			end := 1
			for end < len(body) && strings.ContainsRune("0123456789=?", rune(body[end])) {
				end++
			}
			out = append(out, strings.ToUpper(body[:end]))
			body = body[end:]
		default:
			// Basic command: [&]letter then digits.
			end := 1
			if c == '&' && len(body) > 1 {
				end = 2
			}
			for end < len(body) && body[end] >= '0' && body[end] <= '9' {
				end++
			}
			out = append(out, strings.ToUpper(body[:end]))
			body = body[end:]
		}
	}
	return out
}

// cmeError formats a 27.007 error as AT+CMEE asks. The numbers and the AT+CMEE=2 words come
// from the dialer's own table (at.CMECode), so the simulator cannot drift from what the dialer
// recognises.
func (s *session) cmeError(code at.CMECode) string {
	switch s.cmee {
	case 1:
		return "+CME ERROR: " + itoa(int(code))
	case 2:
		if t := at.CMEText(code); t != "" {
			return "+CME ERROR: " + t
		}
		return "+CME ERROR: " + itoa(int(code))
	}
	return "ERROR"
}

var errResult = result{final: "ERROR"}

// inAnswer slips the profile's next URC between the echo and the answer of a status query.
func (s *session) inAnswer() []string {
	if len(s.p.URCsInAnswers) == 0 {
		return nil
	}
	u := s.p.URCsInAnswers[s.urcIdx%len(s.p.URCsInAnswers)]
	s.urcIdx++
	u = strings.ReplaceAll(u, "{stat}", itoa(s.regStat()))
	u = strings.ReplaceAll(u, "{rssi}", itoa(s.p.RSSI))
	return []string{u}
}

// exec runs one command (without "AT").
func (s *session) exec(cmd string) result {
	up := asciiUpper(cmd) // same length as cmd: arg below is cut from cmd at up's index
	name, arg := up, ""
	if i := strings.IndexAny(up, "=?"); i >= 0 {
		name, arg = up[:i], cmd[i:]
	}
	switch name {
	case "E", "E0", "E1":
		s.echo = name == "E1"
		return result{}
	case "V", "V1", "Q", "Q0", "X0", "X1", "X2", "X3", "X4", "&C", "&C0", "&C1", "&D", "&D0", "&D1", "&D2", "&W", "&W0":
		return result{}
	case "Z", "Z0", "&F", "&F0":
		s.echo, s.cmee = s.p.Echo, 0
		return result{}
	case "I", "I0":
		return result{info: []string{s.p.Manufacturer, s.p.Model, "Revision: " + s.p.Revision}}
	case "+CGMI", "+GMI":
		return result{info: []string{s.p.Manufacturer}}
	case "+CGMM", "+GMM":
		return result{info: []string{s.p.Model}}
	case "+CGMR", "+GMR":
		return result{info: []string{s.p.Revision}}
	case "+CGSN", "+GSN":
		return result{info: []string{"867698040123456"}}
	case "H", "H0":
		if s.call != nil {
			s.endCall()
			s.m.count(func(st *Stats) { st.Hangups++ })
		}
		return result{}
	case "O", "O0":
		if s.call == nil {
			return result{final: "NO CARRIER"}
		}
		s.online = true
		s.plus = 0
		s.lastRx = time.Now()
		s.call.online.Store(true)
		s.m.count(func(st *Stats) { st.Connects++ })
		return result{final: s.p.ConnectText}
	case "+CMEE":
		switch arg {
		case "?":
			return result{info: []string{"+CMEE: " + itoa(s.cmee)}}
		case "=?":
			return result{info: []string{"+CMEE: (0-2)"}}
		case "=0", "=1", "=2":
			if arg == "=2" && s.p.NoCMEE2 {
				return errResult
			}
			s.cmee = int(arg[1] - '0')
			return result{}
		}
		return errResult
	case "+CFUN":
		return s.cfun(arg)
	case "+CPIN":
		return s.cpin(arg)
	case "+CIMI":
		if !s.simReady {
			return result{final: s.simError()}
		}
		if s.p.IMSI != "" {
			return result{info: []string{s.p.IMSI}}
		}
		return result{info: []string{DefaultIMSI}}
	case "+CCID", "+QCCID", "+ICCID", "+CICCID":
		if s.p.ICCID == "" {
			return errResult
		}
		if !s.simReady {
			return result{final: s.simError()}
		}
		iccid := s.p.ICCID
		prefix := name
		if name == "+CICCID" {
			prefix = "+ICCID" // SIMCom's answer names the ICCID, not its command
		}
		return result{info: []string{prefix + ": " + iccid}}
	case "+CSQ":
		ber := 99
		if s.p.AcT < 0 {
			ber = 0
		}
		return result{info: append(s.inAnswer(), "+CSQ: "+itoa(s.p.RSSI)+","+itoa(ber))}
	case "+CREG", "+CGREG", "+CEREG":
		return s.creg(name, arg)
	case "+COPS":
		switch {
		case arg == "?":
			info := s.inAnswer()
			if !s.registered() {
				return result{info: append(info, "+COPS: 0")}
			}
			line := `+COPS: 0,0,"` + s.p.Operator + `"`
			if s.p.AcT >= 0 {
				line += "," + itoa(s.p.AcT)
			}
			return result{info: append(info, line)}
		case arg == "=?":
			return result{info: []string{`+COPS: (2,"` + s.p.Operator + `","` + s.p.Operator + `","00101"),,(0-4),(0-2)`}}
		}
		return result{}
	case "+CGATT":
		if arg == "?" {
			st := 0
			if s.registered() {
				st = 1
			}
			return result{info: []string{"+CGATT: " + itoa(st)}}
		}
		return result{}
	case "+CGDCONT":
		return s.cgdcont(arg)
	case "+CGCONTRDP":
		return s.cgcontrdp(arg)
	case "+IPR":
		return s.iprCmd(arg)
	case "+CMUX":
		return s.cmux(arg)
	case "+IFC", "+ICF", "+QINDCFG", "+CSCS", "+CMGF":
		return result{}
	}
	if strings.HasPrefix(name, "D") {
		return s.dial(cmd[1:])
	}
	if strings.HasPrefix(name, "S") && len(name) > 1 {
		if strings.HasSuffix(up, "?") {
			return result{info: []string{"000"}}
		}
		return result{}
	}
	return errResult
}

func (s *session) simError() string {
	switch {
	case s.p.NoSIM:
		return s.cmeError(at.CMESIMNotInserted)
	case s.puk:
		return s.cmeError(at.CMESIMPUKRequired)
	case s.locked:
		return s.cmeError(at.CMESIMPINRequired)
	}
	return s.cmeError(at.CMESIMBusy)
}

// cpin answers +CPIN? and takes PINs (and PUK,newPIN).
func (s *session) cpin(arg string) result {
	if s.p.NoSIM {
		return result{final: s.cmeError(at.CMESIMNotInserted)}
	}
	if arg == "?" {
		state := "READY"
		switch {
		case s.puk:
			state = "SIM PUK"
		case s.locked:
			state = "SIM PIN"
		}
		return result{info: append(s.inAnswer(), "+CPIN: "+state)}
	}
	if !strings.HasPrefix(arg, "=") || arg == "=?" {
		return result{}
	}
	args := splitArgs(arg[1:])
	s.m.count(func(st *Stats) { st.PINAttempts++ })
	wrong := func() result {
		if s.p.WrongPINPlainError {
			return errResult
		}
		return result{final: s.cmeError(at.CMEIncorrectPassword)}
	}
	switch {
	case s.puk:
		if len(args) == 2 && args[0] == s.p.PUK && s.p.PUK != "" {
			s.puk, s.locked = false, false
			s.p.PIN = args[1]
			s.unlocked()
			return result{}
		}
		return wrong()
	case s.locked:
		if len(args) >= 1 && args[0] == s.p.PIN {
			s.locked = false
			s.unlocked()
			return result{}
		}
		s.attempts--
		if s.attempts <= 0 {
			s.puk = true
		}
		return wrong()
	}
	return result{final: s.cmeError(at.CMEOperationNotAllowed)} // no PIN asked for
}

// unlocked: the SIM comes up shortly after the PIN, with its URCs.
func (s *session) unlocked() {
	s.after(50*time.Millisecond, func() {
		for _, l := range s.p.AfterPIN {
			s.sendLines(l)
		}
		s.setSIMReady(false)
	})
}

// splitArgs splits "a","b",3 into unquoted values.
func splitArgs(s string) []string {
	var out []string
	var b strings.Builder
	inq := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"':
			inq = !inq
		case c == ',' && !inq:
			out = append(out, strings.TrimSpace(b.String()))
			b.Reset()
		default:
			b.WriteByte(c)
		}
	}
	return append(out, strings.TrimSpace(b.String()))
}

// creg answers the three registration commands.
func (s *session) creg(name, arg string) result {
	if (name == "+CEREG" && s.p.NoCEREG) || (name == "+CGREG" && s.p.NoCGREG) {
		return errResult
	}
	switch {
	case arg == "?":
		n := s.regMode[name]
		line := name + ": " + itoa(n) + "," + itoa(s.regStat())
		if n == 2 {
			line += s.regLocation(name)
		}
		return result{info: append(s.inAnswer(), line)}
	case arg == "=?":
		return result{info: []string{name + ": (0-2)"}}
	case strings.HasPrefix(arg, "="):
		n, err := strconv.Atoi(arg[1:])
		if err != nil || n < 0 || n > 2 {
			return errResult
		}
		s.regMode[name] = n
		return result{}
	}
	return errResult
}

// cgdcont defines and lists PDP contexts.
func (s *session) cgdcont(arg string) result {
	switch {
	case arg == "?":
		var info []string
		for cid := 1; cid <= 16; cid++ {
			if v, ok := s.pdp[cid]; ok {
				info = append(info, "+CGDCONT: "+itoa(cid)+","+v)
			}
		}
		return result{info: info}
	case arg == "=?":
		return result{info: []string{`+CGDCONT: (1-16),"IP",,,(0-2),(0-4)`, `+CGDCONT: (1-16),"IPV6",,,(0-2),(0-4)`, `+CGDCONT: (1-16),"IPV4V6",,,(0-2),(0-4)`}}
	case strings.HasPrefix(arg, "="):
		args := splitArgs(arg[1:])
		cid, err := strconv.Atoi(args[0])
		if err != nil || cid < 1 || cid > 16 {
			return result{final: s.cmeError(at.CMEIncorrectParameters)}
		}
		if len(args) == 1 {
			delete(s.pdp, cid)
			delete(s.apn, cid)
			return result{}
		}
		switch strings.ToUpper(args[1]) {
		case "IP", "IPV6", "IPV4V6", "PPP":
		default:
			return result{final: s.cmeError(at.CMEIncorrectParameters)}
		}
		apn := ""
		if len(args) > 2 {
			apn = args[2]
		}
		s.pdp[cid] = `"` + strings.ToUpper(args[1]) + `","` + apn + `","0.0.0.0",0,0`
		s.apn[cid] = apn
		return result{}
	}
	return errResult
}

// cgcontrdp answers AT+CGCONTRDP[=<cid>] with the dynamic parameters of the active contexts,
// in a Quectel's layout: address and mask in one field, the gateway, the DNS servers, empty
// P-CSCFs, the IM CN and LIPA flags and, with Profile.ContextMTU, <IPv4_MTU>. The network
// appends its operator identifier to the APN. An inactive context given by number is an error.
func (s *session) cgcontrdp(arg string) result {
	if arg == "=?" {
		return result{info: []string{"+CGCONTRDP: (1-16)"}}
	}
	var cids []int
	switch {
	case arg == "":
		for cid := 1; cid <= 16; cid++ {
			if _, ok := s.contextAPN(cid); ok {
				cids = append(cids, cid)
			}
		}
	case strings.HasPrefix(arg, "="):
		cid, err := strconv.Atoi(strings.TrimSpace(arg[1:]))
		if err != nil || cid < 1 || cid > 16 {
			return result{final: s.cmeError(50)}
		}
		if _, ok := s.contextAPN(cid); !ok {
			return result{final: s.cmeError(3)}
		}
		cids = []int{cid}
	default:
		return errResult
	}
	var info []string
	for _, cid := range cids {
		apn, _ := s.contextAPN(cid)
		if apn != "" {
			apn += ".mnc001.mcc001.gprs"
		}
		l := "+CGCONTRDP: " + itoa(cid) + "," + itoa(4+cid) + `,"` + apn +
			`","10.64.64.64.255.255.255.255","10.64.64.1","10.64.64.1","0.0.0.0","",""`
		if s.p.ContextMTU > 0 {
			l += ",0,0," + itoa(s.p.ContextMTU)
		}
		info = append(info, l)
	}
	return result{info: info}
}

// contextAPN reports whether context cid has dynamic parameters, and its APN: a call runs on
// it (on any DLC), or it is the default bearer of a registered LTE modem
// (Profile.DefaultBearer), with the APN its definition has.
func (s *session) contextAPN(cid int) (string, bool) {
	if apn, ok := s.m.activeAPN(cid); ok {
		return apn, true
	}
	return s.apn[cid], cid == 1 && s.p.DefaultBearer && s.registered()
}

// dial places the data call; its answer comes after DialDelay.
func (s *session) dial(number string) result {
	s.m.count(func(st *Stats) { st.Dials++ })
	s.dialing = true
	s.after(s.p.DialDelay, func() {
		s.dialing = false
		switch {
		case s.busy > 0:
			s.busy--
			s.sendLines("BUSY")
		case !s.registered():
			s.sendLines("NO CARRIER")
		case s.dialWedged():
			s.log.Debug("modemsim: wedged: NO CARRIER until the remedy")
			s.sendLines("NO CARRIER")
		case s.noCarr > 0:
			s.noCarr--
			s.sendLines("NO CARRIER")
		case s.p.AcceptAPN != "" && !strings.EqualFold(s.apn[dialCID(number)], s.p.AcceptAPN):
			s.log.Debug("modemsim: the network refuses the APN", "apn", s.apn[dialCID(number)])
			s.sendLines("NO CARRIER")
		default:
			s.m.count(func(st *Stats) { st.Connects++ })
			s.log.Debug("modemsim: CONNECT", "number", number)
			var tail []byte
			if s.p.SplitConnect && len(s.p.ConnectText) > 4 {
				s.send([]byte("\r\n" + s.p.ConnectText[:4]))
				tail = []byte(s.p.ConnectText[4:] + "\r\n")
			} else {
				s.sendLines(s.p.ConnectText)
			}
			s.startCall(dialCID(number), tail)
		}
	})
	return result{async: true}
}

// dialCID is the context a dial string activates: "*99***<cid>#", otherwise 1.
func dialCID(number string) int {
	if v, ok := strings.CutPrefix(number, "*99***"); ok {
		if cid, err := strconv.Atoi(strings.TrimSuffix(v, "#")); err == nil {
			return cid
		}
	}
	return 1
}

// iprCmd reads and sets the line speed. The answer to a new speed goes out at the old one; the
// modem's end of the line follows once it is written.
func (s *session) iprCmd(arg string) result {
	switch {
	case arg == "?":
		return result{info: []string{"+IPR: " + itoa(s.ipr)}}
	case arg == "=?":
		return result{info: []string{"+IPR: (),(300,1200,2400,4800,9600,19200,38400,57600,115200,230400,460800,921600)"}}
	case strings.HasPrefix(arg, "="):
		rate, err := strconv.Atoi(strings.TrimSpace(arg[1:]))
		if err != nil || rate < 0 || rate > 4000000 {
			return errResult
		}
		if rate == 0 || s.p.IPRIgnored {
			return result{} // 0 is autobauding: accepted, nothing changes here
		}
		if s.p.IPRActual > 0 {
			rate = s.p.IPRActual
		}
		s.ipr = rate
		bs, ok := s.port.(line.BaudSetter)
		if !ok {
			return result{}
		}
		s.log.Debug("modemsim: speed change after the answer", "baud", rate)
		return result{then: func() {
			if err := bs.SetBaud(rate); err != nil {
				s.log.Debug("modemsim: speed change failed", "err", err)
			}
		}}
	}
	return errResult
}

// asciiUpper upper-cases ASCII letters only, keeping every byte where it was.
func asciiUpper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'a' && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}

// indexAT finds the "AT" prefix in any case. It compares bytes, not an upper-cased copy: line
// may hold any bytes (a host's PPP frames after the call dropped), and upper-casing invalid
// UTF-8 changes lengths, so an index into the copy would not fit line.
func indexAT(line string) int {
	for i := 0; i+1 < len(line); i++ {
		if line[i]|0x20 == 'a' && line[i+1]|0x20 == 't' {
			return i
		}
	}
	return -1
}

// cfun answers AT+CFUN: 0 or 4 turn the radio off (deregistered), 1 on again (registering anew,
// and clearing a RadioWedge), "1,1" reboots the modem after its OK (clearing every wedge).
func (s *session) cfun(arg string) result {
	switch strings.ReplaceAll(arg, " ", "") {
	case "?":
		if s.radioOffNow() {
			return result{info: []string{"+CFUN: 0"}}
		}
		return result{info: []string{"+CFUN: 1"}}
	case "=?":
		return result{info: []string{"+CFUN: (0,1,4),(0-1)"}}
	case "=0", "=4":
		s.m.mu.Lock()
		s.m.radioOff = true
		s.m.mu.Unlock()
		return result{}
	case "=1", "=1,0":
		s.m.mu.Lock()
		was := s.m.radioOff
		s.m.radioOff = false
		if was {
			s.m.stats.RadioCycles++
			if s.p.RadioWedge {
				s.m.wedged = false
			}
		}
		s.m.mu.Unlock()
		if was {
			s.setSIMReady(false) // registers again after the profile's delay
		}
		return result{}
	case "=1,1":
		s.m.count(func(st *Stats) { st.Reboots++ })
		return result{then: func() {
			select {
			case s.fire <- func() { go s.m.reboot() }:
			case <-s.stop:
			}
		}}
	}
	return errResult
}

// radioOffNow reports a radio turned off with AT+CFUN=0 or 4.
func (s *session) radioOffNow() bool {
	s.m.mu.Lock()
	defer s.m.mu.Unlock()
	return s.m.radioOff
}

// dialWedged reports a dial the modem's RadioWedge or RebootWedge refuses.
func (s *session) dialWedged() bool {
	s.m.mu.Lock()
	defer s.m.mu.Unlock()
	return s.m.wedged && (s.p.RadioWedge || s.p.RebootWedge)
}
