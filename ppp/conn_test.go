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
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/pppdial/pppdial/internal/serialline"
	"github.com/pppdial/pppdial/line"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// connPair starts a client and a server Conn over an in-memory serial line.
type connPair struct {
	client, server *Conn
	cp, sp         *serialline.Port
}

func newConnPair(t *testing.T, cc, sc Config) *connPair {
	t.Helper()
	for _, c := range []*Config{&cc, &sc} {
		if c.Restart == 0 {
			c.Restart = 500 * time.Millisecond // keeps the peer's post-Terminate wait short
		}
	}
	cp, sp := serialline.Pipe(serialline.Options{Seed: 1})
	p := &connPair{client: NewConn(cp, cc), server: NewConn(sp, sc), cp: cp, sp: sp}
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

func TestConnUp(t *testing.T) {
	for _, auth := range []AuthProto{AuthNone, AuthPAP, AuthCHAP} {
		t.Run(auth.String(), func(t *testing.T) {
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
			goleak.VerifyNone(t) // every goroutine of both Conns is gone after Close
		})
	}
}

func TestConnWrongCredentials(t *testing.T) {
	for _, auth := range []AuthProto{AuthPAP, AuthCHAP} {
		t.Run(auth.String(), func(t *testing.T) {
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
			select {
			case <-p.client.Done():
			case <-ctx.Done():
				t.Fatal("client not done")
			}
			assert.Equal(t, err, p.client.Err())
			_, err = p.server.WaitUp(ctx)
			assert.ErrorIs(t, err, ErrAuthFailed)
		})
	}
}

func TestConnPackets(t *testing.T) {
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
	got := make(chan []byte, 10)
	// The server echoes every packet back; the client collects them.
	p.server.SetPacketHandler(func(pkt []byte) { _ = p.server.WritePacket(pkt) })
	p.client.SetPacketHandler(func(pkt []byte) { got <- bytes.Clone(pkt) })
	assert.ErrorIs(t, p.client.WritePacket(ipv4Packet()), ErrNotUp)
	waitUp(t, p.client)
	waitUp(t, p.server)
	big := make([]byte, 1500)
	big[0] = 0x45
	for i := range big[20:] {
		big[20+i] = byte(i) // every byte value, control characters included
	}
	for _, pkt := range [][]byte{ipv4Packet(), big} {
		require.NoError(t, p.client.WritePacket(pkt))
		select {
		case back := <-got:
			assert.Equal(t, pkt, back)
		case <-time.After(5 * time.Second):
			t.Fatal("no echo")
		}
	}
	assert.ErrorIs(t, p.client.WritePacket(make([]byte, 1501)), ErrBadPacket, "version nibble 0")
	big1501 := append([]byte{0x45}, make([]byte, 1500)...)
	assert.ErrorIs(t, p.client.WritePacket(big1501), ErrPacketTooBig)
	assert.ErrorIs(t, p.client.WritePacket(nil), ErrBadPacket)
	assert.ErrorIs(t, p.client.WritePacket([]byte{0x60}), ErrNotUp, "IPv6 not negotiated")
	// The counters are published by the link's goroutine after it has handed the packet to the
	// handler: they may trail the echo by a moment.
	var st Stats
	require.Eventually(t, func() bool {
		st = p.client.Stats()
		return st.IPv4.FramesIn == 2
	}, 2*time.Second, time.Millisecond)
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
}

func TestConnEventsEndWithDown(t *testing.T) {
	p := newConnPair(t, clientConf, serverConf)
	waitUp(t, p.client)
	p.close(t)
	var kinds []EventKind
	for e := range p.client.Events() { // closed after EventDown
		kinds = append(kinds, e.Kind)
	}
	assert.Equal(t, EventDown, kinds[len(kinds)-1])
	assert.Contains(t, kinds, EventUp)
}

// The peer vanishes (line cut): the keepalive or the lower layer ends the link.
func TestConnLowerDown(t *testing.T) {
	p := newConnPair(t, clientConf, serverConf)
	waitUp(t, p.client)
	p.cp.Cut()
	select {
	case <-p.client.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("not done")
	}
	assert.ErrorIs(t, p.client.Err(), ErrLowerDown)
}

func TestConnKeepaliveSilentPeer(t *testing.T) {
	cc := clientConf
	cc.EchoInterval, cc.EchoFailures, cc.Restart = 100*time.Millisecond, 2, 100*time.Millisecond
	p := newConnPair(t, cc, serverConf)
	waitUp(t, p.client)
	p.sp.SetFaults(serialline.Faults{Blackhole: true})
	select {
	case <-p.client.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("silent peer not noticed")
	}
	assert.ErrorIs(t, p.client.Err(), ErrPeerNotResponding)
}

func TestConnContextCancelCloses(t *testing.T) {
	cp, sp := serialline.Pipe(serialline.Options{})
	defer cp.Close()
	defer sp.Close()
	client, server := NewConn(cp, clientConf), NewConn(sp, serverConf)
	ctx, cancel := context.WithCancelCause(context.Background())
	client.Start(ctx)
	server.Start(context.Background())
	waitUp(t, client)
	cancel(errors.New("shutting down"))
	select {
	case <-client.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("not done")
	}
	assert.ErrorIs(t, client.Err(), ErrClosed)
	assert.ErrorContains(t, client.Err(), "shutting down")
	require.NoError(t, server.Close(context.Background()))
}

// Close against a silent peer is bounded by Max-Terminate restarts.
func TestConnCloseBoundedSilentPeer(t *testing.T) {
	cc := clientConf
	cc.Restart = 200 * time.Millisecond
	p := newConnPair(t, cc, serverConf)
	waitUp(t, p.client)
	p.cp.SetFaults(serialline.Faults{Blackhole: true})
	start := time.Now()
	require.NoError(t, p.client.Close(context.Background()))
	assert.Less(t, time.Since(start), 2*time.Second)
	assert.GreaterOrEqual(t, time.Since(start), 300*time.Millisecond, "two Terminate-Requests, restart apart")
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
	rw := &blockingRW{release: make(chan struct{})}
	defer rw.unblock()
	c := NewConn(rw, Config{CloseTimeout: 300 * time.Millisecond})
	c.Start(context.Background())
	time.Sleep(50 * time.Millisecond)
	start := time.Now()
	err := c.Close(context.Background())
	elapsed := time.Since(start)
	assert.ErrorIs(t, err, ErrIOStuck)
	assert.Less(t, elapsed, 300*time.Millisecond+ioGrace+500*time.Millisecond)
	assert.ErrorIs(t, c.Err(), ErrClosed)
	// Once the stream lets go, the goroutines end.
	rw.unblock()
	goleak.VerifyNone(t)
}

func TestConnCloseContextShorterThanTimeout(t *testing.T) {
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
	assert.Less(t, time.Since(start), 300*time.Millisecond)
	select {
	case <-p.client.Done():
	case <-time.After(2 * time.Second):
		t.Fatal("goroutines did not finish after an aborted Close")
	}
	assert.ErrorIs(t, p.client.Err(), ErrClosed)
}

// ctx ends while the writer is stuck: Close still returns at once.
func TestConnCloseContextStuckWriter(t *testing.T) {
	rw := &blockingRW{release: make(chan struct{})}
	defer rw.unblock()
	c := NewConn(rw, Config{})
	c.Start(context.Background())
	time.Sleep(20 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	assert.ErrorIs(t, c.Close(ctx), context.DeadlineExceeded)
	assert.Less(t, time.Since(start), 300*time.Millisecond)
	rw.unblock()
	<-c.Done()
	goleak.VerifyNone(t)
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
	c := NewConn(cp, clientConf)
	require.NoError(t, c.Close(context.Background()))
	assert.ErrorIs(t, c.Err(), ErrClosed)
	c.Start(context.Background()) // no effect
	assert.True(t, isClosed(c.Done()))
	_, err := c.WaitUp(context.Background())
	assert.ErrorIs(t, err, ErrClosed)
}

// A stuck writer makes WritePacket fail after WriteTimeout instead of blocking for ever.
func TestConnWritePacketBounded(t *testing.T) {
	p := newConnPair(t, clientConf, serverConf)
	waitUp(t, p.client)
	waitUp(t, p.server)
	p.cp.SetFaults(serialline.Faults{Stall: true})
	p.client.cfg.WriteTimeout = 50 * time.Millisecond
	pkt := append([]byte{0x45}, make([]byte, 1400)...)
	var err error
	deadline := time.Now().Add(10 * time.Second)
	for err == nil && time.Now().Before(deadline) {
		err = p.client.WritePacket(pkt)
	}
	assert.ErrorIs(t, err, ErrTxBusy)
	assert.NotZero(t, p.client.Stats().TxDropped)
	p.cp.SetFaults(serialline.Faults{})
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
	rw := nullRW{closed: make(chan struct{})}
	c := NewConn(rw, Config{Restart: time.Minute})
	c.Start(context.Background())
	defer func() {
		close(rw.closed)
		<-c.Done()
	}()
	time.Sleep(50 * time.Millisecond) // the first events (phase Establish) are out
	c.ipv4Up.Store(true)              // as if IPCP had opened
	pkt := append([]byte{0x45}, make([]byte, 1399)...)
	allocs := testing.AllocsPerRun(1000, func() {
		if err := c.WritePacket(pkt); err != nil {
			t.Fatal(err)
		}
	})
	assert.Zero(t, allocs)
	assert.GreaterOrEqual(t, c.Stats().IPv4.FramesOut, uint64(1000))
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
	cc := clientConf
	cc.EchoInterval = 300 * time.Millisecond
	p := newConnPair(t, cc, serverConf)
	waitUp(t, p.client)
	assert.Zero(t, p.client.Stats().EchoRTT, "no echo answered yet")
	waitFor := func(what string, cond func(Stats) bool) Stats {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for time.Now().Before(deadline) {
			if st := p.client.Stats(); cond(st) {
				return st
			}
			time.Sleep(time.Millisecond)
		}
		t.Fatalf("timed out waiting for %s", what)
		return Stats{}
	}
	// Hold the server's answers from just before a request until 100 ms after it: that
	// request's round trip must show the hold.
	st := waitFor("a first reply", func(s Stats) bool { return s.EchoReplies > 0 })
	p.sp.SetFaults(serialline.Faults{Stall: true})
	st = waitFor("a request in the stall", func(s Stats) bool { return s.EchoRequests > st.EchoRequests })
	time.Sleep(100 * time.Millisecond)
	p.sp.SetFaults(serialline.Faults{})
	st = waitFor("its reply", func(s Stats) bool { return s.EchoReplies > st.EchoReplies })
	assert.GreaterOrEqual(t, st.EchoRTT, 100*time.Millisecond, "the held reply's round trip")
	assert.Less(t, st.EchoRTT, 250*time.Millisecond, "measured from the request, not from an older one")
}
