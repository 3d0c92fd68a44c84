// Package eventq delivers one layer's events to its observer: in order, on a goroutine of
// their own so that a slow observer never blocks the link, and never dropped silently. When
// the observer falls more than the queue's depth behind, the newest events are dropped and
// counted, and the next event it receives after the gap carries the count (each layer's Event type has a
// Missed field for it).
//
// Every layer of pppdial (the session, at, ppp, netif) takes its observer the same way, as an
// OnEvent func in its config, and feeds it through a Queue.
package eventq

import (
	"context"
	"sync"
)

// DefaultDepth is the number of undelivered events a Queue holds before it drops.
const DefaultDepth = 1024

// Queue is an ordered, non-blocking event queue in front of one observer.
type Queue[E any] struct {
	fn        func(E)
	setMissed func(*E, uint64)
	depth     int

	mu        sync.Mutex
	buf       []E
	missed    uint64 // dropped since the last accepted event
	dropped   uint64 // dropped in all
	posted    uint64 // events accepted into buf
	delivered uint64 // events the observer returned from
	running   bool   // a delivery goroutine is draining buf
	closed    bool
	idle      *sync.Cond // broadcast when delivered advances or running stops
}

// New returns a Queue that delivers to fn; fn nil makes Post a no-op. setMissed records, on the
// event about to be delivered, how many were dropped before it. depth <= 0 means DefaultDepth.
func New[E any](fn func(E), setMissed func(*E, uint64), depth int) *Queue[E] {
	if depth <= 0 {
		depth = DefaultDepth
	}
	q := &Queue[E]{fn: fn, setMissed: setMissed, depth: depth}
	q.idle = sync.NewCond(&q.mu)
	return q
}

// Post queues e for the observer and returns at once. If the observer is depth events behind,
// e is dropped and counted. After Close, Post drops silently: there is no observer any more.
func (q *Queue[E]) Post(e E) {
	if q == nil || q.fn == nil {
		return
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return
	}
	if len(q.buf) >= q.depth {
		q.missed++
		q.dropped++
		return
	}
	if q.missed > 0 && q.setMissed != nil {
		// The drops happened between the queued events and this one: this is where the
		// observer's view has its gap.
		q.setMissed(&e, q.missed)
	}
	q.missed = 0
	q.buf = append(q.buf, e)
	q.posted++
	if !q.running {
		q.running = true
		go q.deliver()
	}
}

// deliver runs while there is something to deliver; a Queue at rest holds no goroutine, so a
// layer that forgets to Close leaks nothing.
func (q *Queue[E]) deliver() {
	q.mu.Lock()
	for len(q.buf) > 0 {
		e := q.buf[0]
		var zero E
		q.buf[0] = zero
		q.buf = q.buf[1:]
		q.mu.Unlock()
		q.fn(e)
		q.mu.Lock()
		q.delivered++
		q.idle.Broadcast()
	}
	q.buf = nil
	q.running = false
	q.idle.Broadcast()
	q.mu.Unlock()
}

// Flush waits until every event posted before the call has been delivered (the observer
// returned from it), or ctx ends.
func (q *Queue[E]) Flush(ctx context.Context) error {
	if q == nil || q.fn == nil {
		return nil
	}
	q.mu.Lock()
	target := q.posted
	q.mu.Unlock()
	return q.waitFor(ctx, func() bool { return q.delivered >= target })
}

// Close stops accepting events and waits, bounded by ctx, until those already queued are
// delivered. It is safe to call more than once.
func (q *Queue[E]) Close(ctx context.Context) error {
	if q == nil || q.fn == nil {
		return nil
	}
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	return q.waitFor(ctx, func() bool { return !q.running })
}

// Dropped is how many events the queue has dropped because the observer was too slow.
func (q *Queue[E]) Dropped() uint64 {
	if q == nil {
		return 0
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.dropped
}

func (q *Queue[E]) waitFor(ctx context.Context, done func() bool) error {
	// sync.Cond cannot select on ctx: a helper goroutine wakes the waiter when ctx ends.
	stop := context.AfterFunc(ctx, func() {
		q.mu.Lock()
		q.idle.Broadcast()
		q.mu.Unlock()
	})
	defer stop()
	q.mu.Lock()
	defer q.mu.Unlock()
	for !done() {
		if err := ctx.Err(); err != nil {
			return err
		}
		q.idle.Wait()
	}
	return nil
}
