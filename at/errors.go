package at

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Sentinel errors returned (wrapped) by Dial and Hangup. Match them with errors.Is. Each message
// says what the user can do about it, because these strings end up in front of people who are
// standing next to a modem, not reading this package.
var (
	// ErrNoResponse means nothing that looks like an AT answer came back.
	ErrNoResponse = errors.New("modem not answering (wrong port or baud?)")
	// ErrNoCarrier means the dial was refused or the call dropped (V.250 NO CARRIER).
	ErrNoCarrier = errors.New("no carrier: the network refused the data call; check the APN and that the SIM has a data plan")
	// ErrBusy means the dial answered BUSY.
	ErrBusy = errors.New("busy: the network or the modem is busy; wait and redial")
	// ErrNoDialtone means the dial answered NO DIALTONE (no network service to dial on).
	ErrNoDialtone = errors.New("no dialtone: the modem has no service to dial on; check the antenna and registration")
	// ErrNoAnswer means the dial answered NO ANSWER.
	ErrNoAnswer = errors.New("no answer: the dialled number did not answer; check the dial string")
	// ErrDialFailed means ATD was answered with a plain ERROR.
	ErrDialFailed = errors.New("dial refused: the modem answered ERROR to ATD; check the dial string and the PDP context (APN)")
	// ErrConnectLost means PPP frames came while ATD waited for its answer: the call is up
	// but its CONNECT was lost on the line (noise or a bit error in it). Dial hangs the call up;
	// the next dial starts afresh.
	ErrConnectLost = errors.New("dial answer lost: PPP frames came without a CONNECT (a noisy line?); the call was hung up, redial")
	// ErrCommandFailed means a command was answered with a plain ERROR (no CME code).
	ErrCommandFailed = errors.New("command failed: the modem answered ERROR")
	// ErrCommandTimeout means one command got no final answer within its timeout.
	ErrCommandTimeout = errors.New("command timed out: the modem did not finish answering; it may be busy or rebooting")
	// ErrSIMNotInserted means the modem sees no SIM card.
	ErrSIMNotInserted = errors.New("SIM not inserted: power the modem off, insert the SIM card and check the tray contacts")
	// ErrSIMPINRequired means the SIM is PIN-locked and no PIN was configured.
	ErrSIMPINRequired = errors.New("SIM PIN required: configure the SIM's PIN, or disable the PIN lock in a phone")
	// ErrWrongPIN means the SIM rejected the configured PIN. It is never retried: every wrong
	// attempt counts towards the PUK lock.
	ErrWrongPIN = errors.New("SIM rejected the PIN: correct the configured PIN (not retried: wrong attempts lead to the PUK lock)")
	// ErrPUKRequired means the SIM is PUK-locked after too many wrong PINs.
	ErrPUKRequired = errors.New("SIM PUK required: the SIM is locked after wrong PINs; unlock it with the PUK from the operator")
	// ErrSIMLocked means the SIM or modem is locked by a personalisation (PH-SIM, PH-NET) code.
	ErrSIMLocked = errors.New("SIM or modem personalisation lock: the modem is locked to another network or SIM; ask the operator for the unlock code")
	// ErrSIMFailure means the SIM is present but unusable.
	ErrSIMFailure = errors.New("SIM failure: the SIM card is unreadable or wrong; reseat or replace it")
	// ErrRegistrationDenied means the network rejected the SIM (+CREG/+CGREG/+CEREG stat 3).
	ErrRegistrationDenied = errors.New("registration denied: the network rejected this SIM; check that the SIM is active and allowed on this network")
	// ErrRegistrationTimeout means the modem did not register within the registration timeout.
	ErrRegistrationTimeout = errors.New("registration timeout: no network found in time; check the antenna, the coverage and the SIM's bands")
	// ErrNoRegistrationCommand means the modem answered none of +CREG?, +CGREG?, +CEREG?.
	ErrNoRegistrationCommand = errors.New("registration unknown: the modem answers none of +CREG?, +CGREG? and +CEREG?")
	// ErrHangupFailed means neither the escape, ATH nor a DTR drop got the modem back to command mode.
	ErrHangupFailed = errors.New("hang-up failed: the modem did not confirm; power-cycle it if it stays in data mode")
)

// CMEError is a +CME ERROR result (3GPP TS 27.007 §9.2). Code is -1 when the modem gave a text
// that is not in the table; Text is the table's text for a numeric answer.
type CMEError struct {
	Code int
	Text string
}

// Error formats the error with both the number and the text.
func (e *CMEError) Error() string {
	if e.Code < 0 {
		return "+CME ERROR: " + e.Text
	}
	if e.Text == "" {
		return fmt.Sprintf("+CME ERROR: %d", e.Code)
	}
	return fmt.Sprintf("+CME ERROR: %d (%s)", e.Code, e.Text)
}

// Is makes SIM-state codes match the package's sentinels: errors.Is(err, ErrSIMNotInserted) holds
// for +CME ERROR: 10 whether the modem reports it in numbers or in words.
func (e *CMEError) Is(target error) bool {
	switch target {
	case ErrSIMNotInserted:
		return e.Code == 10
	case ErrSIMPINRequired:
		return e.Code == 11
	case ErrPUKRequired:
		return e.Code == 12
	case ErrSIMFailure:
		return e.Code == 13 || e.Code == 15
	case ErrSIMLocked:
		return e.Code == 5 || e.Code == 40 || e.Code == 42 || e.Code == 44 || e.Code == 46
	}
	return false
}

// cmeText is the table of common +CME ERROR codes (3GPP TS 27.007 §9.2.1 and §9.2.2) in the
// words modems print with AT+CMEE=2.
var cmeText = map[int]string{
	0:   "phone failure",
	1:   "no connection to phone",
	2:   "phone-adaptor link reserved",
	3:   "operation not allowed",
	4:   "operation not supported",
	5:   "PH-SIM PIN required",
	6:   "PH-FSIM PIN required",
	7:   "PH-FSIM PUK required",
	10:  "SIM not inserted",
	11:  "SIM PIN required",
	12:  "SIM PUK required",
	13:  "SIM failure",
	14:  "SIM busy",
	15:  "SIM wrong",
	16:  "incorrect password",
	17:  "SIM PIN2 required",
	18:  "SIM PUK2 required",
	20:  "memory full",
	21:  "invalid index",
	22:  "not found",
	23:  "memory failure",
	24:  "text string too long",
	25:  "invalid characters in text string",
	26:  "dial string too long",
	27:  "invalid characters in dial string",
	30:  "no network service",
	31:  "network timeout",
	32:  "network not allowed - emergency calls only",
	40:  "network personalization PIN required",
	41:  "network personalization PUK required",
	42:  "network subset personalization PIN required",
	43:  "network subset personalization PUK required",
	44:  "service provider personalization PIN required",
	45:  "service provider personalization PUK required",
	46:  "corporate personalization PIN required",
	47:  "corporate personalization PUK required",
	48:  "hidden key required",
	49:  "EAP method not supported",
	50:  "incorrect parameters",
	51:  "command implemented but currently disabled",
	52:  "command aborted by user",
	53:  "not attached to network due to MT functionality restrictions",
	54:  "modem not allowed - MT restricted to emergency calls only",
	55:  "operation not allowed because of MT functionality restrictions",
	56:  "fixed dial number only allowed",
	57:  "temporarily out of service due to other MT usage",
	58:  "language/alphabet not supported",
	59:  "unexpected data value",
	60:  "system failure",
	61:  "data missing",
	62:  "call barred",
	63:  "message waiting indication subscription failure",
	100: "unknown",
	103: "illegal MS",
	106: "illegal ME",
	107: "GPRS services not allowed",
	108: "GPRS services and non-GPRS services not allowed",
	111: "PLMN not allowed",
	112: "location area not allowed",
	113: "roaming not allowed in this location area",
	114: "GPRS services not allowed in this PLMN",
	115: "no suitable cells in location area",
	122: "congestion",
	125: "insufficient resources",
	126: "missing or unknown APN",
	127: "unknown PDP address or PDP type",
	128: "user authentication failed",
	129: "activation rejected by GGSN, Serving GW or PDN GW",
	130: "activation rejected, unspecified",
	131: "service option not supported",
	132: "requested service option not subscribed",
	133: "service option temporarily out of order",
	134: "NSAPI already used",
	148: "unspecified GPRS error",
	149: "PDP authentication failure",
	150: "invalid mobile class",
}

// cmeCode maps lower-cased texts back to codes, so verbose answers get their number.
var cmeCode = func() map[string]int {
	m := make(map[string]int, len(cmeText))
	for c, t := range cmeText {
		m[strings.ToLower(t)] = c
	}
	// Spellings seen in vendor firmware that differ from the 27.007 wording.
	m["sim not insert"] = 10
	m["sim not present"] = 10
	m["no sim card"] = 10
	m["sim pin necessary"] = 11
	m["sim puk necessary"] = 12
	m["incorrect pin"] = 16
	m["wrong password"] = 16
	m["invalid password"] = 16
	return m
}()

// CMEText returns the 27.007 text for a +CME ERROR code, or "" when the code is not in the table.
func CMEText(code int) string { return cmeText[code] }

// parseCME turns the part after "+CME ERROR:" into a CMEError, numeric or verbose.
func parseCME(s string) *CMEError {
	s = strings.TrimSpace(s)
	s = strings.Trim(s, "\"")
	if n, err := strconv.Atoi(s); err == nil {
		return &CMEError{Code: n, Text: cmeText[n]}
	}
	if c, ok := cmeCode[strings.ToLower(s)]; ok {
		return &CMEError{Code: c, Text: s}
	}
	return &CMEError{Code: -1, Text: s}
}

// StepError says which dial step failed and which command it was running; it unwraps to the
// cause, so errors.Is(err, ErrWrongPIN) and errors.As(err, &cme) see through it.
type StepError struct {
	Step    Step   // the step that failed
	Command string // the AT command line, PIN redacted; "" when the step failed between commands
	Err     error  // the cause
}

// Error reads like "at: sim: AT+CPIN=\"****\": SIM rejected the PIN: ...".
func (e *StepError) Error() string {
	if e.Command == "" {
		return fmt.Sprintf("at: %s: %v", e.Step, e.Err)
	}
	return fmt.Sprintf("at: %s: %s: %v", e.Step, e.Command, e.Err)
}

// Unwrap returns the cause.
func (e *StepError) Unwrap() error { return e.Err }

// ErrCarrierLost ends a session's Data line when the modem reports NO CARRIER in the middle of
// the data stream (the network dropped the call). errors.Is(err, ErrNoCarrier) holds for it too.
var ErrCarrierLost error = carrierLost{}

type carrierLost struct{}

func (carrierLost) Error() string        { return "carrier lost: the modem reported NO CARRIER" }
func (carrierLost) Is(target error) bool { return target == ErrNoCarrier }

// ErrDCDLost ends a session's Data line when the modem drops its carrier-detect line (DCD).
// errors.Is(err, ErrCarrierLost) and errors.Is(err, ErrNoCarrier) hold for it too: it is the
// same event, seen on a wire.
var ErrDCDLost error = dcdLost{}

type dcdLost struct{}

func (dcdLost) Error() string { return "carrier lost: the modem dropped DCD" }
func (dcdLost) Is(target error) bool {
	return target == ErrCarrierLost || target == ErrNoCarrier
}
