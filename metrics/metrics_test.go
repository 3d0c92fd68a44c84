package metrics

import (
	"bytes"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pppdial/pppdial/at/cell"
	"github.com/pppdial/pppdial/hdlc"
	"github.com/pppdial/pppdial/recovery"
	"github.com/pppdial/pppdial/usage"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/expfmt"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func ptr[T any](v T) *T { return &v }

// busyLink is a link that has been through a bit of everything.
func busyLink(c *Collector) *Link {
	l := c.Link("pp0")
	l.SetPhase("up")
	l.SetUp(true)
	l.Redial("link-lost")
	l.Redial("link-lost")
	l.Redial("dial")
	l.RecoveryStep(recovery.StepRadioReset, recovery.ResultFailed)
	l.RecoveryStep(recovery.StepModemReset, recovery.ResultOK)
	l.ObserveEchoRTT(40 * time.Millisecond)
	l.ObserveEchoRTT(100 * time.Millisecond) // on a bound: le="0.1"
	l.ObserveEchoRTT(3 * time.Second)
	l.ObserveEchoRTT(time.Minute) // only in +Inf
	lte := cell.TechLTE
	l.SetSignal(cell.Picture{RSSIdBm: ptr(-71.0), RSRPdBm: ptr(-98.0), RSRQdB: ptr(-11.5), SINRdB: ptr(7.0),
		Tech: &lte, Operator: ptr("Telekom.de")})
	l.SetRegistered(true)
	l.SetModemInfo(ModemInfo{IMEI: "867698041234567", ICCID: "89490200001234567890", Model: "EC25", Revision: "EC25EFAR06A08M4G"})
	l.SetCounters(func() Counters {
		return Counters{RxBytes: 2_000_000, TxBytes: 150_000, RxPackets: 1500, TxPackets: 900,
			Framing: hdlc.Stats{FCSErrors: 3, Aborts: 1, TooLong: 2, Runts: 4, BadProtocol: 5}, Discarded: 6}
	})
	return l
}

func TestCollectAndCompare(t *testing.T) {
	c := New(Options{})
	busyLink(c)
	want := `
# HELP pppdial_link_up Whether the link carries IP (1) or not (0).
# TYPE pppdial_link_up gauge
pppdial_link_up{ifname="pp0"} 1
# HELP pppdial_link_state The link's current phase: 1 for the current one, 0 for the others.
# TYPE pppdial_link_state gauge
pppdial_link_state{ifname="pp0",phase="authenticate"} 0
pppdial_link_state{ifname="pp0",phase="dead"} 0
pppdial_link_state{ifname="pp0",phase="dialing"} 0
pppdial_link_state{ifname="pp0",phase="establish"} 0
pppdial_link_state{ifname="pp0",phase="network"} 0
pppdial_link_state{ifname="pp0",phase="terminate"} 0
pppdial_link_state{ifname="pp0",phase="up"} 1
pppdial_link_state{ifname="pp0",phase="waiting"} 0
# HELP pppdial_redials_total Redials, by the reason the previous link or attempt ended.
# TYPE pppdial_redials_total counter
pppdial_redials_total{ifname="pp0",reason="dial"} 1
pppdial_redials_total{ifname="pp0",reason="link-lost"} 2
# HELP pppdial_lcp_echo_rtt_seconds Round-trip time of answered LCP Echo-Requests.
# TYPE pppdial_lcp_echo_rtt_seconds histogram
pppdial_lcp_echo_rtt_seconds_bucket{ifname="pp0",le="0.025"} 0
pppdial_lcp_echo_rtt_seconds_bucket{ifname="pp0",le="0.05"} 1
pppdial_lcp_echo_rtt_seconds_bucket{ifname="pp0",le="0.075"} 1
pppdial_lcp_echo_rtt_seconds_bucket{ifname="pp0",le="0.1"} 2
pppdial_lcp_echo_rtt_seconds_bucket{ifname="pp0",le="0.15"} 2
pppdial_lcp_echo_rtt_seconds_bucket{ifname="pp0",le="0.2"} 2
pppdial_lcp_echo_rtt_seconds_bucket{ifname="pp0",le="0.3"} 2
pppdial_lcp_echo_rtt_seconds_bucket{ifname="pp0",le="0.5"} 2
pppdial_lcp_echo_rtt_seconds_bucket{ifname="pp0",le="0.75"} 2
pppdial_lcp_echo_rtt_seconds_bucket{ifname="pp0",le="1"} 2
pppdial_lcp_echo_rtt_seconds_bucket{ifname="pp0",le="2"} 2
pppdial_lcp_echo_rtt_seconds_bucket{ifname="pp0",le="5"} 3
pppdial_lcp_echo_rtt_seconds_bucket{ifname="pp0",le="10"} 3
pppdial_lcp_echo_rtt_seconds_bucket{ifname="pp0",le="+Inf"} 4
pppdial_lcp_echo_rtt_seconds_sum{ifname="pp0"} 63.14
pppdial_lcp_echo_rtt_seconds_count{ifname="pp0"} 4
# HELP pppdial_bytes_total IP bytes moved over the link, by direction (rx, tx).
# TYPE pppdial_bytes_total counter
pppdial_bytes_total{direction="rx",ifname="pp0"} 2e+06
pppdial_bytes_total{direction="tx",ifname="pp0"} 150000
# HELP pppdial_packets_total IP packets moved over the link, by direction (rx, tx).
# TYPE pppdial_packets_total counter
pppdial_packets_total{direction="rx",ifname="pp0"} 1500
pppdial_packets_total{direction="tx",ifname="pp0"} 900
# HELP pppdial_frame_errors_total Received frames dropped, by kind (fcs, abort, too_long, runt, bad_protocol, discarded).
# TYPE pppdial_frame_errors_total counter
pppdial_frame_errors_total{ifname="pp0",kind="abort"} 1
pppdial_frame_errors_total{ifname="pp0",kind="bad_protocol"} 5
pppdial_frame_errors_total{ifname="pp0",kind="discarded"} 6
pppdial_frame_errors_total{ifname="pp0",kind="fcs"} 3
pppdial_frame_errors_total{ifname="pp0",kind="runt"} 4
pppdial_frame_errors_total{ifname="pp0",kind="too_long"} 2
# HELP pppdial_signal_rssi_dbm Received signal strength indicator in dBm.
# TYPE pppdial_signal_rssi_dbm gauge
pppdial_signal_rssi_dbm{ifname="pp0"} -71
# HELP pppdial_signal_rsrp_dbm LTE reference signal received power in dBm.
# TYPE pppdial_signal_rsrp_dbm gauge
pppdial_signal_rsrp_dbm{ifname="pp0"} -98
# HELP pppdial_signal_rsrq_db LTE reference signal received quality in dB.
# TYPE pppdial_signal_rsrq_db gauge
pppdial_signal_rsrq_db{ifname="pp0"} -11.5
# HELP pppdial_signal_sinr_db LTE signal to interference plus noise ratio in dB.
# TYPE pppdial_signal_sinr_db gauge
pppdial_signal_sinr_db{ifname="pp0"} 7
# HELP pppdial_registered Whether the modem is registered on a network, home or roaming (1) or not (0).
# TYPE pppdial_registered gauge
pppdial_registered{ifname="pp0"} 1
# HELP pppdial_modem_info The modem's identity and network; always 1.
# TYPE pppdial_modem_info gauge
pppdial_modem_info{iccid="89490200001234567890",ifname="pp0",imei="867698041234567",model="EC25",operator="Telekom.de",revision="EC25EFAR06A08M4G",tech="LTE"} 1
`
	// Every family but the recovery steps (12 series from the start, checked below).
	names := []string{"pppdial_link_up", "pppdial_link_state", "pppdial_redials_total",
		"pppdial_lcp_echo_rtt_seconds", "pppdial_bytes_total", "pppdial_packets_total",
		"pppdial_frame_errors_total", "pppdial_signal_rssi_dbm", "pppdial_signal_rsrp_dbm",
		"pppdial_signal_rsrq_db", "pppdial_signal_sinr_db", "pppdial_registered", "pppdial_modem_info"}
	require.NoError(t, testutil.CollectAndCompare(c, strings.NewReader(want), names...))
}

func TestRecoveryStepsStartAtZero(t *testing.T) {
	c := New(Options{})
	busyLink(c)
	assert.Equal(t, len(recovery.Order)*2, testutil.CollectAndCount(c, "pppdial_recovery_steps_total"))
	want := `
# HELP pppdial_recovery_steps_total Recovery ladder steps run, by step and result.
# TYPE pppdial_recovery_steps_total counter
pppdial_recovery_steps_total{ifname="pp0",result="failed",step="modem-reset"} 0
pppdial_recovery_steps_total{ifname="pp0",result="failed",step="power-gpio"} 0
pppdial_recovery_steps_total{ifname="pp0",result="failed",step="radio-reset"} 1
pppdial_recovery_steps_total{ifname="pp0",result="failed",step="redial"} 0
pppdial_recovery_steps_total{ifname="pp0",result="failed",step="reset-gpio"} 0
pppdial_recovery_steps_total{ifname="pp0",result="failed",step="usb-reset"} 0
pppdial_recovery_steps_total{ifname="pp0",result="ok",step="modem-reset"} 1
pppdial_recovery_steps_total{ifname="pp0",result="ok",step="power-gpio"} 0
pppdial_recovery_steps_total{ifname="pp0",result="ok",step="radio-reset"} 0
pppdial_recovery_steps_total{ifname="pp0",result="ok",step="redial"} 0
pppdial_recovery_steps_total{ifname="pp0",result="ok",step="reset-gpio"} 0
pppdial_recovery_steps_total{ifname="pp0",result="ok",step="usb-reset"} 0
`
	require.NoError(t, testutil.CollectAndCompare(c, strings.NewReader(want), "pppdial_recovery_steps_total"))
}

// A fresh link exports no signal, registration or identity: absent means unknown, never 0.
func TestUnknownIsAbsent(t *testing.T) {
	c := New(Options{})
	l := c.Link("pp1")
	for _, name := range []string{"pppdial_signal_rssi_dbm", "pppdial_signal_rsrp_dbm", "pppdial_signal_rsrq_db",
		"pppdial_signal_sinr_db", "pppdial_registered", "pppdial_modem_info", "pppdial_usage_bytes"} {
		assert.Zero(t, testutil.CollectAndCount(c, name), name)
	}
	assert.Equal(t, 1, testutil.CollectAndCount(c, "pppdial_link_up"))
	assert.Equal(t, 1.0, gatherValue(t, c, "pppdial_link_state", "phase", "dead"))

	// A GSM-only picture: RSSI known, the LTE figures gone again.
	l.SetSignal(cell.Picture{RSSIdBm: ptr(-85.0), RSRPdBm: ptr(-100.0)})
	l.SetSignal(cell.Picture{RSSIdBm: ptr(-87.0)})
	assert.Equal(t, -87.0, gatherValue(t, c, "pppdial_signal_rssi_dbm"))
	assert.Zero(t, testutil.CollectAndCount(c, "pppdial_signal_rsrp_dbm"))

	l.SetRegistered(false)
	assert.Equal(t, 0.0, gatherValue(t, c, "pppdial_registered"))
}

func TestPhaseNotInTheDefaultsJoins(t *testing.T) {
	c := New(Options{Phases: []string{"dead", "up"}})
	l := c.Link("pp0")
	l.SetPhase("up")
	l.SetPhase("recovering")
	assert.Equal(t, 3, testutil.CollectAndCount(c, "pppdial_link_state"))
	assert.Equal(t, 1.0, gatherValue(t, c, "pppdial_link_state", "phase", "recovering"))
	assert.Equal(t, 0.0, gatherValue(t, c, "pppdial_link_state", "phase", "up"))
	l.SetPhase("up")
	assert.Equal(t, 0.0, gatherValue(t, c, "pppdial_link_state", "phase", "recovering"))
	assert.Equal(t, 1.0, gatherValue(t, c, "pppdial_link_state", "phase", "up"))
}

func TestModemInfoFollowsOperatorAndTech(t *testing.T) {
	c := New(Options{})
	l := c.Link("pp0")
	l.SetModemInfo(ModemInfo{IMEI: "1", ICCID: "2", Model: "BG96", Revision: "r"})
	assert.Equal(t, 1.0, gatherValue(t, c, "pppdial_modem_info", "operator", "", "tech", ""))
	catm := cell.TechCatM
	l.SetSignal(cell.Picture{Operator: ptr("26201"), Tech: &catm})
	// Still one series: the old labels are gone.
	assert.Equal(t, 1, testutil.CollectAndCount(c, "pppdial_modem_info"))
	assert.Equal(t, 1.0, gatherValue(t, c, "pppdial_modem_info", "operator", "26201", "tech", "Cat-M"))
}

func TestCountersMonotonicAcrossRedials(t *testing.T) {
	c := New(Options{})
	l := c.Link("pp0")
	bytes := func() float64 { return gatherValue(t, c, "pppdial_bytes_total", "direction", "rx") }
	fcs := func() float64 { return gatherValue(t, c, "pppdial_frame_errors_total", "kind", "fcs") }
	assert.Equal(t, 0.0, bytes())

	var first Counters
	l.SetCounters(func() Counters { return first })
	first = Counters{RxBytes: 1000, Framing: hdlc.Stats{FCSErrors: 2}}
	assert.Equal(t, 1000.0, bytes())
	first.RxBytes = 1500 // moved on after the last scrape: kept when the source is replaced
	first.Framing.FCSErrors = 3

	var second Counters
	l.SetCounters(func() Counters { return second })
	assert.Equal(t, 1500.0, bytes())
	assert.Equal(t, 3.0, fcs())
	second = Counters{RxBytes: 200, Framing: hdlc.Stats{FCSErrors: 1}}
	assert.Equal(t, 1700.0, bytes())
	assert.Equal(t, 4.0, fcs())

	// The source itself restarts (a counter goes back): what it had counted stays.
	second = Counters{RxBytes: 50}
	assert.Equal(t, 1750.0, bytes())
	assert.Equal(t, 4.0, fcs())

	// Detached between links: the counters hold.
	l.SetCounters(nil)
	assert.Equal(t, 1750.0, bytes())
	assert.Equal(t, 1750.0, bytes())
}

func TestUsageFromMeters(t *testing.T) {
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	m, err := usage.Open(t.TempDir(), "89490200001234567890", usage.Options{Quota: 1 << 30, Clock: func() time.Time { return now }})
	require.NoError(t, err)
	m.NewLink().Observe(5_000_000, 700_000)

	c := New(Options{})
	c.Link("pp0").SetUsage(m)
	c.Link("pp1").SetUsage(m) // the same SIM seen by two links: exported once
	want := `
# HELP pppdial_usage_bytes Data used by the SIM in a billing period (current or previous), by direction (rx, tx).
# TYPE pppdial_usage_bytes gauge
pppdial_usage_bytes{direction="rx",iccid="89490200001234567890",period="current"} 5e+06
pppdial_usage_bytes{direction="rx",iccid="89490200001234567890",period="previous"} 0
pppdial_usage_bytes{direction="tx",iccid="89490200001234567890",period="current"} 700000
pppdial_usage_bytes{direction="tx",iccid="89490200001234567890",period="previous"} 0
# HELP pppdial_usage_quota_bytes The SIM's data quota per billing period.
# TYPE pppdial_usage_quota_bytes gauge
pppdial_usage_quota_bytes{iccid="89490200001234567890"} 1.073741824e+09
`
	require.NoError(t, testutil.CollectAndCompare(c, strings.NewReader(want), "pppdial_usage_bytes", "pppdial_usage_quota_bytes"))

	// Into the next period: what was current is previous.
	now = now.AddDate(0, 1, 0)
	assert.Equal(t, 5e6, gatherValue(t, c, "pppdial_usage_bytes", "period", "previous", "direction", "rx"))
	assert.Equal(t, 0.0, gatherValue(t, c, "pppdial_usage_bytes", "period", "current", "direction", "rx"))

	c.Link("pp0").SetUsage(nil)
	c.Link("pp1").SetUsage(nil)
	assert.Zero(t, testutil.CollectAndCount(c, "pppdial_usage_bytes"))
}

func TestSeveralLinksAndRemove(t *testing.T) {
	c := New(Options{})
	c.Link("pp0").SetUp(true)
	c.Link("pp1")
	assert.Same(t, c.Link("pp0"), c.Link("pp0"))
	assert.Equal(t, 1.0, gatherValue(t, c, "pppdial_link_up", "ifname", "pp0"))
	assert.Equal(t, 0.0, gatherValue(t, c, "pppdial_link_up", "ifname", "pp1"))
	c.Remove("pp0")
	assert.Equal(t, 1, testutil.CollectAndCount(c, "pppdial_link_up"))
	assert.Empty(t, gatherValues(t, c, "pppdial_link_state", "ifname", "pp0"))
}

// promlint (client_golang's linter) finds nothing in the full output of a busy collector.
func TestLint(t *testing.T) {
	c := New(Options{})
	busyLink(c).SetUsage(fixedUsage{})
	c.Link("pp1")
	c.SetSOCKS(func() SOCKSCounters { return SOCKSCounters{Conns: 1, RefusedConns: 2} })
	reg := prometheus.NewPedanticRegistry()
	require.NoError(t, reg.Register(c))
	problems, err := testutil.GatherAndLint(reg)
	require.NoError(t, err)
	assert.Empty(t, problems)
}

// promtool, Prometheus's own checker, passes the text a scrape of NewRegistry gets (Go and process
// collectors included). It is Debian's prometheus package; .ci/run installs it.
func TestPromtoolCheckMetrics(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("PPP_INTEROP") == "1" {
			t.Fatal("promtool not installed (Debian package prometheus) and PPP_INTEROP=1")
		}
		t.Skip("promtool not installed (Debian package prometheus)")
	}
	c := New(Options{})
	busyLink(c).SetUsage(fixedUsage{})
	c.Link("pp1").SetPhase("dialing")
	mfs, err := NewRegistry(c).Gather()
	require.NoError(t, err)
	var text bytes.Buffer
	enc := expfmt.NewEncoder(&text, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, mf := range mfs {
		require.NoError(t, enc.Encode(mf))
	}
	require.Contains(t, text.String(), `pppdial_link_up{ifname="pp0"} 1`)
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = &text
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "promtool check metrics:\n%s", out)
	assert.Empty(t, strings.TrimSpace(string(out)))
}

// Pushes and scrapes at once: the race detector checks the locking.
func TestConcurrentPushAndScrape(t *testing.T) {
	c := New(Options{})
	reg := prometheus.NewRegistry()
	reg.MustRegister(c)
	var wg sync.WaitGroup
	for i, name := range []string{"pp0", "pp1", "pp0"} {
		wg.Go(func() {
			l := c.Link(name)
			var n uint64
			l.SetCounters(func() Counters { n++; return Counters{RxBytes: n} })
			for j := range 200 {
				l.SetUp(j%2 == 0)
				l.SetPhase(DefaultPhases[j%len(DefaultPhases)])
				l.ObserveEchoRTT(time.Duration(j+i) * time.Millisecond)
				l.Redial("link-lost")
				l.SetSignal(cell.Picture{RSSIdBm: ptr(float64(-j))})
			}
		})
	}
	wg.Go(func() {
		for range 50 {
			_, err := reg.Gather()
			assert.NoError(t, err)
		}
	})
	wg.Wait()
	assert.Equal(t, []float64{400}, gatherValues(t, c, "pppdial_redials_total", "ifname", "pp0"))
	assert.Equal(t, []float64{200}, gatherValues(t, c, "pppdial_redials_total", "ifname", "pp1"))
}

type fixedUsage struct{}

func (fixedUsage) Snapshot() usage.Snapshot {
	return usage.Snapshot{ICCID: "89490200001234567890", Current: usage.Period{RxBytes: 10, TxBytes: 5}, Quota: 100}
}

// gatherValues returns the values of the series of family name whose labels include the given
// name/value pairs. A histogram gives its count.
func gatherValues(t *testing.T, c prometheus.Collector, name string, pairs ...string) []float64 {
	t.Helper()
	reg := prometheus.NewRegistry()
	require.NoError(t, reg.Register(c))
	mfs, err := reg.Gather()
	require.NoError(t, err)
	var found []float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metric:
		for _, m := range mf.Metric {
			got := map[string]string{}
			for _, lp := range m.Label {
				got[lp.GetName()] = lp.GetValue()
			}
			for i := 0; i+1 < len(pairs); i += 2 {
				if got[pairs[i]] != pairs[i+1] {
					continue metric
				}
			}
			switch {
			case m.Gauge != nil:
				found = append(found, m.Gauge.GetValue())
			case m.Counter != nil:
				found = append(found, m.Counter.GetValue())
			case m.Histogram != nil:
				found = append(found, float64(m.Histogram.GetSampleCount()))
			}
		}
	}
	return found
}

// gatherValue is the value of the one series gatherValues finds.
func gatherValue(t *testing.T, c prometheus.Collector, name string, pairs ...string) float64 {
	t.Helper()
	found := gatherValues(t, c, name, pairs...)
	require.Len(t, found, 1, "series of %s with %v", name, pairs)
	return found[0]
}

// The SOCKS egress's figures: absent without a server, then read at every scrape, by reason.
func TestSOCKS(t *testing.T) {
	c := New(Options{})
	assert.Zero(t, testutil.CollectAndCount(c, "pppdial_socks_connections"), "no SOCKS server: no series")
	var mu sync.Mutex
	st := SOCKSCounters{Conns: 3, Associations: 1, RefusedConns: 7, RefusedAuth: 2, DroppedForeignSource: 5, DialFailures: 4}
	c.SetSOCKS(func() SOCKSCounters {
		mu.Lock()
		defer mu.Unlock()
		return st
	})
	assert.Equal(t, 3.0, gatherValue(t, c, "pppdial_socks_connections"))
	assert.Equal(t, 1.0, gatherValue(t, c, "pppdial_socks_udp_associations"))
	assert.Equal(t, 7.0, gatherValue(t, c, "pppdial_socks_refused_total", "reason", "max_conns"))
	assert.Equal(t, 2.0, gatherValue(t, c, "pppdial_socks_refused_total", "reason", "auth"))
	assert.Equal(t, 0.0, gatherValue(t, c, "pppdial_socks_refused_total", "reason", "max_udp"))
	assert.Equal(t, 5.0, gatherValue(t, c, "pppdial_socks_dropped_datagrams_total", "reason", "foreign_source"))
	assert.Equal(t, 4.0, gatherValue(t, c, "pppdial_socks_dial_failures_total"))
	mu.Lock()
	st.DroppedForeignSource = 9
	mu.Unlock()
	assert.Equal(t, 9.0, gatherValue(t, c, "pppdial_socks_dropped_datagrams_total", "reason", "foreign_source"), "read at the scrape")
	c.SetSOCKS(nil)
	assert.Zero(t, testutil.CollectAndCount(c, "pppdial_socks_refused_total"))
}
