package pppdial

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pppdial/pppdial/at"
	"github.com/pppdial/pppdial/internal/serialline"
	"github.com/pppdial/pppdial/modemsim"
)

// TestSessionRedialOnRequest: Redial drops a running link and dials again at once, without
// Persist and without counting a failure: the down event says why (CodeRequested), the redial
// waits nothing, and the link comes up again on a fresh call.
func TestSessionRedialOnRequest(t *testing.T) {
	t.Parallel()
	r := newRig(t, modemsim.EC25(), serialline.Options{})
	cfg := r.config()
	cfg.Holdoff, cfg.MaxBackoff = time.Hour, time.Hour // a wait the request must not take
	sess := r.dial(cfg)
	r.waitEvent(EventUp, time.Second)

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.NoError(t, sess.Redial(ctx))
	down := r.waitEvent(EventDown, 10*time.Second)
	assert.ErrorIs(t, down.Err, ErrRedialRequested)
	assert.Equal(t, CodeRequested, down.Code)
	redial := r.waitEvent(EventRedial, 5*time.Second)
	assert.Zero(t, redial.Delay)
	r.waitEvent(EventUp, 15*time.Second)
	assert.Nil(t, sess.Err(), "the session goes on without Persist")
	assert.Equal(t, 2, r.modem.Stats().Dials)
	assert.Equal(t, 2, sess.Stats().Ups)

	// After Close a request is refused at once.
	cctx, ccancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer ccancel()
	require.NoError(t, sess.Close(cctx))
	assert.ErrorIs(t, sess.Redial(cctx), os.ErrClosed)
}

// TestSessionEchoEventsAndIdentity: every answered keepalive is an echo event with its round
// trip, and the identity the dialer read (Modem.Identity) is the session's ModemInfo.
func TestSessionEchoEventsAndIdentity(t *testing.T) {
	t.Parallel()
	p := modemsim.EC25()
	p.ICCID = "89001012345678901234"
	r := newRig(t, p, serialline.Options{})
	cfg := r.config()
	cfg.Modem.Identity = true
	cfg.PPP.EchoInterval = 200 * time.Millisecond
	sess := r.dial(cfg)
	for range 3 {
		e := r.waitEvent(EventEcho, 5*time.Second)
		assert.Positive(t, e.RTT)
		assert.Less(t, e.RTT, 2*time.Second)
		assert.Equal(t, "pp0", e.Ifname)
	}
	assert.GreaterOrEqual(t, sess.Stats().Link.EchoReplies, uint64(3))
	assert.Equal(t, at.Identity{Manufacturer: "Quectel", Model: "EC25", Revision: "EC25EFAR06A06M4G",
		IMEI: "867698040123456", ICCID: "89001012345678901234"}, sess.ModemInfo().Identity)
}
