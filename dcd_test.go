package pppdial

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pppdial/pppdial/internal/serialline"
	"github.com/pppdial/pppdial/line"
	"github.com/pppdial/pppdial/modemsim"
)

// dcdLine is an emulated serial line with modem control; the test drives its DCD wire.
type dcdLine struct {
	*serialline.Port
	dcd atomic.Bool
}

func (l *dcdLine) CarrierDetect() (bool, error) { return l.dcd.Load(), nil }
func (l *dcdLine) SetDTR(bool) error            { return nil }

func TestSessionNoticesDCDDrop(t *testing.T) {
	r := newRig(t, modemsim.EC25(), serialline.Options{})
	r.mu.Lock()
	dl := &dcdLine{Port: r.host}
	r.mu.Unlock()
	dl.dcd.Store(true)
	cfg := r.config()
	cfg.Open = func(context.Context) (line.Line, error) { return dl, nil }
	sess := r.dial(cfg)
	require.True(t, sess.Netif().IsUp())

	start := time.Now()
	dl.dcd.Store(false) // the modem lost the call; no NO CARRIER text this time
	down := r.waitEvent(EventDown, 3*time.Second)
	assert.Less(t, time.Since(start), time.Second, "noticed within a second")
	assert.ErrorIs(t, down.Err, ErrDCDLost)
	assert.ErrorIs(t, down.Err, ErrCarrierLost)
	assert.Equal(t, CodeLinkLost, down.Code)
}
