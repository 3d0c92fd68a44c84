package cmux

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// Channel is one DLC of a Mux: a line.Line, so the AT engine and the PPP link run on it as on a
// serial port. Read returns the DLC's data; Write sends it in UIH frames of at most N1 bytes,
// waiting while the modem has flow control off (FCoff, or FC in its MSC for this DLC). A DLC the
// modem closes fails Read and Write with a *ChannelClosedError (ErrChannelClosed); the end of the
// multiplexer fails them with ErrMuxClosed; after Close they return os.ErrClosed.
type Channel struct {
	m    *Mux
	dlci uint8

	readDL, writeDL *deadline
	rxReady         chan struct{} // a token when data arrived or the channel failed
	room            chan struct{} // a token when Read took data (the reader waits for room)
	roomTimer       *time.Timer   // the reader's wait for room; reader goroutine only
	txReady         chan struct{} // a token when flow control or the channel's state changed

	mu     sync.Mutex
	rx     []byte
	rr, rw int
	err    error   // set once: why Read and Write fail
	opened bool    // UA received (initiator) or sent (responder)
	remote Signals // the modem's last MSC signals for this DLC
	stopRx bool    // our receive buffer is over its mark: the modem should stop on this DLC
	// overflow: Read did not make room in time: drop data until it reads.
	overflow bool

	flowMu   sync.Mutex // orders our flow MSCs: the last one sent is the current state
	flowSent bool       // the modem was last told to stop (under flowMu)

	wmu  sync.Mutex // one Write at a time
	wbuf []byte

	bytesIn, bytesOut, framesIn, framesOut atomic.Uint64
}

// ChannelStats are a Channel's counters.
type ChannelStats struct {
	BytesIn, BytesOut   uint64 // payload bytes
	FramesIn, FramesOut uint64 // UIH frames
}

// batchFrames bounds how many frames one Write hands to the line at once: large enough to
// amortise the line's write call, small enough that flow control stops us soon.
const batchBytes = 4096

func newChannel(m *Mux, dlci uint8) *Channel {
	per := FrameLen(m.cfg.N1)
	return &Channel{
		m:       m,
		dlci:    dlci,
		readDL:  newDeadline(),
		writeDL: newDeadline(),
		rxReady: make(chan struct{}, 1),
		room:    make(chan struct{}, 1),
		txReady: make(chan struct{}, 1),
		rx:      make([]byte, m.cfg.RxBuffer),
		wbuf:    make([]byte, 0, max(1, batchBytes/per)*per),
	}
}

// DLCI is the channel's data link connection identifier.
func (c *Channel) DLCI() int { return int(c.dlci) }

// Stats returns the channel's counters.
func (c *Channel) Stats() ChannelStats {
	return ChannelStats{
		BytesIn: c.bytesIn.Load(), BytesOut: c.bytesOut.Load(),
		FramesIn: c.framesIn.Load(), FramesOut: c.framesOut.Load(),
	}
}

// Signals returns the V.24 signals of the modem's last MSC for this DLC.
func (c *Channel) Signals() Signals {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.remote
}

func (c *Channel) setOpen() {
	c.mu.Lock()
	c.opened = true
	c.mu.Unlock()
}

func notify(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// fail makes Read and Write return err from now on (the first reason wins).
func (c *Channel) fail(err error) {
	c.mu.Lock()
	if c.err == nil {
		c.err = err
	}
	c.mu.Unlock()
	notify(c.rxReady)
	notify(c.txReady)
}

// deliver queues received data; false if it did not fit (the modem ignored our flow control).
func (c *Channel) deliver(p []byte) bool {
	c.framesIn.Add(1)
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		return false
	}
	for len(p) > len(c.rx)-c.rw {
		if c.rr > 0 {
			c.rw = copy(c.rx, c.rx[c.rr:c.rw])
			c.rr = 0
			continue
		}
		// Full: the modem went on past our MSC with FC (in-band flow control lags by what is
		// in flight). Hold the line, which holds the modem, until Read makes room; a reader
		// gone for longer than RxWait is given up on, and then its data dropped at once until
		// it reads again.
		if c.overflow || c.err != nil {
			c.mu.Unlock()
			return false
		}
		c.mu.Unlock()
		if !c.waitRoom() {
			c.mu.Lock()
			c.overflow = true
			c.mu.Unlock()
			return false
		}
		c.mu.Lock()
	}
	c.rw += copy(c.rx[c.rw:], p)
	stop := !c.stopRx && c.rw-c.rr > len(c.rx)/2
	if stop {
		c.stopRx = true
	}
	c.mu.Unlock()
	c.bytesIn.Add(uint64(len(p)))
	notify(c.rxReady)
	if stop {
		c.syncFlow()
	}
	return true
}

// waitRoom waits up to RxWait for Read to take data; false if it did not.
func (c *Channel) waitRoom() bool {
	if c.roomTimer == nil {
		c.roomTimer = time.NewTimer(c.m.cfg.RxWait)
	} else {
		c.roomTimer.Reset(c.m.cfg.RxWait)
	}
	defer c.roomTimer.Stop()
	select {
	case <-c.room:
		return true
	case <-c.roomTimer.C:
		return false
	}
}

// syncFlow tells the modem the current receive state of this DLC (MSC with FC set or clear) if
// it was last told otherwise. The reader (stop) and Read (resume) both call it; flowMu makes the
// last message sent the current state, whichever goroutine ran last. It does not wait for the
// modem's answer: the reader goroutine must not.
func (c *Channel) syncFlow() {
	c.flowMu.Lock()
	defer c.flowMu.Unlock()
	c.mu.Lock()
	stop := c.stopRx
	c.mu.Unlock()
	if stop == c.flowSent {
		return
	}
	sig := SigRTC | SigRTR | SigDV
	if stop {
		sig |= SigFC
	}
	c.m.replyMsg(Msg{Type: MsgMSC, Command: true, Value: mscValue(nil, c.dlci, sig)})
	c.flowSent = stop
}

// SetFlow tells the modem, by an MSC for this DLC, whether we can receive on it, and waits for
// its answer. The Mux does this on its own when the receive buffer fills and drains; SetFlow is
// for a responder that plays a modem applying flow control.
func (c *Channel) SetFlow(ctx context.Context, receive bool) error {
	sig := SigRTC | SigRTR | SigDV
	if !receive {
		sig |= SigFC
	}
	if err := c.m.command(ctx, Msg{Type: MsgMSC, Command: true, Value: mscValue(nil, c.dlci, sig)}, nil); err != nil {
		return fmt.Errorf("cmux: MSC on DLC %d: %w", c.dlci, err)
	}
	return nil
}

// setRemote records the modem's MSC for this DLC; FC stops our writes until it clears.
func (c *Channel) setRemote(s Signals) {
	c.mu.Lock()
	c.remote = s
	c.mu.Unlock()
	notify(c.txReady)
}

// Read reads data the modem sent on this DLC.
func (c *Channel) Read(p []byte) (int, error) {
	for {
		c.mu.Lock()
		if c.rw > c.rr {
			n := copy(p, c.rx[c.rr:c.rw])
			c.rr += n
			if c.rr == c.rw {
				c.rr, c.rw = 0, 0
			}
			c.overflow = false
			notify(c.room)
			resume := c.stopRx && c.rw-c.rr < len(c.rx)/4
			if resume {
				c.stopRx = false
			}
			c.mu.Unlock()
			if resume {
				c.syncFlow()
			}
			return n, nil
		}
		err := c.err
		c.mu.Unlock()
		if err != nil {
			return 0, err
		}
		if len(p) == 0 {
			return 0, nil
		}
		dl := c.readDL.wait()
		if isClosed(dl) {
			return 0, fmt.Errorf("cmux: DLC %d read: %w", c.dlci, os.ErrDeadlineExceeded)
		}
		select {
		case <-c.rxReady:
		case <-dl:
		}
	}
}

// Write sends p on this DLC in UIH frames of at most N1 bytes. It blocks while the modem has
// flow control off, until the write deadline.
func (c *Channel) Write(p []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	n1 := c.m.cfg.N1
	per := FrameLen(n1)
	written := 0
	for len(p) > 0 {
		if err := c.waitSend(); err != nil {
			return written, err
		}
		// Encode as many frames as the batch holds.
		c.wbuf = c.wbuf[:0]
		k, frames := 0, 0
		for k < len(p) && len(c.wbuf)+per <= cap(c.wbuf) {
			chunk := p[k:min(len(p), k+n1)]
			c.wbuf, _ = AppendFrame(c.wbuf, Frame{DLCI: c.dlci, CR: c.m.crFor(true), Type: UIH, Info: chunk})
			k += len(chunk)
			frames++
		}
		dl := c.writeDL.wait()
		if err := c.m.lock(nil, dl); err != nil {
			return written, c.writeErr(err)
		}
		var t time.Time
		if d, ok := c.deadlineTime(); ok {
			t = d
		}
		err := c.m.writeLocked(c.wbuf, t, frames)
		c.m.unlock()
		if err != nil {
			return written, c.writeErr(err)
		}
		written += k
		p = p[k:]
		c.bytesOut.Add(uint64(k))
		c.framesOut.Add(uint64(frames))
	}
	return written, nil
}

// waitSend waits until this DLC may send: open, flow control on, or fails.
func (c *Channel) waitSend() error {
	for {
		c.mu.Lock()
		err, stopped := c.err, c.remote&SigFC != 0
		c.mu.Unlock()
		if err != nil {
			return err
		}
		if !stopped && !c.m.flowStopped() {
			return nil
		}
		dl := c.writeDL.wait()
		if isClosed(dl) {
			return fmt.Errorf("cmux: DLC %d write (flow control off): %w", c.dlci, os.ErrDeadlineExceeded)
		}
		select {
		case <-c.txReady:
		case <-dl:
		}
	}
}

func (c *Channel) writeErr(err error) error {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return fmt.Errorf("cmux: DLC %d write: %w", c.dlci, os.ErrDeadlineExceeded)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return c.err
	}
	return err
}

// deadlineTime is the write deadline as a time, for the line under the batch.
func (c *Channel) deadlineTime() (time.Time, bool) {
	c.writeDL.mu.Lock()
	defer c.writeDL.mu.Unlock()
	return c.writeDL.at, !c.writeDL.at.IsZero()
}

// SetReadDeadline sets the deadline for Read; the zero time means none.
func (c *Channel) SetReadDeadline(t time.Time) error { c.readDL.set(t); return nil }

// SetWriteDeadline sets the deadline for Write (including its wait for flow control).
func (c *Channel) SetWriteDeadline(t time.Time) error { c.writeDL.set(t); return nil }

// SetDeadline sets both deadlines.
func (c *Channel) SetDeadline(t time.Time) error {
	c.readDL.set(t)
	c.writeDL.set(t)
	return nil
}

// Close closes the DLC: DISC, waiting for UA at most T1 x N2. Read and Write then return
// os.ErrClosed. Closing a channel the modem already closed only releases it.
func (c *Channel) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(c.m.cfg.N2+1)*c.m.cfg.T1)
	defer cancel()
	return c.disconnect(ctx)
}

func (c *Channel) disconnect(ctx context.Context) error {
	c.mu.Lock()
	prev := c.err
	if c.err == nil {
		c.err = fmt.Errorf("cmux: DLC %d: %w", c.dlci, os.ErrClosed)
	}
	c.mu.Unlock()
	notify(c.rxReady)
	notify(c.txReady)
	if prev != nil {
		return nil
	}
	c.m.mu.Lock()
	mine := c.m.chans[c.dlci] == c
	c.m.mu.Unlock()
	if !mine {
		return nil
	}
	err := c.m.connectOrDisconnect(ctx, c.dlci, DISC, c.m.cfg.N2+1)
	c.m.mu.Lock()
	if c.m.chans[c.dlci] == c {
		c.m.chans[c.dlci] = nil
	}
	c.m.mu.Unlock()
	if err != nil && !errors.Is(err, ErrMuxClosed) {
		return fmt.Errorf("cmux: close DLC %d: %w", c.dlci, err)
	}
	return nil
}
