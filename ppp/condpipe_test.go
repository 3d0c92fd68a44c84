package ppp

import (
	"io"
	"os"
	"sync"
	"time"
)

// condPipe is an allocation-free in-memory full-duplex stream (mutex, condition variable and a
// growing buffer), used to show that the Conn's own packet path allocates nothing.
type condHalf struct {
	mu       sync.Mutex
	cond     *sync.Cond
	buf      []byte
	closed   bool
	deadline bool // a read deadline in the past is set
}

type condPort struct{ rx, tx *condHalf }

func newCondHalf() *condHalf {
	h := &condHalf{buf: make([]byte, 0, 1<<16)}
	h.cond = sync.NewCond(&h.mu)
	return h
}

func condPipe() (a, b *condPort) {
	ab, ba := newCondHalf(), newCondHalf()
	return &condPort{rx: ba, tx: ab}, &condPort{rx: ab, tx: ba}
}

func (p *condPort) Read(b []byte) (int, error) {
	h := p.rx
	h.mu.Lock()
	defer h.mu.Unlock()
	for len(h.buf) == 0 && !h.closed && !h.deadline {
		h.cond.Wait()
	}
	switch {
	case len(h.buf) > 0:
		n := copy(b, h.buf)
		h.buf = h.buf[:copy(h.buf, h.buf[n:])]
		return n, nil
	case h.closed:
		return 0, io.EOF
	}
	return 0, os.ErrDeadlineExceeded
}

func (p *condPort) Write(b []byte) (int, error) {
	h := p.tx
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return 0, io.ErrClosedPipe
	}
	h.buf = append(h.buf, b...)
	h.cond.Signal()
	return len(b), nil
}

func (p *condPort) SetReadDeadline(t time.Time) error {
	h := p.rx
	h.mu.Lock()
	h.deadline = !t.IsZero() && !t.After(time.Now())
	h.cond.Broadcast()
	h.mu.Unlock()
	return nil
}

func (p *condPort) Close() error {
	for _, h := range []*condHalf{p.rx, p.tx} {
		h.mu.Lock()
		h.closed = true
		h.cond.Broadcast()
		h.mu.Unlock()
	}
	return nil
}

// SetWriteDeadline is accepted and has no effect: Write never blocks on this pipe.
func (p *condPort) SetWriteDeadline(time.Time) error { return nil }
