package cell

// COPS is the parsed +COPS? answer (27.007 §7.3): +COPS: <mode>[,<format>,<oper>[,<AcT>]].
type COPS struct {
	Mode     int
	Format   int    // 0 long alphanumeric, 1 short alphanumeric, 2 numeric; -1 when absent
	Operator string // "" when not registered
	AcT      int    // -1 when absent
}

// ParseCOPSValue parses the value of a +COPS read answer (the part after "+COPS:").
func ParseCOPSValue(v string) (COPS, error) {
	f := split(v)
	mode, ok := atoi(f[0].s)
	if !ok {
		return COPS{}, malformed("+COPS <mode> is not a number", v)
	}
	c := COPS{Mode: mode, Format: -1, AcT: -1}
	if len(f) >= 3 {
		if c.Format, ok = atoi(f[1].s); !ok {
			return COPS{}, malformed("+COPS <format> is not a number", v)
		}
		c.Operator = f[2].s
	}
	if len(f) >= 4 && f[3].s != "" {
		if c.AcT, ok = atoi(f[3].s); !ok {
			return COPS{}, malformed("+COPS <AcT> is not a number", v)
		}
	}
	return c, nil
}

// Picture is the answer's part: operator, tech from <AcT>, and MCC/MNC when the operator is in
// numeric format (three digits of MCC, then the MNC's two or three).
func (c COPS) Picture() Picture {
	var p Picture
	if c.Operator != "" {
		p.Operator = ptr(c.Operator)
		if c.Format == 2 && digits(c.Operator, 6) && len(c.Operator) >= 5 {
			p.MCC = ptr(c.Operator[:3])
			p.MNC = ptr(c.Operator[3:])
		}
	}
	if t, ok := TechFromAcT(c.AcT); ok {
		p.Tech = ptr(t)
	}
	return p
}

// ParseCOPS reads the answer to AT+COPS?.
func ParseCOPS(lines []string) (Picture, error) {
	v, ok := value(lines, "+COPS")
	if !ok {
		return Picture{}, malformed("no +COPS line", join(lines))
	}
	c, err := ParseCOPSValue(v)
	if err != nil {
		return Picture{}, err
	}
	return c.Picture(), nil
}
