package usage_test

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/pppdial/pppdial/usage"
)

// A session meters the SIM across redials: one Link per PPP link, fed with
// that link's own counters, and the state file written at stop (Run does it
// every interval too).
func Example() {
	dir, _ := os.MkdirTemp("", "pppdial-state")
	defer os.RemoveAll(dir)
	now := time.Date(2026, 2, 20, 9, 0, 0, 0, time.UTC)

	m, err := usage.Open(dir, "89001012345678901234", usage.Options{
		BillingDay: 31,      // February's period starts on the 28th
		Quota:      1 << 20, // 1 MiB a period
		Clock:      func() time.Time { return now },
	})
	if err != nil {
		panic(err)
	}
	if w := m.LoadWarning(); w != nil {
		fmt.Println("warning:", w) // a corrupt or foreign file was set aside
	}

	first := m.NewLink() // the link is up
	first.Observe(400_000, 50_000)
	first.End(600_000, 80_000) // NO CARRIER: the last counters

	second := m.NewLink() // redialed: its counters start at zero
	for _, ev := range second.Observe(200_000, 20_000) {
		fmt.Printf("quota: %d%% (%d of %d bytes)\n", ev.Percent, ev.Used, ev.Quota)
	}

	if err := m.Flush(context.Background()); err != nil {
		panic(err)
	}
	s := m.Snapshot()
	fmt.Println("period:", s.Current.Start.Format(time.DateOnly), "to", s.Current.End.Format(time.DateOnly))
	fmt.Println("rx:", s.Current.RxBytes, "tx:", s.Current.TxBytes)

	// After a restart the counters continue from the state file.
	again, _ := usage.Open(dir, "89001012345678901234", usage.Options{BillingDay: 31, Clock: func() time.Time { return now }})
	fmt.Println("reopened total:", again.Snapshot().Current.Total())
	// Output:
	// quota: 80% (900000 of 1048576 bytes)
	// period: 2026-01-31 to 2026-02-28
	// rx: 800000 tx: 100000
	// reopened total: 900000
}
