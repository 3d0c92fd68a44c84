package pppdial

import (
	"context"
	"crypto/sha256"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/pppdial/pppdial/cmux"
	"github.com/pppdial/pppdial/internal/serialline"
	"github.com/pppdial/pppdial/modemsim"
	"github.com/pppdial/pppdial/modemsim/carrier"
	"github.com/pppdial/pppdial/ppp"
)

// cmuxConfig is the rig's config with the multiplexer on. The monitor reads the AT channel
// every 200 ms of real time: the emulated line and the modem behind it run on real time, so
// virtual time would not move them.
func (r *rig) cmuxConfig() Config {
	cfg := r.config()
	cfg.CMUX = CMUXOn
	cfg.MonitorInterval = 200 * time.Millisecond
	return cfg
}

// muxStats returns the session's multiplexer counters; ok is false when none runs.
func muxStats(s *Session) (cmux.Stats, bool) {
	s.mu.Lock()
	ml := s.mux
	s.mu.Unlock()
	if ml == nil {
		return cmux.Stats{}, false
	}
	return ml.mux.Stats(), true
}

func TestSessionCMUXFetchSignalExecClose(t *testing.T) {
	t.Parallel()
	r := newRig(t, modemsim.SIM7600(), serialline.Options{Baud: 921600})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sess, err := Dial(ctx, r.cmuxConfig())
	require.NoError(t, err)
	assert.Equal(t, 1, r.modem.Stats().CMUXStarts)

	sum, err := r.fetch(ctx, sess, "/64k")
	require.NoError(t, err)
	assert.Equal(t, sha256.Sum256(bigPage[:64<<10]), sum)
	st, ok := muxStats(sess)
	require.True(t, ok, "the multiplexer runs")
	assert.Greater(t, st.Channels[pppDLC].BytesIn, uint64(64<<10), "the page came on DLC 2")

	sig := r.waitEvent(EventSignal, 5*time.Second)
	require.NotNil(t, sig.Signal)
	require.NotNil(t, sig.Signal.RSSIdBm)
	assert.Equal(t, -113.0+2*20, *sig.Signal.RSSIdBm, "SIM7600's +CSQ: 20")
	_, when := sess.Signal()
	assert.False(t, when.IsZero())

	info, err := sess.Exec(ctx, "+CSQ", 2*time.Second)
	require.NoError(t, err)
	assert.Equal(t, "+CSQ: 20,99", info[len(info)-1])
	assert.True(t, sess.Netif().IsUp(), "the link is still up")

	start := time.Now()
	cctx, ccancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer ccancel()
	require.NoError(t, sess.Close(cctx))
	assert.Less(t, time.Since(start), 3*time.Second, "LCP terminate and the multiplexer's close")
	require.Eventually(t, func() bool { return r.modem.Stats().CMUXEnds == 1 }, 2*time.Second, 10*time.Millisecond,
		"the modem is back in AT mode")
	assert.Zero(t, r.modem.Stats().Hangups, "no escape and ATH: DISC ends the call")
}

// TestSessionCMUXBitErrors: bit errors at 1e-4 on the muxed line. A UIH frame's FCS covers
// its header only (27.010 5.2.1.6): a hurt address, control or length is caught there, counted
// and the frame dropped; a hurt payload byte is caught by PPP's FCS. TCP repairs the loss and
// the data arrive intact. As in TestHostileBitErrors the MRU is 296 (a 1500-byte frame breaks
// 70% of the time at this rate and TCP's backoff stalls).
func TestSessionCMUXBitErrors(t *testing.T) {
	t.Parallel()
	r := newRig(t, modemsim.EC25(), serialline.Options{Baud: 921600})
	r.setNetwork(carrier.Config{PPP: ppp.Config{MRU: 296}})
	cfg := r.cmuxConfig()
	cfg.PPP.MRU = 296
	sess := r.dial(cfg)
	r.setFaults(serialline.Faults{BitErrorRate: 1e-4})
	took := r.fetch256kIntact(sess)
	st, ok := muxStats(sess)
	require.True(t, ok)
	f := sess.Stats().Link.Framing
	host, line := r.ports()
	t.Logf("BER 1e-4 on CMUX N1 127, MRU 296, 256 KiB: %v; bits flipped down %d up %d; 27.010 decoder %+v; PPP FCS errors %d",
		took.Round(time.Millisecond), line.TxStats().BitsFlipped, host.TxStats().BitsFlipped, st.Decoder, f.FCSErrors)
	// About 2300 frames come in, each with 48 header and FCS bits: some 11 bad FCS expected;
	// none at all has a probability of e^-11.
	assert.Positive(t, st.Decoder.BadFCS, "frames with a hurt header are caught by the 27.010 FCS")
	assert.Positive(t, f.FCSErrors, "frames with a hurt payload are caught by PPP's FCS")
	assert.Equal(t, 1, sess.Stats().Ups, "the link stayed up")
	r.setFaults(serialline.Faults{})
}

// TestSessionCMUXModemClosesDataChannel: the modem's DISC on DLC 2 mid-transfer ends the link
// with ErrChannelClosed as the reason; with Persist the session rebuilds the multiplexer,
// redials and carries a transfer again. Nothing leaks.
func TestSessionCMUXModemClosesDataChannel(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	r := newRig(t, modemsim.SIM800(), serialline.Options{Baud: 921600})
	cfg := r.cmuxConfig()
	cfg.Persist = true
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	sess, err := Dial(ctx, cfg)
	require.NoError(t, err)

	fetched := make(chan error, 1)
	go func() {
		_, err := r.fetch(ctx, sess, "/big")
		fetched <- err
	}()
	require.Eventually(t, func() bool {
		st, ok := muxStats(sess)
		return ok && st.Channels[pppDLC].BytesIn > 32<<10
	}, 10*time.Second, 5*time.Millisecond, "the transfer runs")
	require.NoError(t, r.modem.CloseChannel(pppDLC))

	down := r.waitEvent(EventDown, 5*time.Second)
	require.ErrorIs(t, down.Err, cmux.ErrChannelClosed)
	assert.Contains(t, down.Err.Error(), "DLC 2")
	assert.Error(t, <-fetched, "the transfer broke with the link")
	r.waitEvent(EventUp, 20*time.Second)
	assert.GreaterOrEqual(t, r.modem.Stats().CMUXStarts, 2, "the multiplexer was rebuilt")
	sum, err := r.fetch(ctx, sess, "/64k")
	require.NoError(t, err)
	assert.Equal(t, sha256.Sum256(bigPage[:64<<10]), sum)

	cctx, ccancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer ccancel()
	require.NoError(t, sess.Close(cctx))
	r.unplug()
	goleak.VerifyNone(t, leakOptions(ignore)...)
}
