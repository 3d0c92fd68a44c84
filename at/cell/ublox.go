package cell

import "strings"

// ParseUCGED reads the answer to u-blox's AT+UCGED? in the two report modes the SARA modules
// use (SARA-R4 series AT commands manual UBX-17003787, SARA-R5 series AT commands manual
// UBX-19047455, "+UCGED Channel and network environment description"; example answers in
// u-blox's ubxlib, cell/src/u_cell_info.c).
//
// Mode 5 (SARA-R4, set with AT+UCGED=5; LTE only), the serving cell first:
//
//	+RSRP: <cell_ID>,<EARFCN>,"<RSRP>",[...]           e.g. +RSRP: 162,5110,"-075.00",
//	+RSRQ: <cell_ID>,<EARFCN>,"<RSRQ>",[...]                +RSRQ: 162,5110,"-14.20",
//
// Mode 2 (SARA-R5, set with AT+UCGED=2):
//
//	+UCGED: 2
//	<rat>,<svc>,<MCC>,<MNC>
//	<earfcn>,<Lband>,<ul_BW>,<dl_BW>,<tac>,<LcellId>,<PCID>,<mTmsi>,<mmeGrId>,<mmeCode>,
//	<rsrp>,<rsrq>,<Lsinr>,...
//
// with <rsrp> and <rsrq> coded as 3GPP 36.133 indices (RSRP n is -141+n dBm, 0..97; RSRQ n is
// -20+n/2 dB, -30..46; 255 not known), <Lsinr> in dB, <tac> and <LcellId> in hex, and "fff",
// "ffff" and an all-zero cell ID while not camped. SARA-R422's mode 2 has no <svc> and plain
// dB values:
//
//	<rat>,<MCC>,<MNC>
//	<EARFCN>,<Lband>,<ul_BW>,<dl_BW>,<TAC>,<P-CID>,<RSRP_value>,<RSRQ_value>,<NBMsinr>,...
//
// <rat> 4 is LTE (LARA-R6); the LTE-M modules (SARA-R5, SARA-R422) answer 6 while on LTE-M, read
// as Cat-M. Other RATs' layouts are not read.
func ParseUCGED(lines []string) (Picture, error) {
	if v, ok := value(lines, "+RSRP"); ok {
		return ucged5(lines, v)
	}
	mode, ok := value(lines, "+UCGED")
	if !ok {
		return Picture{}, malformed("no +UCGED or +RSRP line", join(lines))
	}
	if mode != "2" {
		return Picture{}, malformed("+UCGED report mode other than 2 or 5", mode)
	}
	var rest []string
	for i, l := range lines {
		if strings.HasPrefix(strings.TrimSpace(l), "+UCGED:") {
			rest = lines[i+1:]
			break
		}
	}
	if len(rest) < 2 {
		return Picture{}, malformed("+UCGED: 2 answer too short", join(lines))
	}
	head, cellLine := split(rest[0]), split(rest[1])
	rat, ok := atoi(head[0].s)
	if !ok {
		return Picture{}, malformed("+UCGED <rat> is not a number", rest[0])
	}
	var t Tech
	switch rat {
	case 4:
		t = TechLTE
	case 6:
		t = TechCatM
	default:
		return Picture{}, nil
	}
	var p Picture
	p.Tech = ptr(t)
	switch len(head) {
	case 4: // <rat>,<svc>,<MCC>,<MNC>
		plmn(&p, head[2].s, head[3].s)
		if len(cellLine) < 13 {
			return Picture{}, malformed("+UCGED LTE line too short", rest[1])
		}
		ucgedCommon(&p, cellLine)
		if c, ok := hexID(cellLine[5].s, 32); ok && c != 0 {
			p.Cell = ptr(c)
		}
		if n, ok := atoi(cellLine[10].s); ok && n >= 0 && n <= 97 {
			p.RSRPdBm = ptr(float64(-141 + n))
		}
		if n, ok := atoi(cellLine[11].s); ok && n >= -30 && n <= 46 {
			p.RSRQdB = ptr(-20 + float64(n)/2)
		}
		p.SINRdB = inRange(cellLine[12].s, -20, 40)
	case 3: // SARA-R422: <rat>,<MCC>,<MNC>
		plmn(&p, head[1].s, head[2].s)
		if len(cellLine) < 8 {
			return Picture{}, malformed("+UCGED LTE line too short", rest[1])
		}
		ucgedCommon(&p, cellLine)
		p.RSRPdBm = inRange(cellLine[6].s, -156, -30)
		p.RSRQdB = inRange(cellLine[7].s, -34, 3)
	default:
		return Picture{}, malformed("+UCGED RAT line has neither 3 nor 4 values", rest[0])
	}
	return p, nil
}

// ucgedCommon reads the band and TAC, in the same places in both mode 2 layouts.
func ucgedCommon(p *Picture, f []field) {
	if b, ok := atoi(f[1].s); ok {
		p.Band = eutraBand(b)
	}
	if a, ok := hexID(f[4].s, 32); ok {
		p.TAC = ptr(uint32(a))
	}
}

// ucged5 reads the +RSRP/+RSRQ lines of report mode 5.
func ucged5(lines []string, rsrp string) (Picture, error) {
	var p Picture
	f := split(rsrp)
	if len(f) < 3 {
		return Picture{}, malformed("+RSRP wants <cell_ID>,<EARFCN>,<RSRP>", rsrp)
	}
	p.RSRPdBm = inRange(f[2].s, -156, -30)
	if v, ok := value(lines, "+RSRQ"); ok {
		if f := split(v); len(f) >= 3 {
			p.RSRQdB = inRange(f[2].s, -34, 3)
		}
	}
	return p, nil
}
