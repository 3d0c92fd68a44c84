package metrics

import (
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/pppdial/pppdial/at/cell"
	"github.com/pppdial/pppdial/recovery"
	"github.com/pppdial/pppdial/usage"
	"github.com/prometheus/client_golang/prometheus"
)

// ModemInfo is the modem's identity as pppdial_modem_info labels it. There is no IMSI field on
// purpose: the subscriber identity is never exported.
type ModemInfo struct {
	IMEI     string
	ICCID    string
	Model    string
	Revision string
}

// UsageSource gives a SIM's data usage; *usage.Meter is one.
type UsageSource interface {
	Snapshot() usage.Snapshot
}

// Link is the metrics of one interface. The session calls its setters as things happen; they
// are cheap and safe for concurrent use (and with a scrape).
type Link struct {
	ifname  string
	buckets []float64

	mu         sync.Mutex
	up         bool
	phase      string
	phases     []string // exported phases, the Collector's first, then new ones as met
	redials    map[string]uint64
	recovery   map[stepResult]uint64
	rttCounts  []uint64 // per bucket, not cumulative; the last is +Inf
	rttCount   uint64
	rttSum     float64
	signal     cell.Picture
	registered *bool
	info       *ModemInfo
	counters   counterBase
	usage      UsageSource
}

type stepResult struct {
	step   recovery.Step
	result recovery.Result
}

func newLink(ifname string, phases []string, buckets []float64) *Link {
	l := &Link{
		ifname:    ifname,
		buckets:   buckets,
		phases:    slices.Clone(phases),
		redials:   map[string]uint64{},
		recovery:  map[stepResult]uint64{},
		rttCounts: make([]uint64, len(buckets)+1),
	}
	if len(phases) > 0 {
		l.phase = phases[0]
	}
	for _, s := range recovery.Order {
		for _, r := range []recovery.Result{recovery.ResultOK, recovery.ResultFailed} {
			l.recovery[stepResult{s, r}] = 0
		}
	}
	return l
}

// Ifname returns the interface name the Link reports.
func (l *Link) Ifname() string { return l.ifname }

// SetUp sets pppdial_link_up: true while the link carries IP.
func (l *Link) SetUp(up bool) {
	l.mu.Lock()
	l.up = up
	l.mu.Unlock()
}

// SetPhase makes phase the current one in pppdial_link_state. A phase not met before joins the
// exported set and stays in it (at 0 when not current).
func (l *Link) SetPhase(phase string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.phase = phase
	if !slices.Contains(l.phases, phase) {
		l.phases = append(l.phases, phase)
	}
}

// Redial counts a redial in pppdial_redials_total under reason: the stable code of why the
// previous link or attempt ended (pppdial.Code: "link-lost", "dial", ...).
func (l *Link) Redial(reason string) {
	l.mu.Lock()
	l.redials[reason]++
	l.mu.Unlock()
}

// RecoveryStep counts a recovery step run in pppdial_recovery_steps_total.
func (l *Link) RecoveryStep(step recovery.Step, result recovery.Result) {
	l.mu.Lock()
	l.recovery[stepResult{step, result}]++
	l.mu.Unlock()
}

// ObserveEchoRTT adds one answered LCP echo's round trip to the histogram. Negative durations
// are ignored.
func (l *Link) ObserveEchoRTT(d time.Duration) {
	if d < 0 {
		return
	}
	s := d.Seconds()
	i := sort.SearchFloat64s(l.buckets, s) // first bound >= s; len(buckets) is +Inf
	l.mu.Lock()
	l.rttCounts[i]++
	l.rttCount++
	l.rttSum += s
	l.mu.Unlock()
}

// SetSignal sets the signal gauges from p; a value p does not know removes its series. p's
// operator and tech label pppdial_modem_info.
func (l *Link) SetSignal(p cell.Picture) {
	l.mu.Lock()
	l.signal = p
	l.mu.Unlock()
}

// SetRegistered sets pppdial_registered: true when registered, home or roaming.
func (l *Link) SetRegistered(registered bool) {
	l.mu.Lock()
	l.registered = &registered
	l.mu.Unlock()
}

// SetModemInfo sets the identity pppdial_modem_info carries; the series appears with the first
// call.
func (l *Link) SetModemInfo(info ModemInfo) {
	l.mu.Lock()
	l.info = &info
	l.mu.Unlock()
}

// SetCounters makes f the source of the link's byte, packet and frame-error counters: the
// cumulative counters of the current PPP link, read at every scrape. f is called with the Link's
// lock held and must not call the Link. When the session redials it sets the new link's source;
// the previous source is read one last time and its values kept, so the exported counters only
// grow. A nil f detaches the source (after that last read) until the next SetCounters.
func (l *Link) SetCounters(f func() Counters) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.counters.setSource(f)
}

// SetUsage makes src the source of pppdial_usage_bytes for this link's SIM; nil removes it.
// Links sharing a SIM's meter export its usage once. src.Snapshot is called with the Link's lock
// held.
func (l *Link) SetUsage(src UsageSource) {
	l.mu.Lock()
	l.usage = src
	l.mu.Unlock()
}

func gauge(ch chan<- prometheus.Metric, d *prometheus.Desc, v float64, labels ...string) {
	ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
}

func counter(ch chan<- prometheus.Metric, d *prometheus.Desc, v uint64, labels ...string) {
	ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
}

func bool01(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func (l *Link) collect(ch chan<- prometheus.Metric, usageSent map[string]bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := l.ifname
	gauge(ch, descUp, bool01(l.up), n)
	for _, p := range l.phases {
		gauge(ch, descState, bool01(p == l.phase), n, p)
	}
	for reason, v := range l.redials {
		counter(ch, descRedials, v, n, reason)
	}
	for k, v := range l.recovery {
		counter(ch, descRecovery, v, n, string(k.step), string(k.result))
	}
	cum := make(map[float64]uint64, len(l.buckets))
	var acc uint64
	for i, b := range l.buckets {
		acc += l.rttCounts[i]
		cum[b] = acc
	}
	ch <- prometheus.MustNewConstHistogram(descRTT, l.rttCount, l.rttSum, cum, n)

	c := l.counters.read()
	counter(ch, descBytes, c.RxBytes, n, "rx")
	counter(ch, descBytes, c.TxBytes, n, "tx")
	counter(ch, descPackets, c.RxPackets, n, "rx")
	counter(ch, descPackets, c.TxPackets, n, "tx")
	for _, k := range frameErrorKinds {
		counter(ch, descFrameErr, k.get(c), n, k.name)
	}

	for _, s := range []struct {
		d *prometheus.Desc
		v *float64
	}{{descRSSI, l.signal.RSSIdBm}, {descRSRP, l.signal.RSRPdBm}, {descRSRQ, l.signal.RSRQdB}, {descSINR, l.signal.SINRdB}} {
		if s.v != nil {
			gauge(ch, s.d, *s.v, n)
		}
	}
	if l.registered != nil {
		gauge(ch, descReg, bool01(*l.registered), n)
	}
	if l.info != nil {
		var op, tech string
		if l.signal.Operator != nil {
			op = *l.signal.Operator
		}
		if l.signal.Tech != nil {
			tech = string(*l.signal.Tech)
		}
		gauge(ch, descInfo, 1, n, l.info.IMEI, l.info.ICCID, l.info.Model, l.info.Revision, op, tech)
	}

	if l.usage == nil {
		return
	}
	u := l.usage.Snapshot()
	if usageSent[u.ICCID] {
		return
	}
	usageSent[u.ICCID] = true
	for _, p := range []struct {
		name string
		p    usage.Period
	}{{"current", u.Current}, {"previous", u.Previous}} {
		gauge(ch, descUsage, float64(p.p.RxBytes), u.ICCID, p.name, "rx")
		gauge(ch, descUsage, float64(p.p.TxBytes), u.ICCID, p.name, "tx")
	}
	if u.Quota > 0 {
		gauge(ch, descQuota, float64(u.Quota), u.ICCID)
	}
}
