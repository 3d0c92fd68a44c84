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
	"github.com/pppdial/pppdial/internal/eventq"
	"github.com/pppdial/pppdial/line"
)

// Buffer sizes. txPool bounds the data frames queued for the writer (about 48 KB of full-size
// frames: far more than a UART drains in a restart period, so a full queue means the writer is
// stuck, not busy). The reader reads into rxChunks buffers of readBuf bytes in turn and queues
// them for the owner, at most rxChunks-2 at a time (see reader for why that bound makes reuse
// safe without handing buffers back).
const (
	txPool   = 32
	rxChunks = 8
	readBuf  = 4096
	// ioGrace bounds how long teardown waits for the reader and writer goroutines once the
	// link is dead (they return at once unless rw blocks and offers no read deadline), and then
	// for the observer to take the last events.
	ioGrace = time.Second
)

// ErrIOStuck is returned by Close when the link ended but the reader or writer goroutine is
// still blocked in rw.Read or rw.Write (a port without read deadlines, a writer nobody
// drains). It returns when rw does; closing rw releases it.
var ErrIOStuck = errors.New("reader or writer still blocked in the stream")

type txBuf struct{ data []byte }

// rxChunk is one read from the line: raw bytes, and the read's error after them (the last).
type rxChunk struct {
	data []byte // one of the reader's buffers, the owner's until it takes the next chunk
	err  error
}

// Conn runs a Link over a byte stream (the serial port after CONNECT) with HDLC framing. One
// goroutine owns the Link, the HDLC decoder and the timers: it decodes what the reader
// goroutine reads and feeds the frames to the Link one by one, so the framing LCP negotiates
// applies exactly between two frames, even two of the same read (RFC 1662's receive ACCM
// changes the moment LCP opens). A writer goroutine writes, so a stuck port never stalls the
// protocol. All methods are safe for concurrent use.
type Conn struct {
	rw  line.Line
	cfg Config

	// The owner's (the run goroutine's).
	link    *Link
	dec     *hdlc.Decoder
	onFrame func(protocol uint16, info []byte) // c.input, bound once: Feed allocates nothing
	now     time.Time                          // when the chunk being decoded was taken

	startOnce sync.Once
	started   atomic.Bool
	wake      chan struct{} // buffered 1: a request is pending in closeWanted/abortWanted/writeErr
	rxQueue   chan rxChunk  // reader -> owner
	stop      chan struct{} // closed when the link is dead: reader and writer return
	ioDone    chan struct{} // closed when both the reader and the writer have returned
	ioLeft    atomic.Int32  // reader and writer still running
	readerOut atomic.Bool   // the reader has returned
	done      chan struct{} // closed after teardown

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
	handler atomic.Pointer[func([]byte)]
	rxDrop  atomic.Uint64

	events *eventq.Queue[Event]

	mu       sync.Mutex
	status   Status
	stats    Stats         // the Link's and the decoder's counters, published by the owner
	changed  chan struct{} // closed and replaced on every status change
	err      error
	closeErr error
	// requests to the owner, which wake tells it to look at
	closeWanted, abortWanted bool
	writeErr                 error
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
		rw:      rw,
		cfg:     cfg,
		wake:    make(chan struct{}, 1),
		rxQueue: make(chan rxChunk, rxChunks-2),
		stop:    make(chan struct{}),
		ioDone:  make(chan struct{}),
		done:    make(chan struct{}),
		enc:     hdlc.NewEncoder(),
		txFree:  make(chan *txBuf, txPool),
		txQueue: make(chan *txBuf, 2*txPool),
		dec:     hdlc.NewDecoder(), // receive ACCM 0xffffffff until LCP opens (RFC 1662 7.1)
		events:  eventq.New(cfg.OnEvent, func(e *Event, n uint64) { e.Missed = n }, 0),
		changed: make(chan struct{}),
	}
	c.onFrame = c.input
	c.ioLeft.Store(2)
	for range txPool {
		c.txFree <- &txBuf{data: make([]byte, 0, 2*lcpMaxFrame(cfg.MRU))}
	}
	c.peerMRU.Store(1500)
	c.dec.SetMaxLen(max(cfg.MRU, 1500))
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

// Status returns the current status.
func (c *Conn) Status() Status {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.status
}

// Done is closed when the link has ended, the Conn's goroutines are gone (or given up on: see
// ErrIOStuck) and Config.OnEvent has returned from EventDown (or was given a second to).
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
// framer's. A packet handed to the packet handler is already counted when the handler runs.
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
	s.Framing = s.Framing.Add(c.enc.Stats())
	c.txMu.Unlock()
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
	// Counted before it is queued: once queued, its answer can come back and be delivered
	// before this goroutine runs again, and Stats must not trail what the peer has seen.
	ctr.add(len(pkt))
	c.txQueue <- b // never blocks: its capacity exceeds the pool
	c.txMu.Unlock()
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
// than once; it must not be called from the packet handler or from Config.OnEvent.
func (c *Conn) Close(ctx context.Context) error {
	if !c.started.Load() {
		c.startOnce.Do(func() { // never started: nothing to stop
			c.link.Close(time.Now(), nil)
			close(c.stop)
			close(c.ioDone)
			c.closeEvents()
			close(c.done)
		})
	}
	c.request(func() { c.closeWanted = true })
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
		grace := time.NewTimer(2*ioGrace + 100*time.Millisecond)
		defer grace.Stop()
		select {
		case <-c.done:
			return c.closeResult()
		case <-grace.C:
			return fmt.Errorf("%w (link goroutine did not finish)", ErrIOStuck)
		}
	}
}

func (c *Conn) abort() { c.request(func() { c.abortWanted = true }) }

// request records a request for the owner and wakes it.
func (c *Conn) request(set func()) {
	c.mu.Lock()
	set()
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default: // already awake: it reads every request when it gets there
	}
}

func (c *Conn) closeResult() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closeErr
}

// run is the owner: it decodes what the reader read, and feeds the Link frames, ticks and
// close requests until it is Dead.
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
		case ch := <-c.rxQueue:
			c.now = time.Now()
			// Frame by frame: a SetFraming from one frame's handling applies to the next
			// frame of the same chunk (hdlc.Decoder.Feed).
			c.dec.Feed(ch.data, c.onFrame)
			if ch.err != nil {
				c.link.LowerDown(c.now, fmt.Errorf("read: %w", ch.err))
			}
		case <-timer.C:
			now := time.Now()
			if !closeDeadline.IsZero() && !now.Before(closeDeadline) {
				c.link.Abort(now, nil)
			} else {
				c.link.Tick(now)
			}
		case <-c.wake:
			c.mu.Lock()
			closeWanted, abortWanted, werr := c.closeWanted, c.abortWanted, c.writeErr
			c.closeWanted, c.abortWanted, c.writeErr = false, false, nil
			c.mu.Unlock()
			now := time.Now()
			if werr != nil {
				c.link.LowerDown(now, werr)
			}
			if abortWanted {
				c.link.Abort(now, nil)
			}
			if closeWanted {
				startClose(now, nil)
			}
		case <-ctxDone:
			ctxDone = nil
			startClose(time.Now(), fmt.Errorf("%w: %w", ErrClosed, context.Cause(ctx)))
		}
		timer.Stop()
		c.publish()
	}
	c.teardown()
}

// input hands one decoded frame to the Link (the decoder's callback, on the owner).
func (c *Conn) input(protocol uint16, info []byte) {
	if c.link.Done() {
		return // the rest of the chunk after the link's end
	}
	if c.cfg.Trace != nil {
		c.cfg.Trace(c.now, Received, protocol, info)
	}
	c.link.Input(c.now, protocol, info)
}

// publish copies the Link's and the decoder's counters for Stats.
func (c *Conn) publish() {
	s := c.link.Stats()
	s.Framing = c.dec.Stats()
	c.mu.Lock()
	c.stats = s
	c.mu.Unlock()
}

// teardown stops the reader and writer, waits for them (bounded), lets the observer take the
// last events (bounded), and marks the Conn done.
func (c *Conn) teardown() {
	close(c.stop)
	_ = c.rw.SetReadDeadline(time.Now()) // wake a blocked Read
	grace := time.NewTimer(ioGrace)
	defer grace.Stop()
	stuck := false
	select {
	case <-c.ioDone:
	case <-grace.C:
		stuck = true
	}
	if c.readerOut.Load() {
		_ = c.rw.SetReadDeadline(time.Time{}) // hand the line back as we found it
	}
	c.mu.Lock()
	c.err = c.link.Err()
	if stuck {
		c.closeErr = ErrIOStuck
	}
	c.mu.Unlock()
	c.closeEvents()
	close(c.done)
}

// closeEvents waits, bounded, until the observer has taken every event, EventDown last.
func (c *Conn) closeEvents() {
	ctx, cancel := context.WithTimeout(context.Background(), ioGrace)
	defer cancel()
	if err := c.events.Close(ctx); err != nil && c.cfg.Logger != nil {
		c.cfg.Logger.Warn("ppp: event observer still busy; link ended without waiting for it", "err", err)
	}
}

// ioExit marks the reader or the writer gone; the last one closes ioDone.
func (c *Conn) ioExit() {
	if c.ioLeft.Add(-1) == 0 {
		close(c.ioDone)
	}
}

// reader reads the stream and queues what it read for the owner: it never decodes, so the
// owner decodes each frame under the framing in force right then.
//
// The buffers go round-robin with no way back: chunk k is read into buffer k mod rxChunks. The
// queue holds at most rxChunks-2 chunks, so the send of chunk k+rxChunks-1 completes only once
// the owner has received chunk k+1 (Go memory model, buffered channels), which it does only
// after it is done with chunk k; only after that send does the reader touch buffer k again,
// for chunk k+rxChunks.
func (c *Conn) reader() {
	defer func() {
		c.readerOut.Store(true)
		c.ioExit()
	}()
	bufs := make([]byte, rxChunks*readBuf)
	for k := 0; ; {
		i := k % rxChunks
		buf := bufs[i*readBuf : (i+1)*readBuf : (i+1)*readBuf]
		n, err := c.rw.Read(buf)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			select {
			case <-c.stop:
				return // ours, set by teardown
			default:
				err = nil // not ours
			}
		}
		if n == 0 && err == nil {
			continue
		}
		select {
		case c.rxQueue <- rxChunk{data: buf[:n], err: err}:
			k++
		case <-c.stop:
			return
		}
		if err != nil {
			return
		}
	}
}

// writer writes queued frames to the stream, in order.
func (c *Conn) writer() {
	defer c.ioExit()
	failed := false
	write := func(b *txBuf) {
		if !failed {
			if _, err := c.rw.Write(b.data); err != nil {
				failed = true
				c.request(func() { c.writeErr = fmt.Errorf("write: %w", err) })
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

// connSink is the Conn seen by its Link (called on the owner goroutine).
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

// Deliver hands an inbound packet to the handler, with the counters that include it published
// first.
func (s *connSink) Deliver(protocol uint16, pkt []byte) {
	c := (*Conn)(s)
	h := c.handler.Load()
	if h == nil {
		c.rxDrop.Add(1)
		return
	}
	c.publish()
	(*h)(pkt)
}

// SetFraming applies negotiated framing: the encoder at once (frames after this one use it),
// the decoder from the next frame on (this one is being handled).
func (s *connSink) SetFraming(f Framing) {
	c := (*Conn)(s)
	c.txMu.Lock()
	c.enc.SetACCM(f.TxACCM)
	c.enc.SetPFC(f.PFC)
	c.enc.SetACFC(f.ACFC)
	c.txMu.Unlock()
	c.peerMRU.Store(int64(f.PeerMRU))
	c.dec.SetACCM(f.RxACCM)
	c.dec.SetMaxLen(f.MRU)
}

// Event updates the status and hands the event to the observer's queue.
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
	c.events.Post(e)
}
