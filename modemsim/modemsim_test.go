package modemsim_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/pppdial/pppdial/at"
	"github.com/pppdial/pppdial/internal/serialline"
	"github.com/pppdial/pppdial/line"
	"github.com/pppdial/pppdial/modemsim"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// guard is the escape guard time used on both sides in tests.
const guard = 20 * time.Millisecond

// lcpConfReq is a valid HDLC-framed LCP Configure-Request (ACCM 0, magic, PFC, ACFC), what a
// modem's PPP server sends first.
var lcpConfReq = []byte("~\xff}#\xc0!}!}!} }4}\"}&} } } } }%}&}=:\\\x81}'}\"}(}\"}3?~")

// greeter is a DataFunc that sends an LCP Configure-Request first, then echoes.
func greeter(ctx context.Context, data line.Line) error {
	if _, err := data.Write(lcpConfReq); err != nil {
		return err
	}
	return modemsim.Loopback(ctx, data)
}

// fast makes a profile quick for tests: short guard, no boot delay unless set later.
func fast(p modemsim.Profile) modemsim.Profile {
	p.GuardTime = guard
	p.RegistrationDelay = 0
	return p
}

// cfg is a dialer config with short timeouts.
func cfg() at.Config {
	return at.Config{
		APN: "internet", Guard: guard, PollInterval: 20 * time.Millisecond,
		Timeouts: at.Timeouts{Wake: 3 * time.Second, WakeRetry: 150 * time.Millisecond, Command: time.Second,
			SIM: 2 * time.Second, Register: 2 * time.Second, Dial: 2 * time.Second},
	}
}

// rig is a modem served in-process on one end of a serial line; the dialer gets the other.
type rig struct {
	m    *modemsim.Modem
	port *at.Port
	line *serialline.Port
}

func newRig(t *testing.T, p modemsim.Profile, data modemsim.DataFunc) *rig {
	t.Helper()
	host, dev := serialline.Pipe(serialline.Options{})
	m := modemsim.New(p, data)
	port := at.NewPort(host)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Serve(ctx, dev) }()
	t.Cleanup(func() {
		cancel()
		err := <-done
		assert.True(t, err == nil || errors.Is(err, context.Canceled), "Serve: %v", err)
		port.Close()
		dev.Close()
	})
	return &rig{m: m, port: port, line: host}
}

func (r *rig) dial(t *testing.T, c at.Config) (*at.Session, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	return at.Dial(ctx, r.port, c)
}

// readN reads exactly n bytes from r within d.
func readN(t *testing.T, r io.Reader, n int, d time.Duration) []byte {
	t.Helper()
	got := make(chan []byte, 1)
	go func() {
		b := make([]byte, n)
		k, _ := io.ReadFull(r, b)
		got <- b[:k]
	}()
	select {
	case b := <-got:
		return b
	case <-time.After(d):
		t.Fatalf("no %d bytes within %v", n, d)
		return nil
	}
}

// TestFamiliesDial dials every family's profile and checks what the dialer learned and that the
// first bytes of the data phase are the modem's LCP frame, untouched.
func TestFamiliesDial(t *testing.T) {
	for name, p := range modemsim.Profiles() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				r := newRig(t, fast(p), greeter)
				c := cfg()
				urcsOf := collectURCs(&c)
				s, err := r.dial(t, c)
				require.NoError(t, err)
				assert.Equal(t, p.Operator, s.Info.Operator)
				assert.Equal(t, at.AccessTechName(p.AcT), s.Info.AccessTech)
				assert.Equal(t, -113+2*p.RSSI, s.Info.Signal.DBm)
				assert.Equal(t, p.ConnectText, s.Info.Connect)
				assert.Equal(t, lcpConfReq, readN(t, s.Data(), len(lcpConfReq), 2*time.Second))
				// The data phase is a clean pipe both ways.
				_, err = s.Data().Write([]byte("ping"))
				require.NoError(t, err)
				assert.Equal(t, []byte("ping"), readN(t, s.Data(), 4, 2*time.Second))
				urcs := urcsOf()
				for _, b := range p.Banner {
					if !strings.HasPrefix(b, "+CPIN") {
						assert.Contains(t, urcs, b, "banner URCs reach subscribers")
					}
				}
			})
		})
	}
}

func TestEchoOffByDefault(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := fast(modemsim.SIM7600())
		p.Echo = false
		r := newRig(t, p, greeter)
		_, err := r.dial(t, cfg())
		require.NoError(t, err)
	})
}

func TestBootDelayWake(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := fast(modemsim.EC25())
		p.BootDelay = 400 * time.Millisecond
		r := newRig(t, p, greeter)
		var wake at.Event
		c := cfg()
		c.OnEvent = func(pr at.Event) {
			if pr.Kind == at.EventProgress && pr.Step == at.StepWake && pr.Done {
				wake = pr
			}
		}
		_, err := r.dial(t, c)
		require.NoError(t, err)
		assert.GreaterOrEqual(t, wake.Elapsed, 300*time.Millisecond)
		// AT sent to a deaf modem is not executed: the modem runs the one that woke it, and the one
		// the dialer sends to confirm it is in step with the answers after an AT that timed out.
		assert.Equal(t, 2, count(r.m.Commands(), "AT"), "AT sent to a deaf modem is not executed")
	})
}

func count(cmds []string, want string) int {
	n := 0
	for _, c := range cmds {
		if c == want {
			n++
		}
	}
	return n
}

// TestURCsInsideAnswers: a +CREG URC with the command's own prefix between echo and answer, while
// the modem registers, must not be taken as the answer.
func TestURCsInsideAnswers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := fast(modemsim.SIM7600())
		// Long enough that the registration step starts while the modem still searches, even when
		// the wake had to confirm its answers after a slow first AT.
		p.RegistrationDelay = 800 * time.Millisecond
		p.URCsInAnswers = []string{"+CREG: {stat}", "+CGREG: {stat}", "RING"}
		r := newRig(t, p, greeter)
		c := cfg()
		urcsOf := collectURCs(&c)
		s, err := r.dial(t, c)
		require.NoError(t, err)
		assert.Equal(t, at.RegHome, s.Info.Registration)
		urcs := urcsOf()
		assert.Contains(t, urcs, "+CREG: 2", "the searching URC went to subscribers")
		assert.Contains(t, urcs, "RING")
	})
}

func TestSlowRegistration(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := fast(modemsim.BG96())
		// Longer than the steps before registration take, even with a wake that confirms its
		// answers: the registration step must find the modem still searching.
		p.RegistrationDelay = time.Second
		r := newRig(t, p, greeter)
		var detail string
		c := cfg()
		c.OnEvent = func(pr at.Event) {
			if pr.Kind == at.EventProgress && pr.Step == at.StepRegister && pr.Done {
				detail = pr.Detail
			}
		}
		s, err := r.dial(t, c)
		require.NoError(t, err)
		assert.Greater(t, count(r.m.Commands(), "AT+CEREG?"), 1, "polled more than once")
		assert.Contains(t, detail, "home")
		assert.Equal(t, "LTE-M", s.Info.AccessTech)
	})
}

func TestRegistrationTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := fast(modemsim.BG96())
		p.RegistrationDelay = time.Hour
		r := newRig(t, p, greeter)
		c := cfg()
		c.Timeouts.Register = 300 * time.Millisecond
		_, err := r.dial(t, c)
		require.ErrorIs(t, err, at.ErrRegistrationTimeout)
		var se *at.StepError
		require.ErrorAs(t, err, &se)
		assert.Equal(t, at.StepRegister, se.Step)
	})
}

func TestRegistrationURCEndsWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := fast(modemsim.EC25())
		p.RegistrationDelay = 300 * time.Millisecond
		r := newRig(t, p, greeter)
		c := cfg()
		c.Init = []string{"+CREG=1", "+CEREG=1"}
		c.PollInterval = 10 * time.Second // only a URC can end the wait in time
		start := time.Now()
		_, err := r.dial(t, c)
		require.NoError(t, err)
		assert.Less(t, time.Since(start), 3*time.Second)
	})
}

func TestPIN(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := fast(modemsim.SIM7600())
		p.PIN = "4321"
		r := newRig(t, p, greeter)
		c := cfg()
		c.PIN = "4321"
		var logs lockedBuf
		c.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		_, err := r.dial(t, c)
		require.NoError(t, err)
		assert.Equal(t, 1, r.m.Stats().PINAttempts)
		assert.Contains(t, r.m.Commands(), `AT+CPIN="4321"`, "the modem got the PIN")
		assert.Contains(t, logs.String(), `AT+CPIN=\"****\"`, "the log shows the command, redacted")
		assert.NotContains(t, logs.String(), "4321", "the PIN never reaches the log, not even in the echo")
	})
}

type lockedBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestPINRequiredButNotConfigured(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := fast(modemsim.EC25())
		p.PIN = "4321"
		r := newRig(t, p, greeter)
		_, err := r.dial(t, cfg())
		require.ErrorIs(t, err, at.ErrSIMPINRequired)
		assert.Zero(t, r.m.Stats().PINAttempts)
	})
}

func TestWrongPINNeverRetried(t *testing.T) {
	for _, plain := range []bool{false, true} {
		t.Run(map[bool]string{false: "cme16", true: "plain-error"}[plain], func(t *testing.T) {
			p := fast(modemsim.EC25())
			p.PIN = "4321"
			p.WrongPINPlainError = plain
			r := newRig(t, p, greeter)
			c := cfg()
			c.PIN = "1111"
			_, err := r.dial(t, c)
			require.ErrorIs(t, err, at.ErrWrongPIN)
			assert.NotContains(t, err.Error(), "1111", "the PIN never shows in errors")
			if !plain {
				var cme *at.CMEError
				require.ErrorAs(t, err, &cme)
				assert.Equal(t, at.CMEIncorrectPassword, cme.Code)
			}
			assert.Equal(t, 1, r.m.Stats().PINAttempts, "a rejected PIN is never sent again")
		})
	}
}

func TestPUKAfterWrongPINs(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := fast(modemsim.BG96())
		p.PIN = "4321"
		p.PINAttempts = 1
		r := newRig(t, p, greeter)
		c := cfg()
		c.PIN = "1111"
		_, err := r.dial(t, c)
		require.ErrorIs(t, err, at.ErrWrongPIN)
		_, err = r.dial(t, c)
		require.ErrorIs(t, err, at.ErrPUKRequired)
		assert.Equal(t, 1, r.m.Stats().PINAttempts)
	})
}

func TestNoSIM(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := fast(modemsim.SIM800())
		p.NoSIM = true
		r := newRig(t, p, greeter)
		_, err := r.dial(t, cfg())
		require.ErrorIs(t, err, at.ErrSIMNotInserted)
		var cme *at.CMEError
		require.ErrorAs(t, err, &cme)
		assert.Equal(t, at.CMESIMNotInserted, cme.Code)
	})
}

func TestDeniedAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := fast(modemsim.SARAR4())
		p.Denied = true
		r := newRig(t, p, greeter)
		start := time.Now()
		_, err := r.dial(t, cfg())
		require.ErrorIs(t, err, at.ErrRegistrationDenied)
		assert.Less(t, time.Since(start), time.Second, "denied does not wait for the registration timeout")
	})
}

func TestRoaming(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := fast(modemsim.EC25())
		p.Roaming = true
		r := newRig(t, p, greeter)
		s, err := r.dial(t, cfg())
		require.NoError(t, err)
		assert.Equal(t, at.RegRoaming, s.Info.Registration)
	})
}

func TestNoCarrierThenRedial(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := fast(modemsim.SARAR5())
		p.NoCarrierDials = 1
		r := newRig(t, p, greeter)
		_, err := r.dial(t, cfg())
		require.ErrorIs(t, err, at.ErrNoCarrier)
		s, err := r.dial(t, cfg())
		require.NoError(t, err, "the same Port redials")
		assert.Equal(t, lcpConfReq, readN(t, s.Data(), len(lcpConfReq), 2*time.Second))
		assert.Equal(t, 2, r.m.Stats().Dials)
	})
}

func TestBusy(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := fast(modemsim.SIM800())
		p.BusyDials = 1
		r := newRig(t, p, greeter)
		c := cfg()
		c.DialString = "*99#"
		_, err := r.dial(t, c)
		require.ErrorIs(t, err, at.ErrBusy)
		assert.Contains(t, r.m.Commands(), "ATD*99#")
	})
}

func TestCarrierDrop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := fast(modemsim.EC25())
		p.CarrierDropAfter = 200 * time.Millisecond
		r := newRig(t, p, greeter)
		s, err := r.dial(t, cfg())
		require.NoError(t, err)
		readN(t, s.Data(), len(lcpConfReq), 2*time.Second)
		assert.Equal(t, []byte("\r\nNO CARRIER\r\n"), readN(t, s.Data(), 14, 2*time.Second))
		assert.Equal(t, 1, r.m.Stats().CarrierDrops)
		// Back in command mode: dial again.
		_, err = r.dial(t, cfg())
		require.NoError(t, err)
	})
}

func TestSplitConnect(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := fast(modemsim.EC25())
		p.SplitConnect = true
		p.DialDelay = 50 * time.Millisecond
		r := newRig(t, p, greeter)
		s, err := r.dial(t, cfg())
		require.NoError(t, err)
		assert.Equal(t, "CONNECT 150000000", s.Info.Connect)
		assert.Equal(t, lcpConfReq, readN(t, s.Data(), len(lcpConfReq), 2*time.Second))
	})
}

func TestHangupEscapeATH(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, fast(modemsim.SIM7600()), greeter)
		s, err := r.dial(t, cfg())
		require.NoError(t, err)
		readN(t, s.Data(), len(lcpConfReq), 2*time.Second)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		start := time.Now()
		require.NoError(t, s.Hangup(ctx))
		assert.Less(t, time.Since(start), time.Second)
		st := r.m.Stats()
		assert.Equal(t, 1, st.Escapes)
		assert.Equal(t, 1, st.Hangups)
	})
}

func TestHangupBoundedWhenEscapeIgnored(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := fast(modemsim.SARAR4())
		p.NoEscape = true
		r := newRig(t, p, modemsim.Discard)
		s, err := r.dial(t, cfg())
		require.NoError(t, err)
		start := time.Now()
		err = at.Hangup(context.Background(), s.Port(), at.HangupOptions{Guard: guard, Answer: 200 * time.Millisecond})
		require.ErrorIs(t, err, at.ErrHangupFailed)
		assert.Less(t, time.Since(start), 2*time.Second)
		assert.Zero(t, r.m.Stats().Escapes)
	})
}

// TestEscapeAndATO escapes by hand, checks online command mode answers AT, and goes back online.
func TestEscapeAndATO(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, fast(modemsim.BG96()), greeter)
		s, err := r.dial(t, cfg())
		require.NoError(t, err)
		readN(t, s.Data(), len(lcpConfReq), 2*time.Second)
		time.Sleep(2 * guard) // the escape's guard silence (virtual clock)
		_, err = s.Data().Write([]byte("+++"))
		require.NoError(t, err)
		assert.Equal(t, "\r\nOK\r\n", string(readN(t, s.Data(), 6, time.Second)))
		_, err = s.Data().Write([]byte("AT\r"))
		require.NoError(t, err)
		// Online command mode; echo stays off as the dial left it (ATE0).
		assert.Equal(t, "\r\nOK\r\n", string(readN(t, s.Data(), 6, time.Second)))
		_, err = s.Data().Write([]byte("ATO\r"))
		require.NoError(t, err)
		assert.Equal(t, "\r\nCONNECT\r\n", string(readN(t, s.Data(), 11, time.Second)))
		_, err = s.Data().Write([]byte("back"))
		require.NoError(t, err)
		assert.Equal(t, "back", string(readN(t, s.Data(), 4, time.Second)))
		assert.Equal(t, 2, r.m.Stats().Connects)
	})
}

// TestPlusInDataIsData: "+++" inside the data stream (no guard silence) is passed on.
func TestPlusInDataIsData(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, fast(modemsim.EC25()), modemsim.Loopback)
		s, err := r.dial(t, cfg())
		require.NoError(t, err)
		_, err = s.Data().Write([]byte("a+++b"))
		require.NoError(t, err)
		assert.Equal(t, "a+++b", string(readN(t, s.Data(), 5, time.Second)))
		assert.Zero(t, r.m.Stats().Escapes)
	})
}

// TestStartInDataMode: the modem is still in a call from an earlier run; the dialer escapes,
// hangs up and dials.
func TestStartInDataMode(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := fast(modemsim.EC25())
		p.StartInDataMode = true
		r := newRig(t, p, func(ctx context.Context, data line.Line) error {
			// A PPP peer that keeps sending LCP Configure-Requests.
			tick := time.NewTicker(30 * time.Millisecond)
			defer tick.Stop()
			go func() { _, _ = io.Copy(io.Discard, data) }()
			for {
				select {
				case <-ctx.Done():
					return ctx.Err()
				case <-tick.C:
					if _, err := data.Write(lcpConfReq); err != nil {
						return err
					}
				}
			}
		})
		var wake string
		c := cfg()
		c.OnEvent = func(pr at.Event) {
			if pr.Kind == at.EventProgress && pr.Step == at.StepWake && pr.Done {
				wake = pr.Detail
			}
		}
		s, err := r.dial(t, c)
		require.NoError(t, err)
		assert.Contains(t, wake, "data mode")
		st := r.m.Stats()
		assert.Equal(t, 1, st.Escapes)
		assert.Equal(t, 1, st.Hangups)
		assert.Equal(t, lcpConfReq, readN(t, s.Data(), len(lcpConfReq), 2*time.Second))
	})
}

// quietAfter is a DataFunc whose PPP peer sends one LCP Configure-Request, then says nothing
// until each token on more, when it sends one more after delay (a peer that has given up on
// the link, or retries every few seconds); what the host sends is read and dropped.
func quietAfter(more <-chan struct{}, delay time.Duration) modemsim.DataFunc {
	return func(ctx context.Context, data line.Line) error {
		go func() { _, _ = io.Copy(io.Discard, data) }()
		if _, err := data.Write(lcpConfReq); err != nil {
			return err
		}
		for {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-more:
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(delay):
			}
			if _, err := data.Write(lcpConfReq); err != nil {
				return err
			}
		}
	}
}

// redialOnTheSamePort dials, takes the peer's first frame, then dials again on the same Port
// without hanging up, as a session does after its link was lost (the keepalive gave up on a
// stalled line): the modem is still in the call. It returns the second dial's wake event.
func redialOnTheSamePort(t *testing.T, r *rig, c at.Config, before func()) (at.Event, error) {
	t.Helper()
	s, err := r.dial(t, c)
	require.NoError(t, err)
	assert.Equal(t, lcpConfReq, readN(t, s.Data(), len(lcpConfReq), 2*time.Second))
	var wake at.Event
	c.OnEvent = func(e at.Event) {
		if e.Kind == at.EventProgress && e.Step == at.StepWake && e.Done {
			wake = e
		}
	}
	if before != nil {
		before()
	}
	_, err = r.dial(t, c)
	return wake, err
}

// TestWakeEscapesACallWhosePeerWentQuiet: the host lost its link, not the modem its call; the
// modem's PPP peer has gone quiet. The Port has received a whole link's bytes, but nothing in
// this wake: the wake escapes and hangs up all the same, and the dial goes on (issue 15: the
// wake escaped only a Port that had never received a byte, or on PPP frames in its window, and
// TestHostileStallDetectedByEcho failed so).
func TestWakeEscapesACallWhosePeerWentQuiet(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, fast(modemsim.EC25()), quietAfter(nil, 0))
		c := cfg()
		c.Timeouts.Wake = 1500 * time.Millisecond
		wake, err := redialOnTheSamePort(t, r, c, nil)
		require.NoError(t, err)
		assert.Equal(t, "modem answers (was in data mode: escaped and hung up)", wake.Detail)
		st := r.m.Stats()
		assert.Equal(t, 1, st.Escapes)
		assert.Equal(t, 1, st.Hangups)
		assert.Equal(t, 2, count(r.m.Commands(), "ATD*99***1#"), "dialed again")
	})
}

// TestWakeFinishesAnEscapeBegunAtItsEnd: the quiet peer's next frame comes during the wake's
// last AT, so the escape begins as the wake's time runs out. It is finished (ATH, and AT to
// confirm) rather than leaving the modem escaped with its call up and the wake failed.
func TestWakeFinishesAnEscapeBegunAtItsEnd(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		more := make(chan struct{}, 1)
		c := cfg()
		// Five tries of 150 ms: the multiplexer's close after the second, the frame during the
		// fifth, whose end is the wake's.
		c.Timeouts.Wake = 5 * c.Timeouts.WakeRetry
		r := newRig(t, fast(modemsim.EC25()), quietAfter(more, c.Timeouts.Wake-c.Timeouts.WakeRetry/2))
		start := time.Now()
		wake, err := redialOnTheSamePort(t, r, c, func() {
			start = time.Now()
			more <- struct{}{}
		})
		require.NoError(t, err)
		assert.Contains(t, wake.Detail, "was in data mode: escaped and hung up")
		st := r.m.Stats()
		assert.Equal(t, 1, st.Escapes)
		assert.Equal(t, 1, st.Hangups, "hung up")
		assert.Equal(t, 2, count(r.m.Commands(), "ATD*99***1#"), "dialed again")
		assert.Less(t, wake.Elapsed, c.Timeouts.Wake+3*c.Timeouts.WakeRetry+3*guard, "past the wake's time by the escape's guard times and three retries at most")
		t.Logf("wake %v (budget %v); dial %v", wake.Elapsed, c.Timeouts.Wake, time.Since(start))
	})
}

// TestWakeEscapeOfACommandModeModem: a modem deaf for longer than the wake waits before its
// escape (its boot) gets the escape too; it costs it nothing (ATH answers OK, no call ends) and
// the wake does not say it was in data mode.
func TestWakeEscapeOfACommandModeModem(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := fast(modemsim.EC25())
		p.BootDelay = 1300 * time.Millisecond // it boots during the escape: the ATH finds it up
		r := newRig(t, p, greeter)
		var wake at.Event
		c := cfg()
		c.OnEvent = func(e at.Event) {
			if e.Kind == at.EventProgress && e.Step == at.StepWake && e.Done {
				wake = e
			}
		}
		_, err := r.dial(t, c)
		require.NoError(t, err)
		assert.Contains(t, wake.Detail, "escaped and hung up in case it was in data mode")
		assert.NotContains(t, wake.Detail, "was in data mode:")
		st := r.m.Stats()
		assert.Zero(t, st.Escapes, "nothing to escape")
		assert.Zero(t, st.Hangups, "no call ended")
		assert.Equal(t, 1, count(r.m.Commands(), "ATH"), "the escape's ATH, answered in command mode")
	})
}

func TestCMEEFallbackAndNoCEREG(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := fast(modemsim.SIM800())
		p.NoCMEE2 = true
		r := newRig(t, p, greeter)
		var detail string
		c := cfg()
		c.OnEvent = func(pr at.Event) {
			if pr.Kind == at.EventProgress && pr.Step == at.StepErrors && pr.Done {
				detail = pr.Detail
			}
		}
		s, err := r.dial(t, c)
		require.NoError(t, err)
		assert.Equal(t, "numeric", detail)
		assert.Equal(t, "", s.Info.AccessTech, "SIM800's +COPS has no AcT")
		assert.Equal(t, 1, count(r.m.Commands(), "AT+CEREG?"), "an unsupported command is dropped from the poll")
	})
}

// TestDataFuncReturningIsNoCarrier: the peer hanging up ends the call with NO CARRIER.
func TestDataFuncReturningIsNoCarrier(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, fast(modemsim.SARAR5()), func(ctx context.Context, data line.Line) error {
			_, err := data.Write(lcpConfReq)
			return err
		})
		s, err := r.dial(t, cfg())
		require.NoError(t, err)
		got := readN(t, s.Data(), len(lcpConfReq)+14, 2*time.Second)
		assert.True(t, bytes.HasSuffix(got, []byte("\r\nNO CARRIER\r\n")), "%q", got)
	})
}

func TestGarbageNeverPanics(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// Garbage in command mode: the modem answers ERROR or nothing, and keeps serving.
		r := newRig(t, fast(modemsim.EC25()), greeter)
		_, err := r.line.Write([]byte("\x00\xff\x7e+++AT+\"\r\nATZZZ\r\nAT+CPIN=\r\n\r\n"))
		require.NoError(t, err)
		_, err = r.dial(t, cfg())
		require.NoError(t, err)
	})
}

// collectURCs makes c's observer keep the URCs the dial reports; the func returns them so far.
func collectURCs(c *at.Config) func() []string {
	var mu sync.Mutex
	var urcs []string
	c.OnEvent = func(e at.Event) {
		if e.Kind == at.EventURC {
			mu.Lock()
			urcs = append(urcs, e.Line)
			mu.Unlock()
		}
	}
	return func() []string {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(urcs)
	}
}
