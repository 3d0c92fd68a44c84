package at_test

import (
	"context"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pppdial/pppdial/at"
	"github.com/pppdial/pppdial/internal/serialline"
	"github.com/pppdial/pppdial/modemsim"
)

// TestRegistrationPollsRestWithURCsInAnswers: a modem that slips a registration URC into its
// answers while it searches is polled once per PollInterval, not as fast as it answers: a URC
// that came during a poll does not end the pause that follows (virtual clock).
func TestRegistrationPollsRestWithURCsInAnswers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := modemsim.SIM7600()
		p.GuardTime = 50 * time.Millisecond
		p.RegistrationDelay = 3 * time.Second
		p.URCsInAnswers = []string{"+CREG: {stat}", "+CGREG: {stat}"}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		// Without the pause the virtual clock stands still and the dial never ends: the modem
		// ends it after far more polls than the search needs, so the failure is a message.
		polls := &pollCounter{limit: 100, over: cancel}
		host, modemEnd := serialline.Pipe(serialline.Options{})
		m := modemsim.New(p, modemsim.Discard)
		m.Logger = slog.New(polls)
		port := at.NewPort(host)
		mctx, stop := context.WithCancel(context.Background())
		served := make(chan struct{})
		go func() { defer close(served); _ = m.Serve(mctx, modemEnd) }()
		defer func() { _ = port.Close(); stop(); <-served }()

		start := time.Now()
		var registerStart time.Time
		_, err := at.Dial(ctx, port, at.Config{
			APN: "internet", Guard: 50 * time.Millisecond, PollInterval: 100 * time.Millisecond,
			OnEvent: func(p at.Event) {
				if p.Kind == at.EventProgress && p.Step == at.StepRegister && !p.Done {
					registerStart = p.Time // delivery comes later than the step: its own time
				}
			},
		})
		n := int(polls.n.Load())
		require.NoError(t, err, "%d polls", n)
		require.False(t, registerStart.IsZero())
		searched := 3*time.Second - registerStart.Sub(start)
		assert.LessOrEqual(t, n, int(searched/(100*time.Millisecond))+2,
			"one round of polls per PollInterval while the modem searched for %v", searched)
		assert.GreaterOrEqual(t, n, 2, "the modem was searching at the first poll")
	})
}

// pollCounter is a slog.Handler for the modem's debug log that counts the AT+CREG? it
// receives and calls over once they pass limit.
type pollCounter struct {
	n     atomic.Int64
	limit int64
	over  func()
}

func (c *pollCounter) Enabled(context.Context, slog.Level) bool { return true }
func (c *pollCounter) WithAttrs([]slog.Attr) slog.Handler       { return c }
func (c *pollCounter) WithGroup(string) slog.Handler            { return c }
func (c *pollCounter) Handle(_ context.Context, r slog.Record) error {
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "cmd" && strings.HasPrefix(a.Value.String(), "AT+CREG?") && c.n.Add(1) > c.limit {
			c.over()
		}
		return true
	})
	return nil
}
