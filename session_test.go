package pppdial

import (
	"context"
	"crypto/sha256"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/pppdial/pppdial/at"
	"github.com/pppdial/pppdial/at/transcript"
	"github.com/pppdial/pppdial/internal/serialline"
	"github.com/pppdial/pppdial/modemsim"
	"github.com/pppdial/pppdial/modemsim/carrier"
	"github.com/pppdial/pppdial/netif"
	"github.com/pppdial/pppdial/ppp"
)

func TestMain(m *testing.M) {
	// Most of these tests wait on the real clock (keepalives, guard times, TCP's timers over an
	// emulated line) far more than they compute: unless -parallel says otherwise, four run at
	// once, whatever the number of cores.
	flag.Parse()
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == "test.parallel" })
	if !set {
		_ = flag.Set("test.parallel", "4")
	}
	goleak.VerifyTestMain(m,
		// The HTTP client's idle connections over the link are closed by their own timers.
		goleak.IgnoreTopFunction("net/http.(*persistConn).readLoop"),
		goleak.IgnoreTopFunction("net/http.(*persistConn).writeLoop"),
	)
}

func TestSessionUpFetchAndBoundedClose(t *testing.T) {
	t.Parallel()
	r := newRig(t, modemsim.EC25(), serialline.Options{Baud: 921600})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sess, err := Dial(ctx, r.config())
	require.NoError(t, err)
	assert.Equal(t, "pp0", sess.Netif().Name())
	assert.True(t, sess.Netif().IsUp())
	assert.Equal(t, "Telekom.de", sess.ModemInfo().Operator)

	sum, err := r.fetch(ctx, sess, "/")
	require.NoError(t, err)
	assert.Equal(t, sha256.Sum256([]byte("hello from the pppdial carrier network\n")), sum)

	start := time.Now()
	closeCtx, cancelClose := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancelClose()
	require.NoError(t, sess.Close(closeCtx))
	assert.Less(t, time.Since(start), 3*time.Second, "LCP terminate + hang-up")
	assert.NoError(t, sess.Err(), "a closed session has no error")
	assert.Equal(t, 1, r.modem.Stats().Hangups, "the modem was hung up with ATH")
	_, err = r.reg.ByName("pp0")
	assert.Error(t, err, "the interface is removed on close")
}

func TestSessionLinkLostWithoutPersist(t *testing.T) {
	t.Parallel()
	p := modemsim.SIM7600()
	p.CarrierDropAfter = 500 * time.Millisecond
	r := newRig(t, p, serialline.Options{})
	sess := r.dial(r.config())
	select {
	case <-sess.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the session did not end after the carrier dropped")
	}
	err := sess.Err()
	require.ErrorIs(t, err, ErrLinkLost)
	assert.ErrorIs(t, err, ErrCarrierLost, "NO CARRIER in the data stream is the reason")
	assert.Equal(t, CodeLinkLost, Code(err))
	down := r.waitEvent(EventDown, time.Second)
	assert.ErrorIs(t, down.Err, at.ErrNoCarrier)
}

func TestSessionRedialsAfterCarrierDrop(t *testing.T) {
	t.Parallel()
	p := modemsim.EC25()
	p.CarrierDropAfter = 1500 * time.Millisecond
	r := newRig(t, p, serialline.Options{})
	cfg := r.config()
	cfg.Persist = true
	sess := r.dial(cfg)
	first := sess.Status()

	down := r.waitEvent(EventDown, 10*time.Second)
	assert.ErrorIs(t, down.Err, ErrCarrierLost)
	assert.Equal(t, CodeLinkLost, down.Code)
	r.waitEvent(EventUp, 10*time.Second)
	assert.Equal(t, first.Local, sess.Status().Local)

	// A transfer on the new link works.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := r.fetch(ctx, sess, "/")
	require.NoError(t, err)
	assert.GreaterOrEqual(t, r.modem.Stats().Dials, 2)
	assert.Zero(t, r.modem.Stats().PINAttempts, "a redial needs no PIN")
}

func TestSessionPeerTerminates(t *testing.T) {
	t.Parallel()
	p := modemsim.BG96()
	p.RegistrationDelay = 0
	r := newRig(t, p, serialline.Options{})
	cfg := r.config()
	cfg.Persist = true
	sess := r.dial(cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	r.network.Terminate(ctx)
	down := r.waitEvent(EventDown, 5*time.Second)
	assert.ErrorIs(t, down.Err, ppp.ErrPeerTerminated)
	r.waitEvent(EventUp, 10*time.Second)
	assert.True(t, sess.Netif().IsUp())
}

func TestSessionNoCarrierOnFirstDials(t *testing.T) {
	t.Parallel()
	p := modemsim.SARAR4()
	p.NoCarrierDials = 2
	r := newRig(t, p, serialline.Options{})
	cfg := r.config()
	cfg.Persist = true
	r.dial(cfg)
	for i := 0; i < 2; i++ {
		e := r.waitEvent(EventError, time.Second)
		assert.ErrorIs(t, e.Err, at.ErrNoCarrier)
		assert.Equal(t, CodeDial, e.Code)
	}
	assert.Equal(t, 3, r.modem.Stats().Dials)
}

func TestSessionMaxFail(t *testing.T) {
	t.Parallel()
	p := modemsim.SIM800()
	p.BusyDials = 10
	r := newRig(t, p, serialline.Options{})
	cfg := r.config()
	cfg.Persist, cfg.MaxFail = true, 3
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, err := Dial(ctx, cfg)
	require.ErrorIs(t, err, ErrMaxFail)
	assert.ErrorIs(t, err, at.ErrBusy)
	assert.Equal(t, CodeDial, Code(err))
	assert.Equal(t, 3, r.modem.Stats().Dials)
}

func TestSessionWrongPINIsNeverRetried(t *testing.T) {
	t.Parallel()
	p := modemsim.SIM7600()
	p.PIN = "1234"
	r := newRig(t, p, serialline.Options{})
	cfg := r.config()
	cfg.Persist = true
	cfg.Modem.PIN = "0000"
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, err := Dial(ctx, cfg)
	require.ErrorIs(t, err, at.ErrWrongPIN)
	assert.Equal(t, CodeSIM, Code(err))
	assert.Equal(t, 1, r.modem.Stats().PINAttempts, "a rejected PIN burns an attempt: never twice")
}

func TestSessionEchoDetectsDeadLine(t *testing.T) {
	t.Parallel()
	r := newRig(t, modemsim.EC25(), serialline.Options{})
	cfg := r.config()
	cfg.PPP.EchoInterval, cfg.PPP.EchoFailures = 200*time.Millisecond, 3
	// The hang-up on the dead line waits for answers that never come: not what is under test.
	cfg.Hangup.Answer = 300 * time.Millisecond
	sess := r.dial(cfg)
	r.mu.Lock()
	host, line := r.host, r.line
	r.mu.Unlock()
	start := time.Now()
	host.SetFaults(serialline.Faults{Blackhole: true})
	line.SetFaults(serialline.Faults{Blackhole: true})
	down := r.waitEvent(EventDown, 5*time.Second)
	elapsed := time.Since(start)
	assert.ErrorIs(t, down.Err, ppp.ErrPeerNotResponding)
	select {
	case <-sess.Done(): // after the hang-up attempt on the dead line, bounded
	case <-time.After(10 * time.Second):
		t.Fatal("the session did not end")
	}
	assert.ErrorIs(t, sess.Err(), ppp.ErrPeerNotResponding)
	// interval x failures + one interval, and scheduling slack for a loaded machine.
	assert.Less(t, elapsed, 200*time.Millisecond*4+time.Second)
}

func TestSessionPortVanishesAndReturns(t *testing.T) {
	t.Parallel()
	r := newRig(t, modemsim.EC25(), serialline.Options{})
	cfg := r.config()
	cfg.Persist = true
	sess := r.dial(cfg)

	r.vanish()
	down := r.waitEvent(EventDown, 5*time.Second)
	assert.Equal(t, CodeLinkLost, down.Code)
	assert.False(t, sess.Netif().IsUp())
	// The port stays away for a few attempts, then comes back.
	r.waitEvent(EventError, 5*time.Second)
	r.waitEvent(EventError, 5*time.Second)
	r.plug()
	r.waitEvent(EventUp, 10*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := r.fetch(ctx, sess, "/")
	require.NoError(t, err)
}

func TestSessionSocketsFromBeforeRedialFail(t *testing.T) {
	t.Parallel()
	p := modemsim.EC25()
	p.CarrierDropAfter = 2 * time.Second
	r := newRig(t, p, serialline.Options{Baud: 115200})
	cfg := r.config()
	cfg.Persist = true
	sess := r.dial(cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	// A 1 MiB download at 115200 baud takes about 90 s: it is still running when the carrier
	// drops, and must fail with an error instead of hanging.
	errc := make(chan error, 1)
	go func() {
		_, err := r.fetch(ctx, sess, "/big")
		errc <- err
	}()
	select {
	case err := <-errc:
		require.Error(t, err)
		assert.False(t, errors.Is(err, context.DeadlineExceeded), "failed by the drop, not the test's deadline: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("a socket of the dropped link hangs")
	}
	// Sockets opened after the redial work.
	r.waitEvent(EventDown, 5*time.Second)
	r.waitEvent(EventUp, 10*time.Second)
	_, err := r.fetch(ctx, sess, "/")
	require.NoError(t, err)
}

func TestBackoff(t *testing.T) {
	t.Parallel()
	holdoff, maxWait := time.Second, 10*time.Second
	for failures, want := range map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 3: 4 * time.Second, 4: 8 * time.Second, 5: 10 * time.Second, 9: 10 * time.Second} {
		for range 20 {
			got := backoff(holdoff, maxWait, failures)
			assert.InDelta(t, float64(want), float64(got), 0.2*float64(want), "failures=%d", failures)
		}
	}
}

func TestSessionWaitsForThePortPathToAppear(t *testing.T) {
	t.Parallel()
	network := carrier.New(carrier.Config{})
	p := modemsim.EC25()
	p.GuardTime = testGuard
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pty, err := modemsim.ServePTY(ctx, modemsim.New(p, network.DataFunc()))
	require.NoError(t, err)
	defer pty.Close()

	// A /dev/serial/by-id link that appears only once the modem has (re)enumerated.
	byID := filepath.Join(t.TempDir(), "usb-Quectel_EC25-if03-port0")
	time.AfterFunc(700*time.Millisecond, func() { _ = os.Symlink(pty.Path, byID) })
	events := make(chan Event, 256)
	dialCtx, cancelDial := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancelDial()
	sess, err := Dial(dialCtx, Config{
		Port: byID, Persist: true, Registry: netif.NewRegistry(),
		Modem: at.Config{Guard: testGuard},
		OnEvent: func(e Event) {
			select {
			case events <- e:
			default:
			}
		},
	})
	require.NoError(t, err)
	defer func() {
		closeCtx, cancelClose := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancelClose()
		require.NoError(t, sess.Close(closeCtx))
	}()
	assert.True(t, sess.Netif().IsUp())
	first := <-events
	assert.Equal(t, EventProgress, first.Kind)
	assert.Equal(t, "port", first.Step)
	assert.Contains(t, first.Detail, "waiting for "+byID)
}

// The MRU asked for is the smallest of Config.MTU, PPP.MRU and the modem's figure, each
// ignored when zero.
func TestPPPConfigMTU(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		mtu, mru, modem, want int
	}{
		{0, 0, 0, 0},
		{1280, 0, 0, 1280},
		{0, 1400, 0, 1400},
		{1280, 1400, 0, 1280},
		{1400, 1280, 0, 1280},
		{0, 0, 1430, 1430},
		{1280, 0, 1430, 1280},
		{1500, 0, 1358, 1358},
	} {
		c := Config{MTU: tc.mtu, PPP: ppp.Config{MRU: tc.mru, Username: "u"}}
		got := c.pppConfig(tc.modem)
		assert.Equal(t, tc.want, got.MRU, "MTU %d, MRU %d, modem %d", tc.mtu, tc.mru, tc.modem)
		assert.Equal(t, "u", got.Username, "the rest of PPP is kept")
	}
}

// TestSessionRecordReplays: what Config.Record writes for a dial with Modem.Init commands and a
// PIN replays against the dialer (it did not when the recorder and the replay each had their
// own idea of the config header).
func TestSessionRecordReplays(t *testing.T) {
	t.Parallel()
	p := modemsim.SIM7600()
	p.PIN = "4321"
	r := newRig(t, p, serialline.Options{})
	cfg := r.config()
	cfg.Modem.PIN = "4321"
	cfg.Modem.Init = []string{"+CFUN=1", "&D2", `+CGDCONT=2,"IP","other apn"`}
	f, err := os.Create(filepath.Join(t.TempDir(), "dial.txt"))
	require.NoError(t, err)
	defer f.Close()
	cfg.Record = f // written through event by event
	sess := r.dial(cfg)
	require.True(t, sess.Netif().IsUp())

	raw, err := os.ReadFile(f.Name())
	require.NoError(t, err)
	text := string(raw)
	assert.NotContains(t, text, "4321", "the PIN never reaches the recording")
	tr, err := transcript.Parse(strings.NewReader(text))
	require.NoError(t, err)
	assert.Equal(t, "ok", tr.Get("expect"))
	rep, err := at.Replay(context.Background(), tr, at.ReplayOptions{})
	require.NoError(t, err, "the recording replays:\n%s", text)
	assert.Equal(t, "ok", rep.Outcome)
	assert.NotEmpty(t, rep.Data, "the peer's first PPP bytes are in the recording")
}
