package pppdial

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pppdial/pppdial/internal/serialline"
	"github.com/pppdial/pppdial/line"
	"github.com/pppdial/pppdial/modemsim"
)

func TestSessionNoticesDCDDrop(t *testing.T) {
	t.Parallel()
	r := newRig(t, modemsim.EC25(), serialline.Options{})
	r.mu.Lock()
	dl := serialline.WithModemLines(r.host)
	r.mu.Unlock()
	cfg := r.config()
	cfg.Open = func(context.Context) (line.Line, error) { return dl, nil }
	sess := r.dial(cfg)
	require.True(t, sess.Netif().IsUp())

	start := time.Now()
	dl.SetDCD(false) // the modem lost the call; no NO CARRIER text this time
	down := r.waitEvent(EventDown, 3*time.Second)
	assert.Less(t, time.Since(start), time.Second, "noticed within a second")
	assert.ErrorIs(t, down.Err, ErrDCDLost)
	assert.ErrorIs(t, down.Err, ErrCarrierLost)
	assert.Equal(t, CodeLinkLost, down.Code)
}
