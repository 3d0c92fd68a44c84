package pppdial

import (
	"context"
	"errors"
	"net/netip"
	"time"

	"github.com/pppdial/pppdial/at"
	"github.com/pppdial/pppdial/at/cell"
	"github.com/pppdial/pppdial/ppp"
	"github.com/pppdial/pppdial/recovery"
)

// EventKind says what an Event reports. The names are stable: `pppdial dial --json` prints
// them as the "event" field.
type EventKind string

// The event kinds, roughly in the order a session produces them.
const (
	// EventProgress: a step of bringing the modem up started (StepDone false) or finished
	// (StepDone true, with Elapsed and Detail): port, wake, sim, signal, register, dial, ...
	EventProgress EventKind = "progress"
	// EventPhase: the PPP link entered Phase (Establish, Authenticate, Network, Terminate, Dead).
	EventPhase EventKind = "phase"
	// EventUp: IPCP opened and the interface is configured; Status has the addresses.
	EventUp EventKind = "up"
	// EventIPv6Up: IPv6 is configured: IPV6CP opened (Status has the link-local addresses)
	// and the interface took its global addresses from the network's Router Advertisement
	// (GlobalV6, DNSV6). If no advertisement came within netif.RouterSolicitationWindow,
	// GlobalV6 is empty and Detail says so. With Config.Attach (a TUN device) the host kernel
	// autoconfigures, and the event comes when IPV6CP opens. It comes again when the global
	// addresses change.
	EventIPv6Up EventKind = "ipv6-up"
	// EventDown: a link that was up has ended; Err says why, Code classifies it.
	EventDown EventKind = "down"
	// EventError: an attempt failed before the link came up; Err and Code say why.
	EventError EventKind = "error"
	// EventRedial: the session waits Delay before attempt number Attempt.
	EventRedial EventKind = "redial"
	// EventEcho: the peer answered an LCP keepalive echo; RTT is its round trip. One per echo
	// (every PPP.EchoInterval), for an observer that keeps a distribution (a metric).
	EventEcho EventKind = "echo"
	// EventURC: the modem sent an unsolicited result code (Detail) while it was being dialed.
	EventURC EventKind = "urc"
	// EventSignal: the AT channel's periodic reading of the signal and serving cell while the
	// link is up (Config.MonitorInterval; needs the multiplexer): Signal has it, Err says why a
	// poll could not finish (the picture is then what it got).
	EventSignal EventKind = "signal"
	// EventModem: the AT channel reported a registration change (a +CREG/+CGREG/+CEREG URC,
	// enabled with =2 on CMUX DLC 1 or Config.ATPort): Registration is the new state, Detail
	// the domain ("+CEREG"), Signal the area, cell and technology the URC carried. With
	// Config.NoRoaming, a roaming state has Err ErrRoaming, and the link is hung up.
	EventModem EventKind = "modem"
	// EventProbe: a health probe's result: Probe names it (ProbeAT on the AT channel every
	// MonitorInterval, or Config.Probe's network over the link), Elapsed is its round trip,
	// Err its failure, Detail its target.
	EventProbe EventKind = "probe"
	// EventRecovery: a recovery step ran (Persist): Recovery has its step, result, elapsed time
	// and rung attempt, also in Step, Elapsed, Attempt and Err. Redials the ladder asked for are
	// reported too, as step "redial".
	EventRecovery EventKind = "recovery"
)

// Steps of the session's own in EventProgress, beside the dialer's (at.Step).
const (
	// StepIPv6 reports IPv6 refused by the network (IPV6CP rejected, terminated or
	// unanswered) while the link goes on with IPv4 only.
	StepIPv6 = "ipv6"
	// StepCMUX starts the 27.010 multiplexer (AT+CMUX, DLC 0, 1 and 2 opened).
	StepCMUX = "cmux"
)

// Event is something that happened to a session: Config.OnEvent receives them.
type Event struct {
	Time    time.Time
	Kind    EventKind
	Ifname  string        // the session's interface (pp0)
	Attempt int           // the dial attempt (1 for the first)
	Step    string        // EventProgress: the step (at.Step names, "port", or StepIPv6)
	Done    bool          // EventProgress: the step finished
	Elapsed time.Duration // EventProgress: how long the finished step took
	Detail  string        // EventProgress: what the step found ("-71 dBm"); EventIPv6Up: why no global address; EventURC: the line
	Phase   string        // EventPhase: the PPP phase
	Status  ppp.Status    // EventUp, EventIPv6Up: addresses, DNS, MTU
	Err     error         // EventDown, EventError, failed EventProgress: the cause
	Code    string        // EventDown, EventError: Code(Err)
	Delay   time.Duration // EventRedial: the wait before the attempt
	RTT     time.Duration // EventEcho: the keepalive's round trip

	// EventIPv6Up: the global IPv6 addresses (SLAAC, with the IPV6CP interface identifier) and
	// the DNS servers the Router Advertisement announced (RDNSS).
	GlobalV6 []netip.Prefix
	DNSV6    []netip.Addr

	// EventSignal: the modem's signal and serving cell; unknown values are nil. EventModem:
	// what the registration URC said of the area and cell.
	Signal *cell.Picture
	// EventModem: the registration state (cell.RegState: home, roaming, searching, ...).
	Registration cell.RegState
	// EventProbe: which probe (ProbeAT, ProbeTCP, ProbeICMP).
	Probe string
	// EventRecovery: the step run.
	Recovery *recovery.Event
	// EventRoute: the egress member that carried new connections before ("" at the first
	// choice); Ifname is the one that carries them now.
	From string

	// Missed is how many events were dropped right before this one because OnEvent fell too
	// far behind (more than a thousand events); 0 when none were.
	Missed uint64
}

// Errors of the session itself (the modem's and the link's come from packages at and ppp).
var (
	// ErrUsage: the Config cannot work (no port, contradictory options).
	ErrUsage = errors.New("invalid configuration")
	// ErrPort: the serial port could not be opened.
	ErrPort = errors.New("cannot open the modem's port")
	// ErrRedialRequested: the link was dropped because Session.Redial asked for it.
	ErrRedialRequested = errors.New("redial requested")
)

// The stable error codes Code returns, for scripts and service managers.
const (
	CodeUsage        = "usage"
	CodePort         = "port"
	CodeModem        = "modem"
	CodeSIM          = "sim"
	CodeRegistration = "registration"
	CodeRoaming      = "roaming"
	CodeDial         = "dial"
	CodeAuth         = "auth"
	CodePPP          = "ppp"
	CodeLinkLost     = "link-lost"
	CodeCanceled     = "canceled"
	CodeRequested    = "requested" // Session.Redial dropped the link
	CodeInternal     = "internal"
)

// Code classifies err with a stable short code: what a script or a service manager acts on.
func Code(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, ErrRedialRequested):
		return CodeRequested
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return CodeCanceled
	case errors.Is(err, ErrUsage):
		return CodeUsage
	case errors.Is(err, ErrPort):
		return CodePort
	case errors.Is(err, at.ErrSIMNotInserted), errors.Is(err, at.ErrSIMPINRequired),
		errors.Is(err, at.ErrWrongPIN), errors.Is(err, at.ErrPUKRequired):
		return CodeSIM
	case errors.Is(err, at.ErrRoamingRefused):
		return CodeRoaming
	case errors.Is(err, ErrProbeFailed):
		return CodeLinkLost
	case errors.Is(err, at.ErrRegistrationDenied), errors.Is(err, at.ErrRegistrationTimeout):
		return CodeRegistration
	case errors.Is(err, at.ErrNoCarrier) && !errors.Is(err, ErrCarrierLost), errors.Is(err, at.ErrBusy),
		errors.Is(err, at.ErrNoDialtone), errors.Is(err, at.ErrNoAnswer):
		return CodeDial
	case errors.Is(err, ppp.ErrAuthRejected), errors.Is(err, ppp.ErrAuthFailed), errors.Is(err, ppp.ErrAuthTimeout):
		return CodeAuth
	case errors.Is(err, ErrLinkLost), errors.Is(err, ErrCarrierLost), errors.Is(err, ppp.ErrPeerNotResponding),
		errors.Is(err, ppp.ErrPeerTerminated), errors.Is(err, ppp.ErrLowerDown), errors.Is(err, errPortFailed):
		return CodeLinkLost
	case errors.Is(err, ppp.ErrNegotiation), errors.Is(err, ppp.ErrLoopback):
		return CodePPP
	}
	var cme *at.CMEError
	var step *at.StepError
	if errors.As(err, &cme) || errors.As(err, &step) || errors.Is(err, at.ErrNoResponse) {
		return CodeModem
	}
	return CodeInternal
}
