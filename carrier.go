package pppdial

import (
	"bytes"
	"errors"
	"io"
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
// echoes go unanswered, tens of seconds later.
//
// The text counts only where it cannot be PPP data: between frames, i.e. right after a flag
// byte (0x7e) or at the start of the stream, with nothing but CR/LF between. Inside a frame the
// same bytes could be a payload (a downloaded modem log), so they are left alone.
type carrierWatch struct {
	rw io.ReadWriter
	// dropped, once set by drop, ends the stream: the next Read returns it.
	dropped atomic.Pointer[error]
	// since holds the bytes after the last flag, up to watchMax; inFrame is set once more than
	// that, or anything that does not start a result code, has come.
	since   [watchMax]byte
	n       int
	inFrame bool
}

// watchMax bounds a result code line with its surrounding blank lines.
const watchMax = 24

var noCarrier = []byte("NO CARRIER")

func newCarrierWatch(rw io.ReadWriter) *carrierWatch { return &carrierWatch{rw: rw} }

// Read passes the stream through and fails with ErrCarrierLost once NO CARRIER is seen, or
// with the reason given to drop.
func (w *carrierWatch) Read(b []byte) (int, error) {
	if e := w.dropped.Load(); e != nil {
		return 0, *e
	}
	n, err := w.rw.Read(b)
	if e := w.dropped.Load(); e != nil {
		return n, *e
	}
	for _, c := range b[:n] {
		if c == 0x7e {
			w.n, w.inFrame = 0, false
			continue
		}
		if w.inFrame {
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

// drop ends the stream with reason, as the modem's other carrier signals (DCD) report it: a
// Read blocked on the line is woken through the read deadline.
func (w *carrierWatch) drop(reason error) {
	w.dropped.CompareAndSwap(nil, &reason)
	_ = w.SetReadDeadline(time.Now())
}

// Write passes through.
func (w *carrierWatch) Write(b []byte) (int, error) { return w.rw.Write(b) }

// SetReadDeadline passes through, so the link can stop a blocked Read at teardown.
func (w *carrierWatch) SetReadDeadline(t time.Time) error {
	if d, ok := w.rw.(interface{ SetReadDeadline(time.Time) error }); ok {
		return d.SetReadDeadline(t)
	}
	return errors.ErrUnsupported
}
