package pppdial

import (
	"bytes"
	"errors"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pppdial/pppdial/at"
)

// ErrCarrierLost: the modem reported NO CARRIER in the middle of the PPP stream (the network
// dropped the call). errors.Is(err, at.ErrNoCarrier) holds for it too.
var ErrCarrierLost error = carrierLost{}

type carrierLost struct{}

func (carrierLost) Error() string        { return "carrier lost: the modem reported NO CARRIER" }
func (carrierLost) Is(target error) bool { return target == at.ErrNoCarrier }

// ErrDCDLost: the modem dropped its carrier-detect line (DCD) in the middle of the session.
// errors.Is(err, ErrCarrierLost) holds for it too: it is the same event, seen on a wire.
var ErrDCDLost error = dcdLost{}

type dcdLost struct{}

func (dcdLost) Error() string { return "carrier lost: the modem dropped DCD" }
func (dcdLost) Is(target error) bool {
	return target == ErrCarrierLost || target == at.ErrNoCarrier
}

// dcdPoll is how often DCD is read while the link is up: well inside the one second within
// which a drop must be noticed.
const dcdPoll = 200 * time.Millisecond

// carrierWatch sits between the modem's data stream and the PPP link and turns a "NO CARRIER"
// result code into the end of the stream. A modem that loses the call mid-session drops back
// to command mode and prints NO CARRIER; without this the link would only notice when LCP
// echoes go unanswered, tens of seconds later — or never, with keepalive off.
//
// Between frames (right after a flag byte 0x7e, or at the start of the stream, with nothing but
// CR/LF before it) the line ends the stream at once. Inside a frame the same bytes could be a
// payload (a downloaded modem log), so there it only raises suspicion: a modem that dropped the
// call in the middle of a frame sends nothing after its NO CARRIER, while a payload goes on
// within microseconds. If the line stays quiet for noCarrierQuiet, the carrier is lost.
type carrierWatch struct {
	rw io.ReadWriter
	// dropped, once set by drop, ends the stream: the next Read returns it.
	dropped atomic.Pointer[error]
	// since holds the bytes after the last flag, up to watchMax; inFrame is set once more than
	// that, or anything that does not start a result code, has come.
	since   [watchMax]byte
	n       int
	inFrame bool
	// tail holds the previous reads' last bytes, for a NO CARRIER line split across reads.
	tail    [len("\r\nNO CARRIER\r\n") - 1]byte
	ntail   int
	suspect bool // a NO CARRIER line came inside a frame: is the line quiet after it?

	mu     sync.Mutex
	userDL time.Time // the read deadline the link asked for; ours may be earlier
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

func newCarrierWatch(rw io.ReadWriter) *carrierWatch { return &carrierWatch{rw: rw} }

// Read passes the stream through and fails with ErrCarrierLost once NO CARRIER is seen (see
// carrierWatch), or with the reason given to drop.
func (w *carrierWatch) Read(b []byte) (int, error) {
	if e := w.dropped.Load(); e != nil {
		return 0, *e
	}
	var quietUntil time.Time
	if w.suspect {
		quietUntil = time.Now().Add(noCarrierQuiet)
		w.setDeadline(quietUntil)
	}
	n, err := w.rw.Read(b)
	if e := w.dropped.Load(); e != nil {
		return n, *e
	}
	if w.suspect {
		w.suspect = false
		w.setDeadline(time.Time{})
		if n == 0 && errors.Is(err, os.ErrDeadlineExceeded) && !time.Now().Before(quietUntil) && !w.userDeadlinePassed() {
			return 0, ErrCarrierLost
		}
	}
	defer w.keepTail(b[:n])
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
			return n, ErrCarrierLost
		}
	}
	return n, err
}

// matches reports whether the bytes since the flag are a NO CARRIER line, tolerating modems
// that send only LF or extra blank lines.
func (w *carrierWatch) matches() bool {
	return w.since[w.n-1] == '\n' && bytes.Equal(bytes.Trim(w.since[:w.n], "\r\n"), noCarrier)
}

// endsWithNoCarrier reports whether the stream up to the end of read ends with a NO CARRIER
// line, looking back into the previous reads' tail when read is short.
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

// keepTail remembers the last bytes of the stream after a read.
func (w *carrierWatch) keepTail(read []byte) {
	if len(read) >= len(w.tail) {
		w.ntail = copy(w.tail[:], read[len(read)-len(w.tail):])
		return
	}
	keep := min(w.ntail, len(w.tail)-len(read))
	copy(w.tail[:], w.tail[w.ntail-keep:w.ntail])
	w.ntail = keep + copy(w.tail[keep:], read)
}

// drop ends the stream with reason, as the modem's other carrier signals (DCD) report it: a
// Read blocked on the line is woken through the read deadline.
func (w *carrierWatch) drop(reason error) {
	w.dropped.CompareAndSwap(nil, &reason)
	w.setDeadline(time.Now())
}

// Write passes through.
func (w *carrierWatch) Write(b []byte) (int, error) { return w.rw.Write(b) }

// SetReadDeadline is the link's read deadline (it stops a blocked Read at teardown); the
// watch's own, earlier, quiet timer does not replace it.
func (w *carrierWatch) SetReadDeadline(t time.Time) error {
	w.mu.Lock()
	w.userDL = t
	w.mu.Unlock()
	return w.setDeadline(time.Time{})
}

// setDeadline sets the line's deadline to the earlier of own (zero: none) and the link's.
func (w *carrierWatch) setDeadline(own time.Time) error {
	d, ok := w.rw.(interface{ SetReadDeadline(time.Time) error })
	if !ok {
		return errors.ErrUnsupported
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	t := w.userDL
	if !own.IsZero() && (t.IsZero() || own.Before(t)) {
		t = own
	}
	return d.SetReadDeadline(t)
}

func (w *carrierWatch) userDeadlinePassed() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return !w.userDL.IsZero() && !time.Now().Before(w.userDL)
}
