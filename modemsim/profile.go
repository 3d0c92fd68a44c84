// Package modemsim emulates cellular modems on a serial line: the AT command set a dialer uses
// (V.250 basics, 27.007 SIM, registration, PDP context and dial), the power-on banners and the
// quirks of real modem families, and a data mode behind ATD that runs any DataFunc — the
// project's own PPP server, a bridge to slirp or to pppd in a VM, or a loopback. AT+CMUX=0
// turns the line into a 3GPP 27.010 multiplexer (the project's cmux as the responder, with the
// family's quirks) whose every DLC runs the same AT modem, until the host closes it.
//
// A Modem serves any line.Line: one end of internal/serialline.Pipe in tests, or the master
// of a pty (ServePTY) so the pppdial CLI can dial it like hardware.
package modemsim

import (
	"context"
	"time"

	"github.com/pppdial/pppdial/line"
)

// DataFunc is what runs behind CONNECT: it gets the data-mode stream (the host's bytes after
// CONNECT, and what it writes goes to the host while the modem is online) and runs until ctx is
// done (ATH, carrier drop, the modem stops) or it returns, which the modem reports to the host as
// NO CARRIER. data is closed when the call ends.
type DataFunc func(ctx context.Context, data line.Line) error

// Profile is a modem family's identity and behaviour. The quirk switches are plain fields so a
// test can take a family's profile and flip one.
type Profile struct {
	// Name is the family ("SIM7600", "EC25", ...), Manufacturer/Model/Revision what ATI, +CGMI,
	// +CGMM and +CGMR answer.
	Name, Manufacturer, Model, Revision string

	// Echo is the power-on echo setting (V.250 E1): most modems echo until ATE0.
	Echo bool
	// BootDelay is how long the modem is deaf after power-on (input is dropped) before the banner.
	BootDelay time.Duration
	// Banner are the URCs sent once booted ("RDY", "+CPIN: READY", "SMS DONE", ...). A "+CPIN:"
	// line is rewritten to the SIM's real state.
	Banner []string
	// AfterPIN are URCs sent shortly after a correct PIN ("+CPIN: READY", "SMS DONE", ...).
	AfterPIN []string
	// URCsInAnswers are URCs slipped in between the echo and the answer of status queries
	// (+CPIN?, +CSQ, +CREG?, +CGREG?, +CEREG?, +COPS?), one per query, in turn. "{stat}" is
	// replaced by the current registration state, "{rssi}" by the RSSI.
	URCsInAnswers []string

	// PIN locks the SIM when set; PUK unlocks it after PINAttempts wrong PINs (default 3).
	PIN, PUK    string
	PINAttempts int
	// WrongPINPlainError answers a wrong PIN with a bare ERROR instead of +CME ERROR
	// (at.CMEIncorrectPassword).
	WrongPINPlainError bool
	// NoSIM makes +CPIN? answer +CME ERROR (at.CMESIMNotInserted).
	NoSIM bool

	// RegistrationDelay is how long the modem searches after the SIM is ready.
	RegistrationDelay time.Duration
	// Denied makes registration end in stat 3; Roaming in stat 5 instead of 1.
	Denied, Roaming bool
	// Operator and AcT are what +COPS? reports; AcT < 0 leaves the field out (2G modules).
	Operator string
	AcT      int
	// RSSI is the +CSQ value (0..31, 99 unknown).
	RSSI int
	// NoCGREG, NoCEREG make those commands answer ERROR (a GSM-only module has no +CEREG).
	NoCGREG, NoCEREG bool
	// NoCMEE2 refuses AT+CMEE=2 (only numeric error codes).
	NoCMEE2 bool
	// IMSI is what AT+CIMI answers (default DefaultIMSI, the test network 001/01).
	IMSI string
	// ICCID is the SIM's serial number that AT+CCID, AT+QCCID, AT+ICCID and AT+CICCID answer;
	// empty: they answer ERROR, as modems that have none of them.
	ICCID string
	// AcceptAPN, when set, is the only APN the network takes (compared without case, as 3GPP
	// TS 23.003 does): ATD answers NO CARRIER unless the context it dials has it.
	AcceptAPN string

	// AT+IPR=<rate> answers OK, then the modem's end of the line switches to rate (when the line
	// is a line.BaudSetter). IPRIgnored keeps the old speed instead (a modem that acknowledges
	// and does not follow); IPRActual switches to that speed whatever was asked.
	IPRIgnored bool
	IPRActual  int
	// StartBaud is the speed the modem's UART runs at from power-on when the line is a
	// line.BaudSetter (0: the line's own): a modem an earlier run left at another speed with
	// AT+IPR, which the host must find.
	StartBaud int

	// ContextMTU is the <IPv4_MTU> AT+CGCONTRDP reports for an active context (27.007
	// §10.1.23); 0 leaves the field out, as most modems do. DefaultBearer makes context 1
	// active once registered, as an LTE attach activates the default EPS bearer, so that
	// AT+CGCONTRDP=1 answers before ATD; otherwise a context is active only while a call
	// dialed on it runs.
	ContextMTU    int
	DefaultBearer bool

	// ConnectText is the dial's success line ("CONNECT 150000000"; default "CONNECT").
	ConnectText string
	// DialDelay is the time from ATD to its answer.
	DialDelay time.Duration
	// NoCarrierDials and BusyDials make the first N dials answer NO CARRIER or BUSY.
	NoCarrierDials, BusyDials int
	// CarrierDropAfter ends every call after this long: NO CARRIER, back to command mode.
	CarrierDropAfter time.Duration
	// SplitConnect sends the CONNECT line in two writes, the second together with the first
	// bytes the DataFunc sends (as a modem whose UART FIFO flushes mid-line).
	SplitConnect bool
	// GuardTime is the escape sequence's guard time (S12; default 1 s).
	GuardTime time.Duration
	// NoEscape makes the modem ignore "+++" (&D-only hang-up).
	NoEscape bool
	// Wedges, for the recovery ladder: after the modem's first carrier drop it fails in one way
	// until the right remedy. RadioWedge answers NO CARRIER to every ATD until the radio is
	// cycled (AT+CFUN=0 or 4, then AT+CFUN=1); RebootWedge likewise until AT+CFUN=1,1 reboots
	// the modem (deaf for BootDelay, or 500 ms, then its banner); ATWedge stops answering AT on
	// every line until Reset, a pulse on the modem's reset line.
	RadioWedge, RebootWedge, ATWedge bool
	// StartInDataMode powers the modem on inside a call, online, as an earlier run left it: the
	// host's first AT goes to the DataFunc.
	StartInDataMode bool
}

// DefaultIMSI is the IMSI of a profile that names none: the test network 001/01, which no
// provider database lists.
const DefaultIMSI = "001010123456789"

// SIM7600 is a SIMCom SIM7600E-H (LTE Cat-1/4): echo on, RDY/+CPIN/SMS DONE/PB DONE at boot.
func SIM7600() Profile {
	return Profile{
		Name: "SIM7600", Manufacturer: "SIMCOM INCORPORATED", Model: "SIMCOM_SIM7600E-H",
		Revision: "LE20B04SIM7600M22", Echo: true,
		Banner:   []string{"RDY", "+CPIN: READY", "SMS DONE", "PB DONE"},
		AfterPIN: []string{"+CPIN: READY", "SMS DONE", "PB DONE"},
		PUK:      "12345678", Operator: "Vodafone", AcT: 7, RSSI: 20,
		ConnectText: "CONNECT 115200", GuardTime: time.Second,
	}
}

// EC25 is a Quectel EC25-E / EG25-G (LTE Cat-4).
func EC25() Profile {
	return Profile{
		Name: "EC25", Manufacturer: "Quectel", Model: "EC25", Revision: "EC25EFAR06A06M4G", Echo: true,
		Banner:   []string{"RDY", "+CFUN: 1", "+CPIN: READY", "+QUSIM: 1", "+QIND: SMS DONE"},
		AfterPIN: []string{"+CPIN: READY", "+QUSIM: 1", "+QIND: SMS DONE", "+QIND: PB DONE"},
		PUK:      "12345678", Operator: "Telekom.de", AcT: 7, RSSI: 24,
		URCsInAnswers: []string{`+QIND: "csq",{rssi},99`},
		ConnectText:   "CONNECT 150000000", GuardTime: time.Second,
	}
}

// BG96 is a Quectel BG96 (LTE Cat-M1 / NB-IoT): slow to register.
func BG96() Profile {
	return Profile{
		Name: "BG96", Manufacturer: "Quectel", Model: "BG96", Revision: "BG96MAR02A07M1G", Echo: true,
		Banner:   []string{"RDY", "+CFUN: 1", "+CPIN: READY", "+QUSIM: 1", "+QIND: SMS DONE"},
		AfterPIN: []string{"+CPIN: READY", "+QUSIM: 1", "+QIND: SMS DONE"},
		PUK:      "12345678", Operator: "AT&T", AcT: 8, RSSI: 15,
		RegistrationDelay: 3 * time.Second,
		ConnectText:       "CONNECT", GuardTime: time.Second,
	}
}

// SARAR4 is a u-blox SARA-R410M (LTE-M / NB-IoT): no greeting, echo on.
func SARAR4() Profile {
	return Profile{
		Name: "SARA-R4", Manufacturer: "u-blox", Model: "SARA-R410M-02B", Revision: "L0.0.00.00.05.08",
		Echo: true, PUK: "12345678", Operator: "Verizon Wireless", AcT: 7, RSSI: 12,
		NoCGREG: false, ConnectText: "CONNECT", GuardTime: time.Second,
	}
}

// SARAR5 is a u-blox SARA-R510S (LTE-M): no greeting, echo on.
func SARAR5() Profile {
	p := SARAR4()
	p.Name, p.Model, p.Revision = "SARA-R5", "SARA-R510S", "02.06"
	p.Operator, p.RSSI = "Deutsche Telekom", 22
	return p
}

// SIM800 is a SIMCom SIM800L (GSM/GPRS): no +CEREG, +COPS without AcT, "Call Ready" at boot.
func SIM800() Profile {
	return Profile{
		Name: "SIM800", Manufacturer: "SIMCOM_Ltd", Model: "SIMCOM_SIM800L", Revision: "Revision:1308B04SIM800L16",
		Echo:     true,
		Banner:   []string{"RDY", "+CFUN: 1", "+CPIN: READY", "Call Ready", "SMS Ready"},
		AfterPIN: []string{"+CPIN: READY", "Call Ready", "SMS Ready"},
		PUK:      "12345678", Operator: "CHINA MOBILE", AcT: -1, RSSI: 18,
		NoCEREG: true, ConnectText: "CONNECT", GuardTime: time.Second,
	}
}

// Profiles returns every family's profile by name.
func Profiles() map[string]Profile {
	out := map[string]Profile{}
	for _, p := range []Profile{SIM7600(), EC25(), BG96(), SARAR4(), SARAR5(), SIM800()} {
		out[p.Name] = p
	}
	return out
}
