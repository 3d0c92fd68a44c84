package pppdial

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pppdial/pppdial/at"
	"github.com/pppdial/pppdial/internal/serialline"
	"github.com/pppdial/pppdial/modemsim"
	"github.com/pppdial/pppdial/netif"
)

// eventLog is an observer that holds every event until release is closed, then keeps them.
type eventLog struct {
	release chan struct{}
	mu      sync.Mutex
	events  []Event
}

func (l *eventLog) observe(e Event) {
	<-l.release
	l.mu.Lock()
	l.events = append(l.events, e)
	l.mu.Unlock()
}

func (l *eventLog) snapshot() []Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Event(nil), l.events...)
}

// whenUp closes release once the rig's interface is up, as the registry (not the session's
// events) reports it.
func whenUp(t *testing.T, reg *netif.Registry, release chan struct{}) {
	var once sync.Once
	sub := reg.Subscribe(func(e netif.Event) {
		if e.Kind == netif.EventUp {
			once.Do(func() { close(release) })
		}
	})
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = sub.Close(ctx)
	})
}

// TestSessionEventsOneStream: the session's observer is stuck on its first event until the
// link is up, which it comes up regardless; Dial returns once the observer has taken the up
// event, Close once it has taken the down event. In between, the dialer's events and the
// session's own come as one stream, in order: the dialer's steps in pairs, a URC among them,
// then the link's phases, up; at the end down.
func TestSessionEventsOneStream(t *testing.T) {
	t.Parallel()
	p := modemsim.EC25()
	p.URCsInAnswers = []string{"RING"} // slipped into the dialer's status queries
	r := newRig(t, p, serialline.Options{Baud: 921600})
	log := &eventLog{release: make(chan struct{})}
	whenUp(t, r.reg, log.release)
	cfg := r.config()
	cfg.OnEvent = log.observe
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sess, err := Dial(ctx, cfg)
	require.NoError(t, err)

	got := log.snapshot()
	require.NotEmpty(t, got)
	assert.Equal(t, EventUp, got[len(got)-1].Kind, "the up event was taken before Dial returned")
	var open []string
	var steps int
	var urcs []string
	sawPhase := false
	for i, e := range got {
		assert.Zero(t, e.Missed, "event %d", i)
		assert.Equal(t, "pp0", e.Ifname, "event %d", i)
		switch e.Kind {
		case EventProgress:
			assert.False(t, sawPhase, "event %d: a dialer step after PPP started", i)
			assert.Equal(t, 1, e.Attempt, "event %d", i)
			if !e.Done {
				open = append(open, e.Step)
				continue
			}
			require.NotEmpty(t, open, "event %d: %s ends before it started", i, e.Step)
			assert.Equal(t, open[len(open)-1], e.Step, "event %d", i)
			open = open[:len(open)-1]
			steps++
		case EventURC:
			assert.Equal(t, 1, e.Attempt)
			urcs = append(urcs, e.Detail)
		case EventPhase:
			sawPhase = true
		}
	}
	assert.Empty(t, open, "every step that started ended")
	assert.GreaterOrEqual(t, steps, 10, "wake to dial")
	assert.Contains(t, urcs, "RING", "the dialer's URCs are the session's")
	assert.True(t, sawPhase)

	closeCtx, cancelClose := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancelClose()
	require.NoError(t, sess.Close(closeCtx))
	got = log.snapshot()
	assert.Equal(t, EventDown, got[len(got)-1].Kind, "the down event was taken before Close returned")
}

// TestSessionStuckObserverKeepsCloseDeadline: an observer that stops taking events once the
// link is up holds up neither the link's teardown nor Close's deadline.
func TestSessionStuckObserverKeepsCloseDeadline(t *testing.T) {
	t.Parallel()
	r := newRig(t, modemsim.EC25(), serialline.Options{Baud: 921600})
	stuck := make(chan struct{})
	defer close(stuck)
	cfg := r.config()
	var up atomic.Bool
	cfg.OnEvent = func(e Event) {
		if up.Load() {
			<-stuck
		}
		if e.Kind == EventUp {
			up.Store(true)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sess, err := Dial(ctx, cfg)
	require.NoError(t, err)

	const deadline = 1500 * time.Millisecond
	closeCtx, cancelClose := context.WithTimeout(context.Background(), deadline)
	defer cancelClose()
	start := time.Now()
	err = sess.Close(closeCtx)
	elapsed := time.Since(start)
	assert.Less(t, elapsed, deadline+500*time.Millisecond, "Close keeps its deadline: %v", err)
	select {
	case <-sess.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the session did not end with its observer stuck")
	}
	assert.Equal(t, 1, r.modem.Stats().Hangups, "the modem was hung up while the observer was stuck")
	_, err = r.reg.ByName("pp0")
	assert.Error(t, err, "the interface is removed")
}

// TestSessionPassesOnTheDialersEvents: a dialer's event becomes the session's, with the
// attempt and the interface, and what the dialer's queue dropped before it (Missed) is kept.
func TestSessionPassesOnTheDialersEvents(t *testing.T) {
	var got []Event // the observer's alone until the queue is closed
	reg := netif.NewRegistry()
	s := &Session{events: newEventQueue(func(e Event) { got = append(got, e) })}
	nif, err := reg.AddPPP(&s.dev, netif.Options{})
	require.NoError(t, err)
	defer reg.Remove(nif)
	s.nif = nif
	s.atEvent(at.Event{Kind: at.EventProgress, Step: at.StepSIM, Done: true, Detail: "ready", Missed: 3}, 2)
	s.atEvent(at.Event{Kind: at.EventURC, Line: "RING"}, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.NoError(t, s.events.Close(ctx))
	require.Len(t, got, 2)
	assert.Equal(t, Event{Time: got[0].Time, Kind: EventProgress, Ifname: "pp0", Attempt: 2, Step: "sim", Done: true,
		Detail: "ready", Missed: 3}, got[0])
	assert.Equal(t, Event{Time: got[1].Time, Kind: EventURC, Ifname: "pp0", Attempt: 2, Detail: "RING"}, got[1])
}
