package cell

// CSQ is the raw +CSQ answer (27.007 §8.5): <rssi> 0..31 or 99, <ber> 0..7 or 99.
type CSQ struct {
	RSSI int
	BER  int
}

// DBm converts <rssi>: 0 is -113 dBm or less, 1 is -111, 2..30 step by 2 dBm, 31 is -51 dBm or
// more; 99 (not known or not detectable) and anything out of range are not known.
func (c CSQ) DBm() (int, bool) {
	if c.RSSI < 0 || c.RSSI > 31 {
		return 0, false
	}
	return -113 + 2*c.RSSI, true
}

// Picture is the answer's part of the picture: rssi_dbm and ber.
func (c CSQ) Picture() Picture {
	var p Picture
	if d, ok := c.DBm(); ok {
		p.RSSIdBm = ptr(float64(d))
	}
	if c.BER >= 0 && c.BER <= 7 {
		p.BER = ptr(c.BER)
	}
	return p
}

// ParseCSQValue parses the value of a +CSQ line ("20,99", the part after "+CSQ:").
func ParseCSQValue(v string) (CSQ, error) {
	f := split(v)
	if len(f) != 2 {
		return CSQ{}, malformed("+CSQ wants <rssi>,<ber>", v)
	}
	rssi, ok1 := atoi(f[0].s)
	ber, ok2 := atoi(f[1].s)
	if !ok1 || !ok2 {
		return CSQ{}, malformed("+CSQ values are not numbers", v)
	}
	return CSQ{RSSI: rssi, BER: ber}, nil
}

// ParseCSQ reads the answer to AT+CSQ.
func ParseCSQ(lines []string) (Picture, error) {
	v, ok := value(lines, "+CSQ")
	if !ok {
		return Picture{}, malformed("no +CSQ line", join(lines))
	}
	c, err := ParseCSQValue(v)
	if err != nil {
		return Picture{}, err
	}
	return c.Picture(), nil
}

// ParseCESQ reads the answer to AT+CESQ (27.007 §8.69):
//
//	+CESQ: <rxlev>,<ber>,<rscp>,<ecno>,<rsrq>,<rsrp>[,<ss_rsrq>,<ss_rsrp>,<ss_sinr>]
//
// <rxlev> 0..63 (GSM; 0 is below -110 dBm, n is -111+n dBm, 99 not known) gives rssi_dbm;
// <ber> 0..7 (99 not known); <rsrq> 0..34 (0 is below -19.5 dB, n is -20+n/2 dB, 255 not known);
// <rsrp> 0..97 (0 is below -140 dBm, n is -141+n dBm, 255 not known). Each value is the lower
// bound of its 27.007 range. <rscp>, <ecno> (UMTS) and the NR values have no field here.
func ParseCESQ(lines []string) (Picture, error) {
	v, ok := value(lines, "+CESQ")
	if !ok {
		return Picture{}, malformed("no +CESQ line", join(lines))
	}
	f := split(v)
	if len(f) < 6 {
		return Picture{}, malformed("+CESQ wants 6 values", v)
	}
	n := make([]int, 6)
	for i := range n {
		var ok bool
		if n[i], ok = atoi(f[i].s); !ok {
			return Picture{}, malformed("+CESQ values are not numbers", v)
		}
	}
	var p Picture
	if rxlev := n[0]; rxlev >= 0 && rxlev <= 63 {
		p.RSSIdBm = ptr(float64(-111 + rxlev))
	}
	if ber := n[1]; ber >= 0 && ber <= 7 {
		p.BER = ptr(ber)
	}
	if rsrq := n[4]; rsrq >= 0 && rsrq <= 34 {
		p.RSRQdB = ptr(-20 + float64(rsrq)/2)
	}
	if rsrp := n[5]; rsrp >= 0 && rsrp <= 97 {
		p.RSRPdBm = ptr(float64(-141 + rsrp))
	}
	return p, nil
}

// join makes the lines one string for an error message.
func join(lines []string) string {
	s := ""
	for i, l := range lines {
		if i > 0 {
			s += " | "
		}
		s += l
	}
	return s
}
