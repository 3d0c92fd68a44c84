package control

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"time"

	"github.com/pppdial/pppdial/at/cell"
	"github.com/pppdial/pppdial/recovery"
	"github.com/pppdial/pppdial/usage"
)

// Status is what `pppdial status` shows of one link. The session fills it; the Server sets
// Uptime from UpSince when it answers. Unknown parts stay zero and are left out of the JSON.
type Status struct {
	Ifname string `json:"ifname"`
	// Port is the modem's port the daemon holds, as it was given (`pppdial at --port` finds the
	// daemon holding a port by it).
	Port string `json:"port,omitempty"`
	// State is the session's phase, as pppdial_link_state names it (dialing, up, waiting, ...).
	State   string    `json:"state"`
	Up      bool      `json:"up"`                // the link carries IP
	UpSince time.Time `json:"up_since,omitzero"` // when the current link came up; zero while down
	Uptime  Duration  `json:"uptime,omitzero"`   // set by the Server from UpSince
	Started time.Time `json:"started,omitzero"`  // when the session started
	Attempt int       `json:"attempt,omitempty"` // the current dial attempt, 1 for the first
	LastErr string    `json:"last_error,omitempty"`
	// LastCode is the stable code (pppdial.Code) of LastErr.
	LastCode string `json:"last_code,omitempty"`
	// Active is set on the member of a group's egress that carries new connections now (pppdial
	// up with two or more egress members); always false for a lone link.
	Active bool `json:"active,omitempty"`

	Addresses Addresses `json:"addresses"`
	Modem     Modem     `json:"modem"`
	// Registration is the modem's registration: "home", "roaming", "searching", "denied", ...
	Registration string        `json:"registration,omitempty"`
	Signal       *cell.Picture `json:"signal,omitempty"`
	SignalAt     time.Time     `json:"signal_at,omitzero"` // when Signal was read
	Counters     Counters      `json:"counters"`
	Usage        *Usage        `json:"usage,omitempty"`
	LastRecovery *Recovery     `json:"last_recovery,omitempty"`
}

// Addresses are what IPCP and IPV6CP negotiated.
type Addresses struct {
	Local   netip.Addr   `json:"local,omitzero"`
	Peer    netip.Addr   `json:"peer,omitzero"`
	LocalV6 netip.Addr   `json:"local_v6,omitzero"`
	PeerV6  netip.Addr   `json:"peer_v6,omitzero"`
	DNS     []netip.Addr `json:"dns,omitempty"`
	MTU     int          `json:"mtu,omitempty"`
}

// Modem is the modem's identity. The IMSI is left out on purpose: it identifies the subscriber.
type Modem struct {
	Manufacturer string `json:"manufacturer,omitempty"`
	Model        string `json:"model,omitempty"`
	Revision     string `json:"revision,omitempty"`
	IMEI         string `json:"imei,omitempty"`
	ICCID        string `json:"iccid,omitempty"`
}

// Counters are the current link's IP counters and frames dropped on receive.
type Counters struct {
	RxBytes     uint64 `json:"rx_bytes"`
	TxBytes     uint64 `json:"tx_bytes"`
	RxPackets   uint64 `json:"rx_packets"`
	TxPackets   uint64 `json:"tx_packets"`
	FrameErrors uint64 `json:"frame_errors"`
}

// Usage is the SIM's data use (package usage) in its current and previous billing periods.
type Usage struct {
	ICCID      string      `json:"iccid"`
	BillingDay int         `json:"billing_day"`
	Quota      uint64      `json:"quota,omitempty"`
	Current    UsagePeriod `json:"current"`
	Previous   UsagePeriod `json:"previous"`
	Saved      time.Time   `json:"saved,omitzero"`
}

// UsagePeriod is one billing period, [Start, End).
type UsagePeriod struct {
	Start   time.Time `json:"start"`
	End     time.Time `json:"end"`
	RxBytes uint64    `json:"rx_bytes"`
	TxBytes uint64    `json:"tx_bytes"`
}

// UsageOf converts a usage.Meter's Snapshot.
func UsageOf(s usage.Snapshot) *Usage {
	p := func(p usage.Period) UsagePeriod {
		return UsagePeriod{Start: p.Start, End: p.End, RxBytes: p.RxBytes, TxBytes: p.TxBytes}
	}
	return &Usage{ICCID: s.ICCID, BillingDay: s.BillingDay, Quota: s.Quota,
		Current: p(s.Current), Previous: p(s.Previous), Saved: s.Saved}
}

// Recovery is the last recovery step run, a recovery.Event and when it ended.
type Recovery struct {
	Time    time.Time       `json:"time"`
	Step    recovery.Step   `json:"step"`
	Result  recovery.Result `json:"result"`
	Elapsed Duration        `json:"elapsed"`
	Attempt int             `json:"attempt"`
	Error   string          `json:"error,omitempty"`
}

// RecoveryOf converts a recovery.Event that ended at t.
func RecoveryOf(e recovery.Event, t time.Time) *Recovery {
	r := &Recovery{Time: t, Step: e.Step, Result: e.Result, Elapsed: Duration(e.Elapsed), Attempt: e.Attempt}
	if e.Err != nil {
		r.Error = e.Err.Error()
	}
	return r
}

// Duration is a time.Duration that reads and writes JSON as a Go duration string ("1h2m3s"),
// rounded to the millisecond, as pppdial's events do.
type Duration time.Duration

// MarshalJSON writes the duration string.
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).Round(time.Millisecond).String())
}

// UnmarshalJSON reads a duration string.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration: %w", err)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("duration: %w", err)
	}
	*d = Duration(v)
	return nil
}
