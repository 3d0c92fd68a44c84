package ppp

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pppdial/pppdial/hdlc"
	"github.com/pppdial/pppdial/line"
)

// Buffer pool sizes. txPool bounds the data frames queued for the writer (about 48 KB of
// full-size frames: far more than a UART drains in a restart period, so a full queue means the
// writer is stuck, not busy).
const (
	txPool     = 32
	rxPool     = 32
	readBuf    = 4096
	eventQueue = 64
	// ioGrace bounds how long teardown waits for the reader and writer goroutines once the
	// link is dead (they return at once unless rw blocks and offers no read deadline).
	ioGrace = time.Second
)

// ErrIOStuck is returned by Close when the link ended but the reader or writer goroutine is
// still blocked in rw.Read or rw.Write (a port without read deadlines, a writer nobody
// drains). It returns when rw does; closing rw releases it.
var ErrIOStuck = errors.New("reader or writer still blocked in the stream")

type txBuf struct{ data []byte }

type rxBuf struct {
	proto uint16
	data  []byte
}

// Conn runs a Link over a byte stream (the serial port after CONNECT) with HDLC framing. One
// goroutine owns the Link and its timers; a reader goroutine decodes frames, a writer
// goroutine writes them, so a stuck port never stalls the protocol. All methods are safe for
// concurrent use.
type Conn struct {
	rw  line.Line
	cfg Config

	link *Link // owned by the run goroutine

	startOnce, closeOnce sync.Once
	started              atomic.Bool
	closeReq             chan error    // administrative close (buffered 1)
	abortReq             chan struct{} // close now, no Terminate exchange (buffered 1)
	lowerErr             chan error    // reader or writer failed (buffered 2)
	stop                 chan struct{} // closed when the link is dead: reader and writer return
	done                 chan struct{} // closed after teardown
	readerDone           chan struct{}
	writerDone           chan struct{}

	// transmit path
	txMu    sync.Mutex
	enc     *hdlc.Encoder
	txFree  chan *txBuf
	txQueue chan *txBuf
	ipv4Up  atomic.Bool
	ipv6Up  atomic.Bool
	peerMRU atomic.Int64
	v4Out   counterAtomic
	v6Out   counterAtomic
	txDrop  atomic.Uint64

	// receive path
	dec      *hdlc.Decoder // reader goroutine only
	rxFree   chan *rxBuf
	rxQueue  chan *rxBuf
	rxDirty  atomic.Bool
	handler  atomic.Pointer[func([]byte)]
	rxDrop   atomic.Uint64
	decMu    sync.Mutex
	decStats hdlc.Stats // decoder counters, published by the reader after each chunk

	events chan Event

	mu       sync.Mutex
	rxCfg    Framing // pending receive framing for the reader
	status   Status
	stats    Stats         // the Link's counters, published by the run goroutine
	changed  chan struct{} // closed and replaced on every status change
	err      error
	closeErr error
}

type counterAtomic struct{ frames, bytes atomic.Uint64 }

func (c *counterAtomic) add(n int) {
	c.frames.Add(1)
	c.bytes.Add(uint64(n))
}

// NewConn returns a Conn that will run a link with cfg over rw (the modem's data stream after
// CONNECT, a multiplexer channel, a pipe); nothing happens until Start. rw is never closed by
// the Conn: closing it is the caller's decision (after Close, when the line is not needed any
// more, e.g. for a hangup). Its read deadline stops the reader at teardown and is reset to none
// afterwards.
func NewConn(rw line.Line, cfg Config) *Conn {
	cfg = cfg.withDefaults()
	c := &Conn{
		rw:         rw,
		cfg:        cfg,
		closeReq:   make(chan error, 1),
		abortReq:   make(chan struct{}, 1),
		lowerErr:   make(chan error, 2),
		stop:       make(chan struct{}),
		done:       make(chan struct{}),
		readerDone: make(chan struct{}),
		writerDone: make(chan struct{}),
		enc:        hdlc.NewEncoder(),
		txFree:     make(chan *txBuf, txPool),
		txQueue:    make(chan *txBuf, 2*txPool),
		dec:        hdlc.NewDecoder(),
		rxFree:     make(chan *rxBuf, rxPool),
		rxQueue:    make(chan *rxBuf, rxPool),
		events:     make(chan Event, eventQueue),
		changed:    make(chan struct{}),
	}
	for range txPool {
		c.txFree <- &txBuf{data: make([]byte, 0, 2*lcpMaxFrame(cfg.MRU))}
	}
	for range rxPool {
		c.rxFree <- &rxBuf{data: make([]byte, 0, max(cfg.MRU, 1500))}
	}
	c.peerMRU.Store(1500)
	c.dec.SetMaxLen(max(cfg.MRU, 1500))
	// The receive ACCM stays cfg.ACCM from the start instead of following LCP (0xffffffff
	// until it opens): a peer's first frames after LCP opens, sent with the negotiated map,
	// often arrive in the same read as its last LCP frame, before the reader could switch maps,
	// and discarding their control characters would cost FCS errors and a retransmission.
	// Accepting unescaped control characters early is harmless (LCP escapes them all anyway);
	// the characters we asked to have escaped are discarded throughout.
	c.dec.SetACCM(cfg.ACCM)
	c.link = NewLink(cfg, (*connSink)(c))
	c.status = c.link.Status()
	return c
}

// lcpMaxFrame is a frame's worst-case unescaped size for an MRU (header, protocol, FCS-32).
func lcpMaxFrame(mru int) int { return max(mru, 1500) + 10 }

// Start starts the link: the goroutine that owns it, the reader and the writer. LCP begins at
// once. When ctx ends, the link is closed as by Close (Terminate exchange, bounded by
// CloseTimeout) with ErrClosed wrapping the context's cause. Start does nothing the second time.
func (c *Conn) Start(ctx context.Context) {
	c.startOnce.Do(func() {
		c.started.Store(true)
		go c.run(ctx)
		go c.reader()
		go c.writer()
	})
}

// WaitUp waits until IPCP is open (the Network phase carries IPv4) and returns the status, or
// returns the link's error if it ends first, or ctx's error.
func (c *Conn) WaitUp(ctx context.Context) (Status, error) {
	for {
		c.mu.Lock()
		st, ch, err := c.status, c.changed, c.err
		c.mu.Unlock()
		if st.IPv4 {
			return st, nil
		}
		if err != nil {
			return st, err
		}
		select {
		case <-ch:
		case <-c.done:
		case <-ctx.Done():
			return st, ctx.Err()
		}
	}
}

// Events returns the event stream: phase changes, EventUp, EventIPv6Up, EventNetworkDown and,
// last, EventDown; the channel is closed after EventDown. It is buffered; events are dropped
// (not blocking the link) when nobody reads, except EventDown, which always gets through.
func (c *Conn) Events() <-chan Event { return c.events }

// Status returns the current status.
func (c *Conn) Status() Status {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.status
}

// Done is closed when the link has ended and the Conn's goroutines are gone (or given up on:
// see ErrIOStuck).
func (c *Conn) Done() <-chan struct{} { return c.done }

// Err returns why the link ended (nil while it runs): ErrClosed, ErrPeerTerminated,
// ErrPeerNotResponding, *AuthError, ErrAuthFailed, ErrAuthTimeout, ErrNegotiation,
// ErrLoopback, ErrLowerDown or ErrInvalidConfig, possibly wrapped.
func (c *Conn) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// Stats returns the counters: the Link's per-protocol counters, the data path's and the HDLC
// framer's.
func (c *Conn) Stats() Stats {
	c.mu.Lock()
	s := c.stats
	c.mu.Unlock()
	s.IPv4.FramesOut += c.v4Out.frames.Load()
	s.IPv4.BytesOut += c.v4Out.bytes.Load()
	s.IPv6.FramesOut += c.v6Out.frames.Load()
	s.IPv6.BytesOut += c.v6Out.bytes.Load()
	s.TxDropped = c.txDrop.Load()
	s.RxDropped = c.rxDrop.Load()
	c.txMu.Lock()
	s.Framing = c.enc.Stats()
	c.txMu.Unlock()
	c.decMu.Lock()
	s.Framing = s.Framing.Add(c.decStats)
	c.decMu.Unlock()
	return s
}

// SetPacketHandler sets the function that receives inbound IPv4 and IPv6 packets. pkt is
// valid only during the call; h runs on the link's goroutine, so it must not block for long
// and must not call Close (WritePacket is fine). nil drops inbound packets (counted).
func (c *Conn) SetPacketHandler(h func(pkt []byte)) {
	if h == nil {
		c.handler.Store(nil)
		return
	}
	c.handler.Store(&h)
}

// WritePacket sends one IPv4 or IPv6 packet (chosen by its version nibble). It does not retain
// pkt, is safe for concurrent use and does not allocate. It fails with ErrNotUp until the
// packet's network protocol is open, ErrPacketTooBig above the peer's MRU, and ErrTxBusy when
// the transmit queue stays full for WriteTimeout (a stuck writer; the packet is dropped and
// counted).
func (c *Conn) WritePacket(pkt []byte) error {
	if len(pkt) == 0 {
		return ErrBadPacket
	}
	var proto uint16
	var ctr *counterAtomic
	switch pkt[0] >> 4 {
	case 4:
		if !c.ipv4Up.Load() {
			return ErrNotUp
		}
		proto, ctr = ProtoIPv4, &c.v4Out
	case 6:
		if !c.ipv6Up.Load() {
			return ErrNotUp
		}
		proto, ctr = ProtoIPv6, &c.v6Out
	default:
		return ErrBadPacket
	}
	if len(pkt) > int(c.peerMRU.Load()) {
		return ErrPacketTooBig
	}
	var b *txBuf
	select {
	case b = <-c.txFree:
	default:
		t := time.NewTimer(c.cfg.WriteTimeout) // slow path only: the queue is full
		select {
		case b = <-c.txFree:
			t.Stop()
		case <-t.C:
			c.txDrop.Add(1)
			return ErrTxBusy
		case <-c.stop:
			t.Stop()
			return ErrNotUp
		}
	}
	c.txMu.Lock()
	b.data = c.enc.AppendFrame(b.data[:0], proto, pkt)
	if c.cfg.Trace != nil {
		c.cfg.Trace(time.Now(), Sent, proto, pkt)
	}
	c.txQueue <- b // never blocks: its capacity exceeds the pool
	c.txMu.Unlock()
	ctr.add(len(pkt))
	return nil
}

// Close ends the link: LCP Terminate-Request, then Dead on the Terminate-Ack or after
// Max-Terminate restarts. It is bounded twice: by CloseTimeout, after which the link is aborted
// without waiting for the peer and the reader and writer goroutines get up to one more second
// to return; and by ctx, whose end aborts the link at once and makes Close return ctx's error
// within a few milliseconds, the goroutines finishing in the background (Done tells when).
// Close returns ErrIOStuck if a goroutine is still blocked in rw (a Write that never returns, a
// Read on a stream without read deadlines): closing rw releases it. Otherwise nil. Close before
// Start just marks the Conn closed. rw is never closed here: that is the caller's decision
// (a modem port may still be needed for a hangup). Close may be called concurrently and more
// than once; it must not be called from the packet handler.
func (c *Conn) Close(ctx context.Context) error {
	if !c.started.Load() {
		c.startOnce.Do(func() { // never started: nothing to stop
			c.link.Close(time.Now(), nil)
			close(c.stop)
			close(c.readerDone)
			close(c.writerDone)
			close(c.events)
			close(c.done)
		})
	}
	select {
	case c.closeReq <- nil:
	default:
	}
	deadline := time.NewTimer(c.cfg.CloseTimeout)
	defer deadline.Stop()
	select {
	case <-c.done:
		return c.closeResult()
	case <-ctx.Done():
		c.abort()
		grace := time.NewTimer(50 * time.Millisecond)
		defer grace.Stop()
		select {
		case <-c.done:
		case <-grace.C:
		}
		return ctx.Err()
	case <-deadline.C:
		c.abort()
		grace := time.NewTimer(ioGrace + 100*time.Millisecond)
		defer grace.Stop()
		select {
		case <-c.done:
			return c.closeResult()
		case <-grace.C:
			return fmt.Errorf("%w (link goroutine did not finish)", ErrIOStuck)
		}
	}
}

func (c *Conn) abort() {
	select {
	case c.abortReq <- struct{}{}:
	default:
	}
}

func (c *Conn) closeResult() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closeErr
}

// run owns the Link: it feeds it frames, ticks and close requests until it is Dead.
func (c *Conn) run(ctx context.Context) {
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	ctxDone := ctx.Done()
	var closeDeadline time.Time
	startClose := func(now time.Time, reason error) {
		if closeDeadline.IsZero() {
			closeDeadline = now.Add(c.cfg.CloseTimeout)
			c.link.Close(now, reason)
		}
	}

	c.link.Open(time.Now())
	c.publish()
	for !c.link.Done() {
		next := c.link.NextDeadline()
		if !closeDeadline.IsZero() && (next.IsZero() || closeDeadline.Before(next)) {
			next = closeDeadline
		}
		if !next.IsZero() {
			timer.Reset(max(time.Until(next), 0))
		}
		select {
		case b := <-c.rxQueue:
			c.link.Input(time.Now(), b.proto, b.data)
			c.rxFree <- b
		case <-timer.C:
			now := time.Now()
			if !closeDeadline.IsZero() && !now.Before(closeDeadline) {
				c.link.Abort(now, nil)
			} else {
				c.link.Tick(now)
			}
		case reason := <-c.closeReq:
			startClose(time.Now(), reason)
		case <-c.abortReq:
			c.link.Abort(time.Now(), nil)
		case err := <-c.lowerErr:
			c.link.LowerDown(time.Now(), err)
		case <-ctxDone:
			ctxDone = nil
			startClose(time.Now(), fmt.Errorf("%w: %w", ErrClosed, context.Cause(ctx)))
		}
		timer.Stop()
		c.publish()
	}
	c.teardown()
}

// publish copies the Link's counters for Stats.
func (c *Conn) publish() {
	s := c.link.Stats()
	c.mu.Lock()
	c.stats = s
	c.mu.Unlock()
}

// teardown stops the reader and writer, waits for them (bounded), and marks the Conn done.
func (c *Conn) teardown() {
	close(c.stop)
	_ = c.rw.SetReadDeadline(time.Now()) // wake a blocked Read
	grace := time.NewTimer(ioGrace)
	defer grace.Stop()
	stuck := false
	for _, ch := range []chan struct{}{c.readerDone, c.writerDone} {
		select {
		case <-ch:
		case <-grace.C:
			stuck = true
		}
	}
	select {
	case <-c.readerDone:
		_ = c.rw.SetReadDeadline(time.Time{}) // hand the line back as we found it
	default:
	}
	c.mu.Lock()
	c.err = c.link.Err()
	if stuck {
		c.closeErr = ErrIOStuck
	}
	c.mu.Unlock()
	close(c.events)
	close(c.done)
}

// reader decodes the stream and hands frames to the run goroutine.
func (c *Conn) reader() {
	defer close(c.readerDone)
	buf := make([]byte, readBuf)
	stopped := false
	onFrame := func(proto uint16, info []byte) {
		if stopped {
			return
		}
		if c.cfg.Trace != nil {
			c.cfg.Trace(time.Now(), Received, proto, info)
		}
		var b *rxBuf
		select {
		case b = <-c.rxFree:
		case <-c.stop:
			stopped = true
			return
		}
		b.proto = proto
		b.data = append(b.data[:0], info...)
		c.rxQueue <- b // never blocks: capacity equals the pool
	}
	for {
		n, err := c.rw.Read(buf)
		if n > 0 {
			if c.rxDirty.Load() {
				c.applyRxFraming()
			}
			c.dec.Feed(buf[:n], onFrame)
			c.decMu.Lock()
			c.decStats = c.dec.Stats()
			c.decMu.Unlock()
		}
		select {
		case <-c.stop:
			return
		default:
		}
		if stopped {
			return
		}
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				continue // not ours (we only set one when stopping, checked above)
			}
			select {
			case c.lowerErr <- fmt.Errorf("read: %w", err):
			case <-c.stop:
			}
			return
		}
	}
}

func (c *Conn) applyRxFraming() {
	c.mu.Lock()
	f := c.rxCfg
	c.rxDirty.Store(false)
	c.mu.Unlock()
	c.dec.SetMaxLen(f.MRU)
}

// writer writes queued frames to the stream, in order.
func (c *Conn) writer() {
	defer close(c.writerDone)
	failed := false
	write := func(b *txBuf) {
		if !failed {
			if _, err := c.rw.Write(b.data); err != nil {
				failed = true
				select {
				case c.lowerErr <- fmt.Errorf("write: %w", err):
				default:
				}
			}
		}
		select {
		case c.txFree <- b:
		default: // an extra buffer made for a control frame while the pool was empty
		}
	}
	for {
		select {
		case b := <-c.txQueue:
			write(b)
		case <-c.stop:
			// Flush what the link queued last (a Terminate-Ack), without waiting for more.
			for {
				select {
				case b := <-c.txQueue:
					write(b)
				default:
					return
				}
			}
		}
	}
}

// connSink is the Conn seen by its Link (called on the run goroutine).
type connSink Conn

// SendFrame encodes a control frame and queues it. It never blocks: if the queue is full (the
// writer is stuck) the frame is dropped, which the protocol's retransmissions survive.
func (s *connSink) SendFrame(protocol uint16, info []byte) {
	c := (*Conn)(s)
	var b *txBuf
	select {
	case b = <-c.txFree:
	default:
		b = &txBuf{}
	}
	c.txMu.Lock()
	defer c.txMu.Unlock()
	b.data = c.enc.AppendFrame(b.data[:0], protocol, info)
	if c.cfg.Trace != nil {
		c.cfg.Trace(time.Now(), Sent, protocol, info)
	}
	select {
	case c.txQueue <- b:
	default:
		c.txDrop.Add(1)
	}
}

// Deliver hands an inbound packet to the handler.
func (s *connSink) Deliver(protocol uint16, pkt []byte) {
	c := (*Conn)(s)
	h := c.handler.Load()
	if h == nil {
		c.rxDrop.Add(1)
		return
	}
	(*h)(pkt)
}

// SetFraming applies negotiated framing: the encoder at once (frames after this one use it),
// the decoder before the reader's next chunk.
func (s *connSink) SetFraming(f Framing) {
	c := (*Conn)(s)
	c.txMu.Lock()
	c.enc.SetACCM(f.TxACCM)
	c.enc.SetPFC(f.PFC)
	c.enc.SetACFC(f.ACFC)
	c.txMu.Unlock()
	c.peerMRU.Store(int64(f.PeerMRU))
	c.mu.Lock()
	c.rxCfg = f
	c.rxDirty.Store(true)
	c.mu.Unlock()
}

// Event updates the status and forwards the event.
func (s *connSink) Event(e Event) {
	c := (*Conn)(s)
	c.ipv4Up.Store(e.Status.IPv4)
	c.ipv6Up.Store(e.Status.IPv6)
	c.mu.Lock()
	c.status = e.Status
	if e.Kind == EventDown {
		c.err = e.Err
	}
	close(c.changed)
	c.changed = make(chan struct{})
	c.mu.Unlock()
	select {
	case c.events <- e:
		return
	default:
	}
	if e.Kind == EventDown { // the last event must get through: drop the oldest instead
		select {
		case <-c.events:
		default:
		}
		select {
		case c.events <- e:
		default:
		}
	}
}
