package cell

import (
	"strconv"
	"strings"
)

// Tech is a radio access technology, by the short name events carry.
type Tech string

// The technologies a Picture names. EDGE and HSPA count as GSM and UMTS: the picture says which
// network the modem is on, the finer +COPS AcT name is [AcTName]'s job.
const (
	TechGSM   Tech = "GSM"
	TechUMTS  Tech = "UMTS"
	TechLTE   Tech = "LTE"
	TechCatM  Tech = "Cat-M"
	TechNBIoT Tech = "NB-IoT"
	TechNR    Tech = "NR"
)

// eutra reports the technologies whose bands are E-UTRA bands and whose area code is a TAC.
func (t Tech) eutra() bool { return t == TechLTE || t == TechCatM || t == TechNBIoT }

// Picture is the modem's signal and serving cell, normalised. A nil field is not known: the modem
// did not report it, or reported "not detectable". The JSON names are those of the `signal` event.
type Picture struct {
	RSSIdBm  *float64 `json:"rssi_dbm"` // received signal strength (GSM/UMTS/LTE wideband)
	BER      *int     `json:"ber"`      // +CSQ/+CESQ bit error rate class 0..7 (GSM only)
	RSRPdBm  *float64 `json:"rsrp_dbm"` // LTE reference signal received power
	RSRQdB   *float64 `json:"rsrq_db"`  // LTE reference signal received quality
	SINRdB   *float64 `json:"sinr_db"`  // LTE signal to interference plus noise
	Tech     *Tech    `json:"tech"`
	Operator *string  `json:"operator"` // as +COPS names it (long alphanumeric, or numeric)
	MCC      *string  `json:"mcc"`
	MNC      *string  `json:"mnc"`
	Cell     *uint64  `json:"cell"` // cell identity: 16-bit GSM CI, 28-bit UMTS/E-UTRAN CI
	TAC      *uint32  `json:"tac"`  // tracking area code (LTE, Cat-M, NB-IoT)
	LAC      *uint32  `json:"lac"`  // location area code (GSM, UMTS)
	Band     *string  `json:"band"`
}

// Merge returns p with every field o knows replacing p's: answers merged in poll order, so a
// vendor's finer answer polled after +CSQ wins over it.
func (p Picture) Merge(o Picture) Picture {
	set(&p.RSSIdBm, o.RSSIdBm)
	set(&p.BER, o.BER)
	set(&p.RSRPdBm, o.RSRPdBm)
	set(&p.RSRQdB, o.RSRQdB)
	set(&p.SINRdB, o.SINRdB)
	set(&p.Tech, o.Tech)
	set(&p.Operator, o.Operator)
	set(&p.MCC, o.MCC)
	set(&p.MNC, o.MNC)
	set(&p.Cell, o.Cell)
	set(&p.TAC, o.TAC)
	set(&p.LAC, o.LAC)
	set(&p.Band, o.Band)
	return p
}

func set[T any](dst **T, src *T) {
	if src != nil {
		v := *src
		*dst = &v
	}
}

// IsZero reports a picture that knows nothing.
func (p Picture) IsZero() bool { return p == Picture{} }

// CellHex is the cell identity in upper-case hex as 27.007 answers print it ("" when unknown).
func (p Picture) CellHex() string {
	if p.Cell == nil {
		return ""
	}
	return strings.ToUpper(strconv.FormatUint(*p.Cell, 16))
}

// setArea stores an area code as TAC for E-UTRA technologies and as LAC otherwise.
func (p *Picture) setArea(t Tech, area uint64) {
	if t.eutra() {
		p.TAC = ptr(uint32(area))
	} else {
		p.LAC = ptr(uint32(area))
	}
}

// eutraBand names an E-UTRA operating band as "B<n>".
func eutraBand(n int) *string {
	if n <= 0 || n >= 255 { // 255 is u-blox's "not known"
		return nil
	}
	return ptr("B" + strconv.Itoa(n))
}

// TechFromAcT maps a 27.007 <AcT> (+COPS, +CREG, +CGREG, +CEREG) to a Tech. 8 is Cat-M: 27.007
// names it EC-GSM-IoT, but the LTE-M modules this project meets (Quectel BG96, u-blox SARA-R4/R5,
// SIMCom SIM7000) report Cat-M1 as 8, and EC-GSM-IoT is not deployed.
func TechFromAcT(act int) (Tech, bool) {
	switch act {
	case 0, 1, 3:
		return TechGSM, true
	case 2, 4, 5, 6:
		return TechUMTS, true
	case 7, 10, 13:
		return TechLTE, true
	case 8:
		return TechCatM, true
	case 9:
		return TechNBIoT, true
	case 11, 12:
		return TechNR, true
	}
	return "", false
}

// AcTName names a 27.007 <AcT> finely ("HSPA", "LTE-M", ...), "" for numbers it does not know.
// It is what at.AccessTechName returned, so the dialer's ModemInfo keeps its strings.
func AcTName(act int) string {
	names := [...]string{"GSM", "GSM Compact", "UMTS", "EDGE", "HSDPA", "HSUPA", "HSPA", "LTE",
		"LTE-M", "NB-IoT", "LTE-5GC", "NR-5GC", "NG-RAN", "EN-DC"}
	if act < 0 || act >= len(names) {
		return ""
	}
	return names[act]
}
