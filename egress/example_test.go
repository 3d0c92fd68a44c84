package egress_test

import (
	"fmt"
	"time"

	"github.com/pppdial/pppdial/egress"
)

// A driver feeds the Machine what it sees of each member and sets one timer at Deadline; here
// the times are explicit.
func ExampleMachine() {
	start := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	at := func(s int) time.Time { return start.Add(time.Duration(s) * time.Second) }
	report := func(c egress.Change, changed bool) {
		if changed {
			fmt.Printf("%q -> %q: %s\n", c.From, c.To, c.Reason)
		}
	}
	m := egress.New([]string{"pp0", "pp1", "wlan0"}, 30*time.Second)
	report(m.Observe("pp1", true, "up", at(0)))
	report(m.Observe("pp0", true, "up", at(2)))
	report(m.Observe("pp0", false, "down: link lost", at(60)))
	report(m.Observe("pp0", true, "up", at(65)))
	report(m.Observe("pp0", false, "down: link lost", at(70))) // flapping: no move
	report(m.Observe("pp0", true, "up", at(75)))
	d, _ := m.Deadline()
	fmt.Println("timer at", d.Sub(start))
	report(m.Advance(d))
	// Output:
	// "" -> "pp1": pp1 up
	// "pp1" -> "pp0": pp0 up, preferred
	// "pp0" -> "pp1": pp0 down: link lost
	// timer at 1m45s
	// "pp1" -> "pp0": pp0 healthy for 30s, preferred
}
