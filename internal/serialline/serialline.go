// Package serialline emulates a full-duplex serial line in memory: two Ports joined by a pair of
// bounded byte queues, optionally paced at a baud rate (10 bits on the wire per byte, as 8N1
// framing costs) and with faults injected in flight.
//
// It exists so that the dialer, the PPP link and the userspace stack can be tested end to end
// with the timing and the failures of a real UART — a slow line, bit errors, lost bursts, a line
// that goes silent, a port that vanishes — without hardware. Unlike net.Pipe, a write does not
// wait for a reader: bytes sit in the line's buffer as they do in a UART's FIFO and the kernel's
// tty buffer, and a writer blocks only while that buffer is full.
package serialline

import (
	"context"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pppdial/pppdial/line"
)

// DefaultBufferSize is the bytes a direction holds before Write blocks, about what a Linux tty
// buffers; a larger buffer would hide back-pressure and inflate round-trip times.
const DefaultBufferSize = 16 << 10

// Options configure a line made by Pipe.
type Options struct {
	// Baud paces delivery at Baud/10 bytes per second in each direction; 0 delivers at once.
	Baud int
	// BufferSize bounds the bytes in flight per direction; 0 means DefaultBufferSize.
	BufferSize int
	// Seed seeds the fault injection so a failing run can be repeated; 0 picks one at random.
	Seed int64
}

// Faults are impairments applied to the bytes one Port writes, on their way to the other Port.
type Faults struct {
	// BitErrorRate is the probability that any one bit is flipped in flight.
	BitErrorRate float64
	// DropRate is the probability that a whole write is lost, as a burst of noise would lose it.
	DropRate float64
	// Stall holds every byte in the line: nothing is delivered until Stall is cleared, and
	// writers block once the buffer is full, as on a UART whose peer has stopped reading.
	Stall bool
	// Blackhole discards every byte written: the line is dead but the writer does not notice.
	Blackhole bool
}

// Stats count what crossed one direction of the line.
type Stats struct {
	BytesWritten   uint64 // accepted from the writer
	BytesDelivered uint64 // handed to the reader
	BytesDropped   uint64 // lost to DropRate or Blackhole
	BitsFlipped    uint64 // corrupted by BitErrorRate
	BytesGarbled   uint64 // written while the two ends' speeds differed
}

// direction is one way of the line: a queue with its pacing clock and its faults.
type direction struct {
	mu      sync.Mutex
	changed chan struct{} // closed and replaced when the state changes while a writer waits
	armed   bool          // someone holds changed: the next change must close it
	// rnotify wakes the one reader (a token, never closed): the data path's wake-ups then
	// allocate nothing, where a closed-and-replaced channel would cost one per packet.
	rnotify chan struct{}
	buf     []byte    // bytes in flight, oldest first
	start   time.Time // when buf[0] began its transmission (pacing)
	limit   int
	baud    int  // pacing: the writer's speed; 0 delivers at once
	paced   bool // the line was made with a speed: SetBaud changes the pacing
	// wrate and rrate are the writing and the reading end's speeds (SetBaud). Bytes written
	// while they differ arrive garbled, as a UART sampling at the wrong speed reads them.
	wrate, rrate int
	faults       Faults
	rng          *rand.Rand
	closed       bool // the writing end closed or the line was cut
	rclosed      bool // the reading end closed
	stats        Stats
}

// Port is one end of the line. It is safe for one reader and any number of writers at once.
type Port struct {
	rx, tx *direction // rx: bytes for us to read; tx: bytes we write

	mu            sync.Mutex
	readDeadline  time.Time
	deadlineSet   chan struct{}
	writeDeadline time.Time
	wdeadlineSet  chan struct{} // closed and replaced when the write deadline changes
}

// Pipe returns the two ends of a new line.
func Pipe(opts Options) (a, b *Port) {
	if opts.BufferSize <= 0 {
		opts.BufferSize = DefaultBufferSize
	}
	seed := uint64(opts.Seed)
	if seed == 0 {
		seed = rand.Uint64()
	}
	ab := newDirection(opts, seed)
	ba := newDirection(opts, seed+1)
	return &Port{rx: ba, tx: ab, deadlineSet: make(chan struct{}), wdeadlineSet: make(chan struct{})},
		&Port{rx: ab, tx: ba, deadlineSet: make(chan struct{}), wdeadlineSet: make(chan struct{})}
}

func newDirection(opts Options, seed uint64) *direction {
	return &direction{
		changed: make(chan struct{}),
		rnotify: make(chan struct{}, 1),
		limit:   opts.BufferSize,
		baud:    opts.Baud,
		paced:   opts.Baud > 0,
		wrate:   opts.Baud,
		rrate:   opts.Baud,
		rng:     rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
	}
}

// signal wakes everyone waiting on d; d.mu must be held. It allocates only when a writer
// waits for room, so the steady data path does not allocate.
func (d *direction) signal() {
	select {
	case d.rnotify <- struct{}{}:
	default:
	}
	if !d.armed {
		return
	}
	close(d.changed)
	d.changed = make(chan struct{})
	d.armed = false
}

// waiter returns the channel closed at the next change; d.mu must be held.
func (d *direction) waiter() <-chan struct{} {
	d.armed = true
	return d.changed
}

// SetFaults sets the impairments applied to the bytes p writes from now on.
func (p *Port) SetFaults(f Faults) {
	d := p.tx
	d.mu.Lock()
	wasStalled := d.faults.Stall
	d.faults = f
	if wasStalled && !f.Stall {
		// The held bytes start their transmission now, not when they were written.
		d.start = time.Now()
	}
	d.signal()
	d.mu.Unlock()
}

// TxStats returns the counters of the direction p writes to.
func (p *Port) TxStats() Stats {
	p.tx.mu.Lock()
	defer p.tx.mu.Unlock()
	return p.tx.stats
}

// WaitTx blocks until cond holds for the counters of the direction p writes to (as TxStats
// returns them), or until ctx ends. Tests use it to act at a point of a transfer (so many bytes
// delivered, the bytes queued before a fault drained) without polling the counters.
func (p *Port) WaitTx(ctx context.Context, cond func(Stats) bool) error {
	d := p.tx
	for {
		d.mu.Lock()
		if cond(d.stats) {
			d.mu.Unlock()
			return nil
		}
		changed := d.waiter()
		d.mu.Unlock()
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Write queues b for the other end. It blocks while the line's buffer is full, until the write
// deadline (os.ErrDeadlineExceeded, with the bytes queued so far counted), and fails once either
// end has closed.
func (p *Port) Write(b []byte) (int, error) {
	d := p.tx
	written := 0
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for len(b) > 0 {
		p.mu.Lock()
		deadline, deadlineSet := p.writeDeadline, p.wdeadlineSet
		p.mu.Unlock()
		d.mu.Lock()
		if d.closed || d.rclosed {
			d.mu.Unlock()
			return written, fmt.Errorf("serialline: write: %w", net.ErrClosed)
		}
		room := d.limit - len(d.buf)
		if room <= 0 {
			if !deadline.IsZero() && !time.Now().Before(deadline) {
				d.mu.Unlock()
				return written, os.ErrDeadlineExceeded
			}
			wait := d.waiter()
			d.mu.Unlock()
			select {
			case <-wait:
			case <-deadlineSet:
			case <-armTimer(&timer, deadline):
			}
			continue
		}
		n := min(room, len(b))
		d.enqueue(b[:n])
		d.signal()
		d.mu.Unlock()
		written += n
		b = b[n:]
	}
	return written, nil
}

// enqueue applies the faults to chunk and appends it; d.mu must be held.
func (d *direction) enqueue(chunk []byte) {
	d.stats.BytesWritten += uint64(len(chunk))
	f := d.faults
	if f.Blackhole || (f.DropRate > 0 && d.rng.Float64() < f.DropRate) {
		d.stats.BytesDropped += uint64(len(chunk))
		return
	}
	if len(d.buf) == 0 {
		d.start = time.Now()
	}
	off := len(d.buf)
	d.buf = append(d.buf, chunk...)
	if f.BitErrorRate > 0 {
		d.flipBits(d.buf[off:], f.BitErrorRate)
	}
	if d.wrate != d.rrate {
		d.garble(d.buf[off:])
	}
}

// garble replaces bytes sent at one speed and sampled at another. A real UART reads some
// framing errors and a different count of bytes; this keeps the count and sets the high bit,
// so that no garbled answer can read as a valid one ("OK" stays unreadable); d.mu must be held.
func (d *direction) garble(b []byte) {
	for i := range b {
		b[i] = 0x80 | byte(d.rng.Uint32())
	}
	d.stats.BytesGarbled += uint64(len(b))
}

// flipBits corrupts bits at the given rate, drawing the gap to the next error from a geometric
// distribution so that low rates cost one random number per error rather than one per bit.
func (d *direction) flipBits(b []byte, rate float64) {
	nbits := len(b) * 8
	if rate >= 1 {
		for i := range b {
			b[i] = ^b[i]
		}
		d.stats.BitsFlipped += uint64(nbits)
		return
	}
	logq := math.Log1p(-rate)
	for bit := 0; ; {
		gap := int(math.Floor(math.Log(1-d.rng.Float64()) / logq))
		bit += gap
		if bit >= nbits || bit < 0 {
			return
		}
		b[bit/8] ^= 1 << (bit % 8)
		d.stats.BitsFlipped++
		bit++
	}
}

// available reports how many queued bytes have finished crossing the wire by now, and when the
// next one will have; d.mu must be held.
func (d *direction) available(now time.Time) (int, time.Time) {
	if len(d.buf) == 0 || d.faults.Stall {
		return 0, time.Time{}
	}
	if d.baud <= 0 {
		return len(d.buf), time.Time{}
	}
	perByte := time.Duration(float64(10*time.Second) / float64(d.baud))
	n := int(now.Sub(d.start) / perByte)
	if n >= len(d.buf) {
		return len(d.buf), time.Time{}
	}
	return n, d.start.Add(time.Duration(n+1) * perByte)
}

// Read returns the bytes that have crossed the line. It blocks until at least one has, the read
// deadline passes (os.ErrDeadlineExceeded), or the other end closes and the line is drained
// (io.EOF).
func (p *Port) Read(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	d := p.rx
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		p.mu.Lock()
		deadline, deadlineSet := p.readDeadline, p.deadlineSet
		p.mu.Unlock()

		now := time.Now()
		d.mu.Lock()
		if d.rclosed {
			d.mu.Unlock()
			return 0, fmt.Errorf("serialline: read: %w", net.ErrClosed)
		}
		n, next := d.available(now)
		if n > 0 {
			n = copy(b, d.buf[:n])
			d.consume(n, now)
			d.signal()
			d.mu.Unlock()
			return n, nil
		}
		if d.closed && len(d.buf) == 0 {
			d.mu.Unlock()
			return 0, io.EOF
		}
		if !deadline.IsZero() && !now.Before(deadline) {
			d.mu.Unlock()
			return 0, os.ErrDeadlineExceeded
		}
		d.mu.Unlock()

		wake := next
		if !deadline.IsZero() && (wake.IsZero() || deadline.Before(wake)) {
			wake = deadline
		}
		select {
		case <-d.rnotify:
		case <-deadlineSet:
		case <-armTimer(&timer, wake):
		}
	}
}

// consume removes n delivered bytes; d.mu must be held.
func (d *direction) consume(n int, now time.Time) {
	d.stats.BytesDelivered += uint64(n)
	rest := copy(d.buf, d.buf[n:])
	d.buf = d.buf[:rest]
	if d.baud > 0 && rest > 0 {
		// The next byte began crossing right after the last one delivered.
		perByte := time.Duration(float64(10*time.Second) / float64(d.baud))
		d.start = d.start.Add(time.Duration(n) * perByte)
		if d.start.After(now) {
			d.start = now
		}
	}
}

// Baud returns the speed p's end runs at: the line's Options.Baud until SetBaud.
func (p *Port) Baud() int {
	p.tx.mu.Lock()
	defer p.tx.mu.Unlock()
	return p.tx.wrate
}

// SetBaud changes the speed of p's end, as a UART's host does. Bytes written from then on, by
// either end, arrive garbled while the two ends' speeds differ; on a paced line (Options.Baud
// set) what p writes from then on is paced at rate.
func (p *Port) SetBaud(rate int) error {
	if rate <= 0 {
		return fmt.Errorf("serialline: speed %d", rate)
	}
	p.tx.mu.Lock()
	p.tx.wrate = rate
	if p.tx.paced {
		p.tx.baud = rate
	}
	p.tx.mu.Unlock()
	p.rx.mu.Lock()
	p.rx.rrate = rate
	p.rx.mu.Unlock()
	return nil
}

// SetReadDeadline makes a blocked or future Read return os.ErrDeadlineExceeded at t; the zero
// time means no deadline.
func (p *Port) SetReadDeadline(t time.Time) error {
	p.setDeadline(&p.readDeadline, &p.deadlineSet, t)
	return nil
}

// setDeadline sets *dl to t and wakes whoever waits on *changed.
func (p *Port) setDeadline(dl *time.Time, changed *chan struct{}, t time.Time) {
	p.mu.Lock()
	*dl = t
	close(*changed)
	*changed = make(chan struct{})
	p.mu.Unlock()
}

// armTimer sets *t (made on first use) to fire at wake and returns its channel; a zero wake
// returns nil, which never fires.
func armTimer(t **time.Timer, wake time.Time) <-chan time.Time {
	if wake.IsZero() {
		return nil
	}
	if *t == nil {
		*t = time.NewTimer(time.Until(wake))
	} else {
		(*t).Reset(time.Until(wake))
	}
	return (*t).C
}

// SetWriteDeadline makes a Write blocked on a full line, or a future one, return
// os.ErrDeadlineExceeded at t; the zero time means no deadline.
func (p *Port) SetWriteDeadline(t time.Time) error {
	p.setDeadline(&p.writeDeadline, &p.wdeadlineSet, t)
	return nil
}

// Close closes this end: the other end reads what is in flight and then io.EOF; its writes fail.
// A Read or Write blocked on this end returns.
func (p *Port) Close() error {
	for _, d := range []*direction{p.tx, p.rx} {
		d.mu.Lock()
		if d == p.tx {
			d.closed = true
		} else {
			d.rclosed = true
		}
		d.signal()
		d.mu.Unlock()
	}
	return nil
}

// Closed reports whether Close was called on this end (not Cut: a cut line is broken, not
// closed by its user).
func (p *Port) Closed() bool {
	p.rx.mu.Lock()
	defer p.rx.mu.Unlock()
	return p.rx.rclosed
}

// Cut breaks the line as an unplugged cable does: bytes in flight are lost and both ends see
// the line closed.
func (p *Port) Cut() {
	for _, d := range []*direction{p.tx, p.rx} {
		d.mu.Lock()
		d.stats.BytesDropped += uint64(len(d.buf))
		d.buf = d.buf[:0]
		d.closed = true
		d.signal()
		d.mu.Unlock()
	}
}

// ErrClosed is returned (wrapped) by Read and Write on a closed end; it is net.ErrClosed so that
// callers can treat the line like any closed connection.
var ErrClosed = net.ErrClosed

var (
	_ line.Line       = (*Port)(nil)
	_ line.BaudSetter = (*Port)(nil)
)

// ModemLines is a Port with the RS-232 modem control lines a test drives: DCD as the modem
// would set it, DTR as the host sets it. It implements line.ModemControl.
type ModemLines struct {
	*Port
	dcd, dtr atomic.Bool
}

// WithModemLines gives p modem control lines, DCD and DTR up.
func WithModemLines(p *Port) *ModemLines {
	m := &ModemLines{Port: p}
	m.dcd.Store(true)
	m.dtr.Store(true)
	return m
}

// SetDCD sets DCD, as a modem does when a call starts or ends.
func (m *ModemLines) SetDCD(up bool) { m.dcd.Store(up) }

// DTR reports DTR as the host last set it.
func (m *ModemLines) DTR() bool { return m.dtr.Load() }

// CarrierDetect reports DCD.
func (m *ModemLines) CarrierDetect() (bool, error) { return m.dcd.Load(), nil }

// SetDTR sets DTR.
func (m *ModemLines) SetDTR(on bool) error {
	m.dtr.Store(on)
	return nil
}

var _ line.ModemControl = (*ModemLines)(nil)
