package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/pppdial/pppdial"
	"github.com/pppdial/pppdial/at"
	"github.com/pppdial/pppdial/at/cell"
	"github.com/pppdial/pppdial/ppp"
)

// reporter prints a session's events: one human line per step on stderr, and with --json one
// JSON object per line on stdout.
type reporter struct {
	mu     sync.Mutex
	stderr io.Writer
	json   *json.Encoder // nil without --json
	start  time.Time
	// lastSignal is each link's last signal line printed: a reading every --monitor-interval is a
	// line only when it says something new.
	lastSignal map[string]string
	// probeOK is each probe's last result: a probe is a human line only when it changes.
	probeOK map[string]bool
	// tagIfname starts each event's human line with its link's name (pppdial up: several links'
	// lines interleave).
	tagIfname bool
}

// lineFor prints a human line about event e.
func (r *reporter) lineFor(e pppdial.Event, format string, args ...any) {
	if r.tagIfname && e.Ifname != "" && e.Kind != pppdial.EventRoute {
		format = "%s: " + format
		args = append([]any{e.Ifname}, args...)
	}
	r.line(format, args...)
}

func newReporter(stdout, stderr io.Writer, asJSON bool) *reporter {
	r := &reporter{stderr: stderr, start: time.Now()}
	if asJSON {
		r.json = json.NewEncoder(stdout)
	}
	return r
}

// jsonEvent is the --json line format. Field names are stable: scripts parse them.
type jsonEvent struct {
	Time   time.Time `json:"time"`
	Event  string    `json:"event"`
	Ifname string    `json:"ifname,omitempty"`
	// From is a route event's member that carried new connections before (none at the first
	// choice).
	From    string       `json:"from,omitempty"`
	Phase   string       `json:"phase,omitempty"`
	Step    string       `json:"step,omitempty"`
	Detail  string       `json:"detail,omitempty"`
	Elapsed string       `json:"elapsed,omitempty"`
	Local   string       `json:"local,omitempty"`
	Peer    string       `json:"peer,omitempty"`
	DNS     []netip.Addr `json:"dns,omitempty"`
	MTU     int          `json:"mtu,omitempty"`
	Reason  string       `json:"reason,omitempty"`
	Error   string       `json:"error,omitempty"`
	Code    string       `json:"code,omitempty"`
	Attempt int          `json:"attempt,omitempty"`
	Delay   string       `json:"delay,omitempty"`
	Addr    string       `json:"addr,omitempty"`
	Mode    string       `json:"mode,omitempty"`
	Global  []string     `json:"global,omitempty"`
	Stats   *jsonStats   `json:"stats,omitempty"`
	// modem: the registration state; probe: which probe and its result (ok, failed).
	State  string `json:"state,omitempty"`
	Probe  string `json:"probe,omitempty"`
	Result string `json:"result,omitempty"`
	// A quota event's figures: the mark reached, the bytes used this billing period, the quota.
	Percent int    `json:"percent,omitempty"`
	Used    uint64 `json:"used,omitempty"`
	Quota   uint64 `json:"quota,omitempty"`
	// Missed is how many events were dropped right before this one because the output fell
	// too far behind (never there when none were).
	Missed uint64 `json:"missed,omitempty"`
	// A signal event's fields (rssi_dbm, ber, ...) at the top level; null where unknown.
	*cell.Picture
}

// jsonStats is the payload of a "stats" event.
type jsonStats struct {
	BytesIn      uint64 `json:"bytes_in"`
	BytesOut     uint64 `json:"bytes_out"`
	PacketsIn    uint64 `json:"packets_in"`
	PacketsOut   uint64 `json:"packets_out"`
	FCSErrors    uint64 `json:"fcs_errors"`
	Drops        uint64 `json:"drops"`
	EchoRequests uint64 `json:"echo_requests"`
	EchoReplies  uint64 `json:"echo_replies"`
	EchoRTT      string `json:"echo_rtt,omitempty"`
	Ups          int    `json:"ups"`
}

func (r *reporter) writeJSON(e jsonEvent) {
	if r.json == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	_ = r.json.Encode(e)
}

func (r *reporter) line(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	fmt.Fprintf(r.stderr, format+"\n", args...)
}

// event reports one session event.
func (r *reporter) event(e pppdial.Event) {
	j := jsonEvent{Time: e.Time, Event: string(e.Kind), Ifname: e.Ifname, Attempt: e.Attempt, Missed: e.Missed}
	if e.Missed > 0 {
		r.lineFor(e, "(%d events not shown: the output fell behind)", e.Missed)
	}
	switch e.Kind {
	case pppdial.EventProgress:
		if !e.Done && e.Step != "port" {
			return // the human line comes when the step ends, with its duration
		}
		j.Step, j.Detail = e.Step, e.Detail
		if e.Done {
			j.Elapsed = e.Elapsed.Round(time.Millisecond).String()
		}
		if e.Err != nil {
			j.Error = e.Err.Error()
		}
		r.writeJSON(j)
		if e.Err == nil && e.Detail != "0 commands" {
			elapsed := e.Elapsed.Round(time.Millisecond).String()
			if e.Step == pppdial.StepATChannel {
				elapsed = "" // a finding, not a step that took time
			}
			r.lineFor(e, "%-22s %8s  %s", stepTitle(e.Step), elapsed, e.Detail)
		}
	case pppdial.EventPhase:
		j.Phase, j.Detail = e.Phase, e.Detail
		r.writeJSON(j)
		if title := phaseTitle(e.Phase); title != "" && e.Detail == "" {
			r.lineFor(e, "%-22s %8s  %s", title, "", e.Detail)
		}
	case pppdial.EventUp, pppdial.EventIPv6Up:
		j.Local, j.Peer, j.DNS, j.MTU = addr(e.Status.Local), addr(e.Status.Peer), e.Status.DNS, e.Status.MTU
		if e.Kind == pppdial.EventIPv6Up {
			j.Local, j.Peer, j.DNS, j.Detail = addr(e.Status.LocalV6), addr(e.Status.PeerV6), e.DNSV6, e.Detail
			for _, p := range e.GlobalV6 {
				j.Global = append(j.Global, p.String())
			}
			r.writeJSON(j)
			global := strings.Join(j.Global, ",")
			if global == "" {
				global = orNone(e.Detail)
			}
			r.lineFor(e, "%-22s %8s  %s local %s peer %s global %s dns %s", "IPv6 up", since(r.start), e.Ifname,
				j.Local, orNone(j.Peer), global, dnsList(e.DNSV6))
			return
		}
		r.writeJSON(j)
		r.lineFor(e, "%-22s %8s  %s local %s peer %s dns %s mtu %d", "IPCP up", since(r.start), e.Ifname,
			j.Local, orNone(j.Peer), dnsList(e.Status.DNS), e.Status.MTU)
	case pppdial.EventSignal:
		j.Picture = e.Signal
		if e.Err != nil {
			j.Error = e.Err.Error()
		}
		r.writeJSON(j)
		if d := describeSignal(e.Signal); r.newSignal(e.Ifname, d) {
			r.lineFor(e, "%-22s %8s  %s", "signal", "", d)
		}
	case pppdial.EventModem:
		j.State, j.Detail = string(e.Registration), e.Detail
		if e.Err != nil {
			j.Error = e.Err.Error()
		}
		r.writeJSON(j)
		msg := fmt.Sprintf("%s %s", e.Detail, e.Registration)
		if e.Err != nil {
			msg += ": " + e.Err.Error()
		}
		r.lineFor(e, "%-22s %8s  %s", "registration", "", msg)
	case pppdial.EventProbe:
		j.Probe, j.Detail, j.Elapsed, j.Result = e.Probe, e.Detail, e.Elapsed.Round(time.Millisecond).String(), "ok"
		if e.Err != nil {
			j.Result, j.Error = "failed", e.Err.Error()
		}
		r.writeJSON(j)
		if r.probeChanged(e.Ifname+" "+e.Probe, e.Err == nil) {
			what := "probe " + e.Probe
			if e.Probe == pppdial.ProbeAT {
				what = "AT channel probe"
			}
			if e.Detail != "" {
				what += " " + e.Detail
			}
			if e.Err != nil {
				r.lineFor(e, "%-22s %8s  failed: %v", what, "", e.Err)
			} else {
				r.lineFor(e, "%-22s %8s  ok", what, e.Elapsed.Round(time.Millisecond))
			}
		}
	case pppdial.EventRecovery:
		rec := e.Recovery
		j.Step, j.Result, j.Elapsed, j.Attempt = string(rec.Step), string(rec.Result), rec.Elapsed.Round(time.Millisecond).String(), rec.Attempt
		if rec.Err != nil {
			j.Error = rec.Err.Error()
		}
		r.writeJSON(j)
		if rec.Err != nil {
			r.lineFor(e, "%-22s %8s  %s (attempt %d): %v", "recovery "+string(rec.Step), j.Elapsed, rec.Result, rec.Attempt, rec.Err)
		} else {
			r.lineFor(e, "%-22s %8s  %s (attempt %d)", "recovery "+string(rec.Step), j.Elapsed, rec.Result, rec.Attempt)
		}
	case pppdial.EventDown:
		j.Reason, j.Code = errText(e.Err), e.Code
		r.writeJSON(j)
		r.lineFor(e, "link down: %s", j.Reason)
	case pppdial.EventError:
		j.Error, j.Code = errText(e.Err), e.Code
		r.writeJSON(j)
		r.lineFor(e, "attempt %d failed: %s", e.Attempt, j.Error)
	case pppdial.EventRedial:
		j.Delay = e.Delay.Round(time.Millisecond).String()
		r.writeJSON(j)
		r.lineFor(e, "redialing in %s (attempt %d)", j.Delay, e.Attempt)
	case pppdial.EventRoute:
		j.From, j.Detail = e.From, e.Detail
		r.writeJSON(j)
		to := e.Ifname
		if to == "" {
			to = "(no healthy member)"
		}
		if e.From != "" {
			to += " instead of " + e.From
		}
		r.lineFor(e, "%-22s %8s  %s: %s", "new connections over", "", to, orNone(e.Detail))
	}
}

// stats reports the periodic counters.
func (r *reporter) stats(ifname string, s pppdial.Stats) {
	js := &jsonStats{
		BytesIn: s.Netif.BytesIn, BytesOut: s.Netif.BytesOut, PacketsIn: s.Netif.PacketsIn, PacketsOut: s.Netif.PacketsOut,
		FCSErrors: s.Link.Framing.FCSErrors, Drops: s.Netif.DropsIn + s.Netif.DropsOut + s.Link.TxDropped + s.Link.RxDropped,
		EchoRequests: s.Link.EchoRequests, EchoReplies: s.Link.EchoReplies, Ups: s.Ups,
	}
	if s.Link.EchoRTT > 0 {
		js.EchoRTT = s.Link.EchoRTT.Round(time.Microsecond).String()
	}
	r.writeJSON(jsonEvent{Time: time.Now(), Event: "stats", Ifname: ifname, Stats: js})
}

// failure prints the one line that names the cause and what to try, and the JSON error event.
func (r *reporter) failure(err error) {
	code := pppdial.Code(err)
	r.writeJSON(jsonEvent{Time: time.Now(), Event: "error", Error: errText(err), Code: code})
	r.line("pppdial: %s — %s", errText(err), hint(err))
}

// hint says what a user can do about err.
func hint(err error) string {
	switch {
	case errors.Is(err, at.ErrWrongPIN):
		return "the SIM rejected the PIN: check --pin / PPPDIAL_PIN (it is not retried, to spare the PUK)"
	case errors.Is(err, at.ErrSIMPINRequired):
		return "the SIM is locked: give its PIN with --pin or PPPDIAL_PIN"
	case errors.Is(err, at.ErrPUKRequired):
		return "the SIM is PUK-locked: unlock it with its PUK (in a phone, or AT+CPIN=\"PUK\",\"NEWPIN\")"
	case errors.Is(err, at.ErrSIMNotInserted):
		return "insert a SIM (and check it is seated); some modems need a power cycle after that"
	case errors.Is(err, at.ErrRoamingRefused):
		return "the modem is on a visited network and --no-roaming refuses it; drop --no-roaming to dial anyway"
	case errors.Is(err, at.ErrNoResponse):
		return "wrong port or baud? `pppdial ports` lists the modem's ports; try --baud 115200"
	}
	switch pppdial.Code(err) {
	case pppdial.CodeUsage:
		return "see pppdial dial -h"
	case pppdial.CodePort:
		return "check --port (`pppdial ports` lists them) and permissions (the dialout group)"
	case pppdial.CodeRegistration:
		return "check the antenna, the coverage and that the SIM's data plan is active"
	case pppdial.CodeDial:
		return "check --apn and --dial with your operator's settings"
	case pppdial.CodeAuth:
		return "check --user and --password (PPPDIAL_PASSWORD) with your operator's settings"
	case pppdial.CodePPP:
		return "run with -v to see the negotiation, or --pcap FILE to capture it"
	case pppdial.CodeLinkLost:
		return "use --persist to redial automatically"
	case pppdial.CodeModem:
		return "see the modem's answer above; -v shows every command"
	}
	return "run with -v for details"
}

func stepTitle(step string) string {
	switch at.Step(step) {
	case at.StepWake:
		return "modem found"
	case at.StepEchoOff:
		return "echo off"
	case at.StepBaud:
		return "speed"
	case at.StepErrors:
		return "verbose errors"
	case at.StepInit:
		return "init"
	case at.StepSIM:
		return "SIM ready"
	case at.StepIdentity:
		return "modem"
	case at.StepSignal:
		return "signal"
	case at.StepRegister:
		return "registered"
	case at.StepOperator:
		return "operator"
	case at.StepAPN:
		return "APN"
	case at.StepMTU:
		return "network MTU"
	case at.StepDial:
		return "CONNECT"
	case pppdial.StepIPv6:
		return "IPv6"
	case pppdial.StepATChannel:
		return "AT channel"
	}
	return step
}

func phaseTitle(phase string) string {
	switch phase {
	case ppp.PhaseEstablish.String():
		return "LCP negotiating"
	case ppp.PhaseAuthenticate.String():
		return "LCP up, authenticating"
	case ppp.PhaseNetwork.String():
		return "LCP up"
	case ppp.PhaseTerminate.String():
		return "LCP terminating"
	}
	return ""
}

func addr(a netip.Addr) string {
	if !a.IsValid() {
		return ""
	}
	return a.String()
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

func dnsList(dns []netip.Addr) string {
	if len(dns) == 0 {
		return "(none)"
	}
	parts := make([]string, len(dns))
	for i, d := range dns {
		parts[i] = d.String()
	}
	return strings.Join(parts, ",")
}

func since(t time.Time) string { return time.Since(t).Round(time.Millisecond).String() }

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// probeChanged reports whether probe's result differs from its last one (or is its first), and
// remembers it.
func (r *reporter) probeChanged(probe string, ok bool) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.probeOK == nil {
		r.probeOK = map[string]bool{}
	}
	last, seen := r.probeOK[probe]
	r.probeOK[probe] = ok
	return !seen || last != ok
}

// newSignal reports whether d differs from the link's last signal line, and remembers it.
func (r *reporter) newSignal(ifname, d string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.lastSignal == nil {
		r.lastSignal = map[string]string{}
	}
	if last, ok := r.lastSignal[ifname]; ok && last == d {
		return false
	}
	r.lastSignal[ifname] = d
	return true
}

// describeSignal is a signal event's human line: what the modem reported, nothing it did not.
func describeSignal(p *cell.Picture) string {
	if p == nil || p.IsZero() {
		return "no answer"
	}
	var parts []string
	if p.RSSIdBm != nil {
		parts = append(parts, fmt.Sprintf("rssi %.0f dBm", *p.RSSIdBm))
	}
	if p.RSRPdBm != nil {
		parts = append(parts, fmt.Sprintf("rsrp %.0f dBm", *p.RSRPdBm))
	}
	if p.RSRQdB != nil {
		parts = append(parts, fmt.Sprintf("rsrq %.1f dB", *p.RSRQdB))
	}
	if p.SINRdB != nil {
		parts = append(parts, fmt.Sprintf("sinr %.1f dB", *p.SINRdB))
	}
	if p.Operator != nil {
		parts = append(parts, *p.Operator)
	}
	if p.Tech != nil {
		parts = append(parts, string(*p.Tech))
	}
	return strings.Join(parts, ", ")
}
