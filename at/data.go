package at

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/pppdial/pppdial/line"
)

// dataLine is the modem's data stream after CONNECT, as a line.Line over the Port's buffer: its
// first bytes are those that came right after the CONNECT line. It ends, with ErrCarrierLost,
// when the modem prints NO CARRIER (see carrierWatch), with ErrDCDLost when the line has modem
// control and DCD drops, and with an error wrapping os.ErrClosed after Close, Hangup or the
// Port's Close. Nothing here needs the line to be a serial port: on a multiplexer channel it
// runs unchanged, without the DCD watch.
type dataLine struct {
	p   *Port
	w   carrierWatch // the goroutine in Read only
	raw bool         // Port.Raw: no call, nothing watched, Close returns to command mode

	// under p.mu
	end       error // why data mode ended; nil while it runs
	rdeadline time.Time
	stopDCD   chan struct{} // closed when data mode ends
}

func newDataLine(p *Port) *dataLine { return &dataLine{p: p, stopDCD: make(chan struct{})} }

// endLocked ends the data line with err. Call with p.mu held.
func (d *dataLine) endLocked(err error) {
	if d.end != nil {
		return
	}
	d.end = err
	close(d.stopDCD)
	d.p.broadcastLocked()
}

// leaveDataLocked ends data mode on d with err because the modem left it by itself (NO
// CARRIER, DCD): what it sends next is text again, for the AT engine. Call with p.mu held.
func (p *Port) leaveDataLocked(d *dataLine, err error) {
	d.endLocked(err)
	if p.data == d {
		p.data = nil
		p.modemLeft = true
		p.skipLF = false
		p.broadcastLocked()
	}
}

// Read returns the data stream's next bytes. It fails with ErrCarrierLost or ErrDCDLost once
// the modem has ended the call, with os.ErrDeadlineExceeded at the read deadline, and with the
// line's error once the line has failed.
func (d *dataLine) Read(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	p := d.p
	var quietUntil time.Time
	if d.w.suspect {
		quietUntil = time.Now().Add(noCarrierQuiet)
	}
	p.mu.Lock()
	for {
		if d.end != nil {
			err := d.end
			p.mu.Unlock()
			return 0, err
		}
		if p.skipLF && len(p.buf) > 0 {
			if p.buf[0] == '\n' {
				p.buf = p.buf[1:]
				p.dataStart++
			}
			p.skipLF = false
			continue
		}
		if len(p.buf) > 0 {
			n := copy(b, p.buf)
			p.buf = p.buf[n:]
			p.roomLocked()
			p.mu.Unlock()
			d.w.suspect = false // more bytes came: what looked like NO CARRIER was payload
			if !d.raw && d.w.scan(b[:n]) {
				p.mu.Lock()
				p.leaveDataLocked(d, ErrCarrierLost)
				p.mu.Unlock()
				return n, ErrCarrierLost
			}
			return n, nil
		}
		if p.err != nil {
			err := p.err
			p.mu.Unlock()
			return 0, err
		}
		dl := d.rdeadline
		wake := dl
		if !quietUntil.IsZero() && (wake.IsZero() || quietUntil.Before(wake)) {
			wake = quietUntil
		}
		if err := p.waitLocked(nil, wake); err != nil {
			now := time.Now()
			if !dl.IsZero() && !now.Before(dl) {
				p.mu.Unlock()
				return 0, os.ErrDeadlineExceeded
			}
			if !quietUntil.IsZero() && !now.Before(quietUntil) {
				p.leaveDataLocked(d, ErrCarrierLost)
				p.mu.Unlock()
				return 0, ErrCarrierLost
			}
		}
	}
}

// Write writes to the modem; it fails once data mode has ended.
func (d *dataLine) Write(b []byte) (int, error) {
	d.p.mu.Lock()
	err := d.end
	d.p.mu.Unlock()
	if err != nil {
		return 0, err
	}
	return d.p.Write(b)
}

// SetReadDeadline sets the deadline of pending and future Reads (zero: none).
func (d *dataLine) SetReadDeadline(t time.Time) error {
	d.p.mu.Lock()
	d.rdeadline = t
	d.p.broadcastLocked()
	d.p.mu.Unlock()
	return nil
}

// SetWriteDeadline sets the line's write deadline: see line.Serial for what it means on a UART.
func (d *dataLine) SetWriteDeadline(t time.Time) error { return d.p.l.SetWriteDeadline(t) }

// Close ends the data line (a pending Read returns); the Port and the call stay as they are:
// Hangup ends the call.
func (d *dataLine) Close() error {
	d.p.mu.Lock()
	err := fmt.Errorf("at: data line closed: %w", os.ErrClosed)
	if d.raw && d.p.data == d {
		d.p.commandModeLocked(err)
	} else {
		d.endLocked(err)
	}
	d.p.mu.Unlock()
	return nil
}

// Raw hands the line over as it is, for a protocol that the modem switched to without a call:
// the 27.010 multiplexer that AT+CMUX starts. Every byte read from then on goes to the returned
// line unfiltered: no NO CARRIER watch, no DCD watch, no text. The Port stays the line's one
// reader. Closing the returned line hands the line back to the AT engine, for a modem back in
// command mode (the multiplexer closed).
//
// The OK to an AT+CMUX command switches the Port to raw at once, as CONNECT switches it to data
// mode, so that nothing the modem sends right after it is read as text; Raw then returns that
// line. Otherwise Raw switches now.
func (p *Port) Raw(ctx context.Context) (line.Line, error) {
	if err := p.lockExec(ctx); err != nil { // not in the middle of a command
		return nil, err
	}
	defer p.unlockExec()
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case p.closed:
		return nil, fmt.Errorf("at: raw line: %w", errClosed)
	case p.data != nil && p.data.raw:
		return p.data, nil
	case p.data != nil:
		return nil, errors.New("at: raw line: the port is in data mode")
	}
	p.enterRawLocked()
	return p.data, nil
}

// enterRawLocked starts raw data mode.
func (p *Port) enterRawLocked() {
	p.skipLF = false
	p.enterDataLocked()
	p.data.raw = true
}

// dcdPoll is how often DCD is read while in data mode: well inside the second within which a
// drop must be noticed.
const dcdPoll = 200 * time.Millisecond

// watchDCD ends the data line with ErrDCDLost when the line's DCD drops. It watches only when
// the line has modem control and DCD is up now: a modem set to AT&C0, a pty or a multiplexer
// channel gives nothing to watch, and NO CARRIER is then the only signal.
func (d *dataLine) watchDCD() {
	p := d.p
	if p.mc == nil {
		return
	}
	if up, err := p.mc.CarrierDetect(); err != nil || !up {
		return
	}
	go func() {
		t := time.NewTicker(dcdPoll)
		defer t.Stop()
		for {
			select {
			case <-d.stopDCD:
				return
			case <-t.C:
				if up, err := p.mc.CarrierDetect(); err == nil && !up {
					p.mu.Lock()
					p.leaveDataLocked(d, ErrDCDLost)
					p.mu.Unlock()
					return
				}
			}
		}
	}()
}

var _ line.Line = (*dataLine)(nil)

// carrierWatch finds a "NO CARRIER" result code in the data stream: a modem that loses the call
// mid-session drops back to command mode and prints it. Without it the link would notice only
// when LCP echoes go unanswered, tens of seconds later — or never, with keepalive off.
//
// Between frames (right after a flag byte 0x7e, or at the start of the stream, with nothing but
// CR/LF before it) the line ends the stream at once. Inside a frame the same bytes could be a
// payload (a downloaded modem log), so there it only raises suspicion: a modem that dropped the
// call in the middle of a frame sends nothing after its NO CARRIER, while a payload goes on
// within microseconds. If the line stays quiet for noCarrierQuiet, the carrier is lost (the
// data line's Read times that).
type carrierWatch struct {
	// since holds the bytes after the last flag, up to watchMax; inFrame is set once more than
	// that, or anything that does not start a result code, has come.
	since   [watchMax]byte
	n       int
	inFrame bool
	// tail holds the previous chunks' last bytes, for a NO CARRIER line split across reads.
	tail    [len("\r\nNO CARRIER\r\n") - 1]byte
	ntail   int
	suspect bool // a NO CARRIER line came inside a frame: is the line quiet after it?
}

// watchMax bounds a result code line with its surrounding blank lines.
const watchMax = 24

// noCarrierQuiet is how long the line must stay silent after a NO CARRIER inside a frame for
// the carrier to count as lost.
const noCarrierQuiet = 300 * time.Millisecond

var (
	noCarrier     = []byte("NO CARRIER")
	noCarrierLine = []byte("\r\nNO CARRIER\r\n")
)

// scan looks at the next chunk of the stream and reports whether it ends the call. It may set
// suspect instead (see carrierWatch).
func (w *carrierWatch) scan(b []byte) (lost bool) {
	defer w.keepTail(b)
	n := len(b)
	flagAt := -1 // index of the next flag at or after i (n: none), found once per frame
	for i := 0; i < n; i++ {
		if w.inFrame && !w.suspect {
			// Inside a frame only a flag or a line end matters: jump to the next one with
			// IndexByte, which scans many bytes a step. This is on every byte of the link.
			if flagAt < i {
				flagAt = n
				if k := bytes.IndexByte(b[i:n], 0x7e); k >= 0 {
					flagAt = i + k
				}
			}
			if k := bytes.IndexByte(b[i:flagAt], '\n'); k >= 0 {
				i += k
			} else if i = flagAt; i == n {
				break
			}
		}
		c := b[i]
		if c == 0x7e {
			w.n, w.inFrame = 0, false
			continue
		}
		if w.inFrame {
			if c == '\n' && w.endsWithNoCarrier(b[:i+1]) {
				w.suspect = true
			} else if w.suspect {
				w.suspect = false // more data after it: a payload
			}
			continue
		}
		if w.n == 0 && c != '\r' && c != '\n' {
			// A frame's first byte; CR/LF first is how result codes start.
			w.inFrame = true
			continue
		}
		if w.n == len(w.since) {
			w.inFrame = true
			continue
		}
		w.since[w.n] = c
		w.n++
		if w.matches() {
			return true
		}
	}
	return false
}

// matches reports whether the bytes since the flag are a NO CARRIER line, tolerating modems
// that send only LF or extra blank lines.
func (w *carrierWatch) matches() bool {
	return w.since[w.n-1] == '\n' && bytes.Equal(bytes.Trim(w.since[:w.n], "\r\n"), noCarrier)
}

// endsWithNoCarrier reports whether the stream up to the end of read ends with a NO CARRIER
// line, looking back into the previous chunks' tail when read is short.
func (w *carrierWatch) endsWithNoCarrier(read []byte) bool {
	if len(read) >= len(noCarrierLine) {
		return bytes.Equal(read[len(read)-len(noCarrierLine):], noCarrierLine)
	}
	need := len(noCarrierLine) - len(read)
	if w.ntail < need {
		return false
	}
	return bytes.Equal(w.tail[w.ntail-need:w.ntail], noCarrierLine[:need]) &&
		bytes.Equal(read, noCarrierLine[need:])
}

// keepTail remembers the last bytes of the stream after a chunk.
func (w *carrierWatch) keepTail(read []byte) {
	if len(read) >= len(w.tail) {
		w.ntail = copy(w.tail[:], read[len(read)-len(w.tail):])
		return
	}
	keep := min(w.ntail, len(w.tail)-len(read))
	copy(w.tail[:], w.tail[w.ntail-keep:w.ntail])
	w.ntail = keep + copy(w.tail[keep:], read)
}
