package metrics

import (
	"maps"
	"slices"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// DefaultPhases are the session phases pppdial_link_state reports from the start, each with
// 0 until it is current. A phase a Link is set to that is not in the list joins it.
var DefaultPhases = []string{
	"dead",         // not started, or stopped
	"dialing",      // command phase: port, SIM, registration, ATD
	"establish",    // LCP negotiating
	"authenticate", // PAP or CHAP
	"network",      // IPCP/IPV6CP negotiating
	"up",           // IP flows
	"terminate",    // LCP Terminate exchange
	"waiting",      // between attempts: redial back-off or a recovery step
}

// DefaultRTTBuckets are the LCP echo round-trip buckets in seconds: LTE answers in tens of
// milliseconds, UMTS in a few hundred, GPRS and NB-IoT in seconds.
var DefaultRTTBuckets = []float64{.025, .05, .075, .1, .15, .2, .3, .5, .75, 1, 2, 5, 10}

// Options configure a Collector. The zero value uses the defaults.
type Options struct {
	// Phases are the phases every Link exports from the start; nil means DefaultPhases.
	Phases []string
	// RTTBuckets are the echo round-trip histogram's upper bounds in seconds, ascending;
	// nil means DefaultRTTBuckets.
	RTTBuckets []float64
}

// Collector is a prometheus.Collector for all the links of a process. Register one per registry:
// two would describe the same families. Its methods are safe for concurrent use.
type Collector struct {
	phases  []string
	buckets []float64

	mu    sync.Mutex
	links map[string]*Link
	socks func() SOCKSCounters // SetSOCKS; nil: no SOCKS server
}

// New returns a Collector without links.
func New(opts Options) *Collector {
	c := &Collector{phases: DefaultPhases, buckets: DefaultRTTBuckets, links: map[string]*Link{}}
	if opts.Phases != nil {
		c.phases = slices.Clone(opts.Phases)
	}
	if opts.RTTBuckets != nil {
		c.buckets = slices.Clone(opts.RTTBuckets)
	}
	return c
}

// Link returns the Link of interface ifname, creating it (down, in the first phase) on first use.
func (c *Collector) Link(ifname string) *Link {
	c.mu.Lock()
	defer c.mu.Unlock()
	if l, ok := c.links[ifname]; ok {
		return l
	}
	l := newLink(ifname, c.phases, c.buckets)
	c.links[ifname] = l
	return l
}

// Remove drops the Link of ifname and its series; a later Link(ifname) starts afresh.
func (c *Collector) Remove(ifname string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.links, ifname)
}

func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc(name, help, labels, nil)
}

// The families. Label order is the order of the values in each Collect call.
var (
	descUp       = desc("pppdial_link_up", "Whether the link carries IP (1) or not (0).", "ifname")
	descState    = desc("pppdial_link_state", "The link's current phase: 1 for the current one, 0 for the others.", "ifname", "phase")
	descRedials  = desc("pppdial_redials_total", "Redials, by the reason the previous link or attempt ended.", "ifname", "reason")
	descRecovery = desc("pppdial_recovery_steps_total", "Recovery ladder steps run, by step and result.", "ifname", "step", "result")
	descRTT      = desc("pppdial_lcp_echo_rtt_seconds", "Round-trip time of answered LCP Echo-Requests.", "ifname")
	descBytes    = desc("pppdial_bytes_total", "IP bytes moved over the link, by direction (rx, tx).", "ifname", "direction")
	descPackets  = desc("pppdial_packets_total", "IP packets moved over the link, by direction (rx, tx).", "ifname", "direction")
	descFrameErr = desc("pppdial_frame_errors_total", "Received frames dropped, by kind (fcs, abort, too_long, runt, bad_protocol, discarded).", "ifname", "kind")
	descRSSI     = desc("pppdial_signal_rssi_dbm", "Received signal strength indicator in dBm.", "ifname")
	descRSRP     = desc("pppdial_signal_rsrp_dbm", "LTE reference signal received power in dBm.", "ifname")
	descRSRQ     = desc("pppdial_signal_rsrq_db", "LTE reference signal received quality in dB.", "ifname")
	descSINR     = desc("pppdial_signal_sinr_db", "LTE signal to interference plus noise ratio in dB.", "ifname")
	descReg      = desc("pppdial_registered", "Whether the modem is registered on a network, home or roaming (1) or not (0).", "ifname")
	descInfo     = desc("pppdial_modem_info", "The modem's identity and network; always 1.", "ifname", "imei", "iccid", "model", "revision", "operator", "tech")
	descUsage    = desc("pppdial_usage_bytes", "Data used by the SIM in a billing period (current or previous), by direction (rx, tx).", "iccid", "period", "direction")
	descQuota    = desc("pppdial_usage_quota_bytes", "The SIM's data quota per billing period.", "iccid")
)

var allDescs = []*prometheus.Desc{descUp, descState, descRedials, descRecovery, descRTT, descBytes,
	descPackets, descFrameErr, descRSSI, descRSRP, descRSRQ, descSINR, descReg, descInfo, descUsage, descQuota}

// Describe sends the descriptions of every family the Collector exports.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range allDescs {
		ch <- d
	}
	for _, d := range socksDescs {
		ch <- d
	}
}

// Collect sends the current value of every series: the pushed state as it is, and the counters
// and usage read from their sources now.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	links := slices.Sorted(maps.Keys(c.links))
	ls := make([]*Link, len(links))
	for i, name := range links {
		ls[i] = c.links[name]
	}
	socks := c.socks
	c.mu.Unlock()

	if socks != nil {
		collectSOCKS(ch, socks())
	}
	seen := map[string]bool{} // ICCIDs whose usage was sent: links sharing a meter send it once
	for _, l := range ls {
		l.collect(ch, seen)
	}
}
