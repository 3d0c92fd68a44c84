package pppdial

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pppdial/pppdial/internal/serialline"
	"github.com/pppdial/pppdial/line"
	"github.com/pppdial/pppdial/modemsim"
	"github.com/pppdial/pppdial/ppp"
)

// TestSessionReopensAFailedPort: when the port itself fails, the persistent session closes it,
// opens it again and brings the link back up: when the line is closed under the link or
// between two dials (reads fail with net.ErrClosed, as a serial server's TCP connection's do),
// and when a write is stuck in it for good (hardware flow control held by a dead modem). The
// chaos run caught a session that kept redialing on a closed line without reopening it.
func TestSessionReopensAFailedPort(t *testing.T) {
	t.Parallel()
	t.Run("closed under the link", func(t *testing.T) {
		t.Parallel()
		r := newRig(t, modemsim.EC25(), serialline.Options{})
		cfg := r.config()
		cfg.Persist = true
		sess := r.dial(cfg)
		host, _ := r.ports()
		require.NoError(t, host.Close())
		down := r.waitEvent(EventDown, 5*time.Second)
		assert.ErrorIs(t, down.Err, net.ErrClosed)
		r.waitEvent(EventUp, 15*time.Second)
		assert.True(t, sess.Netif().IsUp())
		r.mu.Lock()
		opens := r.opens
		r.mu.Unlock()
		assert.Equal(t, 2, opens, "the port was opened again")
	})
	t.Run("closed between dials", func(t *testing.T) {
		t.Parallel()
		r := newRig(t, modemsim.EC25(), serialline.Options{})
		cfg := r.config()
		cfg.Persist = true
		cfg.Holdoff, cfg.MaxBackoff = 300*time.Millisecond, 300*time.Millisecond
		sess := r.dial(cfg)
		require.True(t, r.dropCarrier())
		r.waitEvent(EventRedial, 5*time.Second)
		host, _ := r.ports()
		require.NoError(t, host.Close()) // during the holdoff: the next dial finds it closed
		e := r.waitEvent(EventError, 5*time.Second)
		assert.ErrorIs(t, e.Err, net.ErrClosed)
		r.waitEvent(EventUp, 15*time.Second)
		assert.True(t, sess.Netif().IsUp())
		r.mu.Lock()
		opens := r.opens
		r.mu.Unlock()
		assert.Equal(t, 2, opens, "the port was opened again")
	})
	t.Run("stuck in a write", func(t *testing.T) {
		t.Parallel()
		r := newRig(t, modemsim.EC25(), serialline.Options{})
		cfg := r.config()
		cfg.Persist = true
		cfg.PPP.EchoInterval, cfg.PPP.EchoFailures = 200*time.Millisecond, 3
		cfg.Hangup.Answer = 300 * time.Millisecond
		release := make(chan struct{})
		var first *blockingPort
		cfg.Open = func(ctx context.Context) (line.Line, error) {
			rw, err := r.open(ctx)
			if err != nil {
				return nil, err
			}
			p := &blockingPort{Port: rw.(*serialline.Port), release: release}
			if first == nil {
				first = p
			}
			return p, nil
		}
		sess := r.dial(cfg)
		// Runs before the rig's cleanups (Close, unplug): the stuck Write returns at the end.
		t.Cleanup(func() { close(release) })
		first.block.Store(true)
		down := r.waitEvent(EventDown, 5*time.Second)
		assert.ErrorIs(t, down.Err, ppp.ErrPeerNotResponding, "the keepalive's requests cannot leave")
		r.waitEvent(EventUp, 15*time.Second)
		assert.True(t, sess.Netif().IsUp())
		assert.True(t, first.Closed(), "the stuck port was given up")
		assert.Positive(t, first.blocked.Load(), "a write is still stuck in it")
	})
}
