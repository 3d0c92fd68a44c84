package ppp

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/pppdial/pppdial/internal/serialline"
	"github.com/pppdial/pppdial/line"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// The Conn tests run on synctest's virtual clock: timeouts, restart timers and keepalives take
// no real time and happen in the same order on a loaded machine as on an idle one. Only the
// allocation test over condPipe and the benchmarks run on real time (they measure it).

// connPair starts a client and a server Conn over an in-memory serial line. It must be called
// inside a synctest bubble.
type connPair struct {
	client, server *Conn
	cp, sp         *serialline.Port
	clientEvents   *eventLog
}

func newConnPair(t *testing.T, cc, sc Config) *connPair {
	t.Helper()
	for _, c := range []*Config{&cc, &sc} {
		if c.Restart == 0 {
			c.Restart = 500 * time.Millisecond // keeps the peer's post-Terminate wait short
		}
	}
	p := &connPair{clientEvents: &eventLog{}}
	if cc.OnEvent == nil {
		cc.OnEvent = p.clientEvents.add
	}
	cp, sp := serialline.Pipe(serialline.Options{Seed: 1})
	p.client, p.server, p.cp, p.sp = NewConn(cp, cc), NewConn(sp, sc), cp, sp
	ctx := context.Background()
	p.client.Start(ctx)
	p.server.Start(ctx)
	t.Cleanup(func() {
		p.close(t)
		_ = cp.Close()
		_ = sp.Close()
	})
	return p
}

func (p *connPair) close(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	assert.NoError(t, p.client.Close(ctx))
	assert.NoError(t, p.server.Close(ctx))
}

func waitUp(t *testing.T, c *Conn) Status {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	st, err := c.WaitUp(ctx)
	require.NoError(t, err)
	return st
}

// waitDone waits for c's end, at most limit (virtual time in a bubble).
func waitDone(t *testing.T, c *Conn, limit time.Duration) {
	t.Helper()
	select {
	case <-c.Done():
	case <-time.After(limit):
		t.Fatal("not done")
	}
}

// eventLog collects a Conn's events through Config.OnEvent.
type eventLog struct {
	mu     sync.Mutex
	events []Event
}

func (l *eventLog) add(e Event) {
	l.mu.Lock()
	l.events = append(l.events, e)
	l.mu.Unlock()
}

func (l *eventLog) kinds() []EventKind {
	l.mu.Lock()
	defer l.mu.Unlock()
	var k []EventKind
	for _, e := range l.events {
		k = append(k, e.Kind)
	}
	return k
}

func TestConnUp(t *testing.T) {
	for _, auth := range []AuthProto{AuthNone, AuthPAP, AuthCHAP} {
		t.Run(auth.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				before := goleak.IgnoreCurrent()
				sc := serverConf
				sc.RequireAuth = auth
				p := newConnPair(t, clientConf, sc)
				cs, ss := waitUp(t, p.client), waitUp(t, p.server)
				assert.Equal(t, PhaseNetwork, cs.Phase)
				assert.Equal(t, addr("10.0.0.2"), cs.Local)
				assert.Equal(t, addr("10.0.0.1"), cs.Peer)
				assert.Equal(t, []netip.Addr{addr("10.0.0.1"), addr("9.9.9.9")}, cs.DNS)
				assert.Equal(t, addr("10.0.0.1"), ss.Local)
				assert.Equal(t, addr("10.0.0.2"), ss.Peer)
				assert.Equal(t, auth, ss.Authenticated)
				assert.Equal(t, cs, p.client.Status())
				p.close(t)
				assert.ErrorIs(t, p.client.Err(), ErrClosed)
				assert.ErrorIs(t, p.server.Err(), ErrPeerTerminated)
				synctest.Wait()
				goleak.VerifyNone(t, before) // every goroutine of both Conns is gone after Close
			})
		})
	}
}

func TestConnWrongCredentials(t *testing.T) {
	for _, auth := range []AuthProto{AuthPAP, AuthCHAP} {
		t.Run(auth.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				sc, cc := serverConf, clientConf
				sc.RequireAuth = auth
				cc.Password = "nope"
				p := newConnPair(t, cc, sc)
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				defer cancel()
				_, err := p.client.WaitUp(ctx)
				var ae *AuthError
				require.ErrorAs(t, err, &ae)
				msg := map[AuthProto]string{AuthPAP: "Login incorrect", AuthCHAP: "Access denied"}[auth]
				assert.EqualError(t, err, "authentication rejected by peer: "+msg)
				waitDone(t, p.client, 20*time.Second)
				assert.Equal(t, err, p.client.Err())
				_, err = p.server.WaitUp(ctx)
				assert.ErrorIs(t, err, ErrAuthFailed)
			})
		})
	}
}

func TestConnPackets(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var trace struct {
			sync.Mutex
			dirs map[Direction]int
		}
		trace.dirs = map[Direction]int{}
		cc := clientConf
		cc.Trace = func(_ time.Time, d Direction, _ uint16, _ []byte) {
			trace.Lock()
			trace.dirs[d]++
			trace.Unlock()
		}
		p := newConnPair(t, cc, serverConf)
		type delivery struct {
			pkt   []byte
			stats Stats // Stats as the handler saw them
		}
		got := make(chan delivery, 10)
		// The server echoes every packet back; the client collects them.
		p.server.SetPacketHandler(func(pkt []byte) { _ = p.server.WritePacket(pkt) })
		p.client.SetPacketHandler(func(pkt []byte) { got <- delivery{bytes.Clone(pkt), p.client.Stats()} })
		// Before the link is up: a Conn not started, since the pair's can negotiate (in no
		// virtual time) before this line runs.
		idle, _ := serialline.Pipe(serialline.Options{})
		defer idle.Close()
		assert.ErrorIs(t, NewConn(idle, cc).WritePacket(ipv4Packet()), ErrNotUp)
		waitUp(t, p.client)
		waitUp(t, p.server)
		big := make([]byte, 1500)
		big[0] = 0x45
		for i := range big[20:] {
			big[20+i] = byte(i) // every byte value, control characters included
		}
		var bytesIn uint64
		for i, pkt := range [][]byte{ipv4Packet(), big} {
			require.NoError(t, p.client.WritePacket(pkt))
			select {
			case back := <-got:
				assert.Equal(t, pkt, back.pkt)
				// Counted by the time the handler runs: Stats does not trail a delivery.
				bytesIn += uint64(len(pkt))
				assert.Equal(t, uint64(i+1), back.stats.IPv4.FramesIn)
				assert.Equal(t, bytesIn, back.stats.IPv4.BytesIn)
				assert.Equal(t, uint64(i+1), back.stats.IPv4.FramesOut)
			case <-time.After(5 * time.Second):
				t.Fatal("no echo")
			}
		}
		assert.ErrorIs(t, p.client.WritePacket(make([]byte, 1501)), ErrBadPacket, "version nibble 0")
		big1501 := append([]byte{0x45}, make([]byte, 1500)...)
		assert.ErrorIs(t, p.client.WritePacket(big1501), ErrPacketTooBig)
		assert.ErrorIs(t, p.client.WritePacket(nil), ErrBadPacket)
		assert.ErrorIs(t, p.client.WritePacket([]byte{0x60}), ErrNotUp, "IPv6 not negotiated")
		st := p.client.Stats()
		assert.Equal(t, uint64(2), st.IPv4.FramesOut)
		assert.Equal(t, uint64(2), st.IPv4.FramesIn)
		assert.Equal(t, uint64(1520), st.IPv4.BytesIn)
		assert.NotZero(t, st.LCP.FramesOut)
		assert.NotZero(t, st.Framing.FramesIn)
		assert.NotZero(t, st.Framing.BytesOut)
		assert.Zero(t, st.Framing.Errors())
		trace.Lock()
		assert.Greater(t, trace.dirs[Sent], 3)
		assert.Greater(t, trace.dirs[Received], 3)
		trace.Unlock()
	})
}

// The observer sees every event in order, EventDown last, and has seen EventDown when Done
// closes.
func TestConnEventsEndWithDown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newConnPair(t, clientConf, serverConf)
		waitUp(t, p.client)
		p.close(t)
		// No wait: Done closed after EventDown was delivered.
		var got []string
		for _, e := range p.clientEvents.events {
			got = append(got, e.Kind.String()+" "+e.Phase.String())
			assert.Zero(t, e.Missed)
		}
		assert.Equal(t, []string{"phase Establish", "phase Network", "up Network", "phase Terminate",
			"network-down Terminate", "phase Dead", "down Dead"}, got)
	})
}

// A slow observer delays Done until it has taken EventDown; a stuck one for a second only.
func TestConnDoneWaitsForObserver(t *testing.T) {
	for _, tc := range []struct {
		name string
		hold time.Duration // how long the observer takes over EventDown
		want time.Duration // from the link's end to Done
	}{
		{"slow", 300 * time.Millisecond, 300 * time.Millisecond},
		{"stuck", time.Hour, ioGrace},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var downAt, returned time.Time
				var mu sync.Mutex
				cp, sp := serialline.Pipe(serialline.Options{})
				defer sp.Close()
				release := make(chan struct{})
				c := NewConn(cp, Config{OnEvent: func(e Event) {
					if e.Kind != EventDown {
						return
					}
					mu.Lock()
					downAt = time.Now()
					mu.Unlock()
					select {
					case <-time.After(tc.hold):
					case <-release:
					}
					mu.Lock()
					returned = time.Now()
					mu.Unlock()
				}})
				c.Start(context.Background())
				synctest.Wait()
				_ = cp.Close() // the line goes: the link ends at once (ErrLowerDown)
				<-c.Done()
				mu.Lock()
				assert.Equal(t, tc.want, time.Since(downAt))
				if tc.hold < ioGrace {
					assert.False(t, returned.IsZero(), "OnEvent returned from EventDown before Done")
				} else {
					assert.True(t, returned.IsZero(), "Done did not wait for ever")
				}
				mu.Unlock()
				assert.ErrorIs(t, c.Err(), ErrLowerDown)
				close(release)
			})
		})
	}
}

// An observer that falls more than the queue's depth behind is told how many events it missed.
func TestConnEventsMissed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cp, sp := serialline.Pipe(serialline.Options{})
		defer cp.Close()
		defer sp.Close()
		release := make(chan struct{})
		log := &eventLog{}
		c := NewConn(cp, Config{OnEvent: func(e Event) {
			<-release
			log.add(e)
		}})
		sink := (*connSink)(c)
		const posted = 1100 // eventq.DefaultDepth is 1024
		for i := range posted {
			sink.Event(Event{Kind: EventPhase, Phase: Phase(i % 4)})
		}
		close(release)
		synctest.Wait() // the observer has caught up: the next event is accepted, with the count
		sink.Event(Event{Kind: EventPhase, Phase: PhaseNetwork})
		require.NoError(t, c.Close(context.Background()))
		var missed uint64
		for _, e := range log.events {
			missed += e.Missed
		}
		assert.NotZero(t, missed)
		assert.Equal(t, uint64(posted+2), uint64(len(log.events))+missed, "delivered + missed = posted (and EventDown)")
		assert.Equal(t, EventDown, log.events[len(log.events)-1].Kind)
	})
}

// The peer vanishes (line cut): the keepalive or the lower layer ends the link.
func TestConnLowerDown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newConnPair(t, clientConf, serverConf)
		waitUp(t, p.client)
		p.cp.Cut()
		waitDone(t, p.client, 10*time.Second)
		assert.ErrorIs(t, p.client.Err(), ErrLowerDown)
	})
}

func TestConnKeepaliveSilentPeer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cc := clientConf
		cc.EchoInterval, cc.EchoFailures, cc.Restart = 100*time.Millisecond, 2, 100*time.Millisecond
		p := newConnPair(t, cc, serverConf)
		waitUp(t, p.client)
		silent := time.Now()
		p.sp.SetFaults(serialline.Faults{Blackhole: true})
		waitDone(t, p.client, 10*time.Second)
		assert.ErrorIs(t, p.client.Err(), ErrPeerNotResponding)
		// Two unanswered echoes, an interval apart, and the third interval ends it.
		assert.LessOrEqual(t, time.Since(silent), 3*cc.EchoInterval)
	})
}

func TestConnContextCancelCloses(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cp, sp := serialline.Pipe(serialline.Options{})
		defer cp.Close()
		defer sp.Close()
		client, server := NewConn(cp, clientConf), NewConn(sp, serverConf)
		ctx, cancel := context.WithCancelCause(context.Background())
		client.Start(ctx)
		server.Start(context.Background())
		waitUp(t, client)
		cancel(errors.New("shutting down"))
		waitDone(t, client, 10*time.Second)
		assert.ErrorIs(t, client.Err(), ErrClosed)
		assert.ErrorContains(t, client.Err(), "shutting down")
		require.NoError(t, server.Close(context.Background()))
	})
}

// Close against a silent peer is bounded by Max-Terminate restarts.
func TestConnCloseBoundedSilentPeer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cc := clientConf
		cc.Restart = 200 * time.Millisecond
		p := newConnPair(t, cc, serverConf)
		waitUp(t, p.client)
		p.cp.SetFaults(serialline.Faults{Blackhole: true})
		start := time.Now()
		require.NoError(t, p.client.Close(context.Background()))
		// Two Terminate-Requests, a restart period apart, then one more period for the last.
		assert.Equal(t, 2*cc.Restart, time.Since(start))
	})
}

// blockingRW is a stream whose Write blocks until released and whose Read blocks until closed
// (like a serial port with hardware flow control stuck: Close does not unblock Write).
type blockingRW struct {
	release chan struct{}
	once    sync.Once
	writes  atomic.Int64
}

func (b *blockingRW) Read(p []byte) (int, error) {
	<-b.release
	return 0, io.EOF
}
func (b *blockingRW) Write(p []byte) (int, error) {
	b.writes.Add(1)
	<-b.release
	return 0, errors.New("released")
}
func (b *blockingRW) unblock() { b.once.Do(func() { close(b.release) }) }

// Close and the deadlines do nothing: the driver is stuck in the kernel and honours neither,
// which is what ErrIOStuck is for.
func (b *blockingRW) Close() error                     { return nil }
func (b *blockingRW) SetReadDeadline(time.Time) error  { return nil }
func (b *blockingRW) SetWriteDeadline(time.Time) error { return nil }

func TestConnCloseBoundedStuckWriter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rw := &blockingRW{release: make(chan struct{})}
		defer rw.unblock()
		before := goleak.IgnoreCurrent()
		c := NewConn(rw, Config{CloseTimeout: 300 * time.Millisecond})
		c.Start(context.Background())
		synctest.Wait() // the writer is stuck in the first Configure-Request
		require.Equal(t, int64(1), rw.writes.Load())
		start := time.Now()
		err := c.Close(context.Background())
		assert.ErrorIs(t, err, ErrIOStuck)
		assert.Equal(t, 300*time.Millisecond+ioGrace, time.Since(start), "CloseTimeout, then the goroutines' grace")
		assert.ErrorIs(t, c.Err(), ErrClosed)
		// Once the stream lets go, the goroutines end.
		rw.unblock()
		synctest.Wait()
		goleak.VerifyNone(t, before)
	})
}

func TestConnCloseContextShorterThanTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cc := clientConf
		cc.Restart = 2 * time.Second
		p := newConnPair(t, cc, serverConf)
		waitUp(t, p.client)
		p.cp.SetFaults(serialline.Faults{Blackhole: true})
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		start := time.Now()
		err := p.client.Close(ctx)
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Equal(t, 100*time.Millisecond, time.Since(start), "aborted: the goroutines finish at once")
		waitDone(t, p.client, 2*time.Second)
		assert.ErrorIs(t, p.client.Err(), ErrClosed)
	})
}

// ctx ends while the writer is stuck: Close still returns at once.
func TestConnCloseContextStuckWriter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rw := &blockingRW{release: make(chan struct{})}
		defer rw.unblock()
		before := goleak.IgnoreCurrent()
		c := NewConn(rw, Config{})
		c.Start(context.Background())
		synctest.Wait()
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		start := time.Now()
		assert.ErrorIs(t, c.Close(ctx), context.DeadlineExceeded)
		assert.Equal(t, 150*time.Millisecond, time.Since(start), "ctx, then 50 ms for the goroutines, which are stuck")
		rw.unblock()
		<-c.Done()
		synctest.Wait()
		goleak.VerifyNone(t, before)
	})
}

func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

func TestConnCloseBeforeStart(t *testing.T) {
	cp, sp := serialline.Pipe(serialline.Options{})
	defer cp.Close()
	defer sp.Close()
	log := &eventLog{}
	cfg := clientConf
	cfg.OnEvent = log.add
	c := NewConn(cp, cfg)
	require.NoError(t, c.Close(context.Background()))
	assert.ErrorIs(t, c.Err(), ErrClosed)
	assert.Equal(t, []EventKind{EventDown}, log.kinds(), "delivered before Close returned")
	c.Start(context.Background()) // no effect
	assert.True(t, isClosed(c.Done()))
	_, err := c.WaitUp(context.Background())
	assert.ErrorIs(t, err, ErrClosed)
}

// A stuck writer makes WritePacket fail after WriteTimeout instead of blocking for ever.
func TestConnWritePacketBounded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newConnPair(t, clientConf, serverConf)
		waitUp(t, p.client)
		waitUp(t, p.server)
		p.cp.SetFaults(serialline.Faults{Stall: true})
		p.client.cfg.WriteTimeout = 50 * time.Millisecond
		pkt := append([]byte{0x45}, make([]byte, 1400)...)
		var err error
		var sent int
		for ; err == nil && sent < 10_000; sent++ {
			err = p.client.WritePacket(pkt)
		}
		assert.ErrorIs(t, err, ErrTxBusy)
		assert.Equal(t, uint64(1), p.client.Stats().TxDropped)
		p.cp.SetFaults(serialline.Faults{})
	})
}

// nullRW discards writes and blocks reads until closed.
type nullRW struct{ closed chan struct{} }

func (n nullRW) Read([]byte) (int, error) {
	<-n.closed
	return 0, io.EOF
}
func (n nullRW) Write(p []byte) (int, error) { return len(p), nil }

// Close and the deadlines do nothing; the test ends the Read by closing n.closed.
func (n nullRW) Close() error                     { return nil }
func (n nullRW) SetReadDeadline(time.Time) error  { return nil }
func (n nullRW) SetWriteDeadline(time.Time) error { return nil }

// WritePacket itself (encode, queue, hand to the writer) allocates nothing.
func TestWritePacketDoesNotAllocate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rw := nullRW{closed: make(chan struct{})}
		c := NewConn(rw, Config{Restart: time.Minute})
		c.Start(context.Background())
		defer func() {
			close(rw.closed)
			<-c.Done()
		}()
		synctest.Wait()      // the start is over (first Configure-Request written, events delivered)
		c.ipv4Up.Store(true) // as if IPCP had opened
		pkt := append([]byte{0x45}, make([]byte, 1399)...)
		allocs := testing.AllocsPerRun(1000, func() {
			if err := c.WritePacket(pkt); err != nil {
				t.Fatal(err)
			}
		})
		assert.Zero(t, allocs)
		assert.GreaterOrEqual(t, c.Stats().IPv4.FramesOut, uint64(1000))
	})
}

// roundTripPair brings up a client and a server over rw pair, with the server echoing packets
// and the client signalling each echo on back.
func roundTripPair(tb testing.TB, cp, sp line.Line) (client, server *Conn, back chan struct{}) {
	client, server = NewConn(cp, clientConf), NewConn(sp, serverConf)
	ctx := context.Background()
	client.Start(ctx)
	server.Start(ctx)
	tb.Cleanup(func() { _ = client.Close(ctx); _ = server.Close(ctx) })
	if _, err := client.WaitUp(ctx); err != nil {
		tb.Fatal(err)
	}
	if _, err := server.WaitUp(ctx); err != nil {
		tb.Fatal(err)
	}
	back = make(chan struct{}, 1)
	server.SetPacketHandler(func(pkt []byte) { _ = server.WritePacket(pkt) })
	client.SetPacketHandler(func([]byte) { back <- struct{}{} })
	return client, server, back
}

// A packet's whole round trip through two Conns (framing, queues, goroutines, Link) allocates
// nothing when the stream itself does not.
func TestRoundTripDoesNotAllocate(t *testing.T) {
	cp, sp := condPipe()
	defer cp.Close()
	defer sp.Close()
	client, _, back := roundTripPair(t, cp, sp)
	pkt := append([]byte{0x45}, make([]byte, 1399)...)
	allocs := testing.AllocsPerRun(500, func() {
		if err := client.WritePacket(pkt); err != nil {
			t.Fatal(err)
		}
		<-back
	})
	assert.Zero(t, allocs)
}

// BenchmarkRoundTripCondPipe measures one IPv4 packet client -> server -> client through both
// Conns over an allocation-free in-memory stream.
func BenchmarkRoundTripCondPipe(b *testing.B) {
	cp, sp := condPipe()
	defer cp.Close()
	defer sp.Close()
	client, _, back := roundTripPair(b, cp, sp)
	pkt := append([]byte{0x45}, make([]byte, 1399)...)
	b.SetBytes(int64(2 * len(pkt)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if err := client.WritePacket(pkt); err != nil {
			b.Fatal(err)
		}
		<-back
	}
}

// BenchmarkRoundTrip measures one IPv4 packet client -> server -> client over the in-memory
// serial line, through both Conns' framing and goroutines.
func BenchmarkRoundTrip(b *testing.B) {
	cp, sp := serialline.Pipe(serialline.Options{})
	defer cp.Close()
	defer sp.Close()
	client, server := NewConn(cp, clientConf), NewConn(sp, serverConf)
	ctx := context.Background()
	client.Start(ctx)
	server.Start(ctx)
	defer func() { _ = client.Close(ctx); _ = server.Close(ctx) }()
	if _, err := client.WaitUp(ctx); err != nil {
		b.Fatal(err)
	}
	if _, err := server.WaitUp(ctx); err != nil {
		b.Fatal(err)
	}
	back := make(chan struct{}, 1)
	server.SetPacketHandler(func(pkt []byte) { _ = server.WritePacket(pkt) })
	client.SetPacketHandler(func([]byte) { back <- struct{}{} })
	pkt := append([]byte{0x45}, make([]byte, 1399)...)
	b.SetBytes(int64(2 * len(pkt)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if err := client.WritePacket(pkt); err != nil {
			b.Fatal(err)
		}
		<-back
	}
}

func TestConnEchoRTT(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cc := clientConf
		cc.EchoInterval = 300 * time.Millisecond
		p := newConnPair(t, cc, serverConf)
		waitUp(t, p.client)
		assert.Zero(t, p.client.Stats().EchoRTT, "no echo answered yet")
		// The first request and its reply: on an unpaced line, no time passes.
		time.Sleep(cc.EchoInterval)
		synctest.Wait()
		st := p.client.Stats()
		require.Equal(t, uint64(1), st.EchoReplies)
		assert.Zero(t, st.EchoRTT)
		// Hold the server's answers from just before the next request until 100 ms after it:
		// that request's round trip shows the hold, exactly.
		p.sp.SetFaults(serialline.Faults{Stall: true})
		time.Sleep(cc.EchoInterval)
		synctest.Wait()
		require.Equal(t, uint64(2), p.client.Stats().EchoRequests)
		time.Sleep(100 * time.Millisecond)
		p.sp.SetFaults(serialline.Faults{})
		synctest.Wait()
		st = p.client.Stats()
		require.Equal(t, uint64(2), st.EchoReplies)
		assert.Equal(t, 100*time.Millisecond, st.EchoRTT, "the held reply's round trip")
	})
}
