package cmux

import (
	"strings"
	"time"
)

// Quirks are what a modem family does differently from 27.010 as written, or what it needs
// from the host on top of it. The zero value is a modem that follows the standard.
type Quirks struct {
	// Family is the name the entry is found by (QuirksFor matches model names that start with it).
	Family string
	// MaxN1 is the largest N1 the modem's AT+CMUX accepts (0: no bound documented beyond the
	// standard's). Config.N1 is clamped to it.
	MaxN1 int
	// PauseAfterOpen is waited after a DLC is open (UA and MSC) before it is used: some modems
	// drop the first bytes sent right after.
	PauseAfterOpen time.Duration
	// SendsMSCOnOpen: the modem sends its own MSC right after answering SABM. The Mux answers
	// any MSC; the flag documents the behaviour and drives the test responder.
	SendsMSCOnOpen bool
	// NoIPRInCMUX: AT+IPR is refused while the multiplexer runs: change the speed before AT+CMUX.
	NoIPRInCMUX bool
	// PortSpeedIgnored: the <port_speed> parameter of AT+CMUX is ignored (the vendor asks to
	// leave it blank); the line keeps the speed it had.
	PortSpeedIgnored bool
	// GNSSDLC is the DLC that carries the GNSS (NMEA) stream, 0 if none is documented.
	GNSSDLC int
	// Source names the vendor documents the entry comes from.
	Source string
}

// quirksTable holds what the vendors' documents say, and nothing we could not check: an entry
// whose fields are zero means the document asks for nothing beyond the standard that we found.
var quirksTable = []Quirks{
	{
		Family: "SIM800",
		// SIMCom, "SIM800 Series_Multiplexer_Application Note": the module reports its V.24
		// status with an MSC as soon as a DLC is established, and the host should wait a
		// moment before the first AT command on the new channel. The note gives no figure;
		// 100 ms is our choice.
		SendsMSCOnOpen: true,
		PauseAfterOpen: 100 * time.Millisecond,
		Source:         "SIMCom SIM800 Series_Multiplexer_Application Note",
	},
	{
		Family: "SIM7600",
		Source: "SIMCom SIM7500_SIM7600 Series_Multiplexer_Application Note (nothing beyond 27.010 found)",
	},
	{Family: "EC25", Source: "Quectel EC2x&EG9x Series Multiplexing Application Note (nothing beyond 27.010 found)"},
	{Family: "EG25", Source: "Quectel EC2x&EG9x Series Multiplexing Application Note (nothing beyond 27.010 found)"},
	{Family: "BG96", Source: "Quectel BG96 Multiplexing Application Note (nothing beyond 27.010 found)"},
	{
		Family: "EG915U",
		// Quectel EG915U series AT commands manual, AT+IPR: not allowed while CMUX is active.
		NoIPRInCMUX: true,
		Source:      "Quectel EG915U Series AT Commands Manual (AT+IPR)",
	},
	{
		Family: "SARA-R4",
		// u-blox SARA-R4 series AT commands manual (UBX-17003787), +CMUX: N1 1..1509, default
		// 31; <port_speed>, T1, T2 ignored (leave unsupported parameters blank); DLC 0 control,
		// DLCs 1-2 AT and data, DLC 3 GNSS tunnelling on SARA-R410M-02B and later (R404M and
		// R410M-01B: DLCs 1-3 AT and data, no GNSS DLC).
		MaxN1:            1509,
		PortSpeedIgnored: true,
		GNSSDLC:          3,
		Source:           "u-blox SARA-R4 series AT commands manual UBX-17003787 (+CMUX)",
	},
	{
		Family: "SARA-R5",
		// u-blox "Multiplexer: 3GPP 27.010 Mux implementation in cellular modules" (UBX-13001887)
		// covers SARA-R5; its N1 bound was not checked here, so none is set.
		Source: "u-blox Multiplexer application note UBX-13001887",
	},
}

// QuirksFor returns the quirks of a modem family or model ("SIM800C", "sara-r410m-02b",
// "EG25-G", or AT+CGMM's "SIMCOM_SIM7600E-H"): the entry whose Family the name starts with,
// case-insensitively, after a "SIMCOM_" vendor prefix. ok is false for an unknown modem, which
// then gets the zero Quirks.
func QuirksFor(model string) (q Quirks, ok bool) {
	m := strings.ToUpper(strings.TrimSpace(model))
	// SIMCom modules answer AT+CGMM with the vendor in front of the model.
	m = strings.TrimPrefix(m, "SIMCOM_")
	for _, e := range quirksTable {
		if strings.HasPrefix(m, e.Family) {
			return e, true
		}
	}
	return Quirks{}, false
}

// Families lists the families the quirks table knows.
func Families() []string {
	out := make([]string, len(quirksTable))
	for i, e := range quirksTable {
		out[i] = e.Family
	}
	return out
}
