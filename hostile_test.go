package pppdial

// Fault-injection evidence for issue 6: a session on an emulated line that garbles, loses and
// stalls bytes, a carrier that drops calls, a port that vanishes, and the teardowns that must
// stay bounded when the peer or the port stops cooperating. Each test logs what it measured
// (detection latencies, redial times, FCS errors) with t.Logf.

import (
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pppdial/pppdial/at"
	"github.com/pppdial/pppdial/hdlc"
	"github.com/pppdial/pppdial/internal/serialline"
	"github.com/pppdial/pppdial/line"
	"github.com/pppdial/pppdial/modemsim"
	"github.com/pppdial/pppdial/modemsim/carrier"
	"github.com/pppdial/pppdial/ppp"
)

// carrierAddr is the carrier's own address: fetching from it skips the DNS lookup.
const carrierAddr = "10.64.64.1"

type fetchResult struct {
	sum [32]byte
	err error
	at  time.Time
}

// fetchAsync starts r.fetchFrom(carrierAddr, path) and returns where its result will come.
func (r *rig) fetchAsync(ctx context.Context, sess *Session, path string) <-chan fetchResult {
	out := make(chan fetchResult, 1)
	go func() {
		sum, err := r.fetchFrom(ctx, sess, carrierAddr, path)
		out <- fetchResult{sum, err, time.Now()}
	}()
	return out
}

// waitDelivered waits until the modem has sent at least n bytes to the host on the current
// line: a transfer is under way.
func (r *rig) waitDelivered(n uint64, within time.Duration) {
	r.t.Helper()
	_, line := r.ports()
	start := line.TxStats().BytesDelivered
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	if err := line.WaitTx(ctx, func(s serialline.Stats) bool { return s.BytesDelivered-start >= n }); err != nil {
		r.t.Fatalf("fewer than %d bytes crossed the line within %v", n, within)
	}
}

// setFaultsDrained is setFaults, returning once the bytes the modem had queued on the line
// before are delivered: from then on every byte the host reads was written under f.
func (r *rig) setFaultsDrained(f serialline.Faults, within time.Duration) {
	r.t.Helper()
	_, line := r.ports()
	r.setFaults(f)
	s0 := line.TxStats()
	queued := s0.BytesWritten - s0.BytesDropped
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	if err := line.WaitTx(ctx, func(s serialline.Stats) bool { return s.BytesDelivered >= queued }); err != nil {
		r.t.Fatalf("the bytes queued before the fault were not delivered within %v", within)
	}
}

// noEvent asserts that no event of kind is queued.
func (r *rig) noEvent(kind EventKind) {
	r.t.Helper()
	for {
		select {
		case e := <-r.events:
			assert.NotEqual(r.t, kind, e.Kind, "unexpected %s event: %v", kind, e.Err)
		default:
			return
		}
	}
}

// TestHostileBitErrors: bit errors at 1e-5, 1e-4 and 1e-3 during a TCP transfer. Every broken
// frame is caught by the FCS and counted, TCP repairs the loss, the data arrive intact, and the
// link stays up. At 1e-4 a 1500-byte frame breaks 70% of the time and TCP's exponential backoff
// stalls even a 64 KiB transfer for more than a minute, so that rate runs with a 296-byte MRU
// (as pppd users do on a noisy line: 21% of frames break). At 1e-3 nearly every frame breaks
// (all but 1 in 100000 at 1500 bytes, 67% even at the minimum MRU of 128; a 1 KiB TCP echo
// does not complete in 60 s), so the errors hit a 1 MiB transfer for a
// window of two seconds, and the transfer must complete intact once they stop.
func TestHostileBitErrors(t *testing.T) {
	t.Parallel()
	t.Run("1e-5", func(t *testing.T) {
		t.Parallel()
		r := newRig(t, modemsim.EC25(), serialline.Options{})
		sess := r.dial(r.config())
		r.setFaults(serialline.Faults{BitErrorRate: 1e-5})
		ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
		defer cancel()
		start := time.Now()
		sum, err := r.fetchFrom(ctx, sess, carrierAddr, "/big")
		require.NoError(t, err)
		assert.Equal(t, sha256.Sum256(bigPage), sum, "1 MiB intact")
		st := sess.Stats()
		host, line := r.ports()
		t.Logf("BER 1e-5, 1 MiB: %v; bits flipped down %d up %d; FCS errors %d, good frames %d",
			time.Since(start).Round(time.Millisecond), line.TxStats().BitsFlipped, host.TxStats().BitsFlipped,
			st.Link.Framing.FCSErrors, st.Link.Framing.FramesIn)
		// 8.4 Mbit at 1e-5: about 85 flipped bits; none at all has a probability of e^-84.
		assert.Positive(t, st.Link.Framing.FCSErrors, "broken frames are counted")
		assert.Equal(t, 1, st.Ups, "the link stayed up")
		r.noEvent(EventDown)
	})
	t.Run("1e-4", func(t *testing.T) {
		t.Parallel()
		r := newRig(t, modemsim.EC25(), serialline.Options{})
		r.setNetwork(carrier.Config{PPP: ppp.Config{MRU: 296}})
		cfg := r.config()
		cfg.PPP.MRU = 296
		sess := r.dial(cfg)
		require.Equal(t, 296, sess.Status().MTU, "296-byte frames both ways")
		r.setFaults(serialline.Faults{BitErrorRate: 1e-4})
		took := r.fetch256kIntact(sess)
		st := sess.Stats()
		host, line := r.ports()
		f := st.Link.Framing
		t.Logf("BER 1e-4, MRU 296, 256 KiB: %v; bits flipped down %d up %d; FCS errors %d, good frames %d (%.0f%% broken)",
			took.Round(time.Millisecond), line.TxStats().BitsFlipped, host.TxStats().BitsFlipped,
			f.FCSErrors, f.FramesIn, 100*float64(f.FCSErrors)/float64(f.FCSErrors+f.FramesIn))
		assert.Greater(t, f.FCSErrors, uint64(50), "about one frame in five breaks")
		assert.Equal(t, 1, st.Ups, "the link stayed up")
		r.noEvent(EventDown)
	})
	t.Run("1e-3", func(t *testing.T) {
		t.Parallel()
		// 3 Mbit/s: the 1 MiB transfer takes about 3.5 s, so the window falls inside it.
		r := newRig(t, modemsim.EC25(), serialline.Options{Baud: 3_000_000})
		sess := r.dial(r.config())
		ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
		defer cancel()
		start := time.Now()
		res := r.fetchAsync(ctx, sess, "/big")
		r.waitDelivered(64<<10, 10*time.Second)
		// The window counts from when the frames queued on the line before it are in: on a
		// loaded machine they are many, arrive intact and would count as the window's.
		r.setFaultsDrained(serialline.Faults{BitErrorRate: 1e-3}, 10*time.Second)
		before := sess.Stats().Link.Framing
		time.Sleep(2 * time.Second) // the fault's window: TCP's retransmissions run on the real clock
		r.setFaults(serialline.Faults{})
		window := frameDelta(sess.Stats().Link.Framing, before)
		cleared := time.Now()
		var got fetchResult
		select {
		case got = <-res:
		case <-time.After(50 * time.Second):
			t.Fatal("the transfer hangs")
		}
		require.NoError(t, got.err)
		assert.Equal(t, sha256.Sum256(bigPage), got.sum, "1 MiB intact")
		host, line := r.ports()
		t.Logf("BER 1e-3 for 2 s inside a 1 MiB transfer: %d frames broken, %d good in the window; done %v after the errors stopped (%v in all); bits flipped down %d up %d",
			window.FCSErrors, window.FramesIn, got.at.Sub(cleared).Round(time.Millisecond), got.at.Sub(start).Round(time.Millisecond),
			line.TxStats().BitsFlipped, host.TxStats().BitsFlipped)
		assert.Positive(t, window.FCSErrors, "broken frames are counted")
		assert.Greater(t, window.FCSErrors, window.FramesIn, "most frames break at 1e-3")
		assert.Equal(t, 1, sess.Stats().Ups, "the link stayed up")
		r.noEvent(EventDown)
	})
}

// frameDelta is what the framing counters gained since before.
func frameDelta(now, before hdlc.Stats) hdlc.Stats {
	return hdlc.Stats{FramesIn: now.FramesIn - before.FramesIn, FCSErrors: now.FCSErrors - before.FCSErrors}
}

// TestHostileLossBursts: whole frames lost at random, and bursts where the line swallows
// everything, during a 1 MiB transfer: TCP retransmits, the data arrive intact, the link stays
// up.
func TestHostileLossBursts(t *testing.T) {
	t.Parallel()
	t.Run("random", func(t *testing.T) {
		t.Parallel()
		r := newRig(t, modemsim.EC25(), serialline.Options{})
		sess := r.dial(r.config())
		// 10% of the writes in each direction are lost: a frame from the host (the link writes
		// frame by frame), up to 4 KiB of frames from the modem.
		r.setFaults(serialline.Faults{DropRate: 0.1})
		ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
		defer cancel()
		start := time.Now()
		sum, err := r.fetchFrom(ctx, sess, carrierAddr, "/big")
		require.NoError(t, err)
		assert.Equal(t, sha256.Sum256(bigPage), sum, "1 MiB intact")
		host, line := r.ports()
		t.Logf("10%% of writes lost, 1 MiB: %v; bytes dropped down %d up %d",
			time.Since(start).Round(time.Millisecond), line.TxStats().BytesDropped, host.TxStats().BytesDropped)
		assert.Positive(t, line.TxStats().BytesDropped)
		assert.Equal(t, 1, sess.Stats().Ups, "the link stayed up")
	})
	t.Run("bursts", func(t *testing.T) {
		t.Parallel()
		r := newRig(t, modemsim.EC25(), serialline.Options{Baud: 3_000_000})
		sess := r.dial(r.config())
		ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
		defer cancel()
		start := time.Now()
		res := r.fetchAsync(ctx, sess, "/big")
		r.waitDelivered(32<<10, 10*time.Second)
		// 300 ms of silence every 800 ms, in both directions, five times. The sleeps are the
		// bursts' windows: real time is the thing under test (TCP's timers run against them).
		for range 5 {
			r.setFaults(serialline.Faults{Blackhole: true})
			time.Sleep(300 * time.Millisecond)
			r.setFaults(serialline.Faults{})
			time.Sleep(500 * time.Millisecond)
		}
		var got fetchResult
		select {
		case got = <-res:
		case <-time.After(50 * time.Second):
			t.Fatal("the transfer hangs")
		}
		require.NoError(t, got.err)
		assert.Equal(t, sha256.Sum256(bigPage), got.sum, "1 MiB intact")
		host, line := r.ports()
		t.Logf("5 bursts of 300 ms loss, 1 MiB: %v; bytes dropped down %d up %d",
			got.at.Sub(start).Round(time.Millisecond), line.TxStats().BytesDropped, host.TxStats().BytesDropped)
		assert.Positive(t, line.TxStats().BytesDropped, "the bursts hit the transfer")
		assert.Equal(t, 1, sess.Stats().Ups, "the link stayed up")
	})
}

// stallDuration is how long TestHostileStallDetectedByEcho holds the line: 10 s, or in the
// nightly runs (PPPDIAL_CHAOS set) the 30 s.
func stallDuration() time.Duration {
	if nightly() {
		return 30 * time.Second
	}
	return 15 * time.Second // detection (4 s) and one whole attempt (wake and speed search, 6 s)
}

// TestHostileStallDetectedByEcho: the line stalls (nothing crosses in either direction, as
// when a modem's firmware hangs) in the middle of a transfer. The keepalive (1 s x 3)
// notices within interval x failures + one interval, the transfer fails with an error instead
// of hanging, the session keeps trying (each attempt bounded) while the stall lasts, and once
// the line moves again it redials and a new transfer works. The hang-up's wait for OK and the
// wake step are short (a modem answers in milliseconds), so that attempts end with their
// errors within a short stall too.
func TestHostileStallDetectedByEcho(t *testing.T) {
	t.Parallel()
	r := newRig(t, modemsim.EC25(), serialline.Options{Baud: 921600})
	cfg := r.config()
	cfg.Persist = true
	cfg.PPP.EchoInterval, cfg.PPP.EchoFailures = time.Second, 3
	cfg.Hangup.Answer = 500 * time.Millisecond
	// The modem is still in its call when the line moves again, its PPP peer quiet for
	// seconds at a time. The wake escapes it whether or not a frame falls into its window
	// (the AT after the multiplexer's close unanswered: see wakeHere), and finishes an escape
	// begun as its time runs out, so a short window does (issue 15: with frames as the only
	// cue, this test needed 3 s and still failed under load).
	cfg.Modem.Timeouts.Wake = 1500 * time.Millisecond
	sess := r.dial(cfg)

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	res := r.fetchAsync(ctx, sess, "/big") // 11 s at 921600 baud: still running when the line stalls
	r.waitDelivered(32<<10, 10*time.Second)
	stall := stallDuration()
	stalled := time.Now()
	r.setFaults(serialline.Faults{Stall: true})

	down := r.waitEvent(EventDown, 6*time.Second)
	detect := down.Time.Sub(stalled)
	assert.ErrorIs(t, down.Err, ppp.ErrPeerNotResponding)
	assert.Equal(t, CodeLinkLost, down.Code)
	assert.Less(t, detect, 4*time.Second+time.Second, "interval x failures + one interval, with scheduling slack")
	assert.False(t, sess.Netif().IsUp())
	select {
	case got := <-res:
		require.Error(t, got.err, "the transfer of the dead link fails")
		assert.False(t, errors.Is(got.err, context.DeadlineExceeded), "failed by the drop, not the test's deadline: %v", got.err)
		t.Logf("the transfer failed %v after the stall began: %v", got.at.Sub(stalled).Round(time.Millisecond), got.err)
	case <-time.After(10 * time.Second):
		t.Fatal("a socket of the stalled link hangs")
	}

	// The session keeps trying while the line is stalled: each attempt ends (wake timeout),
	// none hangs.
	errorsDuringStall := 0
	for until := time.After(time.Until(stalled.Add(stall))); ; {
		select {
		case e := <-r.events:
			if e.Kind == EventError {
				errorsDuringStall++
			}
			assert.NotEqual(t, EventUp, e.Kind, "up on a stalled line")
			continue
		case <-until:
		}
		break
	}
	cleared := time.Now()
	r.setFaults(serialline.Faults{})
	up := r.waitEvent(EventUp, 30*time.Second)
	t.Logf("stall %v: down after %v (%v); %d failed attempts during the stall; up %v after the line moved again",
		stall, detect.Round(time.Millisecond), down.Err, errorsDuringStall, up.Time.Sub(cleared).Round(time.Millisecond))
	assert.Positive(t, errorsDuringStall, "attempts on the stalled line end with an error, they do not hang")

	sum, err := r.fetchFrom(ctx, sess, carrierAddr, "/64k")
	require.NoError(t, err)
	assert.Equal(t, sha256.Sum256(bigPage[:64<<10]), sum)
}

// TestHostileCarrierDropMidTransfer: the network drops the call during a 1 MiB download. NO
// CARRIER in the data stream takes the link down within a second, the download fails with an
// error, the session redials, and a new transfer works on the new link.
func TestHostileCarrierDropMidTransfer(t *testing.T) {
	t.Parallel()
	r := newRig(t, modemsim.EC25(), serialline.Options{Baud: 3_000_000})
	cfg := r.config()
	cfg.Persist = true
	sess := r.dial(cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	res := r.fetchAsync(ctx, sess, "/big")
	r.waitDelivered(64<<10, 10*time.Second)

	dropped := time.Now()
	require.True(t, r.dropCarrier(), "a call was in progress")
	down := r.waitEvent(EventDown, 5*time.Second)
	assert.ErrorIs(t, down.Err, ErrCarrierLost)
	assert.Equal(t, CodeLinkLost, down.Code)
	assert.Less(t, down.Time.Sub(dropped), time.Second, "within one second of NO CARRIER")
	select {
	case got := <-res:
		require.Error(t, got.err, "the download of the dropped call fails")
		assert.False(t, errors.Is(got.err, context.DeadlineExceeded), "failed by the drop, not the deadline: %v", got.err)
	case <-time.After(10 * time.Second):
		t.Fatal("a socket of the dropped link hangs")
	}
	up := r.waitEvent(EventUp, 10*time.Second)
	t.Logf("carrier drop: down after %v, up again %v after the drop (holdoff %v)",
		down.Time.Sub(dropped).Round(time.Millisecond), up.Time.Sub(dropped).Round(time.Millisecond), cfg.Holdoff)

	sum, err := r.fetchFrom(ctx, sess, carrierAddr, "/256k")
	require.NoError(t, err)
	assert.Equal(t, sha256.Sum256(bigPage[:256<<10]), sum)
	assert.Equal(t, 2, r.modem.Stats().Dials)
	assert.Zero(t, r.modem.Stats().Hangups, "the modem hung up by itself: no ATH needed")
}

// TestHostileCarrierDropAfterTruncatedFrame: the call drops while the far end is half-way
// through a frame, so the modem's NO CARRIER comes after a partial frame rather than right
// after a closing flag. Without keepalive, that NO CARRIER is the only evidence the link has.
func TestHostileCarrierDropAfterTruncatedFrame(t *testing.T) {
	t.Parallel()
	r := newRig(t, modemsim.EC25(), serialline.Options{})
	cfg := r.config()
	cfg.Persist = true
	sess := r.dial(cfg)
	dropped := time.Now()
	require.True(t, r.dropCarrierMidFrame())
	e, ok := r.pollEvent(EventDown, 3*time.Second)
	require.True(t, ok, "a NO CARRIER after a frame cut short by the drop went unnoticed")
	assert.ErrorIs(t, e.Err, ErrCarrierLost)
	assert.Less(t, e.Time.Sub(dropped), time.Second)
	r.waitEvent(EventUp, 10*time.Second)
	assert.True(t, sess.Netif().IsUp(), "redialed")
}

// pollEvent is waitEvent without the failure: ok is false when no event of kind came within d.
func (r *rig) pollEvent(kind EventKind, within time.Duration) (Event, bool) {
	deadline := time.After(within)
	for {
		select {
		case e := <-r.events:
			if e.Kind == kind {
				return e, true
			}
		case <-deadline:
			return Event{}, false
		}
	}
}

// TestHostilePeerTerminatesMidTransfer: the operator's PPP server ends the session (LCP
// Terminate-Request) during a download: down with the peer's reason within a second, redial,
// a new transfer works.
func TestHostilePeerTerminatesMidTransfer(t *testing.T) {
	t.Parallel()
	r := newRig(t, modemsim.EC25(), serialline.Options{Baud: 3_000_000})
	cfg := r.config()
	cfg.Persist = true
	sess := r.dial(cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	res := r.fetchAsync(ctx, sess, "/big")
	r.waitDelivered(64<<10, 10*time.Second)

	terminated := time.Now()
	go r.network.Terminate(ctx)
	down := r.waitEvent(EventDown, 5*time.Second)
	assert.ErrorIs(t, down.Err, ppp.ErrPeerTerminated)
	assert.Less(t, down.Time.Sub(terminated), time.Second)
	select {
	case got := <-res:
		require.Error(t, got.err)
		assert.False(t, errors.Is(got.err, context.DeadlineExceeded), "failed by the end of the link, not the deadline: %v", got.err)
	case <-time.After(10 * time.Second):
		t.Fatal("a socket of the terminated link hangs")
	}
	up := r.waitEvent(EventUp, 10*time.Second)
	t.Logf("peer terminate: down after %v, up again %v later", down.Time.Sub(terminated).Round(time.Millisecond),
		up.Time.Sub(terminated).Round(time.Millisecond))
	sum, err := r.fetchFrom(ctx, sess, carrierAddr, "/256k")
	require.NoError(t, err)
	assert.Equal(t, sha256.Sum256(bigPage[:256<<10]), sum)
}

// TestHostilePortVanishesMidTransfer: the USB modem resets during a download: its port
// disappears (reads fail), stays away for a second and comes back as a freshly booted modem.
// The link goes down within a second, the download fails, the session waits for the port and
// dials again, and a new transfer works.
func TestHostilePortVanishesMidTransfer(t *testing.T) {
	t.Parallel()
	r := newRig(t, modemsim.EC25(), serialline.Options{Baud: 3_000_000})
	cfg := r.config()
	cfg.Persist = true
	sess := r.dial(cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	res := r.fetchAsync(ctx, sess, "/big")
	r.waitDelivered(64<<10, 10*time.Second)

	vanished := time.Now()
	r.vanish()
	down := r.waitEvent(EventDown, 5*time.Second)
	assert.Equal(t, CodeLinkLost, down.Code)
	assert.True(t, errors.Is(down.Err, io.EOF) || errors.Is(down.Err, ppp.ErrLowerDown), "the port's read failed: %v", down.Err)
	assert.Less(t, down.Time.Sub(vanished), time.Second)
	select {
	case got := <-res:
		require.Error(t, got.err)
		assert.False(t, errors.Is(got.err, context.DeadlineExceeded), "failed by the end of the link, not the deadline: %v", got.err)
	case <-time.After(10 * time.Second):
		t.Fatal("a socket of the vanished port's link hangs")
	}
	e := r.waitEvent(EventError, 5*time.Second)
	assert.ErrorIs(t, e.Err, ErrPort, "the port is missing while the modem reboots")
	e = r.waitEvent(EventError, 5*time.Second)
	assert.ErrorIs(t, e.Err, ErrPort, "the session keeps looking for the port while it is away")
	plugged := time.Now()
	r.plug()
	up := r.waitEvent(EventUp, 15*time.Second)
	r.mu.Lock()
	opens := r.opens
	r.mu.Unlock()
	t.Logf("port vanished: down after %v; %d opens; up %v after the port came back",
		down.Time.Sub(vanished).Round(time.Millisecond), opens, up.Time.Sub(plugged).Round(time.Millisecond))
	sum, err := r.fetchFrom(ctx, sess, carrierAddr, "/256k")
	require.NoError(t, err)
	assert.Equal(t, sha256.Sum256(bigPage[:256<<10]), sum)
}

// TestCancelDialStuckInRegistration: a modem that never finds a network keeps the dial in the
// registration step; cancelling the context ends Dial within a bounded time.
func TestCancelDialStuckInRegistration(t *testing.T) {
	t.Parallel()
	p := modemsim.EC25()
	p.RegistrationDelay = time.Hour
	r := newRig(t, p, serialline.Options{})
	cfg := r.config()
	cfg.Persist = true
	registering := make(chan struct{})
	var once atomic.Bool
	cfg.OnEvent = func(e Event) {
		if e.Kind == EventProgress && e.Step == string(at.StepRegister) && !e.Done && !once.Swap(true) {
			close(registering)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	type result struct {
		sess *Session
		err  error
	}
	done := make(chan result, 1)
	go func() {
		s, err := Dial(ctx, cfg)
		done <- result{s, err}
	}()
	select {
	case <-registering:
	case <-time.After(10 * time.Second):
		t.Fatal("the dial never reached registration")
	}
	// Cancel in the middle of the wait: once the dialer has polled the registration a few
	// times (+CREG?, +CGREG?, +CEREG?: some 11 bytes each).
	host, _ := r.ports()
	polled := host.TxStats().BytesWritten + 6*11
	wctx, wcancel := context.WithTimeout(context.Background(), 10*time.Second)
	require.NoError(t, host.WaitTx(wctx, func(s serialline.Stats) bool { return s.BytesWritten >= polled }), "the dialer polls the registration")
	wcancel()
	canceled := time.Now()
	cancel()
	select {
	case res := <-done:
		elapsed := time.Since(canceled)
		t.Logf("dial stuck in registration: returned %v after cancel: %v", elapsed.Round(time.Millisecond), res.err)
		require.Error(t, res.err)
		assert.Nil(t, res.sess)
		assert.ErrorIs(t, res.err, context.Canceled)
		assert.Equal(t, CodeCanceled, Code(res.err))
		assert.Less(t, elapsed, time.Second)
	case <-time.After(10 * time.Second):
		t.Fatal("Dial did not return after its context was cancelled")
	}
	assert.Zero(t, r.modem.Stats().Dials, "never dialed")
	_, err := r.reg.ByName("pp0")
	assert.Error(t, err, "the interface is removed")
}

// TestCancelPeerNeverAnswersLCP: behind CONNECT nothing answers (the modem swallows the bytes).
// Dial with a deadline ends in time, its internal Close included; and with short LCP timers and
// no deadline, LCP gives up by itself with a negotiation error.
func TestCancelPeerNeverAnswersLCP(t *testing.T) {
	t.Parallel()
	t.Run("deadline", func(t *testing.T) {
		t.Parallel()
		r := newRig(t, modemsim.EC25(), serialline.Options{})
		r.setData(modemsim.Discard)
		cfg := r.config()
		const deadline = 2 * time.Second
		ctx, cancel := context.WithTimeout(context.Background(), deadline)
		defer cancel()
		start := time.Now()
		sess, err := Dial(ctx, cfg)
		elapsed := time.Since(start)
		t.Logf("peer silent, Dial deadline %v: returned after %v: %v", deadline, elapsed.Round(time.Millisecond), err)
		require.Error(t, err)
		assert.Nil(t, sess)
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		// Dial gives its cleanup (LCP Terminate to a silent peer, hang-up) at most 5 s.
		assert.Less(t, elapsed, deadline+5*time.Second)
		assert.Equal(t, 1, r.modem.Stats().Dials)
		assert.Equal(t, 1, r.modem.Stats().Hangups, "the call was hung up")
	})
	t.Run("lcp-gives-up", func(t *testing.T) {
		t.Parallel()
		r := newRig(t, modemsim.EC25(), serialline.Options{})
		r.setData(modemsim.Discard)
		cfg := r.config()
		cfg.PPP.Restart, cfg.PPP.MaxConfigure = 200*time.Millisecond, 5
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		start := time.Now()
		_, err := Dial(ctx, cfg)
		elapsed := time.Since(start)
		t.Logf("peer silent, 5 x 200 ms Configure-Requests: Dial returned after %v: %v", elapsed.Round(time.Millisecond), err)
		require.Error(t, err)
		assert.ErrorIs(t, err, ppp.ErrNegotiation)
		assert.Equal(t, CodePPP, Code(err))
		assert.Less(t, elapsed, 5*time.Second)
	})
}

// TestCancelCloseWithoutTerminateAck: the line goes dead right before Close, so the
// Terminate-Ack never comes and the modem never answers the hang-up. Close ends within its
// deadline, and without one within the default teardown bound; the session's goroutines end
// shortly after.
func TestCancelCloseWithoutTerminateAck(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		deadline time.Duration // 0: context.Background()
		bound    time.Duration
	}{
		{"deadline", 2 * time.Second, 2*time.Second + 200*time.Millisecond},
		{"no-deadline", 0, defaultTeardown + time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := newRig(t, modemsim.EC25(), serialline.Options{})
			sess := r.dial(r.config())
			r.setFaults(serialline.Faults{Blackhole: true})
			ctx := context.Background()
			if tc.deadline > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tc.deadline)
				defer cancel()
			}
			start := time.Now()
			err := sess.Close(ctx)
			elapsed := time.Since(start)
			select {
			case <-sess.Done():
			case <-time.After(3 * time.Second):
				t.Fatal("the session's goroutines did not end after Close")
			}
			t.Logf("Close on a dead line (%s): returned after %v (%v), session done after %v",
				tc.name, elapsed.Round(time.Millisecond), err, time.Since(start).Round(time.Millisecond))
			assert.NoError(t, sess.Err(), "a closed session has no error")
			if tc.deadline == 0 {
				assert.NoError(t, err)
				// One teardown deadline for LCP and the hang-up together.
				assert.Less(t, elapsed, defaultTeardown+500*time.Millisecond)
			}
			assert.Less(t, elapsed, tc.bound)
		})
	}
}

// blockingPort is a serial port whose Write, once blocked, never returns until the test ends:
// a UART with hardware flow control whose modem has died. Like go.bug.st/serial, its Close
// ends a Read but not a blocked Write.
type blockingPort struct {
	*serialline.Port
	block   atomic.Bool
	blocked atomic.Int32 // writes stuck right now
	release chan struct{}
}

func (p *blockingPort) Write(b []byte) (int, error) {
	if p.block.Load() {
		p.blocked.Add(1)
		defer p.blocked.Add(-1)
		<-p.release
		return 0, errors.New("blockingPort: released")
	}
	return p.Port.Write(b)
}

// TestCancelCloseWithBlockedWrite: the port's Write blocks for good while the link is up. Close
// returns within its deadline, and the session ends (Done) without waiting for the Write.
func TestCancelCloseWithBlockedWrite(t *testing.T) {
	t.Parallel()
	r := newRig(t, modemsim.EC25(), serialline.Options{})
	var port *blockingPort
	release := make(chan struct{})
	cfg := r.config()
	cfg.Open = func(ctx context.Context) (line.Line, error) {
		rw, err := r.open(ctx)
		if err != nil {
			return nil, err
		}
		port = &blockingPort{Port: rw.(*serialline.Port), release: release}
		return port, nil
	}
	sess := r.dial(cfg)
	// Runs before the rig's cleanups (Close, unplug): the stuck Write returns at the end.
	t.Cleanup(func() { close(release) })

	port.block.Store(true)
	const deadline = 2 * time.Second
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	start := time.Now()
	err := sess.Close(ctx)
	elapsed := time.Since(start)
	t.Logf("Close with a blocked Write: returned after %v: %v; writes stuck: %d", elapsed.Round(time.Millisecond), err, port.blocked.Load())
	assert.Less(t, elapsed, deadline+200*time.Millisecond, "Close keeps its deadline")
	assert.Positive(t, port.blocked.Load(), "the test did block a Write")
	select {
	case <-sess.Done():
		t.Logf("session done %v after Close began", time.Since(start).Round(time.Millisecond))
	case <-time.After(5 * time.Second):
		t.Errorf("the session did not end while a Write stays blocked (done only when the Write returns)")
	}
}

// fetch256kIntact fetches /256k from the carrier's address (no DNS lookup to lose) within 45 s,
// checks that it arrived intact, and returns how long it took.
func (r *rig) fetch256kIntact(sess *Session) time.Duration {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	start := time.Now()
	sum, err := r.fetchFrom(ctx, sess, carrierAddr, "/256k")
	require.NoError(r.t, err)
	assert.Equal(r.t, sha256.Sum256(bigPage[:256<<10]), sum, "256 KiB intact")
	return time.Since(start)
}
