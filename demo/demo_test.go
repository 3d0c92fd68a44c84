package demo

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/pppdial/pppdial"
	"github.com/pppdial/pppdial/modemsim/carrier"
)

func TestRunFetchesPageOverLink(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	// No lock: the events come one at a time, and Run returns once the last was taken.
	var kinds []pppdial.EventKind
	res, err := Run(ctx, Options{OnEvent: func(e pppdial.Event) {
		kinds = append(kinds, e.Kind)
	}})
	require.NoError(t, err)
	assert.Equal(t, carrier.DefaultPage, res.Body)
	assert.Equal(t, "pp0", res.Ifname)
	assert.Equal(t, "10.64.64.2", res.Status.Local.String())
	assert.Equal(t, "10.64.64.1", res.Status.Peer.String())
	assert.Equal(t, "Vodafone", res.Info.Operator)
	assert.Positive(t, res.Stats.Netif.PacketsIn)
	assert.Contains(t, kinds, pppdial.EventProgress)
	assert.Contains(t, kinds, pppdial.EventUp)
	require.NotEmpty(t, kinds)
	assert.Equal(t, pppdial.EventDown, kinds[len(kinds)-1], "the link's end was reported before Run returned")
}
