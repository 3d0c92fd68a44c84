package recovery_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/pppdial/pppdial/recovery"
)

// radioReset stands for the AT-engine actuator the session provides (AT+CFUN=4, AT+CFUN=1).
type radioReset struct{}

func (radioReset) Name() recovery.Step       { return recovery.StepRadioReset }
func (radioReset) Run(context.Context) error { return nil }

// The session's loop: ask the policy, wait, run the step (redial is the session's own dial),
// and feed the outcome back until the link is up or the policy stops.
func Example() {
	runner := recovery.NewRunner(recovery.RunnerConfig{
		Actuators: []recovery.Actuator{radioReset{}},
		Now:       func() time.Time { return time.Time{} },
		// Events come in order on a goroutine of their own: Flush waits for them.
		OnEvent: func(e recovery.Event) { fmt.Println("event:", e.Step, e.Result) },
	})
	ladder, err := recovery.NewLadder(recovery.Config{
		Steps:   runner.Steps(),
		Backoff: func(int) time.Duration { return 0 }, // no waiting in an example
	})
	if err != nil {
		panic(err)
	}
	dials := 0
	redial := func() error { // a modem that answers NO CARRIER until its radio is cycled
		dials++
		if dials <= 3 {
			return errors.New("NO CARRIER")
		}
		return nil
	}
	a := ladder.Next(recovery.Outcome{AT: recovery.ATAlive}) // the link went down
	for a.Step != "" && !a.Stop {
		time.Sleep(a.Delay)
		o := recovery.Outcome{Step: a.Step, AT: recovery.ATAlive}
		if a.Step == recovery.StepRedial {
			o.Err = redial()
			fmt.Println("redial:", o.Err)
		} else {
			o.Err = runner.Run(context.Background(), a.Step, a.Attempt).Err
			_ = runner.Flush(context.Background()) // its event is printed before what follows
		}
		a = ladder.Next(o)
	}
	fmt.Println("link up:", !a.Stop)
	// Output:
	// redial: NO CARRIER
	// redial: NO CARRIER
	// redial: NO CARRIER
	// event: radio-reset ok
	// redial: <nil>
	// link up: true
}
