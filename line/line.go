// Package line names what every layer of pppdial reads and writes: a full-duplex byte line.
//
// A UART, a USB modem's tty, a pty, one channel (DLC) of a 3GPP 27.010 multiplexer and the
// emulated line of the tests are all a Line. The AT engine, the PPP link and the multiplexer take
// a Line and nothing more, so each runs unchanged on any of them: PPP on a serial port or on CMUX
// DLC 2, AT on the port or on DLC 1.
//
// The package sits below at, ppp, cmux and modemsim and imports none of them.
package line

import (
	"errors"
	"io"
	"time"
)

// Line is a full-duplex byte stream with deadlines.
//
// Read and Write follow io.Reader and io.Writer. A Read or Write that passes its deadline
// returns an error wrapping os.ErrDeadlineExceeded; a zero time means no deadline. Close
// unblocks a pending Read; later calls return an error wrapping os.ErrClosed. One reader and one
// writer may run at once.
type Line interface {
	io.ReadWriteCloser
	SetReadDeadline(t time.Time) error
	SetWriteDeadline(t time.Time) error
}

// ModemControl is implemented by lines with RS-232 modem control lines: a UART wired to a modem,
// a USB modem's ACM port. A pty and a multiplexer channel have none (a channel carries them in
// 27.010 MSC messages instead, which its multiplexer handles).
type ModemControl interface {
	// SetDTR raises or drops DTR; dropping it makes most modems hang up.
	SetDTR(on bool) error
	// CarrierDetect reports DCD: whether the modem says a data call is up.
	CarrierDetect() (bool, error)
}

// ErrBusy is returned (wrapped) by Open for a device that another process holds: a daemon's
// port is never opened under it.
var ErrBusy = errors.New("line: port in use by another process")

// ErrNoModemControl is returned (wrapped) by SetDTR and CarrierDetect on a line that has no
// modem control lines after all, such as a pty that answers "inappropriate ioctl".
var ErrNoModemControl = errors.New("line: no modem control lines")

// BaudSetter is implemented by lines whose speed the host sets: a UART, a USB modem's tty, the
// emulated line of the tests. A pty and a multiplexer channel have no speed of their own.
// Changing the speed on a line whose other end does not change too garbles what crosses it, so
// the dialer changes it only after the modem has agreed (AT+IPR) and checks with AT after.
type BaudSetter interface {
	// Baud returns the line's current speed in bit/s.
	Baud() int
	// SetBaud changes the line's speed (8N1 kept). Bytes already queued may go out at either
	// speed.
	SetBaud(rate int) error
}
