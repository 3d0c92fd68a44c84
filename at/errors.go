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
	// ErrRoamingRefused means the modem is registered on a visited network only, and
	// Config.NoRoaming refuses to place a data call there (a cost guard).
	ErrRoamingRefused        = errors.New("roaming refused: the modem is registered on a visited network and roaming is not allowed (--no-roaming)")
	ErrNoRegistrationCommand = errors.New("registration unknown: the modem answers none of +CREG?, +CGREG? and +CEREG?")
	// ErrHangupFailed means neither the escape, ATH nor a DTR drop got the modem back to command mode.
	ErrHangupFailed = errors.New("hang-up failed: the modem did not confirm; power-cycle it if it stays in data mode")
)

// CMECode is a +CME ERROR code: the mobile termination's error numbers of 3GPP TS 27.007 §9.2.
// Naming them keeps the dialer's decisions (retry on SIM busy, never resend a rejected PIN)
// readable, and the simulator answers with the same numbers the dialer tests for. Its String
// is the 27.007 text, the words a modem prints after AT+CMEE=2.
type CMECode int

// CMEUnknownText is the Code of a CMEError whose modem answered in words that are not in the
// table (AT+CMEE=2 on a firmware with its own wording), so it has no number.
const CMEUnknownText CMECode = -1

// General +CME ERROR codes (3GPP TS 27.007 §9.2.1).
const (
	CMEPhoneFailure               CMECode = 0
	CMENoConnection               CMECode = 1
	CMELinkReserved               CMECode = 2
	CMEOperationNotAllowed        CMECode = 3
	CMEOperationNotSupported      CMECode = 4
	CMEPHSIMPINRequired           CMECode = 5
	CMEPHFSIMPINRequired          CMECode = 6
	CMEPHFSIMPUKRequired          CMECode = 7
	CMESIMNotInserted             CMECode = 10
	CMESIMPINRequired             CMECode = 11
	CMESIMPUKRequired             CMECode = 12
	CMESIMFailure                 CMECode = 13
	CMESIMBusy                    CMECode = 14
	CMESIMWrong                   CMECode = 15
	CMEIncorrectPassword          CMECode = 16
	CMESIMPIN2Required            CMECode = 17
	CMESIMPUK2Required            CMECode = 18
	CMEMemoryFull                 CMECode = 20
	CMEInvalidIndex               CMECode = 21
	CMENotFound                   CMECode = 22
	CMEMemoryFailure              CMECode = 23
	CMETextTooLong                CMECode = 24
	CMEInvalidTextChars           CMECode = 25
	CMEDialStringTooLong          CMECode = 26
	CMEInvalidDialChars           CMECode = 27
	CMENoNetworkService           CMECode = 30
	CMENetworkTimeout             CMECode = 31
	CMEEmergencyCallsOnly         CMECode = 32
	CMENetworkPINRequired         CMECode = 40
	CMENetworkPUKRequired         CMECode = 41
	CMENetworkSubsetPINRequired   CMECode = 42
	CMENetworkSubsetPUKRequired   CMECode = 43
	CMEServiceProviderPINRequired CMECode = 44
	CMEServiceProviderPUKRequired CMECode = 45
	CMECorporatePINRequired       CMECode = 46
	CMECorporatePUKRequired       CMECode = 47
	CMEHiddenKeyRequired          CMECode = 48
	CMEEAPMethodNotSupported      CMECode = 49
	CMEIncorrectParameters        CMECode = 50
	CMECommandDisabled            CMECode = 51
	CMECommandAborted             CMECode = 52
	CMENotAttachedRestricted      CMECode = 53
	CMEEmergencyOnlyRestricted    CMECode = 54
	CMENotAllowedRestricted       CMECode = 55
	CMEFixedDialOnly              CMECode = 56
	CMETemporarilyOutOfService    CMECode = 57
	CMELanguageNotSupported       CMECode = 58
	CMEUnexpectedDataValue        CMECode = 59
	CMESystemFailure              CMECode = 60
	CMEDataMissing                CMECode = 61
	CMECallBarred                 CMECode = 62
	CMEMWISubscriptionFailure     CMECode = 63
	CMEUnknown                    CMECode = 100
)

// Packet-domain +CME ERROR codes (3GPP TS 27.007 §9.2.2): mostly the network's reject causes of
// an attach or a PDP context activation, which is where a wrong APN or an unpaid SIM shows up.
const (
	CMEIllegalMS                   CMECode = 103
	CMEIllegalME                   CMECode = 106
	CMEGPRSNotAllowed              CMECode = 107
	CMEGPRSAndNonGPRSNotAllowed    CMECode = 108
	CMEPLMNNotAllowed              CMECode = 111
	CMELocationAreaNotAllowed      CMECode = 112
	CMERoamingNotAllowed           CMECode = 113
	CMEGPRSNotAllowedInPLMN        CMECode = 114
	CMENoSuitableCells             CMECode = 115
	CMECongestion                  CMECode = 122
	CMEInsufficientResources       CMECode = 125
	CMEMissingOrUnknownAPN         CMECode = 126
	CMEUnknownPDPAddressOrType     CMECode = 127
	CMEUserAuthenticationFailed    CMECode = 128
	CMEActivationRejectedByGateway CMECode = 129
	CMEActivationRejected          CMECode = 130
	CMEServiceOptionNotSupported   CMECode = 131
	CMEServiceOptionNotSubscribed  CMECode = 132
	CMEServiceOptionOutOfOrder     CMECode = 133
	CMENSAPIAlreadyUsed            CMECode = 134
	CMEUnspecifiedGPRSError        CMECode = 148
	CMEPDPAuthenticationFailure    CMECode = 149
	CMEInvalidMobileClass          CMECode = 150
)

// String returns the code's 27.007 text, or its number when the table does not know it.
func (c CMECode) String() string {
	if t, ok := cmeText[c]; ok {
		return t
	}
	if c == CMEUnknownText {
		return "unknown text"
	}
	return strconv.Itoa(int(c))
}

// CMEError is a +CME ERROR result (3GPP TS 27.007 §9.2). Code is CMEUnknownText when the modem
// gave a text that is not in the table; Text is the table's text for a numeric answer.
type CMEError struct {
	Code CMECode
	Text string
}

// Error formats the error with both the number and the text.
func (e *CMEError) Error() string {
	if e.Code == CMEUnknownText {
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
		return e.Code == CMESIMNotInserted
	case ErrSIMPINRequired:
		return e.Code == CMESIMPINRequired
	case ErrPUKRequired:
		return e.Code == CMESIMPUKRequired
	case ErrSIMFailure:
		return e.Code == CMESIMFailure || e.Code == CMESIMWrong
	case ErrSIMLocked:
		switch e.Code {
		case CMEPHSIMPINRequired, CMENetworkPINRequired, CMENetworkSubsetPINRequired,
			CMEServiceProviderPINRequired, CMECorporatePINRequired:
			return true
		}
	}
	return false
}

// cmeText is the table of common +CME ERROR codes (3GPP TS 27.007 §9.2.1 and §9.2.2) in the
// words modems print with AT+CMEE=2: the one table behind CMECode.String, CMEText, the parsing
// of verbose answers and the simulator's AT+CMEE=2 answers.
var cmeText = map[CMECode]string{
	CMEPhoneFailure:                "phone failure",
	CMENoConnection:                "no connection to phone",
	CMELinkReserved:                "phone-adaptor link reserved",
	CMEOperationNotAllowed:         "operation not allowed",
	CMEOperationNotSupported:       "operation not supported",
	CMEPHSIMPINRequired:            "PH-SIM PIN required",
	CMEPHFSIMPINRequired:           "PH-FSIM PIN required",
	CMEPHFSIMPUKRequired:           "PH-FSIM PUK required",
	CMESIMNotInserted:              "SIM not inserted",
	CMESIMPINRequired:              "SIM PIN required",
	CMESIMPUKRequired:              "SIM PUK required",
	CMESIMFailure:                  "SIM failure",
	CMESIMBusy:                     "SIM busy",
	CMESIMWrong:                    "SIM wrong",
	CMEIncorrectPassword:           "incorrect password",
	CMESIMPIN2Required:             "SIM PIN2 required",
	CMESIMPUK2Required:             "SIM PUK2 required",
	CMEMemoryFull:                  "memory full",
	CMEInvalidIndex:                "invalid index",
	CMENotFound:                    "not found",
	CMEMemoryFailure:               "memory failure",
	CMETextTooLong:                 "text string too long",
	CMEInvalidTextChars:            "invalid characters in text string",
	CMEDialStringTooLong:           "dial string too long",
	CMEInvalidDialChars:            "invalid characters in dial string",
	CMENoNetworkService:            "no network service",
	CMENetworkTimeout:              "network timeout",
	CMEEmergencyCallsOnly:          "network not allowed - emergency calls only",
	CMENetworkPINRequired:          "network personalization PIN required",
	CMENetworkPUKRequired:          "network personalization PUK required",
	CMENetworkSubsetPINRequired:    "network subset personalization PIN required",
	CMENetworkSubsetPUKRequired:    "network subset personalization PUK required",
	CMEServiceProviderPINRequired:  "service provider personalization PIN required",
	CMEServiceProviderPUKRequired:  "service provider personalization PUK required",
	CMECorporatePINRequired:        "corporate personalization PIN required",
	CMECorporatePUKRequired:        "corporate personalization PUK required",
	CMEHiddenKeyRequired:           "hidden key required",
	CMEEAPMethodNotSupported:       "EAP method not supported",
	CMEIncorrectParameters:         "incorrect parameters",
	CMECommandDisabled:             "command implemented but currently disabled",
	CMECommandAborted:              "command aborted by user",
	CMENotAttachedRestricted:       "not attached to network due to MT functionality restrictions",
	CMEEmergencyOnlyRestricted:     "modem not allowed - MT restricted to emergency calls only",
	CMENotAllowedRestricted:        "operation not allowed because of MT functionality restrictions",
	CMEFixedDialOnly:               "fixed dial number only allowed",
	CMETemporarilyOutOfService:     "temporarily out of service due to other MT usage",
	CMELanguageNotSupported:        "language/alphabet not supported",
	CMEUnexpectedDataValue:         "unexpected data value",
	CMESystemFailure:               "system failure",
	CMEDataMissing:                 "data missing",
	CMECallBarred:                  "call barred",
	CMEMWISubscriptionFailure:      "message waiting indication subscription failure",
	CMEUnknown:                     "unknown",
	CMEIllegalMS:                   "illegal MS",
	CMEIllegalME:                   "illegal ME",
	CMEGPRSNotAllowed:              "GPRS services not allowed",
	CMEGPRSAndNonGPRSNotAllowed:    "GPRS services and non-GPRS services not allowed",
	CMEPLMNNotAllowed:              "PLMN not allowed",
	CMELocationAreaNotAllowed:      "location area not allowed",
	CMERoamingNotAllowed:           "roaming not allowed in this location area",
	CMEGPRSNotAllowedInPLMN:        "GPRS services not allowed in this PLMN",
	CMENoSuitableCells:             "no suitable cells in location area",
	CMECongestion:                  "congestion",
	CMEInsufficientResources:       "insufficient resources",
	CMEMissingOrUnknownAPN:         "missing or unknown APN",
	CMEUnknownPDPAddressOrType:     "unknown PDP address or PDP type",
	CMEUserAuthenticationFailed:    "user authentication failed",
	CMEActivationRejectedByGateway: "activation rejected by GGSN, Serving GW or PDN GW",
	CMEActivationRejected:          "activation rejected, unspecified",
	CMEServiceOptionNotSupported:   "service option not supported",
	CMEServiceOptionNotSubscribed:  "requested service option not subscribed",
	CMEServiceOptionOutOfOrder:     "service option temporarily out of order",
	CMENSAPIAlreadyUsed:            "NSAPI already used",
	CMEUnspecifiedGPRSError:        "unspecified GPRS error",
	CMEPDPAuthenticationFailure:    "PDP authentication failure",
	CMEInvalidMobileClass:          "invalid mobile class",
}

// cmeCode maps lower-cased texts back to codes, so verbose answers get their number.
var cmeCode = func() map[string]CMECode {
	m := make(map[string]CMECode, len(cmeText))
	for c, t := range cmeText {
		m[strings.ToLower(t)] = c
	}
	// Spellings seen in vendor firmware that differ from the 27.007 wording.
	m["sim not insert"] = CMESIMNotInserted
	m["sim not present"] = CMESIMNotInserted
	m["no sim card"] = CMESIMNotInserted
	m["sim pin necessary"] = CMESIMPINRequired
	m["sim puk necessary"] = CMESIMPUKRequired
	m["incorrect pin"] = CMEIncorrectPassword
	m["wrong password"] = CMEIncorrectPassword
	m["invalid password"] = CMEIncorrectPassword
	return m
}()

// CMEText returns the 27.007 text for a +CME ERROR code, or "" when the code is not in the table.
func CMEText(code CMECode) string { return cmeText[code] }

// parseCME turns the part after "+CME ERROR:" into a CMEError, numeric or verbose.
func parseCME(s string) *CMEError {
	s = strings.TrimSpace(s)
	s = strings.Trim(s, "\"")
	// A negative number is no 27.007 code: keep it as text rather than let -1 pose as
	// CMEUnknownText with an empty text.
	if n, err := strconv.Atoi(s); err == nil && n >= 0 {
		return &CMEError{Code: CMECode(n), Text: cmeText[CMECode(n)]}
	}
	if c, ok := cmeCode[strings.ToLower(s)]; ok {
		return &CMEError{Code: c, Text: s}
	}
	return &CMEError{Code: CMEUnknownText, Text: s}
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
