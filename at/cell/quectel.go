package cell

import "strings"

// ParseQENG reads the answer to Quectel's AT+QENG="servingcell" (EC25/EC21/EG25 and EG9x AT
// Commands Manual, "AT+QENG Switch on/off Engineering Mode"; BG96 AT Commands Manual, same
// command). One line per serving cell, laid out by RAT:
//
//	+QENG: "servingcell",<state>                                   (SEARCH: not camped)
//	+QENG: "servingcell",<state>,"LTE",<is_tdd>,<MCC>,<MNC>,<cellID>,<PCID>,<earfcn>,
//	       <freq_band_ind>,<UL_bandwidth>,<DL_bandwidth>,<TAC>,<RSRP>,<RSRQ>,<RSSI>,<SINR>,...
//	+QENG: "servingcell",<state>,"CAT-M"|"CAT-NB",... as LTE                   (BG96)
//	+QENG: "servingcell",<state>,"GSM",<MCC>,<MNC>,<LAC>,<cellID>,<BSIC>,<arfcn>,<band>,<rxlev>,...
//	+QENG: "servingcell",<state>,"WCDMA",<MCC>,<MNC>,<LAC>,<cellID>,<uarfcn>,<PSC>,<RAC>,<RSCP>,...
//
// and, on EN-DC modules (RM50x), a "servingcell",<state> line followed by "LTE",<is_tdd>,... with
// the LTE layout. What follows <SINR> differs between modules (<CQI>,<tx_power>,<srxlev> or
// <srxlev> alone) and is not read. cellID, LAC and TAC are hex; "-" is "not valid now".
//
// <SINR>: the EC2x manuals disagree (1/5 dB steps 0..250 in old revisions, dB -20..+30 in new
// ones); the modules' answers are in dB (real answers carry -3 and 18), so only -20..+30 is
// taken. <rxlev> (GSM) is -111+n dBm per the manual, but the modules print dBm (-67): a negative
// value is taken as dBm, 0..63 as the manual's scale.
func ParseQENG(lines []string) (Picture, error) {
	var p Picture
	found := false
	for _, l := range lines {
		l = strings.TrimSpace(l)
		if !strings.HasPrefix(l, "+QENG:") {
			continue
		}
		f := split(l[len("+QENG:"):])
		if len(f) == 0 {
			continue
		}
		switch {
		case f[0].s == "servingcell":
			found = true
			if len(f) < 3 {
				continue // SEARCH, or the first line of an EN-DC answer
			}
			q, err := qengCell(f[2].s, f[3:], l)
			if err != nil {
				return Picture{}, err
			}
			p = p.Merge(q)
		case f[0].s == "LTE" && found: // EN-DC: the LTE anchor on its own line
			q, err := qengCell("LTE", f[1:], l)
			if err != nil {
				return Picture{}, err
			}
			p = p.Merge(q)
		}
	}
	if !found {
		return Picture{}, malformed(`no +QENG: "servingcell" line`, join(lines))
	}
	return p, nil
}

// qengCell reads the fields after <rat> of one serving-cell line.
func qengCell(rat string, f []field, line string) (Picture, error) {
	var p Picture
	switch rat {
	case "LTE", "CAT-M", "eMTC", "CAT-NB":
		t := map[string]Tech{"LTE": TechLTE, "CAT-M": TechCatM, "eMTC": TechCatM, "CAT-NB": TechNBIoT}[rat]
		if len(f) < 14 {
			return Picture{}, malformed("+QENG "+rat+" line too short", line)
		}
		p.Tech = ptr(t)
		plmn(&p, f[1].s, f[2].s)
		if c, ok := hexID(f[3].s, 32); ok {
			p.Cell = ptr(c)
		}
		if b, ok := atoi(f[6].s); ok {
			p.Band = eutraBand(b)
		}
		if a, ok := hexID(f[9].s, 32); ok {
			p.TAC = ptr(uint32(a))
		}
		p.RSRPdBm = inRange(f[10].s, -156, -30)
		p.RSRQdB = inRange(f[11].s, -34, 3)
		p.RSSIdBm = inRange(f[12].s, -130, 0)
		p.SINRdB = inRange(f[13].s, -20, 30)
	case "GSM":
		if len(f) < 8 {
			return Picture{}, malformed("+QENG GSM line too short", line)
		}
		qengCS(&p, TechGSM, f)
		if arfcn, ok := atoi(f[5].s); ok {
			bi, _ := atoi(f[6].s)
			p.Band = gsmBand(arfcn, bi)
		}
		if rx, ok := atoi(f[7].s); ok {
			switch {
			case rx < 0 && rx >= -130:
				p.RSSIdBm = ptr(float64(rx))
			case rx >= 0 && rx <= 63:
				p.RSSIdBm = ptr(float64(rx - 111))
			}
		}
	case "WCDMA":
		if len(f) < 4 {
			return Picture{}, malformed("+QENG WCDMA line too short", line)
		}
		qengCS(&p, TechUMTS, f)
	case "NR5G-SA":
		p.Tech = ptr(TechNR)
	}
	return p, nil
}

// qengCS reads <MCC>,<MNC>,<LAC>,<cellID>, the start of the GSM and WCDMA layouts.
func qengCS(p *Picture, t Tech, f []field) {
	p.Tech = ptr(t)
	plmn(p, f[0].s, f[1].s)
	if a, ok := hexID(f[2].s, 32); ok {
		p.LAC = ptr(uint32(a))
	}
	if c, ok := hexID(f[3].s, 32); ok {
		p.Cell = ptr(c)
	}
}

// plmn stores MCC and MNC when they are digits (not "-").
func plmn(p *Picture, mcc, mnc string) {
	if digits(mcc, 3) && digits(mnc, 3) {
		p.MCC, p.MNC = ptr(mcc), ptr(mnc)
	}
}

// inRange parses a number and keeps it when it lies in [lo, hi]: out-of-range values are the
// vendors' "not known" markers (-32768, 255).
func inRange(s string, lo, hi float64) *float64 {
	v, ok := atof(s)
	if !ok || v < lo || v > hi {
		return nil
	}
	return &v
}

// gsmBand names a GSM band from an ARFCN (3GPP 45.005 §2), with Quectel's <band> indicator
// (0 DCS 1800, 1 PCS 1900) telling apart the ARFCNs 512..810 the two share.
func gsmBand(arfcn, indicator int) *string {
	switch {
	case arfcn >= 0 && arfcn <= 124, arfcn >= 975 && arfcn <= 1023:
		return ptr("GSM900")
	case arfcn >= 128 && arfcn <= 251:
		return ptr("GSM850")
	case arfcn >= 512 && arfcn <= 810 && indicator == 1:
		return ptr("PCS1900")
	case arfcn >= 512 && arfcn <= 885:
		return ptr("DCS1800")
	}
	return nil
}
