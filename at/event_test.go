package at_test

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pppdial/pppdial/at"
	"github.com/pppdial/pppdial/internal/serialline"
	"github.com/pppdial/pppdial/line"
	"github.com/pppdial/pppdial/modemsim"
)

// eventRig is an emulated EC25 whose data phase closes connected when the call is up.
func eventRig(t *testing.T) (*at.Port, <-chan struct{}) {
	t.Helper()
	host, modemEnd := serialline.Pipe(serialline.Options{})
	port := at.NewPort(host)
	p := modemsim.EC25()
	p.GuardTime = 50 * time.Millisecond
	connected := make(chan struct{})
	m := modemsim.New(p, func(ctx context.Context, data line.Line) error {
		close(connected)
		<-ctx.Done()
		return nil
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = m.Serve(ctx, modemEnd) }()
	t.Cleanup(func() {
		_ = port.Close()
		cancel()
		<-done
	})
	return port, connected
}

// TestDialEventsNeverHoldTheDialUp: an observer stuck on its first event does not stop the dial
// (the modem sees ATD and connects meanwhile); once it goes on it gets every event, in order,
// and Dial returns only after it has.
func TestDialEventsNeverHoldTheDialUp(t *testing.T) {
	port, connected := eventRig(t)
	release := make(chan struct{})
	var got []at.Event // written by the observer only; read after Dial returned
	cfg := at.Config{APN: "internet", Guard: 50 * time.Millisecond, OnEvent: func(e at.Event) {
		<-release
		got = append(got, e)
	}}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	type result struct {
		s   *at.Session
		err error
	}
	res := make(chan result, 1)
	go func() {
		s, err := at.Dial(ctx, port, cfg)
		res <- result{s, err}
	}()
	select {
	case <-connected:
	case <-ctx.Done():
		t.Fatal("the dial did not reach CONNECT while its observer was stuck")
	}
	close(release)
	r := <-res
	require.NoError(t, r.err)

	var steps []at.Step
	var urcs int
	for i, e := range got {
		assert.Zero(t, e.Missed, "event %d", i)
		assert.False(t, e.Time.IsZero(), "event %d", i)
		switch e.Kind {
		case at.EventProgress:
			if !e.Done {
				steps = append(steps, e.Step)
				continue
			}
			require.NotEmpty(t, steps, "a step ends before any started")
			assert.Equal(t, steps[len(steps)-1], e.Step, "a step ends after its start")
			assert.NoError(t, e.Err, "step %s", e.Step)
		case at.EventURC:
			assert.NotEmpty(t, e.Line)
			urcs++
		default:
			t.Errorf("event %d: kind %q", i, e.Kind)
		}
	}
	assert.Equal(t, []at.Step{at.StepWake, at.StepEchoOff, at.StepErrors, at.StepInit, at.StepSIM, at.StepSignal,
		at.StepRegister, at.StepOperator, at.StepAPN, at.StepDial}, steps)
	last := got[len(got)-1]
	assert.Equal(t, at.StepDial, last.Step)
	assert.True(t, last.Done)
	assert.Equal(t, r.s.Info.Connect, last.Detail, "the dial step's end came before Dial returned")
}

// TestDialEventDrainIsBounded: an observer that never returns holds Dial up for 5 s at most
// (virtual time: the whole modem runs in the bubble).
func TestDialEventDrainIsBounded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		port, connected := eventRig(t)
		stuck := make(chan struct{})
		defer close(stuck)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		var connectedAt time.Time
		go func() { <-connected; connectedAt = time.Now() }()
		_, err := at.Dial(ctx, port, at.Config{APN: "internet", Guard: 50 * time.Millisecond,
			OnEvent: func(at.Event) { <-stuck }})
		require.NoError(t, err)
		synctest.Wait() // connectedAt is written
		waited := time.Since(connectedAt)
		assert.GreaterOrEqual(t, waited, 5*time.Second, "Dial waits for its observer")
		assert.Less(t, waited, 5500*time.Millisecond, "but not beyond the bound")
	})
}

// TestCommandsReportsURCs: a URC arriving between commands reaches Commands' observer before
// Commands returns.
func TestCommandsReportsURCs(t *testing.T) {
	host, modemEnd := serialline.Pipe(serialline.Options{})
	port := at.NewPort(host)
	defer port.Close()
	p := modemsim.EC25()
	p.URCsInAnswers = []string{"RING"}
	m := modemsim.New(p, modemsim.Discard)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	done := make(chan struct{})
	go func() { defer close(done); _ = m.Serve(ctx, modemEnd) }()
	defer func() { cancel(); <-done }()

	var lines []string // written by the observer; read after Commands returned
	answers, err := at.Commands(ctx, port, []string{"AT", "AT+CSQ", "AT+COPS?"}, time.Second, func(e at.Event) {
		if e.Kind == at.EventURC {
			lines = append(lines, e.Line)
		}
	}, nil)
	require.NoError(t, err)
	require.Len(t, answers, 3)
	assert.Contains(t, lines, "RING")
}
