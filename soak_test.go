package pppdial

// The long runs of issue 6: TestChaos (traffic under random faults, with persist) and
// TestSoakUpDownCycles (100 drops and redials, then goroutines and heap back at baseline).

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/pppdial/pppdial/internal/serialline"
	"github.com/pppdial/pppdial/modemsim"
	"github.com/pppdial/pppdial/modemsim/carrier"
	"github.com/pppdial/pppdial/ppp"
)

// leakOptions are TestMain's goleak exceptions, for tests that check for leaks themselves.
func leakOptions(extra ...goleak.Option) []goleak.Option {
	return append([]goleak.Option{
		goleak.IgnoreTopFunction("net/http.(*persistConn).readLoop"),
		goleak.IgnoreTopFunction("net/http.(*persistConn).writeLoop"),
	}, extra...)
}

// The long runs have a short form, run by `go test ./...`, and their full length in a
// nightly-style mode: PPPDIAL_CHAOS=nightly (or =full) runs TestChaos for the 60 s and
// TestSoakUpDownCycles for 100 cycles; PPPDIAL_CHAOS=<Go duration> sets the chaos's length (and
// selects the full soak too); PPPDIAL_SOAK_CYCLES=<n> sets the cycles on its own.
const (
	chaosShort, chaosFull = 10 * time.Second, 60 * time.Second
	soakShort, soakFull   = 20, 100
)

// nightly reports whether PPPDIAL_CHAOS asks for the long runs' full length.
func nightly() bool { return os.Getenv("PPPDIAL_CHAOS") != "" }

// chaosDuration is how long TestChaos injects faults: 10 s, or with PPPDIAL_CHAOS the issue's
// 60 s or the duration it gives.
func chaosDuration(t *testing.T) time.Duration {
	switch v := os.Getenv("PPPDIAL_CHAOS"); v {
	case "":
		return chaosShort
	case "nightly", "full", "1":
		return chaosFull
	default:
		d, err := time.ParseDuration(v)
		require.NoError(t, err, "PPPDIAL_CHAOS: nightly, full or a Go duration")
		return d
	}
}

// envSeed returns $name as a seed, or a random one; the seed is logged so that a failing run's
// fault sequence can be replayed (timing still varies).
func envSeed(t *testing.T, name string) uint64 {
	if v := os.Getenv(name); v != "" {
		s, err := strconv.ParseUint(v, 10, 64)
		require.NoError(t, err, name)
		return s
	}
	return rand.Uint64()
}

// sleepCtx waits d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// between is a random duration in [lo, hi).
func between(rng *rand.Rand, lo, hi time.Duration) time.Duration {
	return lo + time.Duration(rng.Int64N(int64(hi-lo)))
}

// recentEvents keeps a session's last events, for a failure's message.
type recentEvents struct {
	mu     sync.Mutex
	events []Event
}

func (l *recentEvents) add(e Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.events) == 40 {
		l.events = slices.Delete(l.events, 0, 1)
	}
	l.events = append(l.events, e)
}

func (l *recentEvents) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var b strings.Builder
	for _, e := range l.events {
		fmt.Fprintf(&b, "  %s %s", e.Time.Format("15:04:05.000"), e.Kind)
		for _, s := range []string{e.Step, e.Phase, e.Detail} {
			if s != "" {
				fmt.Fprintf(&b, " %s", s)
			}
		}
		if e.Err != nil {
			fmt.Fprintf(&b, ": %v", e.Err)
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// tally counts named things, safe for concurrent use.
type tally struct {
	mu sync.Mutex
	m  map[string]int
}

func (c *tally) add(k string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]int{}
	}
	c.m[k]++
}

func (c *tally) total() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, v := range c.m {
		n += v
	}
	return n
}

func (c *tally) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	keys := make([]string, 0, len(c.m))
	for k := range c.m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s %d", k, c.m[k])
	}
	return b.String()
}

// downReason names why a link went down, for the statistics.
func downReason(err error) string {
	switch {
	case errors.Is(err, ErrCarrierLost):
		return "no-carrier"
	case errors.Is(err, ppp.ErrPeerTerminated):
		return "peer-terminate"
	case errors.Is(err, ppp.ErrPeerNotResponding):
		return "echo-timeout"
	case errors.Is(err, errPortFailed):
		return "port-failed"
	default:
		return "other: " + err.Error()
	}
}

// failureKind sorts a failed transfer's error into a few classes for the statistics.
func failureKind(err error) string {
	s := err.Error()
	switch {
	case errors.Is(err, context.DeadlineExceeded) || strings.Contains(s, "deadline exceeded") || strings.Contains(s, "i/o timeout"):
		return "timeout"
	case errors.Is(err, context.Canceled):
		return "canceled"
	case strings.Contains(s, "network is down") || strings.Contains(s, "connection abort"):
		return "link-down"
	case strings.Contains(s, "unreachable") || strings.Contains(s, "no route"):
		return "unreachable"
	case strings.Contains(s, "reset") || strings.Contains(s, "EOF") || strings.Contains(s, "closed"):
		return "reset/eof"
	case strings.Contains(s, "lookup"):
		return "dns"
	default:
		return "other"
	}
}

// TestChaos runs traffic — HTTP downloads of several sizes, by name and by address, and TCP
// echo exchanges, several at once — for PPPDIAL_CHAOS (60 s) while random faults hit the line
// and the network: bit errors, lost writes, silent bursts, short stalls (below the keepalive's
// detection time) and long ones (above it), carrier drops, peer terminations and the port
// vanishing and coming back. The session persists. Every transfer must complete intact or fail
// with an error within its own bound; afterwards the link is up and carries a transfer, and
// after Close no goroutine is left.
func TestChaos(t *testing.T) {
	dur := chaosDuration(t)
	seed := envSeed(t, "PPPDIAL_CHAOS_SEED")
	t.Logf("chaos for %v, seed %d (PPPDIAL_CHAOS_SEED to replay the fault sequence)", dur, seed)
	rng := rand.New(rand.NewPCG(seed, seed^0x5eed))
	ignore := goleak.IgnoreCurrent()

	r := newRig(t, modemsim.EC25(), serialline.Options{Baud: 3_000_000, Seed: int64(seed >> 1)})
	cfg := r.config()
	cfg.Persist = true
	cfg.PPP.EchoInterval, cfg.PPP.EchoFailures = time.Second, 3
	var downs, errorsByCode tally
	var ups atomic.Int64
	var recent recentEvents
	toRig := cfg.OnEvent
	cfg.OnEvent = func(e Event) {
		toRig(e)
		recent.add(e)
		switch e.Kind {
		case EventDown:
			downs.add(downReason(e.Err))
		case EventUp:
			ups.Add(1)
		case EventError:
			errorsByCode.add(e.Code)
		}
	}
	sess := r.dial(cfg)

	ctx, stop := context.WithTimeout(context.Background(), dur)
	defer stop()

	// Traffic.
	type transfer struct {
		name    string
		bound   time.Duration
		run     func(ctx context.Context) error
		pauseOK time.Duration
	}
	fetch := func(host, path string, want []byte) func(ctx context.Context) error {
		sum := sha256.Sum256(want)
		return func(ctx context.Context) error {
			got, err := r.fetchFrom(ctx, sess, host, path)
			if err != nil {
				return err
			}
			if got != sum {
				return errCorrupt
			}
			return nil
		}
	}
	workers := [][]transfer{
		{
			{"GET /64k", 15 * time.Second, fetch(carrierAddr, "/64k", bigPage[:64<<10]), 0},
			{"GET /256k", 20 * time.Second, fetch(carrierAddr, "/256k", bigPage[:256<<10]), 0},
		},
		{
			{"GET name/", 10 * time.Second, fetch(carrier.DefaultHost, "/", carrier.DefaultPage), 100 * time.Millisecond},
			{"GET name/big", 30 * time.Second, fetch(carrier.DefaultHost, "/big", bigPage), 0},
		},
		{
			{"echo 4k", 10 * time.Second, func(ctx context.Context) error { return r.echo(ctx, sess, 4<<10) }, 50 * time.Millisecond},
			{"echo 48k", 15 * time.Second, func(ctx context.Context) error { return r.echo(ctx, sess, 48<<10) }, 0},
		},
	}
	var ok, failed, corrupt, late atomic.Int64
	var maxDur atomic.Int64
	var failures, okByKind tally
	var wg sync.WaitGroup
	for i, kinds := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			wrng := rand.New(rand.NewPCG(seed+uint64(i), uint64(i)))
			for ctx.Err() == nil {
				tr := kinds[wrng.IntN(len(kinds))]
				tctx, cancel := context.WithTimeout(ctx, tr.bound)
				start := time.Now()
				err := tr.run(tctx)
				took := time.Since(start)
				cancel()
				for cur := maxDur.Load(); int64(took) > cur && !maxDur.CompareAndSwap(cur, int64(took)); cur = maxDur.Load() {
				}
				if took > tr.bound+2*time.Second {
					late.Add(1)
					t.Errorf("%s took %v, beyond its bound %v: it ignored its context", tr.name, took, tr.bound)
				}
				switch {
				case err == nil:
					ok.Add(1)
					okByKind.add(tr.name)
					sleepCtx(ctx, tr.pauseOK)
				case errors.Is(err, errCorrupt):
					corrupt.Add(1)
					t.Errorf("%s: %v", tr.name, err)
				case ctx.Err() != nil:
					// Cut short by the end of the run: neither a success nor a failure.
				default:
					failed.Add(1)
					failures.add(failureKind(err))
					sleepCtx(ctx, 500*time.Millisecond) // the link may be down: do not spin
				}
			}
		}()
	}

	// Faults, one at a time, each cleared before the next. A fault runs its full course even
	// past the end of the run, so that a long stall is a long stall. The sleeps are the faults'
	// windows: real time is the thing under test (a keepalive, TCP's retransmissions and the
	// redials run on the real clock against them).
	var injected tally
	faults := []struct {
		name string
		do   func()
	}{
		{"bit-errors", func() {
			rate := []float64{1e-5, 1e-4, 1e-3}[rng.IntN(3)]
			r.setFaults(serialline.Faults{BitErrorRate: rate})
			time.Sleep(between(rng, time.Second, 3*time.Second))
		}},
		{"loss", func() {
			r.setFaults(serialline.Faults{DropRate: 0.05 + 0.45*rng.Float64()})
			time.Sleep(between(rng, 500*time.Millisecond, 2*time.Second))
		}},
		{"blackhole", func() {
			r.setFaults(serialline.Faults{Blackhole: true})
			time.Sleep(between(rng, 200*time.Millisecond, 1500*time.Millisecond))
		}},
		{"stall-short", func() { // below the keepalive's 3 s minimum detection time
			r.setFaults(serialline.Faults{Stall: true})
			time.Sleep(between(rng, 300*time.Millisecond, 1500*time.Millisecond))
		}},
		{"stall-long", func() { // above its 4 s maximum: the link goes down
			r.setFaults(serialline.Faults{Stall: true})
			time.Sleep(between(rng, 4500*time.Millisecond, 7*time.Second))
		}},
		{"carrier-drop", func() {
			if !r.dropCarrier() {
				injected.add("(carrier-drop while no call)")
			}
		}},
		{"peer-terminate", func() {
			tctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			defer cancel()
			r.network.Terminate(tctx)
		}},
		{"port-vanish", func() {
			r.vanish()
			time.Sleep(between(rng, 200*time.Millisecond, 2*time.Second))
			r.plug()
		}},
	}
	chaosStart := time.Now()
	for ctx.Err() == nil {
		f := faults[rng.IntN(len(faults))]
		injected.add(f.name)
		f.do()
		r.setFaults(serialline.Faults{})
		sleepCtx(ctx, between(rng, 500*time.Millisecond, 2500*time.Millisecond))
	}
	chaosEnd := time.Now()

	// Every transfer ends within its bound once the run is over: nothing hangs.
	workersDone := make(chan struct{})
	go func() { wg.Wait(); close(workersDone) }()
	select {
	case <-workersDone:
	case <-time.After(35 * time.Second):
		t.Fatal("transfers still running 35 s after the chaos ended: something hangs")
	}
	wound := time.Since(chaosEnd)

	// The link comes back up and carries a transfer. Events queued during the chaos are
	// dropped first: from then on an EventUp is a new link.
	recover := time.Now()
	r.drainEvents()
	var lastErr error
	attempts := 0
	for deadline := time.After(40 * time.Second); ; {
		if sess.Netif().IsUp() {
			attempts++
			fctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			sum, err := r.fetchFrom(fctx, sess, carrierAddr, "/64k")
			cancel()
			if lastErr = err; err == nil {
				assert.Equal(t, sha256.Sum256(bigPage[:64<<10]), sum)
				break
			}
		}
		// Down: the next event may be its up. Up but the transfer failed: try again shortly.
		var retry <-chan time.Time
		if sess.Netif().IsUp() {
			retry = time.After(500 * time.Millisecond)
		}
		select {
		case <-r.events:
		case <-retry:
		case <-deadline:
			t.Fatalf("the link did not carry a transfer within 40 s after the chaos (up: %v, %d attempts): %v; the session's last events:\n%s",
				sess.Netif().IsUp(), attempts, lastErr, &recent)
		}
	}
	recovered := time.Since(recover)
	select {
	case <-sess.Done():
		t.Fatalf("the persistent session ended: %v", sess.Err())
	default:
	}

	t.Logf("chaos %v: %d faults injected (%s)", chaosEnd.Sub(chaosStart).Round(time.Millisecond), injected.total(), &injected)
	t.Logf("transfers: %d ok (%s), %d failed with an error (%s), %d corrupt, %d beyond their bound; longest %v; workers stopped %v after the end",
		ok.Load(), &okByKind, failed.Load(), &failures, corrupt.Load(), late.Load(),
		time.Duration(maxDur.Load()).Round(time.Millisecond), wound.Round(time.Millisecond))
	t.Logf("link: %d ups, downs: %s; failed attempts by code: %s; carried a transfer %v after the chaos (%d tries)",
		ups.Load(), &downs, &errorsByCode, recovered.Round(time.Millisecond), attempts)
	assert.Zero(t, corrupt.Load(), "no transfer completes with corrupt data")
	assert.Zero(t, late.Load(), "every transfer ends within its bound")
	if dur >= 30*time.Second {
		// A short run may be one long stall and its recovery: only a long one is sure to have
		// gaps between the faults, and faults that take the link down.
		assert.Positive(t, ok.Load(), "transfers do succeed between the faults")
		assert.Positive(t, downs.total(), "the faults took the link down at least once")
	}

	cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, sess.Close(cctx))
	r.unplug()
	goleak.VerifyNone(t, leakOptions(ignore)...)
}

// soakCycles is the number of up/down cycles: $PPPDIAL_SOAK_CYCLES, else 20, or with
// PPPDIAL_CHAOS the 100.
func soakCycles(t *testing.T) int {
	if v := os.Getenv("PPPDIAL_SOAK_CYCLES"); v != "" {
		n, err := strconv.Atoi(v)
		require.NoError(t, err, "PPPDIAL_SOAK_CYCLES")
		return n
	}
	if nightly() {
		return soakFull
	}
	return soakShort
}

type memFigures struct {
	goroutines  int
	heap        uint64 // bytes in live heap objects
	heapObjects uint64
}

func measureMem() memFigures {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return memFigures{goroutines: runtime.NumGoroutine(), heap: ms.HeapAlloc, heapObjects: ms.HeapObjects}
}

// TestSoakUpDownCycles takes the link down 100 times — alternately the network dropping the
// call (NO CARRIER) and the operator's PPP server terminating it — and lets the persistent
// session redial each time, with a socket used on every link. Afterwards the goroutines and
// the live heap are back near where they were after the first cycles.
func TestSoakUpDownCycles(t *testing.T) {
	cycles := soakCycles(t)
	ignore := goleak.IgnoreCurrent()
	r := newRig(t, modemsim.EC25(), serialline.Options{})
	cfg := r.config()
	cfg.Persist = true
	cfg.Holdoff, cfg.MaxBackoff = 10*time.Millisecond, 50*time.Millisecond
	// After a peer's Terminate the modem is already back in command mode (it printed NO
	// CARRIER when the call ended), and at.Hangup, which discards that line, waits the whole
	// Answer time for an OK to "+++" that such a modem never sends: 2 s per cycle by default,
	// which alone would make 100 cycles last two minutes. A modem answers in milliseconds.
	cfg.Hangup.Answer = 300 * time.Millisecond
	sess := r.dial(cfg)

	cycle := func(i int) (down, up time.Duration) {
		start := time.Now()
		if i%2 == 0 {
			require.True(t, r.dropCarrier(), "cycle %d: a call in progress", i)
		} else {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			r.network.Terminate(ctx)
			cancel()
		}
		d := r.waitEvent(EventDown, 5*time.Second)
		if i%2 == 0 {
			assert.ErrorIs(t, d.Err, ErrCarrierLost, "cycle %d", i)
		} else {
			assert.ErrorIs(t, d.Err, ppp.ErrPeerTerminated, "cycle %d", i)
		}
		u := r.waitEvent(EventUp, 10*time.Second)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, err := r.fetchFrom(ctx, sess, carrierAddr, "/")
		require.NoError(t, err, "cycle %d: a transfer on the new link", i)
		return d.Time.Sub(start), u.Time.Sub(start)
	}

	// A few cycles first, so that what is made once and kept (pools, the interface's stack
	// state, timers) is in the baseline.
	const warmup = 4
	for i := range warmup {
		cycle(i)
	}
	before := measureMem()

	start := time.Now()
	var downs, ups []time.Duration
	for i := range cycles {
		d, u := cycle(warmup + i)
		downs, ups = append(downs, d), append(ups, u)
	}
	elapsed := time.Since(start)
	assert.Equal(t, 1+warmup+cycles, sess.Stats().Ups, "one up per cycle, no spurious redials")

	// Goroutines of the last link (its closing stack, the HTTP client's connection) take a
	// moment to end. Nothing signals a goroutine's end: poll the count, bounded.
	after := measureMem()
	for deadline := time.Now().Add(5 * time.Second); after.goroutines > before.goroutines && time.Now().Before(deadline); {
		time.Sleep(100 * time.Millisecond)
		after = measureMem()
	}
	slices.Sort(downs)
	slices.Sort(ups)
	t.Logf("%d cycles in %v (%v per cycle): down after min %v / median %v / max %v, up after min %v / median %v / max %v",
		cycles, elapsed.Round(time.Millisecond), (elapsed / time.Duration(cycles)).Round(time.Millisecond),
		downs[0].Round(time.Microsecond), downs[len(downs)/2].Round(time.Microsecond), downs[len(downs)-1].Round(time.Microsecond),
		ups[0].Round(time.Millisecond), ups[len(ups)/2].Round(time.Millisecond), ups[len(ups)-1].Round(time.Millisecond))
	t.Logf("goroutines %d -> %d; heap %.2f MiB -> %.2f MiB (%+.1f KiB); heap objects %d -> %d",
		before.goroutines, after.goroutines, float64(before.heap)/(1<<20), float64(after.heap)/(1<<20),
		(float64(after.heap)-float64(before.heap))/1024, before.heapObjects, after.heapObjects)
	assert.LessOrEqual(t, after.goroutines, before.goroutines+2, "goroutines back at the baseline")
	// A leak of one link per cycle (its Conn's buffers alone are ~100 KiB) would add megabytes.
	assert.Less(t, float64(after.heap), float64(before.heap)*1.1+2<<20, "heap back near the baseline")

	cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, sess.Close(cctx))
	r.unplug()
	goleak.VerifyNone(t, leakOptions(ignore)...)
}
