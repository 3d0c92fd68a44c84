package metrics_test

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/pppdial/pppdial/at/cell"
	"github.com/pppdial/pppdial/metrics"
	"github.com/pppdial/pppdial/recovery"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// A gateway registers one Collector in its own registry and feeds a Link per interface from the
// session's events; the counters are read at scrape time.
func Example() {
	c := metrics.New(metrics.Options{})
	reg := prometheus.NewRegistry()
	reg.MustRegister(c)

	pp0 := c.Link("pp0")
	pp0.SetPhase("dialing")
	pp0.SetRegistered(true)
	pp0.SetSignal(cell.Picture{RSSIdBm: new(-73.0)})
	pp0.SetPhase("up")
	pp0.SetUp(true)
	pp0.ObserveEchoRTT(62 * time.Millisecond)
	pp0.SetCounters(func() metrics.Counters {
		// The session reads its netif.Counters and ppp.Stats here.
		return metrics.Counters{RxBytes: 1 << 20, TxBytes: 64 << 10}
	})
	// The link dropped; the ladder's first step redials.
	pp0.SetUp(false)
	pp0.RecoveryStep(recovery.StepRedial, recovery.ResultOK)
	pp0.Redial("link-lost")

	n, _ := testutil.GatherAndCount(reg)
	fmt.Println("series:", n)
	fmt.Println("lint problems:", must(testutil.GatherAndLint(reg)))
	err := testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP pppdial_bytes_total IP bytes moved over the link, by direction (rx, tx).
# TYPE pppdial_bytes_total counter
pppdial_bytes_total{direction="rx",ifname="pp0"} 1.048576e+06
pppdial_bytes_total{direction="tx",ifname="pp0"} 65536
`), "pppdial_bytes_total")
	fmt.Println("compare:", err)
	// Output:
	// series: 35
	// lint problems: []
	// compare: <nil>
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// The daemon's --metrics ADDR serves /metrics until its context ends.
func ExampleListenAndServe() {
	c := metrics.New(metrics.Options{})
	c.Link("pp0")
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err := metrics.ListenAndServe(ctx, "127.0.0.1:0", metrics.NewRegistry(c))
	fmt.Println("served until the context ended:", err)
	// Output: served until the context ended: <nil>
}
