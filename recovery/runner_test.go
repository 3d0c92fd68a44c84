package recovery

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pppdial/pppdial/internal/eventq"
)

// fakeActuator takes `takes` to finish (or until ctx ends) and then returns err.
type fakeActuator struct {
	step  Step
	takes time.Duration
	err   error
	runs  int
}

func (f *fakeActuator) Name() Step { return f.step }
func (f *fakeActuator) Run(ctx context.Context) error {
	f.runs++
	t := time.NewTimer(f.takes)
	defer t.Stop()
	select {
	case <-t.C:
		return f.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func TestRunnerEventsAndCounts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		radio := &fakeActuator{step: StepRadioReset, takes: 2 * time.Second}
		gpio := &fakeActuator{step: StepResetGPIO, takes: time.Second, err: errors.New("gpio busy")}
		var events []Event // the observer's alone until Flush returns
		r := NewRunner(RunnerConfig{Actuators: []Actuator{radio, gpio}, OnEvent: func(e Event) { events = append(events, e) }})
		assert.Equal(t, []Step{StepRedial, StepRadioReset, StepResetGPIO}, r.Steps())

		ev := r.Run(context.Background(), StepRadioReset, 1)
		assert.Equal(t, Event{Step: StepRadioReset, Result: ResultOK, Elapsed: 2 * time.Second, Attempt: 1}, ev)
		ev = r.Run(context.Background(), StepResetGPIO, 2)
		assert.Equal(t, ResultFailed, ev.Result)
		assert.EqualError(t, ev.Err, "gpio busy")
		assert.Equal(t, time.Second, ev.Elapsed)
		ev = r.Run(context.Background(), StepPowerGPIO, 1)
		assert.ErrorIs(t, ev.Err, ErrNoActuator)

		require.NoError(t, r.Flush(context.Background()))
		require.Len(t, events, 3)
		assert.Equal(t, []Step{StepRadioReset, StepResetGPIO, StepPowerGPIO}, []Step{events[0].Step, events[1].Step, events[2].Step})
		assert.Equal(t, uint64(1), r.Count(StepRadioReset, ResultOK))
		assert.Equal(t, uint64(1), r.Count(StepResetGPIO, ResultFailed))
		assert.Equal(t, uint64(0), r.Count(StepResetGPIO, ResultOK))
		assert.Equal(t, uint64(1), r.Count(StepPowerGPIO, ResultFailed))
	})
}

// TestRunnerSlowObserver: an observer stuck on an event holds no step up; when it goes on, the
// event after the gap says how many it missed.
func TestRunnerSlowObserver(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		radio := &fakeActuator{step: StepRadioReset}
		release := make(chan struct{})
		var got []Event // the observer's alone until Flush returns
		r := NewRunner(RunnerConfig{Actuators: []Actuator{radio}, OnEvent: func(e Event) {
			<-release
			got = append(got, e)
		}})
		r.Run(context.Background(), StepRadioReset, 0)
		synctest.Wait() // the observer holds the first event
		const more = eventq.DefaultDepth + 5
		for i := 1; i <= more; i++ {
			r.Run(context.Background(), StepRadioReset, i) // returns: the observer holds nothing up
		}
		assert.Equal(t, 1+more, radio.runs)
		close(release)
		require.NoError(t, r.Flush(context.Background()))
		require.Len(t, got, 1+eventq.DefaultDepth)
		r.Run(context.Background(), StepRadioReset, more+1)
		require.NoError(t, r.Flush(context.Background()))
		last := got[len(got)-1]
		assert.Equal(t, more+1, last.Attempt)
		assert.Equal(t, uint64(more-eventq.DefaultDepth), last.Missed)
		j, err := json.Marshal(last)
		require.NoError(t, err)
		assert.JSONEq(t, fmt.Sprintf(`{"step":"radio-reset","result":"ok","elapsed":"0s","attempt":%d,"missed":5}`, more+1), string(j))
	})
}

// A step that does not finish fails at its own timeout, not the default, and says so.
func TestRunnerStepTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hung := &fakeActuator{step: StepModemReset, takes: time.Hour}
		other := &fakeActuator{step: StepUSBReset, takes: time.Hour}
		r := NewRunner(RunnerConfig{Actuators: []Actuator{hung, other}, Timeouts: map[Step]time.Duration{StepModemReset: 30 * time.Second}})
		ev := r.Run(context.Background(), StepModemReset, 1)
		assert.Equal(t, ResultFailed, ev.Result)
		assert.ErrorIs(t, ev.Err, ErrStepTimeout)
		assert.Equal(t, 30*time.Second, ev.Elapsed)
		ev = r.Run(context.Background(), StepUSBReset, 1)
		assert.ErrorIs(t, ev.Err, ErrStepTimeout)
		assert.Equal(t, DefaultTimeout, ev.Elapsed)
	})
}

// Cancelling the session's context (SIGINT) ends a step at once, as cancelled, not timed out.
func TestRunnerCancelled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hung := &fakeActuator{step: StepRadioReset, takes: time.Hour}
		r := NewRunner(RunnerConfig{Actuators: []Actuator{hung}})
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		ev := r.Run(ctx, StepRadioReset, 1)
		assert.ErrorIs(t, ev.Err, context.DeadlineExceeded)
		assert.NotErrorIs(t, ev.Err, ErrStepTimeout)
		assert.Equal(t, 3*time.Second, ev.Elapsed)
	})
}

// Elapsed comes from the injected clock.
func TestRunnerClock(t *testing.T) {
	now := time.Unix(1000, 0)
	clock := func() time.Time { t := now; now = now.Add(1500 * time.Millisecond); return t }
	r := NewRunner(RunnerConfig{Actuators: []Actuator{&fakeActuator{step: StepRadioReset}}, Now: clock})
	ev := r.Run(context.Background(), StepRadioReset, 4)
	assert.Equal(t, 1500*time.Millisecond, ev.Elapsed)
	b, err := json.Marshal(ev)
	require.NoError(t, err)
	assert.JSONEq(t, `{"step":"radio-reset","result":"ok","elapsed":"1.5s","attempt":4}`, string(b))
	b, err = json.Marshal(Event{Step: StepUSBReset, Result: ResultFailed, Elapsed: time.Second, Attempt: 1, Err: errors.New("no permission")})
	require.NoError(t, err)
	assert.JSONEq(t, `{"step":"usb-reset","result":"failed","elapsed":"1s","attempt":1,"error":"no permission"}`, string(b))
}
