//go:build linux

package at

import (
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"time"

	"go.bug.st/serial"
	"golang.org/x/sys/unix"
)

// SerialOptions tune Open.
type SerialOptions struct {
	// RTSCTS turns on hardware flow control (CRTSCTS). go.bug.st/serial has no API for it, so
	// it is set through termios.
	RTSCTS bool
}

// serialPort adapts a go.bug.st/serial port to a plain blocking io.ReadWriteCloser.
type serialPort struct {
	p      serial.Port
	closed atomic.Bool
}

// readPoll is the serial read timeout: Read wakes this often to notice Close even on drivers
// where closing does not interrupt a pending read.
const readPoll = 200 * time.Millisecond

// Read blocks until bytes come or the port is closed. go.bug.st/serial returns (0, nil) when its
// read timeout passes; that is never passed on (bufio.Scanner gives up after 100 of them).
func (s *serialPort) Read(b []byte) (int, error) {
	for {
		n, err := s.p.Read(b)
		if n > 0 || err != nil {
			if err != nil && s.closed.Load() {
				err = fmt.Errorf("%w: %w", os.ErrClosed, err)
			}
			return n, err
		}
		if s.closed.Load() {
			return 0, os.ErrClosed
		}
	}
}

// Write writes to the port; it can block on flow control and Close does not interrupt it.
func (s *serialPort) Write(b []byte) (int, error) { return s.p.Write(b) }

// Close closes the port; a pending Read returns. A Write blocked on flow control is not
// interrupted by the library; with RTSCTS and a dead modem, expect Close to take that long.
func (s *serialPort) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	return s.p.Close()
}

// SetDTR drives DTR. A pty has no modem lines and answers ENOTTY; that is reported as errNoDTR.
func (s *serialPort) SetDTR(on bool) error {
	err := s.p.SetDTR(on)
	if err != nil && isNoTTY(err) {
		return errNoDTR
	}
	return err
}

// Open opens a serial device (a UART, a USB modem's ttyUSB/ttyACM port, or a pty) at baud 8N1,
// in raw mode, and returns it as a *Port ready for Dial. DTR is raised where the device has modem
// lines; a pty's "inappropriate ioctl" answer to that is ignored.
func Open(path string, baud int, opts SerialOptions) (*Port, error) {
	if baud <= 0 {
		baud = 115200
	}
	// termios is per device, not per descriptor: keep a descriptor of our own to set CRTSCTS
	// after the library (which clears it) has configured the port.
	var fd = -1
	if opts.RTSCTS {
		var err error
		fd, err = unix.Open(path, unix.O_RDWR|unix.O_NOCTTY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
		if err != nil {
			return nil, fmt.Errorf("at: open %s: %w", path, err)
		}
		defer unix.Close(fd)
	}
	p, err := serial.Open(path, &serial.Mode{BaudRate: baud, DataBits: 8, Parity: serial.NoParity, StopBits: serial.OneStopBit})
	if err != nil {
		return nil, fmt.Errorf("at: open %s at %d baud: %w", path, baud, err)
	}
	if err := p.SetReadTimeout(readPoll); err != nil {
		p.Close()
		return nil, fmt.Errorf("at: %s: read timeout: %w", path, err)
	}
	if err := p.SetDTR(true); err != nil && !isNoTTY(err) {
		var pe *serial.PortError
		if !errors.As(err, &pe) {
			p.Close()
			return nil, fmt.Errorf("at: %s: DTR: %w", path, err)
		}
	}
	if opts.RTSCTS {
		if err := setRTSCTS(fd, true); err != nil {
			p.Close()
			return nil, fmt.Errorf("at: %s: RTS/CTS: %w", path, err)
		}
	}
	return NewPort(&serialPort{p: p}), nil
}

// setRTSCTS sets or clears CRTSCTS on the device behind fd.
func setRTSCTS(fd int, on bool) error {
	t, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return err
	}
	if on {
		t.Cflag |= unix.CRTSCTS
	} else {
		t.Cflag &^= unix.CRTSCTS
	}
	return unix.IoctlSetTermios(fd, unix.TCSETS, t)
}

// CarrierDetect reads the DCD line. A pty has no modem lines and answers ENOTTY; that is
// reported as errNoDCD.
func (s *serialPort) CarrierDetect() (bool, error) {
	bits, err := s.p.GetModemStatusBits()
	if err != nil {
		if isNoTTY(err) {
			return false, errNoDCD
		}
		return false, err
	}
	return bits.DCD, nil
}
