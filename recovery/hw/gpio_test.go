package hw

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pppdial/pppdial/recovery"
)

// fakeLine records every level change with the (virtual) time since the test started.
type fakeLine struct {
	mu     sync.Mutex
	start  time.Time
	log    []string
	closed bool
}

func (l *fakeLine) SetValue(v int) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.log = append(l.log, time.Since(l.start).String()+"="+map[int]string{0: "off", 1: "on"}[v])
	return nil
}

func (l *fakeLine) Close() error { l.closed = true; return nil }

func (l *fakeLine) events() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.log...)
}

func fakeOpener(l *fakeLine, want Pin, t *testing.T) Opener {
	return func(p Pin) (Line, error) {
		assert.Equal(t, want, p)
		return l, nil
	}
}

func TestParsePin(t *testing.T) {
	for in, want := range map[string]Pin{
		"gpiochip0:17":      {Chip: "gpiochip0", Offset: 17},
		"/dev/gpiochip2:5":  {Chip: "/dev/gpiochip2", Offset: 5},
		"1:0":               {Chip: "gpiochip1", Offset: 0},
		"pinctrl-bcm2711:4": {Chip: "pinctrl-bcm2711", Offset: 4},
	} {
		got, err := ParsePin(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	for _, bad := range []string{"", "gpiochip0", "gpiochip0:", ":17", "gpiochip0:x", "gpiochip0:-1", "gpiochip0:99999", "a b:1"} {
		_, err := ParsePin(bad)
		assert.Error(t, err, bad)
	}
	assert.Equal(t, "gpiochip0:17", Pin{Chip: "gpiochip0", Offset: 17}.String())
}

func TestResetGPIO(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		pin := Pin{Chip: "gpiochip0", Offset: 17, ActiveLow: true}
		l := &fakeLine{start: time.Now()}
		after := false
		r := &ResetGPIO{Pin: pin, Width: 200 * time.Millisecond, Open: fakeOpener(l, pin, t),
			After: func(context.Context) error { after = true; return nil }}
		var _ recovery.Actuator = r
		require.NoError(t, r.Run(context.Background()))
		assert.Equal(t, []string{"0s=on", "200ms=off"}, l.events())
		assert.True(t, l.closed)
		assert.True(t, after)
	})
}

// Cancelled mid-pulse, the reset line is released at once.
func TestResetGPIOCancelled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := &fakeLine{start: time.Now()}
		r := &ResetGPIO{Pin: Pin{Chip: "c", Offset: 1}, Width: time.Second, Open: func(Pin) (Line, error) { return l, nil }}
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		err := r.Run(ctx)
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Equal(t, []string{"0s=on", "300ms=off"}, l.events())
	})
}

func TestOpenFails(t *testing.T) {
	busy := errors.New("device or resource busy")
	r := &ResetGPIO{Open: func(Pin) (Line, error) { return nil, busy }}
	assert.ErrorIs(t, r.Run(context.Background()), busy)
	k := &PowerKey{Open: func(Pin) (Line, error) { return nil, busy }}
	assert.ErrorIs(t, k.Run(context.Background()), busy)
}

// powerKey returns a PowerKey on a fake line whose power-down report arrives downAfter the off
// pulse ends (never when downAfter is 0).
func powerKey(l *fakeLine, downAfter time.Duration) *PowerKey {
	return &PowerKey{Pin: Pin{Chip: "gpiochip0", Offset: 4}, OffPulse: 2500 * time.Millisecond, OnPulse: 500 * time.Millisecond,
		DownTimeout: 30 * time.Second, Grace: time.Second,
		Open: func(Pin) (Line, error) { return l, nil },
		ArmPoweredDown: func() <-chan struct{} {
			ch := make(chan struct{})
			if downAfter > 0 {
				time.AfterFunc(2500*time.Millisecond+downAfter, func() { close(ch) })
			}
			return ch
		}}
}

func TestPowerKey(t *testing.T) {
	cases := []struct {
		name      string
		downAfter time.Duration // 0: never reported
		cancelAt  time.Duration // 0: not cancelled
		wantErr   error
		want      []string
	}{
		{"reported power-down", 5 * time.Second, 0, nil,
			[]string{"0s=on", "2.5s=off", "7.5s=on", "8s=off"}},
		{"no report: on after the timeout", 0, 0, ErrNotPoweredDown,
			[]string{"0s=on", "2.5s=off", "32.5s=on", "33s=off"}},
		{"cancelled in the off pulse: the pulse completes, then power comes back", 5 * time.Second, time.Second, context.Canceled,
			[]string{"0s=on", "2.5s=off", "3.5s=on", "4s=off"}},
		{"cancelled while waiting: the on pulse within the grace", 20 * time.Second, 4 * time.Second, context.Canceled,
			[]string{"0s=on", "2.5s=off", "5s=on", "5.5s=off"}},
		{"cancelled while waiting, report within the grace", 2 * time.Second, 4 * time.Second, context.Canceled,
			[]string{"0s=on", "2.5s=off", "4.5s=on", "5s=off"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				l := &fakeLine{start: time.Now()}
				k := powerKey(l, c.downAfter)
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				if c.cancelAt > 0 {
					time.AfterFunc(c.cancelAt, cancel)
				}
				err := k.Run(ctx)
				if c.wantErr == nil {
					assert.NoError(t, err)
				} else {
					assert.ErrorIs(t, err, c.wantErr)
				}
				assert.Equal(t, c.want, l.events())
				assert.True(t, l.closed)
			})
		})
	}
}

// Cancelled before it starts, the step touches nothing: the modem is still on.
func TestPowerKeyCancelledBeforeStart(t *testing.T) {
	l := &fakeLine{start: time.Now()}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	assert.ErrorIs(t, powerKey(l, time.Second).Run(ctx), context.Canceled)
	assert.Empty(t, l.events())
}

func TestPowerSwitchCancelledWhileOff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := &fakeLine{start: time.Now()}
		s := &PowerSwitch{Pin: Pin{Chip: "c", Offset: 2}, Off: 5 * time.Second, Open: func(Pin) (Line, error) { return l, nil }}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		assert.ErrorIs(t, s.Run(ctx), context.DeadlineExceeded)
		assert.Equal(t, []string{"0s=on", "1s=off"}, l.events(), "power back at once")
		l2 := &fakeLine{start: time.Now()}
		s.Open = func(Pin) (Line, error) { return l2, nil }
		require.NoError(t, s.Run(context.Background()))
		assert.Equal(t, []string{"0s=on", "5s=off"}, l2.events())
	})
}
