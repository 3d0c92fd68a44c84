package pppdial

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pppdial/pppdial/at"
	"github.com/pppdial/pppdial/bind"
	"github.com/pppdial/pppdial/internal/serialline"
	"github.com/pppdial/pppdial/line"
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

	// plugMu makes plug, unplug, vanish and the replug of a reopened port one at a time.
	plugMu   sync.Mutex
	mu       sync.Mutex
	host     *serialline.Port
	line     *serialline.Port
	stopLine context.CancelFunc
	served   chan struct{}
	gone     bool // the port has vanished: Open fails
	opens    int

	events chan Event

	// call is the data call in progress behind the modem (dataFunc), for dropCarrier; data,
	// if set, replaces the carrier network behind CONNECT (setData).
	call *rigCall
	data modemsim.DataFunc
}

func newRig(t *testing.T, profile modemsim.Profile, opts serialline.Options) *rig {
	profile.GuardTime = testGuard
	r := &rig{
		t: t,
		network: carrier.New(carrier.Config{Pages: map[string][]byte{"/": carrier.DefaultPage, "/big": bigPage,
			"/64k": bigPage[:64<<10], "/256k": bigPage[:256<<10]}}),
		reg:    netif.NewRegistry(),
		opts:   opts,
		events: make(chan Event, 1024),
	}
	r.modem = modemsim.New(profile, r.dataFunc)
	r.plug()
	t.Cleanup(r.unplug)
	return r
}

// plug connects a fresh line to the modem.
func (r *rig) plug() {
	r.plugMu.Lock()
	defer r.plugMu.Unlock()
	r.plugLocked()
}

func (r *rig) plugLocked() {
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
	r.plugMu.Lock()
	defer r.plugMu.Unlock()
	r.unplugLocked()
}

func (r *rig) unplugLocked() {
	r.mu.Lock()
	cancel, served, host := r.stopLine, r.served, r.host
	r.mu.Unlock()
	host.Cut()
	cancel()
	<-served
}

// vanish cuts the line and makes the port disappear until plug.
func (r *rig) vanish() {
	r.plugMu.Lock()
	defer r.plugMu.Unlock()
	r.unplugLocked()
	r.mu.Lock()
	r.gone = true
	r.mu.Unlock()
}

// open opens the port, as Config.Open. A port the session closed is opened again as a device
// node is: a fresh handle on the same modem (whose line starts afresh, as after the hang-up
// that closing a tty brings).
func (r *rig) open(context.Context) (line.Line, error) {
	r.plugMu.Lock()
	defer r.plugMu.Unlock()
	r.mu.Lock()
	r.opens++
	gone, closed := r.gone, r.host.Closed()
	r.mu.Unlock()
	if gone {
		return nil, fmt.Errorf("open /dev/ttyUSB2: %w", errors.New("no such device"))
	}
	if closed {
		r.unplugLocked()
		r.plugLocked()
	}
	r.mu.Lock()
	defer r.mu.Unlock()
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
		// Close keeps its own bound (defaultTeardown for LCP and the hang-up, which a test
		// that leaves the line lossy or dead may use up): this one only catches a hang.
		ctx, cancel := context.WithTimeout(context.Background(), defaultTeardown+5*time.Second)
		defer cancel()
		require.NoError(r.t, sess.Close(ctx))
	})
	return sess
}

// drainEvents drops the queued events.
func (r *rig) drainEvents() {
	for {
		select {
		case <-r.events:
		default:
			return
		}
	}
}

// waitEvent waits for an event of kind, skipping others, and returns it.
func (r *rig) waitEvent(kind EventKind, within time.Duration) Event {
	r.t.Helper()
	deadline := time.After(within)
	var seen recentEvents // what came instead, for the failure's message
	for {
		select {
		case e := <-r.events:
			if e.Kind == kind {
				return e
			}
			seen.add(e)
		case <-deadline:
			r.t.Fatalf("no %s event within %v; the last events instead:\n%s", kind, within, &seen)
		}
	}
}

// fetch gets path from the carrier's web server over the session's interface and returns the
// body's sha256.
func (r *rig) fetch(ctx context.Context, sess *Session, path string) ([32]byte, error) {
	return r.fetchFrom(ctx, sess, carrier.DefaultHost, path)
}

// fetchFrom is fetch from host, a name or an address: the carrier's address skips the DNS
// lookup, whose single UDP exchange a very lossy line often loses.
func (r *rig) fetchFrom(ctx context.Context, sess *Session, host, path string) ([32]byte, error) {
	client := &http.Client{Transport: &http.Transport{
		DialContext: (&bind.Dialer{Interface: sess.Netif().Name(), Registry: r.reg}).DialContext,
	}}
	defer client.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+host+path, nil)
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

// rigCall is a data call in progress behind the rig's modem.
type rigCall struct {
	data   io.Closer
	w      io.Writer // the far end's side of the data stream
	cancel context.CancelFunc
}

// dataFunc runs behind the modem's CONNECT: the carrier network (or what setData put there),
// remembering the call so that dropCarrier can end it.
func (r *rig) dataFunc(ctx context.Context, data line.Line) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	c := &rigCall{cancel: cancel, w: data}
	if cl, ok := data.(io.Closer); ok {
		c.data = cl
	}
	r.mu.Lock()
	r.call = c
	df := r.data
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		if r.call == c {
			r.call = nil
		}
		r.mu.Unlock()
	}()
	if df == nil {
		r.mu.Lock()
		df = r.network.DataFunc()
		r.mu.Unlock()
	}
	return df(ctx, data)
}

// setData makes every later call run df instead of the carrier network (nil: the network).
func (r *rig) setData(df modemsim.DataFunc) {
	r.mu.Lock()
	r.data = df
	r.mu.Unlock()
}

// dropCarrier ends the call in progress as a radio network that loses it does: the far end
// vanishes without a Terminate (its stream is closed before its context ends), and the modem
// drops back to command mode with NO CARRIER. It reports whether a call was in progress.
func (r *rig) dropCarrier() bool {
	r.mu.Lock()
	c := r.call
	r.call = nil
	r.mu.Unlock()
	if c == nil {
		return false
	}
	if c.data != nil {
		_ = c.data.Close()
	}
	c.cancel()
	return true
}

// dropCarrierMidFrame is dropCarrier with the far end's last bytes the start of a frame that
// the drop cut short, as a modem that loses the call with a frame half sent: its NO CARRIER
// then follows a partial frame instead of a closing flag.
func (r *rig) dropCarrierMidFrame() bool {
	r.mu.Lock()
	c := r.call
	r.mu.Unlock()
	if c == nil {
		return false
	}
	// Flag, address, control, LCP, Echo-Request, ... and nothing more.
	_, _ = c.w.Write([]byte{0x7e, 0xff, 0x7d, 0x23, 0xc0, 0x21, 0x09, 0x07})
	return r.dropCarrier()
}

// ports returns the current line's two ends: the host's (the session's port) and the modem's.
func (r *rig) ports() (host, line *serialline.Port) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.host, r.line
}

// setFaults impairs both directions of the current line with f (the zero Faults clear them).
func (r *rig) setFaults(f serialline.Faults) {
	host, line := r.ports()
	host.SetFaults(f)
	line.SetFaults(f)
}

// echo sends n random bytes to the carrier's TCP echo service over the session's interface and
// checks that the same bytes come back. The whole exchange is bounded by ctx.
func (r *rig) echo(ctx context.Context, sess *Session, n int) error {
	d := &bind.Dialer{Interface: sess.Netif().Name(), Registry: r.reg}
	conn, err := d.DialContext(ctx, "tcp4", net.JoinHostPort(r.network.Config().Local.String(), "7"))
	if err != nil {
		return err
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Now()) })
	defer stop()
	out := make([]byte, n)
	_, _ = rand.Read(out)
	werr := make(chan error, 1)
	go func() {
		_, err := conn.Write(out)
		werr <- err
	}()
	in := make([]byte, n)
	_, rerr := io.ReadFull(conn, in)
	if rerr != nil {
		_ = conn.Close() // release the writer
	}
	if err := <-werr; err != nil && rerr == nil {
		return fmt.Errorf("echo write: %w", err)
	}
	if rerr != nil {
		return fmt.Errorf("echo read: %w", rerr)
	}
	if !bytes.Equal(in, out) {
		return errCorrupt
	}
	return nil
}

// errCorrupt: a transfer completed but its data differ from what was sent. It must never
// happen: every fault is either caught by a checksum or ends the transfer with an error.
var errCorrupt = errors.New("transfer completed with corrupt data")

// setNetwork replaces the carrier network behind the modem (before the session dials) with one
// configured by cfg; nil Pages serve the rig's usual pages.
func (r *rig) setNetwork(cfg carrier.Config) {
	if cfg.Pages == nil {
		cfg.Pages = r.network.Config().Pages
	}
	n := carrier.New(cfg)
	r.mu.Lock()
	r.network = n
	r.mu.Unlock()
}
