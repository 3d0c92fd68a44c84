package demo

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/pppdial/pppdial"
	"github.com/pppdial/pppdial/at"
	"github.com/pppdial/pppdial/modemsim/carrier"
)

// TestChainFetchesPageOverLink runs the chain step by step (Run, their sum, is ExampleRun):
// Start leaves the link up, Fetch gets the page over it without taking it down, and only Close
// does, so that a caller can report the fetch before the link goes down.
func TestChainFetchesPageOverLink(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	// The events come on a goroutine of their own: Start returns once up was taken, Close once
	// the last (down) was.
	var mu sync.Mutex
	var kinds []pppdial.EventKind
	details := map[string]string{}
	c, err := Start(ctx, Options{OnEvent: func(e pppdial.Event) {
		mu.Lock()
		defer mu.Unlock()
		kinds = append(kinds, e.Kind)
		if e.Kind == pppdial.EventProgress && e.Done {
			details[e.Step] = e.Detail
		}
	}})
	require.NoError(t, err)
	res, err := c.Fetch(ctx)
	require.NoError(t, err)
	assert.Equal(t, carrier.DefaultPage, res.Body)
	assert.Equal(t, "pp0", res.Ifname)
	assert.Equal(t, "10.64.64.2", res.Status.Local.String())
	assert.Equal(t, "10.64.64.1", res.Status.Peer.String())
	assert.Equal(t, "Vodafone", res.Info.Operator)
	assert.Positive(t, res.Stats.Netif.PacketsIn)
	mu.Lock()
	assert.Contains(t, kinds, pppdial.EventProgress)
	assert.Contains(t, kinds, pppdial.EventUp)
	assert.NotContains(t, kinds, pppdial.EventDown, "the link is still up after Fetch")
	assert.Equal(t, "ATE0: OK", details[string(at.StepEchoOff)], "the echo-off step says what the modem answered")
	mu.Unlock()

	// A fetch whose context has ended fails at once, naming the link, and leaves it up.
	done, stop := context.WithCancel(ctx)
	stop()
	_, err = c.Fetch(done)
	require.ErrorIs(t, err, context.Canceled)
	assert.Contains(t, err.Error(), "demo: fetch over pp0")

	require.NoError(t, c.Close(ctx))
	mu.Lock()
	defer mu.Unlock()
	require.NotEmpty(t, kinds)
	assert.Equal(t, pppdial.EventDown, kinds[len(kinds)-1], "Close takes the link down, and returns once that was reported")
}
