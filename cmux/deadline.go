package cmux

import (
	"sync"
	"time"
)

// deadline is a settable point in time that closes a channel when it passes: what a Read or
// Write of a Channel selects on while it waits for data or for flow control to resume.
type deadline struct {
	mu    sync.Mutex
	at    time.Time
	timer *time.Timer
	c     chan struct{} // closed when the deadline passes
}

func newDeadline() *deadline { return &deadline{c: make(chan struct{})} }

// set arms the deadline for t; the zero time disarms it.
func (d *deadline) set(t time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.timer != nil && !d.timer.Stop() {
		<-d.c // the timer fired and closed c: wait is over, start a fresh channel
	}
	d.timer = nil
	d.at = t
	closed := isClosed(d.c)
	if t.IsZero() {
		if closed {
			d.c = make(chan struct{})
		}
		return
	}
	if dur := time.Until(t); dur > 0 {
		if closed {
			d.c = make(chan struct{})
		}
		c := d.c
		d.timer = time.AfterFunc(dur, func() { close(c) })
		return
	}
	if !closed {
		close(d.c)
	}
}

// wait returns a channel closed once the deadline has passed.
func (d *deadline) wait() <-chan struct{} {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.c
}

func isClosed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}
