package at

import (
	"context"
	"time"

	"github.com/pppdial/pppdial/internal/eventq"
)

// EventKind says what an Event reports.
type EventKind string

// The kinds of Event.
const (
	// EventProgress: a step of Dial or Prepare started (Done false) or finished (Done true,
	// with Elapsed, Detail and Err).
	EventProgress EventKind = "progress"
	// EventURC: the modem sent an unsolicited result code (Line) while Dial or Prepare ran.
	EventURC EventKind = "urc"
)

// Event is something that happened while Dial or Prepare ran: a step starting or finishing, or
// an unsolicited result code. Config.OnEvent receives them.
type Event struct {
	Time    time.Time
	Kind    EventKind
	Step    Step          // EventProgress: the step
	Done    bool          // EventProgress: the step finished
	Elapsed time.Duration // EventProgress, Done: how long the step took
	Detail  string        // EventProgress, Done: what the step found ("-71 dBm")
	Err     error         // EventProgress, Done: why the step failed; nil when it succeeded
	Line    string        // EventURC: the line as the modem sent it
	// Missed is how many events were dropped right before this one because OnEvent fell too
	// far behind (more than a thousand events); 0 when none were.
	Missed uint64
}

// eventDrain bounds how long Dial and Prepare wait, before they return, for OnEvent to take the
// events they produced: an observer that blocks does not hold the caller up for longer.
const eventDrain = 5 * time.Second

// newEvents returns the queue that feeds fn (nil: no observer) the events of one Dial or Prepare.
func newEvents(fn func(Event)) *eventq.Queue[Event] {
	return eventq.New(fn, func(e *Event, n uint64) { e.Missed = n }, 0)
}

// drainEvents closes q and waits, bounded by eventDrain even when ctx has ended, until its
// observer has taken every event: the caller's last step report arrives before it returns.
func drainEvents(ctx context.Context, q *eventq.Queue[Event]) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), eventDrain)
	defer cancel()
	_ = q.Close(ctx)
}
