// Package netiftest provides an in-memory packet link for tests of netif
// and bind: two netif.Device values connected back to back, as two PPP
// peers would be, with optional random loss.
package netiftest

import (
	"errors"
	"math/rand/v2"
	"sync"
	"sync/atomic"
)

// ErrClosed is returned by WritePacket after Close.
var ErrClosed = errors.New("netiftest: device closed")

// Options shape a Pipe.
type Options struct {
	// Queue is how many packets each direction holds in flight (default
	// 256). A packet written to a full queue is dropped, as a router queue
	// would drop it; writers never block, so two stacks answering each
	// other synchronously cannot deadlock.
	Queue int
	// DropRate is the probability in [0,1] that a packet is lost.
	DropRate float64
	// Seed seeds the loss generator (deterministic runs).
	Seed uint64
	// MaxPacket is the largest packet carried (default 65535).
	MaxPacket int
}

// Stats counts what one Device sent.
type Stats struct {
	Sent, Delivered, Lost, QueueDrops uint64
}

// Device is one end of a Pipe. It implements netif.Device.
type Device struct {
	peer    *Device
	pair    *pair
	handler atomic.Pointer[func([]byte)]
	queue   chan *[]byte // packets written by this end, to the peer
	free    chan *[]byte
	done    chan struct{}
	closed  atomic.Bool
	maxPkt  int

	rngMu sync.Mutex
	rng   *rand.Rand
	drop  float64

	sent, delivered, lost, queueDrops atomic.Uint64
}

// Pipe returns two connected Devices; each direction is served by one
// goroutine that calls the receiving end's packet handler. Close either end
// to stop both (the goroutines are gone when Close returns).
func Pipe(opts Options) (a, b *Device) {
	if opts.Queue <= 0 {
		opts.Queue = 256
	}
	if opts.MaxPacket <= 0 {
		opts.MaxPacket = 65535
	}
	done := make(chan struct{})
	mk := func(seed uint64) *Device {
		d := &Device{
			queue:  make(chan *[]byte, opts.Queue),
			free:   make(chan *[]byte, opts.Queue),
			done:   done,
			maxPkt: opts.MaxPacket,
			rng:    rand.New(rand.NewPCG(opts.Seed, seed)),
			drop:   opts.DropRate,
		}
		// Preallocate every buffer: steady state allocates nothing.
		for range opts.Queue {
			b := make([]byte, 0, 2048)
			d.free <- &b
		}
		return d
	}
	a, b = mk(1), mk(2)
	a.peer, b.peer = b, a
	p := &pair{a: a, b: b}
	a.pair, b.pair = p, p
	p.wg.Add(2)
	go p.run(a)
	go p.run(b)
	return a, b
}

type pair struct {
	a, b *Device
	once sync.Once
	wg   sync.WaitGroup
}

// run moves the packets src wrote to src.peer's handler.
func (p *pair) run(src *Device) {
	defer p.wg.Done()
	for {
		select {
		case <-src.done:
			return
		case bp := <-src.queue:
			if h := src.peer.handler.Load(); h != nil {
				(*h)(*bp)
				src.delivered.Add(1)
			}
			src.free <- bp
		}
	}
}

// WritePacket queues a copy of pkt for the peer. It never blocks: a full
// queue or a simulated loss drops the packet (counted in Stats).
func (d *Device) WritePacket(pkt []byte) error {
	if d.closed.Load() {
		return ErrClosed
	}
	d.sent.Add(1)
	d.rngMu.Lock()
	lose := d.drop > 0 && d.rng.Float64() < d.drop
	d.rngMu.Unlock()
	if lose {
		d.lost.Add(1)
		return nil
	}
	if len(pkt) > d.maxPkt {
		d.queueDrops.Add(1)
		return nil
	}
	select {
	case bp := <-d.free:
		*bp = append((*bp)[:0], pkt...)
		select {
		case d.queue <- bp:
		default: // cannot happen: queue and free have equal capacity
			d.free <- bp
			d.queueDrops.Add(1)
		}
	default:
		d.queueDrops.Add(1)
	}
	return nil
}

// SetPacketHandler implements netif.Device.
func (d *Device) SetPacketHandler(h func(pkt []byte)) {
	if h == nil {
		d.handler.Store(nil)
		return
	}
	d.handler.Store(&h)
}

// SetDropRate changes the loss probability at run time.
func (d *Device) SetDropRate(rate float64) {
	d.rngMu.Lock()
	d.drop = rate
	d.rngMu.Unlock()
}

// Stats returns what this end sent.
func (d *Device) Stats() Stats {
	return Stats{Sent: d.sent.Load(), Delivered: d.delivered.Load(), Lost: d.lost.Load(), QueueDrops: d.queueDrops.Load()}
}

// Close stops both directions and waits for the goroutines to exit.
func (d *Device) Close() error {
	p := d.pair
	p.once.Do(func() {
		p.a.closed.Store(true)
		p.b.closed.Store(true)
		close(d.done)
	})
	p.wg.Wait()
	return nil
}
