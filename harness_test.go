package pppdial

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pppdial/pppdial/at"
	"github.com/pppdial/pppdial/bind"
	"github.com/pppdial/pppdial/internal/serialline"
	"github.com/pppdial/pppdial/modemsim"
	"github.com/pppdial/pppdial/modemsim/carrier"
	"github.com/pppdial/pppdial/netif"
	"github.com/pppdial/pppdial/ppp"
)

// testGuard is the escape guard time of the test modems: short, so hang-ups are quick, but
// long enough that the scheduler's jitter does not break the escape.
const testGuard = 100 * time.Millisecond

// bigPage is served by every test network at /big.
var bigPage = func() []byte {
	b := make([]byte, 1<<20)
	_, _ = rand.Read(b)
	return b
}()

// rig is an emulated modem on an emulated serial line, with the carrier network behind it, and
// the session config that dials it. The line can be cut and replaced, as a USB modem that
// resets disappears and comes back.
type rig struct {
	t       *testing.T
	network *carrier.Network
	modem   *modemsim.Modem
	reg     *netif.Registry
	opts    serialline.Options

	mu       sync.Mutex
	host     *serialline.Port
	line     *serialline.Port
	stopLine context.CancelFunc
	served   chan struct{}
	gone     bool // the port has vanished: Open fails
	opens    int

	events chan Event
}

func newRig(t *testing.T, profile modemsim.Profile, opts serialline.Options) *rig {
	profile.GuardTime = testGuard
	r := &rig{
		t:       t,
		network: carrier.New(carrier.Config{Pages: map[string][]byte{"/": carrier.DefaultPage, "/big": bigPage}}),
		reg:     netif.NewRegistry(),
		opts:    opts,
		events:  make(chan Event, 1024),
	}
	r.modem = modemsim.New(profile, r.network.DataFunc())
	r.plug()
	t.Cleanup(r.unplug)
	return r
}

// plug connects a fresh line to the modem.
func (r *rig) plug() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.host, r.line = serialline.Pipe(r.opts)
	ctx, cancel := context.WithCancel(context.Background())
	r.stopLine = cancel
	served := make(chan struct{})
	r.served = served
	line := r.line
	go func() {
		defer close(served)
		_ = r.modem.Serve(ctx, line)
	}()
	r.gone = false
}

// unplug stops the modem and breaks the line.
func (r *rig) unplug() {
	r.mu.Lock()
	cancel, served, host := r.stopLine, r.served, r.host
	r.mu.Unlock()
	host.Cut()
	cancel()
	<-served
}

// vanish cuts the line and makes the port disappear until plug.
func (r *rig) vanish() {
	r.unplug()
	r.mu.Lock()
	r.gone = true
	r.mu.Unlock()
}

func (r *rig) open(context.Context) (io.ReadWriteCloser, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.opens++
	if r.gone {
		return nil, fmt.Errorf("open /dev/ttyUSB2: %w", errors.New("no such device"))
	}
	return r.host, nil
}

// config is a session config for the rig: short guard times and holdoff, echo off unless set.
func (r *rig) config() Config {
	var log *slog.Logger
	if os.Getenv("PPPDIAL_TEST_LOG") != "" {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return Config{
		Logger:   log,
		Open:     r.open,
		Modem:    at.Config{APN: "internet", Guard: testGuard, PollInterval: 50 * time.Millisecond},
		Hangup:   at.HangupOptions{Guard: testGuard},
		Registry: r.reg,
		Holdoff:  50 * time.Millisecond, MaxBackoff: 200 * time.Millisecond,
		OnEvent: func(e Event) {
			select {
			case r.events <- e:
			default:
			}
		},
	}
}

// dial dials the rig and closes the session at the end of the test.
func (r *rig) dial(cfg Config) *Session {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sess, err := Dial(ctx, cfg)
	require.NoError(r.t, err)
	r.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		require.NoError(r.t, sess.Close(ctx))
	})
	return sess
}

// waitEvent waits for an event of kind, skipping others, and returns it.
func (r *rig) waitEvent(kind EventKind, within time.Duration) Event {
	r.t.Helper()
	deadline := time.After(within)
	for {
		select {
		case e := <-r.events:
			if e.Kind == kind {
				return e
			}
		case <-deadline:
			r.t.Fatalf("no %s event within %v", kind, within)
		}
	}
}

// fetch gets path from the carrier's web server over the session's interface and returns the
// body's sha256.
func (r *rig) fetch(ctx context.Context, sess *Session, path string) ([32]byte, error) {
	client := &http.Client{Transport: &http.Transport{
		DialContext: (&bind.Dialer{Interface: sess.Netif().Name(), Registry: r.reg}).DialContext,
	}}
	defer client.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+carrier.DefaultHost+path, nil)
	if err != nil {
		return [32]byte{}, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return [32]byte{}, err
	}
	defer resp.Body.Close()
	h := sha256.New()
	if _, err := io.Copy(h, resp.Body); err != nil {
		return [32]byte{}, err
	}
	if resp.StatusCode != http.StatusOK {
		return [32]byte{}, fmt.Errorf("status %s", resp.Status)
	}
	var sum [32]byte
	copy(sum[:], h.Sum(nil))
	return sum, nil
}

// quiet is a PPP config without keepalive traffic, for tests that count frames.
var quiet = ppp.Config{}
