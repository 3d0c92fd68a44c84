package cell

import "strings"

// RegState is a registration state by the name `modem` events carry.
type RegState string

// Registration states. 27.007's <stat> 9 and 10 ("CSFB not preferred") are home and roaming for
// a data link; 6 and 7 (SMS only) are not registered for data and keep their own names.
const (
	RegNotRegistered  RegState = "not-registered" // 0: not registered, not searching
	RegHome           RegState = "home"           // 1, 9
	RegSearching      RegState = "searching"      // 2
	RegDenied         RegState = "denied"         // 3
	RegUnknown        RegState = "unknown"        // 4, and numbers 27.007 does not define
	RegRoaming        RegState = "roaming"        // 5, 10
	RegHomeSMSOnly    RegState = "home-sms-only"  // 6
	RegRoamingSMSOnly RegState = "roaming-sms-only"
	RegEmergency      RegState = "emergency-only" // 8: attached for emergency bearer services only
)

// StateOf names a 27.007 <stat> of +CREG, +CGREG, +CEREG or +C5GREG.
func StateOf(stat int) RegState {
	switch stat {
	case 0:
		return RegNotRegistered
	case 1, 9:
		return RegHome
	case 2:
		return RegSearching
	case 3:
		return RegDenied
	case 5, 10:
		return RegRoaming
	case 6:
		return RegHomeSMSOnly
	case 7:
		return RegRoamingSMSOnly
	case 8:
		return RegEmergency
	}
	return RegUnknown
}

// Registration is one +CREG, +CGREG, +CEREG or +C5GREG line: a read answer or a URC.
type Registration struct {
	Command   string   // "+CREG", "+CGREG", "+CEREG" or "+C5GREG"
	Solicited bool     // a read answer (AT+CREG?), which starts with <n>; false for a URC
	N         int      // the read answer's <n>; -1 in a URC
	Stat      int      // 27.007 <stat>
	State     RegState // Stat by name
	Area      *uint32  // <lac> (+CREG, +CGREG) or <tac> (+CEREG, +C5GREG); nil when not given
	CI        *uint64  // <ci>; nil when not given
	AcT       int      // <AcT>; -1 when not given
}

// Registered reports a state in which a data call can be placed: home or roaming.
func (r Registration) Registered() bool { return r.State == RegHome || r.State == RegRoaming }

// Roaming reports registration on a visited network (for --no-roaming).
func (r Registration) Roaming() bool { return r.State == RegRoaming }

// Picture is the line's part of the picture: tech from <AcT>, the cell, and the area as TAC for
// +CEREG/+C5GREG or an E-UTRA <AcT>, as LAC otherwise.
func (r Registration) Picture() Picture {
	var p Picture
	t, ok := TechFromAcT(r.AcT)
	if ok {
		p.Tech = ptr(t)
	}
	if r.Area != nil {
		if r.Command == "+CEREG" || r.Command == "+C5GREG" || t.eutra() || t == TechNR {
			p.TAC = ptr(*r.Area)
		} else {
			p.LAC = ptr(*r.Area)
		}
	}
	if r.CI != nil {
		p.Cell = ptr(*r.CI)
	}
	return p
}

var regCommands = []string{"+CREG", "+CGREG", "+CEREG", "+C5GREG"}

// ParseRegistration parses a whole +CREG/+CGREG/+CEREG/+C5GREG line (27.007 §7.2, §10.1.19,
// §10.1.22). The read answer is "<n>,<stat>[,[<lac>],[<ci>],[<AcT>]...]", the URC (n=1 or 2)
// "<stat>[,[<lac>],[<ci>],[<AcT>]...]". They are told apart by shape, as the two can arrive
// interleaved: a second value that is a bare (unquoted) number is <stat> after <n>, so the line
// is a read answer; modems quote <lac> and <ci>. Fields after <AcT> (cause, +CGREG's <rac>, PSM
// timers) are not read.
func ParseRegistration(line string) (Registration, error) {
	line = strings.TrimSpace(line)
	var cmd string
	for _, c := range regCommands {
		if strings.HasPrefix(line, c+":") {
			cmd = c
		}
	}
	if cmd == "" {
		return Registration{}, malformed("not a registration line", line)
	}
	f := split(line[len(cmd)+1:])
	r := Registration{Command: cmd, N: -1, AcT: -1}
	if len(f) >= 2 && !f[1].quoted {
		if _, ok := atoi(f[1].s); ok {
			r.Solicited = true
			r.N, _ = atoi(f[0].s)
			if !f[0].quoted && r.N >= 0 {
				f = f[1:]
			} else {
				return Registration{}, malformed(cmd+" <n> is not a number", line)
			}
		}
	}
	stat, ok := atoi(f[0].s)
	if !ok || f[0].quoted || stat < 0 {
		return Registration{}, malformed(cmd+" <stat> is not a number", line)
	}
	r.Stat, r.State = stat, StateOf(stat)
	if len(f) >= 2 && f[1].s != "" {
		a, ok := hexID(f[1].s, 32)
		if ok {
			r.Area = ptr(uint32(a))
		} else if strings.Trim(strings.TrimPrefix(f[1].s, "0x"), "fF") != "" {
			return Registration{}, malformed(cmd+" area code is not hex", line)
		}
	}
	if len(f) >= 3 && f[2].s != "" {
		c, ok := hexID(f[2].s, 64)
		if ok {
			r.CI = ptr(c)
		} else if strings.Trim(strings.TrimPrefix(f[2].s, "0x"), "fF") != "" {
			return Registration{}, malformed(cmd+" cell ID is not hex", line)
		}
	}
	if len(f) >= 4 && f[3].s != "" {
		if r.AcT, ok = atoi(f[3].s); !ok || r.AcT < 0 {
			return Registration{}, malformed(cmd+" <AcT> is not a number", line)
		}
	}
	return r, nil
}

// ParseRegistrationAnswer reads the answer to AT+CREG?, AT+CGREG?, AT+CEREG? or AT+C5GREG? as
// a Picture (area, cell, tech). The registration state itself is [ParseRegistration]'s.
func ParseRegistrationAnswer(lines []string) (Picture, error) {
	for _, l := range lines {
		l = strings.TrimSpace(l)
		for _, c := range regCommands {
			if strings.HasPrefix(l, c+":") {
				r, err := ParseRegistration(l)
				if err != nil {
					return Picture{}, err
				}
				return r.Picture(), nil
			}
		}
	}
	return Picture{}, malformed("no registration line", join(lines))
}
