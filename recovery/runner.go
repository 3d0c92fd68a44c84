package recovery

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/pppdial/pppdial/internal/eventq"
)

// Actuator carries out one recovery step. Run must return when ctx ends (the Runner bounds it
// with the step's timeout), except for what it must finish to leave the modem powered: see
// hw.PowerKey.
type Actuator interface {
	Name() Step
	Run(ctx context.Context) error
}

// Result is a step's result in events: "ok" or "failed".
type Result string

// Step results.
const (
	ResultOK     Result = "ok"
	ResultFailed Result = "failed"
)

// Event is one step run, emitted by the session as a `recovery` JSON event.
type Event struct {
	Step    Step
	Result  Result
	Elapsed time.Duration
	Attempt int
	Err     error // nil when Result is ok
	// Missed is how many events were dropped right before this one because OnEvent fell too
	// far behind (more than a thousand events); 0 when none were.
	Missed uint64
}

// MarshalJSON gives {"step","result","elapsed","attempt"[,"error"][,"missed"]}, elapsed as a
// duration string rounded to the millisecond, as the session's other events.
func (e Event) MarshalJSON() ([]byte, error) {
	j := struct {
		Step    Step   `json:"step"`
		Result  Result `json:"result"`
		Elapsed string `json:"elapsed"`
		Attempt int    `json:"attempt"`
		Error   string `json:"error,omitempty"`
		Missed  uint64 `json:"missed,omitempty"`
	}{e.Step, e.Result, e.Elapsed.Round(time.Millisecond).String(), e.Attempt, "", e.Missed}
	if e.Err != nil {
		j.Error = e.Err.Error()
	}
	return json.Marshal(j)
}

// ErrNoActuator is returned for a step the Runner has no Actuator for.
var ErrNoActuator = errors.New("recovery: no actuator for step")

// ErrStepTimeout is wrapped by the error of a step that did not finish within its timeout.
var ErrStepTimeout = errors.New("recovery: step timed out")

// Runner runs steps through their actuators, each bounded by its timeout, and counts results
// per step for a metrics counter. Safe for concurrent use.
type Runner struct {
	actuators map[Step]Actuator
	timeouts  map[Step]time.Duration
	now       func() time.Time
	events    *eventq.Queue[Event]

	mu     sync.Mutex
	counts map[Step]map[Result]uint64
}

// DefaultTimeout bounds a step without a timeout of its own.
const DefaultTimeout = 60 * time.Second

// RunnerConfig configures a Runner.
type RunnerConfig struct {
	Actuators []Actuator
	Timeouts  map[Step]time.Duration // per step; DefaultTimeout for the others
	Now       func() time.Time       // the clock for Elapsed; nil: time.Now
	// OnEvent receives every step run's event, in order, on a goroutine of its own: a slow
	// observer never holds a step up, and one that falls far behind is told how many it
	// missed (Event.Missed). Runner.Flush waits until it has taken them. Nil: none.
	OnEvent func(Event)
}

// NewRunner returns a Runner for the actuators given.
func NewRunner(cfg RunnerConfig) *Runner {
	r := &Runner{actuators: map[Step]Actuator{}, timeouts: map[Step]time.Duration{},
		now: cfg.Now, counts: map[Step]map[Result]uint64{},
		events: eventq.New(cfg.OnEvent, func(e *Event, n uint64) { e.Missed = n }, 0)}
	for _, a := range cfg.Actuators {
		r.actuators[a.Name()] = a
	}
	for s, d := range cfg.Timeouts {
		r.timeouts[s] = d
	}
	if r.now == nil {
		r.now = time.Now
	}
	return r
}

// Steps returns the ladder this runner can climb: redial (the session's own) and the steps it
// has actuators for, in ladder order. It is Config.Steps for NewLadder.
func (r *Runner) Steps() []Step {
	out := []Step{StepRedial}
	for _, s := range Order[1:] {
		if _, ok := r.actuators[s]; ok {
			out = append(out, s)
		}
	}
	return out
}

// Run runs step under its timeout and returns its event, which OnEvent also receives. A step
// cut by its timeout fails with ErrStepTimeout; one cut by ctx fails with ctx's error.
func (r *Runner) Run(ctx context.Context, step Step, attempt int) Event {
	start := r.now()
	ev := Event{Step: step, Attempt: attempt, Result: ResultOK}
	a, ok := r.actuators[step]
	var err error
	if !ok {
		err = fmt.Errorf("%w %s", ErrNoActuator, step)
	} else {
		timeout := r.timeouts[step]
		if timeout <= 0 {
			timeout = DefaultTimeout
		}
		sctx, cancel := context.WithTimeoutCause(ctx, timeout, fmt.Errorf("%w: %s after %v", ErrStepTimeout, step, timeout))
		err = a.Run(sctx)
		if err != nil && ctx.Err() == nil && sctx.Err() != nil && !errors.Is(err, ErrStepTimeout) {
			err = fmt.Errorf("%w: %w", context.Cause(sctx), err)
		}
		cancel()
	}
	if err != nil {
		ev.Result, ev.Err = ResultFailed, err
	}
	ev.Elapsed = r.now().Sub(start)
	r.mu.Lock()
	if r.counts[step] == nil {
		r.counts[step] = map[Result]uint64{}
	}
	r.counts[step][ev.Result]++
	r.mu.Unlock()
	r.events.Post(ev)
	return ev
}

// Flush waits, bounded by ctx, until OnEvent has taken the events of the steps run so far.
func (r *Runner) Flush(ctx context.Context) error { return r.events.Flush(ctx) }

// Count is how many runs of step ended with result: for a Prometheus counter with step and
// result labels.
func (r *Runner) Count(step Step, result Result) uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.counts[step][result]
}
