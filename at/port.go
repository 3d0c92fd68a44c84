package at

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pppdial/pppdial/line"
)

// Port owns a line: its one goroutine is the only reader of the line, and every write goes
// through it. Command mode and data mode both take their bytes from the Port's buffer, so no
// byte read while one mode ends is lost to the next: the AT engine (Exec, Dial, Hangup) sees
// text lines, and after CONNECT the session's Data line sees the modem's data stream from its
// first byte, until NO CARRIER or a DCD drop ends it.
//
// Use one Port per line for its whole life and pass it to every Dial, Exec and Hangup. The line
// may be a serial port (line.Open), a pty, a pipe or one channel of a multiplexer; where it has
// modem control lines (line.ModemControl), hang-up falls back on DTR and data mode watches DCD.
type Port struct {
	l  line.Line
	mc line.ModemControl // nil when the line has none

	mu       sync.Mutex
	buf      []byte        // bytes read but not yet consumed
	store    []byte        // buf's array: reused once buf is empty, so steady reads allocate nothing
	err      error         // why the reader stopped (sticky)
	changed  chan struct{} // closed and replaced whenever the state below changes
	waiting  int           // goroutines waiting on changed
	received uint64        // bytes ever read
	// textRead counts the bytes read in command mode other than CR and LF: what a late
	// answer adds, and the line end that trails an answer already taken does not.
	textRead  uint64
	skipLF    bool      // drop one '\n' if it is the next byte (CONNECT line ended at "\r")
	data      *dataLine // the data-mode line while in data mode; nil in command mode
	lastData  *dataLine // the last data-mode line, for the dial that started it
	dataStart uint64    // stream offset (in received bytes) where the last data mode began
	modemLeft bool      // the last data mode ended by the modem (NO CARRIER, DCD)
	closed    bool
	full      bool          // the reader waits for room (buf reached maxBuffered)
	tap       tap           // records what crosses the line (a Recorder), under mu
	room      chan struct{} // wakes the reader waiting for room (a token: no allocation per read)

	wmu       sync.Mutex   // one Write at a time
	lastWrite atomic.Int64 // UnixNano of the last Write's end; 0 before the first

	execSem   chan struct{} // one AT command at a time (held by Exec and Dial's steps)
	unsettled bool          // the last command timed out; its answer may come late (under execSem)
	engMu     sync.Mutex
	eng       *engine // the AT engine; replaced after it was retired

	log        atomic.Pointer[slog.Logger]
	cmdURC     atomic.Pointer[func(string)] // the running Commands' URC report
	dialURC    atomic.Pointer[func(string)] // the running Dial's registration watch
	watchURC   atomic.Pointer[func(string)] // WatchURCs
	baudWarned atomic.Bool                  // SwitchBaud warned about a fast line without RTS/CTS
	readerDone chan struct{}
}

// tap receives every chunk read from the line (dir Modem) and written to it (dir Host), in
// order, under the Port's lock.
type tap interface {
	modem(p *Port, b []byte)
	host(p *Port, b []byte)
}

// maxBuffered bounds the bytes read ahead of their consumer: past it the reader stops reading
// and the line's own buffer (and flow control) holds the rest.
const maxBuffered = 64 << 10

// NewPort takes ownership of l and starts its reader. Close the Port, not l.
func NewPort(l line.Line) *Port {
	p := &Port{
		l:          l,
		changed:    make(chan struct{}),
		execSem:    make(chan struct{}, 1),
		room:       make(chan struct{}, 1),
		readerDone: make(chan struct{}),
	}
	if mc, ok := l.(line.ModemControl); ok {
		p.mc = mc
	}
	p.log.Store(slog.New(slog.DiscardHandler))
	go p.readLoop()
	return p
}

// SetLogger sets where the Port logs AT commands and answers (PIN redacted); nil discards.
func (p *Port) SetLogger(l *slog.Logger) {
	if l == nil {
		l = slog.New(slog.DiscardHandler)
	}
	p.log.Store(l)
}

// urc hands an unsolicited result code to whoever listens.
func (p *Port) urc(s string) {
	p.log.Load().Debug("at: urc", "line", s)
	if f := p.dialURC.Load(); f != nil {
		(*f)(s)
	}
	if f := p.cmdURC.Load(); f != nil {
		(*f)(s)
	}
	if f := p.watchURC.Load(); f != nil {
		(*f)(s)
	}
}

// WatchURCs hands fn every unsolicited result code the Port reads in command mode, until stop
// is called: the AT channel's registration URCs while the link is up, which the session turns
// into its own events. It is the session's plumbing, not an observer: fn runs on the Port's
// reader and must only queue the line. One watch at a time; a second replaces the first.
func (p *Port) WatchURCs(fn func(line string)) (stop func()) {
	p.watchURC.Store(&fn)
	return func() { p.watchURC.CompareAndSwap(&fn, nil) }
}

// readLoop is the line's one reader.
func (p *Port) readLoop() {
	defer close(p.readerDone)
	b := make([]byte, 4096)
	for {
		p.mu.Lock()
		for len(p.buf) >= maxBuffered && !p.closed {
			p.full = true
			p.mu.Unlock()
			<-p.room
			p.mu.Lock()
		}
		closed := p.closed
		p.mu.Unlock()
		if closed {
			return
		}
		n, err := p.l.Read(b)
		if errors.Is(err, errDeadline) && n == 0 {
			// Not ours: the Port sets no deadline on the line. Someone else did; ignore it.
			_ = p.l.SetReadDeadline(time.Time{})
			continue
		}
		p.mu.Lock()
		if n > 0 {
			p.appendLocked(b[:n])
			p.received += uint64(n)
			if p.data == nil {
				for _, c := range b[:n] {
					if c != '\r' && c != '\n' {
						p.textRead++
					}
				}
			}
			if p.tap != nil {
				p.tap.modem(p, b[:n])
			}
		}
		if err != nil {
			p.err = err
		} else if n == 0 {
			// A line must not return (0, nil); one that does is read again after a pause
			// rather than spun on.
			p.mu.Unlock()
			time.Sleep(time.Millisecond)
			continue
		}
		p.broadcastLocked()
		p.mu.Unlock()
		if err != nil {
			return
		}
	}
}

// appendLocked adds bytes read to buf, reusing store: from its start when buf is empty, and by
// moving buf's bytes to its start when they would not fit behind it. Steady reads then allocate
// nothing, whether the consumer keeps up (a UART) or lags (a burst).
func (p *Port) appendLocked(b []byte) {
	switch {
	case len(p.buf) == 0:
		p.buf = p.store[:0]
	case cap(p.buf)-len(p.buf) < len(b) && len(p.buf)+len(b) <= cap(p.store):
		p.buf = p.store[:copy(p.store[:cap(p.store)], p.buf)]
	}
	p.buf = append(p.buf, b...)
	if cap(p.buf) > cap(p.store) {
		p.store = p.buf[:0] // append moved buf to a larger array, which starts at buf
	}
}

// roomLocked wakes the reader if it waits for room and there is some now. Call with mu held,
// after consuming.
func (p *Port) roomLocked() {
	if p.full && (len(p.buf) < maxBuffered || p.closed) {
		p.full = false
		select {
		case p.room <- struct{}{}:
		default:
		}
	}
}

// broadcastLocked wakes everyone waiting for a change. Call with mu held. With nobody waiting
// it does nothing, so a reader that is ahead of its consumer allocates nothing per read.
func (p *Port) broadcastLocked() {
	if p.waiting == 0 {
		return
	}
	close(p.changed)
	p.changed = make(chan struct{})
}

// waitLocked waits, with mu released, for the next change, the context (nil: none) or the
// deadline (zero: none). It returns with mu held; context.DeadlineExceeded for the deadline.
func (p *Port) waitLocked(ctx context.Context, deadline time.Time) error {
	ch := p.changed
	p.waiting++
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		p.waiting--
	}()
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

// Write writes to the line and notes the time, for the escape sequence's guard time.
func (p *Port) Write(b []byte) (int, error) {
	p.wmu.Lock()
	defer p.wmu.Unlock()
	p.mu.Lock()
	if p.tap != nil {
		p.tap.host(p, b)
	}
	p.mu.Unlock()
	n, err := p.l.Write(b)
	p.lastWrite.Store(time.Now().UnixNano())
	return n, err
}

// cmdWriteTimeout bounds one write in command mode: a command is a few dozen bytes, so a write
// that takes longer is stuck on flow control (a wedged modem holding CTS, a stalled line).
const cmdWriteTimeout = 5 * time.Second

// writeCommand writes command-mode bytes (AT commands, "+++") with a write deadline, so that a
// stuck line fails the command instead of blocking it. Data mode writes (PPP) set their own.
func (p *Port) writeCommand(b []byte) (int, error) {
	_ = p.l.SetWriteDeadline(time.Now().Add(cmdWriteTimeout))
	n, err := p.Write(b)
	_ = p.l.SetWriteDeadline(time.Time{})
	return n, err
}

// commandWriter is the io.Writer the AT library writes commands through.
type commandWriter struct{ p *Port }

func (w commandWriter) Write(b []byte) (int, error) { return w.p.writeCommand(b) }

// sinceWrite is how long the host has been silent. It does not wait for a Write in progress
// (one blocked on flow control must not block a hang-up's guard time too).
func (p *Port) sinceWrite() time.Duration {
	last := p.lastWrite.Load()
	if last == 0 {
		return time.Hour
	}
	return time.Since(time.Unix(0, last))
}

// Close retires the AT engine, ends data mode and closes the line; the reader stops. Closing
// twice is fine.
func (p *Port) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	p.roomLocked()
	if p.data != nil {
		p.data.endLocked(fmt.Errorf("at: the port was closed: %w", errClosed))
	}
	p.broadcastLocked()
	p.mu.Unlock()
	// The line first: it unblocks a command write stuck on flow control, which the engine would
	// otherwise wait for.
	err := p.l.Close()
	p.retireEngine()
	select {
	case <-p.readerDone:
	case <-time.After(time.Second):
		// A line whose Close does not unblock Read breaks line.Line's contract; the reader
		// then ends with the line.
	}
	return err
}

// SetDTR drives the line's DTR where it has modem control lines; otherwise the error wraps
// line.ErrNoModemControl.
func (p *Port) SetDTR(on bool) error {
	if p.mc == nil {
		return line.ErrNoModemControl
	}
	return p.mc.SetDTR(on)
}

// CarrierDetect reads the line's DCD where it has modem control lines; otherwise the error
// wraps line.ErrNoModemControl.
func (p *Port) CarrierDetect() (bool, error) {
	if p.mc == nil {
		return false, line.ErrNoModemControl
	}
	return p.mc.CarrierDetect()
}

// Buffered returns how many bytes have been read from the line but not yet consumed.
func (p *Port) Buffered() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.buf)
}

// received returns how many bytes were ever read from the line.
func (p *Port) receivedBytes() uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.received
}

// textBytes returns how many bytes other than line ends were read in command mode: a quiet
// line is one where it stays the same (the LF after an answer's CR may come a moment later, a
// byte's time at the line's speed, without being more of an answer).
func (p *Port) textBytes() uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.textRead
}

// failed reports the error that stopped the reader, if any.
func (p *Port) failed() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

// setTap installs t (nil removes it). Bytes read but not consumed yet are handed to t first, so
// it sees everything the next consumer will.
func (p *Port) setTap(t tap) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.tap = t
	if t != nil && len(p.buf) > 0 {
		t.modem(p, p.buf)
	}
}

// commandModeLocked ends data mode, if it runs, with err and hands the line back to the AT
// engine.
func (p *Port) commandModeLocked(err error) {
	if p.data == nil {
		return
	}
	p.data.endLocked(err)
	p.data = nil
	p.skipLF = false
	p.broadcastLocked()
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

// cutConnect cuts a CONNECT result line (verbose, or "1" after ATV0) from the start of b, where
// the modem's data stream may follow at once. The line ends at CR, LF or the first PPP flag:
// some modems send their first frame with no line end after CONNECT, and a flag is never part
// of a result code. n is how many bytes the line takes with its line end (a flag is left for
// the data); lf is set when the line ended in a CR that is b's last byte, so that an LF coming
// next still belongs to the line. ok is false unless b starts with a complete CONNECT line.
//
// This is the one place that decides where command mode ends and data begins: the Port's
// hand-over, the Recorder and Replay all cut there.
func cutConnect(b []byte) (connect string, n int, lf, ok bool) {
	verbose := bytes.HasPrefix(b, []byte("CONNECT"))
	if !verbose && !(len(b) >= 2 && b[0] == '1' && (b[1] == '\r' || b[1] == '\n')) {
		return "", 0, false, false
	}
	k := bytes.IndexAny(b, "\r\n\x7e")
	if k < 0 {
		return "", 0, false, false
	}
	connect = string(bytes.TrimSpace(b[:k]))
	if connect == "1" {
		connect = "CONNECT"
	}
	n = k
	switch b[k] {
	case '\r':
		n++
		if n == len(b) {
			lf = true
		} else if b[n] == '\n' {
			n++
		}
	case '\n':
		n++
	}
	return connect, n, lf, true
}

// maxLine bounds a text line; longer runs without a terminator are junk (wrong baud, data).
const maxLine = 1024

// nextTextLocked takes the next complete line out of buf in command mode, dropping PPP frames
// (anything up to a 0x7e flag, which a modem still in data mode sends; sawPPP is set then) and
// overlong junk. While a dial waits for its answer, a CONNECT line is cut by cutConnect and the
// Port enters data mode at once, so that not one byte after it is taken for text.
func (p *Port) nextTextLocked(sawPPP *bool, dialing bool) (string, bool) {
	defer p.roomLocked()
	for {
		if dialing {
			i := 0
			for i < len(p.buf) && (p.buf[i] == '\r' || p.buf[i] == '\n') {
				i++
			}
			if connect, n, lf, ok := cutConnect(p.buf[i:]); ok {
				p.buf = p.buf[i+n:]
				p.skipLF = lf
				p.enterDataLocked()
				return connect, true
			}
		}
		text, n, term := scanLine(p.buf)
		region := text
		if term == 0 {
			region = p.buf[n:]
		}
		if k := bytes.LastIndexByte(region, 0x7e); k >= 0 {
			if sawPPP != nil {
				*sawPPP = true
			}
			start := n
			if term != 0 {
				start = n - len(text) - 1
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
		return string(text), true
	}
}

// enterDataLocked starts data mode: from here the buffer belongs to the data line.
func (p *Port) enterDataLocked() {
	p.data = newDataLine(p)
	p.lastData = p.data
	p.modemLeft = false
	p.dataStart = p.received - uint64(len(p.buf))
	p.broadcastLocked()
}

// errDeadline is what a line's Read returns when its deadline passes; errClosed what it returns
// once closed.
var (
	errDeadline = os.ErrDeadlineExceeded
	errClosed   = os.ErrClosed
)
