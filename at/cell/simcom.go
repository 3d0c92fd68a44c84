package cell

import (
	"strconv"
	"strings"
)

// ParseCPSI reads the answer to SIMCom's AT+CPSI? (SIM7500/SIM7600 Series AT Command Manual
// V1.08 and V2.00, "AT+CPSI Inquiring UE system information"). The layout depends on the
// system mode:
//
//	+CPSI: NO SERVICE,Online
//	+CPSI: LTE,<Operation Mode>,<MCC>-<MNC>,<TAC>,<SCellID>,<PCellID>,<Frequency Band>,<earfcn>,
//	       <dlbw>,<ulbw>,<RSRQ>,<RSRP>,<RSSI>,<RSSNR>
//	+CPSI: WCDMA,<Operation Mode>,<MCC>-<MNC>,<LAC>,<Cell ID>,<Frequency Band>,<PSC>,<Freq>,<SSC>,
//	       <EC/IO>,<RSCP>,<Qual>,<RxLev>,<TXPWR>
//	+CPSI: GSM,<Operation Mode>,<MCC>-<MNC>,<LAC>,<Cell ID>,<Absolute RF Ch Num>,<RxLev>,
//	       <Track LO Adjust>,<C1-C2>
//
// TAC and LAC are hex ("0x21F9"), the cell IDs decimal. In LTE, <RSRQ>, <RSRP> and <RSSI> are in
// tenths of a dB(m) ("-168,-1126,-773" is -16.8 dB, -112.6 dBm, -77.3 dBm) and <RSSNR> in dB;
// GSM's <RxLev> is dBm and its ARFCN field carries the band ("27 EGSM 900"). The WCDMA signal
// values are not read: the manual gives no unit and the modules print magnitudes. SIM7000's
// "LTE CAT-M1" and "LTE NB-IOT" modes share the LTE layout. SIM800 has no AT+CPSI.
func ParseCPSI(lines []string) (Picture, error) {
	v, ok := value(lines, "+CPSI")
	if !ok {
		return Picture{}, malformed("no +CPSI line", join(lines))
	}
	f := split(v)
	mode := strings.ToUpper(f[0].s)
	var p Picture
	var t Tech
	switch mode {
	case "NO SERVICE":
		return p, nil
	case "LTE":
		t = TechLTE
	case "LTE CAT-M1":
		t = TechCatM
	case "LTE NB-IOT":
		t = TechNBIoT
	case "WCDMA":
		t = TechUMTS
	case "GSM":
		t = TechGSM
	default:
		return p, nil // TDS, CDMA, EVDO, "-LIMITED" modes: nothing this picture can hold
	}
	p.Tech = ptr(t)
	if len(f) < 5 {
		return p, nil // a mode without cell details, as some firmwares answer while attaching
	}
	if mcc, mnc, ok := strings.Cut(f[2].s, "-"); ok {
		plmn(&p, mcc, mnc)
	}
	if a, ok := hexID(f[3].s, 32); ok {
		p.setArea(t, a)
	}
	if c, err := strconv.ParseUint(f[4].s, 10, 64); err == nil {
		p.Cell = ptr(c)
	}
	switch t {
	case TechLTE, TechCatM, TechNBIoT:
		if len(f) < 14 {
			return Picture{}, malformed("+CPSI LTE line too short", v)
		}
		p.Band = bandNumber(f[6].s)
		p.RSRQdB = tenths(f[10].s, -34, 3)
		p.RSRPdBm = tenths(f[11].s, -156, -30)
		p.RSSIdBm = tenths(f[12].s, -130, 0)
		p.SINRdB = inRange(f[13].s, -20, 30)
	case TechUMTS:
		if len(f) >= 6 && f[5].s != "" {
			p.Band = ptr(f[5].s)
		}
	case TechGSM:
		if len(f) >= 6 {
			if _, name, ok := strings.Cut(f[5].s, " "); ok && name != "" {
				p.Band = ptr(strings.TrimSpace(name))
			}
		}
		if len(f) >= 7 {
			p.RSSIdBm = inRange(f[6].s, -130, 0)
		}
	}
	return p, nil
}

// tenths parses a value in tenths and keeps it when it lies in [lo, hi] once scaled.
func tenths(s string, lo, hi float64) *float64 {
	v, ok := atof(s)
	if !ok {
		return nil
	}
	v /= 10
	if v < lo || v > hi {
		return nil
	}
	return &v
}

// bandNumber turns "EUTRAN-BAND40" (or "LTE BAND 2") into "B40".
func bandNumber(s string) *string {
	// Searched in place, not in strings.ToUpper(s): upper-casing turns a stray non-UTF-8 byte
	// into three, and the index would no longer fit s (a fuzzed answer crashed on that).
	i := -1
	for j := len(s) - len("BAND"); j >= 0; j-- {
		if strings.EqualFold(s[j:j+len("BAND")], "BAND") {
			i = j
			break
		}
	}
	if i < 0 {
		return nil
	}
	n, ok := atoi(strings.TrimSpace(s[i+4:]))
	if !ok {
		return nil
	}
	return eutraBand(n)
}
