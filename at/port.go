package at

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// Port is a serial line shared by the dialer's phases. It owns every read from the underlying
// io.ReadWriter: the command phase, the dial and the data phase all take bytes from its buffer,
// so no byte read while one phase ends is lost to the next (the AT library's reader keeps
// reading after CONNECT; this is what stops that from eating the peer's first PPP frame).
//
// Read returns buffered bytes first, then reads the line. Use one Port per line for its whole
// life: wrap once with NewPort (Open does it) and pass the Port to every Dial and Hangup, so a
// read still in flight when one call returns is handed to the next instead of lost.
type Port struct {
	rw io.ReadWriter

	mu       sync.Mutex
	buf      []byte        // bytes read but not yet consumed
	err      error         // error of the last background read, delivered once to Read
	reading  bool          // a Read on rw is in flight
	changed  chan struct{} // closed and replaced whenever buf, err or reading change
	received uint64        // bytes ever read
	skipLF   bool          // drop one '\n' if it is the next byte (CONNECT line ended at "\r")
	rbuf     []byte        // background read buffer; owned by whoever set reading

	// nativeDL: rw has its own read deadline. Otherwise (a go.bug.st/serial port) Port keeps
	// one itself, rdeadline, and reads through the background reader so that a Read can give up
	// while the line's read goes on: the PPP link must be able to stop reading at teardown
	// without the next dial losing the modem's answer to a read nobody waits for.
	nativeDL  bool
	rdeadline time.Time

	wmu       sync.Mutex   // one Write at a time
	lastWrite atomic.Int64 // UnixNano of the last Write's end; 0 before the first
}

// NewPort wraps rw. If rw already is a *Port it is returned as is.
func NewPort(rw io.ReadWriter) *Port {
	if p, ok := rw.(*Port); ok {
		return p
	}
	_, native := rw.(interface{ SetReadDeadline(time.Time) error })
	return &Port{rw: rw, changed: make(chan struct{}), rbuf: make([]byte, 4096), nativeDL: native}
}

// broadcastLocked wakes everyone waiting for a change. Call with mu held.
func (p *Port) broadcastLocked() {
	close(p.changed)
	p.changed = make(chan struct{})
}

// kickLocked starts a background read unless one is in flight or an error waits to be seen.
func (p *Port) kickLocked() {
	if p.reading || p.err != nil {
		return
	}
	p.reading = true
	go p.readOnce()
}

// readOnce is one background read; its bytes land in buf.
func (p *Port) readOnce() {
	n, err := p.rw.Read(p.rbuf)
	if n == 0 && err == nil {
		// A port with a read timeout returns (0, nil): do not spin on it.
		time.Sleep(time.Millisecond)
	}
	p.mu.Lock()
	p.buf = append(p.buf, p.rbuf[:n]...)
	p.received += uint64(n)
	if err != nil {
		p.err = err
	}
	p.reading = false
	p.broadcastLocked()
	p.mu.Unlock()
}

// waitLocked makes sure a read is in flight and waits, with mu released, for the next change,
// the context or the deadline (zero = none). It returns with mu held.
func (p *Port) waitLocked(ctx context.Context, deadline time.Time) error {
	p.kickLocked()
	ch := p.changed
	p.mu.Unlock()
	defer p.mu.Lock()
	var tc <-chan time.Time
	if !deadline.IsZero() {
		d := time.Until(deadline)
		if d <= 0 {
			return context.DeadlineExceeded
		}
		t := time.NewTimer(d)
		defer t.Stop()
		tc = t.C
	}
	var done <-chan struct{}
	if ctx != nil {
		done = ctx.Done()
	}
	select {
	case <-ch:
		return nil
	case <-done:
		return ctx.Err()
	case <-tc:
		return context.DeadlineExceeded
	}
}

// Read returns bytes already buffered, or reads the line. In the data phase this is the PPP
// stream: the first bytes are those that came after the CONNECT line.
func (p *Port) Read(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	p.mu.Lock()
	for {
		if p.skipLF && len(p.buf) > 0 {
			if p.buf[0] == '\n' {
				p.buf = p.buf[1:]
			}
			p.skipLF = false
			continue
		}
		if len(p.buf) > 0 {
			n := copy(b, p.buf)
			p.buf = p.buf[n:]
			if len(p.buf) == 0 {
				p.buf = nil
			}
			p.mu.Unlock()
			return n, nil
		}
		if p.err != nil {
			err := p.err
			p.err = nil
			p.mu.Unlock()
			return 0, err
		}
		if !p.nativeDL {
			dl := p.rdeadline
			if !dl.IsZero() && !time.Now().Before(dl) {
				p.mu.Unlock()
				return 0, os.ErrDeadlineExceeded
			}
			if err := p.waitLocked(nil, dl); errors.Is(err, context.DeadlineExceeded) {
				p.mu.Unlock()
				return 0, os.ErrDeadlineExceeded
			}
			continue
		}
		if p.reading {
			ch := p.changed
			p.mu.Unlock()
			<-ch
			p.mu.Lock()
			continue
		}
		// Nothing buffered and nobody reading: read straight into b, no copy, no goroutine.
		p.reading = true
		skip := p.skipLF
		p.mu.Unlock()
		n, err := p.rw.Read(b)
		p.mu.Lock()
		p.reading = false
		p.received += uint64(n)
		if skip && n > 0 {
			p.skipLF = false
			if b[0] == '\n' {
				copy(b, b[1:n])
				n--
			}
		}
		p.broadcastLocked()
		if n > 0 || err != nil {
			p.mu.Unlock()
			return n, err
		}
	}
}

// Write writes to the line and notes the time, for the escape sequence's guard time.
func (p *Port) Write(b []byte) (int, error) {
	p.wmu.Lock()
	defer p.wmu.Unlock()
	n, err := p.rw.Write(b)
	p.lastWrite.Store(time.Now().UnixNano())
	return n, err
}

// sinceWrite is how long the host has been silent. It does not wait for a Write in progress
// (one blocked on flow control must not block a hang-up's guard time too).
func (p *Port) sinceWrite() time.Duration {
	last := p.lastWrite.Load()
	if last == 0 {
		return time.Hour
	}
	return time.Since(time.Unix(0, last))
}

// Close closes the underlying line if it can be closed; that also ends a read in flight.
func (p *Port) Close() error {
	if c, ok := p.rw.(io.Closer); ok {
		return c.Close()
	}
	return nil
}

// errNoDTR says the line has no DTR control (an in-memory pipe, or a pty).
var errNoDTR = errors.New("line has no DTR control")

// SetDTR sets the DTR line when the underlying port can (go.bug.st/serial ports can; a pty
// cannot and answers "inappropriate ioctl", which is reported as unsupported).
func (p *Port) SetDTR(on bool) error {
	d, ok := p.rw.(interface{ SetDTR(bool) error })
	if !ok {
		return errNoDTR
	}
	if err := d.SetDTR(on); err != nil {
		if isNoTTY(err) {
			return errNoDTR
		}
		return err
	}
	return nil
}

// errNoDCD says the line cannot report carrier detect (an in-memory pipe, or a pty).
var errNoDCD = errors.New("line has no carrier-detect (DCD) status")

// CarrierDetect reports the DCD line where the port has one (a real serial port): a modem with
// AT&C1 (the usual default) drops DCD when the call ends. Lines without modem status (a pty, an
// in-memory pipe) answer with an error.
func (p *Port) CarrierDetect() (bool, error) {
	d, ok := p.rw.(interface{ CarrierDetect() (bool, error) })
	if !ok {
		return false, errNoDCD
	}
	return d.CarrierDetect()
}

// SetReadDeadline sets the underlying line's read deadline when it has one (serialline, net.Pipe,
// a pty opened as *os.File); otherwise (a serial port) the Port keeps the deadline itself, and a
// read of the line that is still in flight when a Read gives up delivers its bytes to the next
// Read. A Read that times out returns os.ErrDeadlineExceeded (or the line's timeout error). Use it
// in the data phase only: during Dial a timed-out read would end the command phase.
func (p *Port) SetReadDeadline(t time.Time) error {
	d, ok := p.rw.(interface{ SetReadDeadline(time.Time) error })
	if !ok {
		p.mu.Lock()
		p.rdeadline = t
		p.broadcastLocked()
		p.mu.Unlock()
		return nil
	}
	return d.SetReadDeadline(t)
}

// Buffered returns how many bytes have been read from the line but not yet consumed.
func (p *Port) Buffered() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.buf)
}

// scanLine takes the next text line from the start of buf: leading CR/LF are skipped, the line
// ends at CR or LF. It returns the line, the bytes consumed including the terminator and the
// terminator itself (0 when the line is incomplete).
func scanLine(buf []byte) (line []byte, n int, term byte) {
	i := 0
	for i < len(buf) && (buf[i] == '\r' || buf[i] == '\n') {
		i++
	}
	j := bytes.IndexAny(buf[i:], "\r\n")
	if j < 0 {
		return nil, i, 0
	}
	return buf[i : i+j], i + j + 1, buf[i+j]
}

// readLineLocked returns the next complete text line in command mode, skipping PPP frames
// (anything up to a 0x7e flag) that a modem still in data mode sends. sawPPP is set when one
// was skipped. Call with mu held.
func (p *Port) readLineLocked(ctx context.Context, deadline time.Time, sawPPP *bool) (string, error) {
	for {
		line, ok := p.nextTextLocked(sawPPP)
		if ok {
			return line, nil
		}
		if p.err != nil {
			err := p.err
			return "", err
		}
		if err := p.waitLocked(ctx, deadline); err != nil {
			return "", err
		}
	}
}

// maxLine bounds a text line; longer runs without a terminator are junk (wrong baud, data).
const maxLine = 1024

// nextTextLocked takes the next complete line out of buf, dropping PPP frames and overlong junk.
func (p *Port) nextTextLocked(sawPPP *bool) (string, bool) {
	for {
		line, n, term := scanLine(p.buf)
		region := line
		if term == 0 {
			region = p.buf[n:]
		}
		if k := bytes.LastIndexByte(region, 0x7e); k >= 0 {
			if sawPPP != nil {
				*sawPPP = true
			}
			start := len(p.buf) - len(p.buf[n:])
			if term != 0 {
				start = n - len(line) - 1
			}
			p.buf = p.buf[start+k+1:]
			continue
		}
		if term == 0 {
			p.buf = p.buf[n:]
			if len(p.buf) > maxLine {
				p.buf = nil
			}
			return "", false
		}
		p.buf = p.buf[n:]
		return string(line), true
	}
}
