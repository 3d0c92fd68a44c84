//go:build linux

package line

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"

	"go.bug.st/serial"
	"golang.org/x/sys/unix"
)

// Options tune Open.
type Options struct {
	// Baud is the line speed, 8N1 (default 115200).
	Baud int
	// RTSCTS turns on hardware flow control (CRTSCTS). go.bug.st/serial has no API for it, so
	// it is set through termios.
	RTSCTS bool
}

// Serial is a serial device opened by Open: a UART, a USB modem's ttyUSB/ttyACM port, or a pty.
//
// go.bug.st/serial configures the device (speed, raw mode) and drives the modem control lines,
// but its Read returns (0, nil) when its read timeout passes and it has no deadlines. So the
// bytes go through a second descriptor of the same device, opened non-blocking and handed to
// Go's runtime poller: read and write deadlines are then exact, and Close unblocks both a
// pending Read and a pending Write. termios and the modem lines belong to the device, not to a
// descriptor, so both descriptors see the same settings.
//
// A write deadline on a UART bounds how long Write waits for room in the kernel's transmit
// buffer. Bytes already accepted by the kernel are sent whatever the deadline; with RTS/CTS and
// a modem holding CTS low they wait there, and a Write that fails with the deadline may have
// queued part of its bytes (the count says how many).
type Serial struct {
	f    *os.File    // the I/O descriptor, in the runtime poller
	fd   int         // f's descriptor (f.Fd would make it blocking)
	ctl  serial.Port // configuration and modem control lines
	path string

	mu     sync.Mutex // baud
	baud   int
	rtscts bool
}

// Open opens a serial device at opts.Baud 8N1 in raw mode, for this process alone: a device
// another process holds (another pppdial, even as root, or any program while pppdial holds it,
// except root's) fails with ErrBusy. DTR is raised where the device has
// modem lines; a pty's "inappropriate ioctl" answer to that is ignored. The result also
// implements ModemControl.
func Open(path string, opts Options) (Line, error) {
	if opts.Baud <= 0 {
		opts.Baud = 115200
	}
	// Opened first: go.bug.st/serial takes exclusive access (TIOCEXCL), after which the device
	// cannot be opened again.
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_NOCTTY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if errors.Is(err, unix.EBUSY) {
		// TIOCEXCL, set by the process that has it open.
		return nil, fmt.Errorf("line: open %s: %w: %w", path, ErrBusy, err)
	}
	if err != nil {
		return nil, fmt.Errorf("line: open %s: %w", path, err)
	}
	// TIOCEXCL (below) does not stop root: an flock(2) on the device does stop another pppdial,
	// root included, and the lock goes with the descriptor, however the process ends.
	if err := unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB); errors.Is(err, unix.EWOULDBLOCK) {
		_ = unix.Close(fd)
		return nil, fmt.Errorf("line: open %s: %w", path, ErrBusy)
	}
	f := os.NewFile(uintptr(fd), path)
	p, err := serial.Open(path, &serial.Mode{BaudRate: opts.Baud, DataBits: 8, Parity: serial.NoParity, StopBits: serial.OneStopBit})
	if err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("line: open %s at %d baud: %w", path, opts.Baud, err)
	}
	s := &Serial{f: f, ctl: p, fd: fd, path: path, baud: opts.Baud, rtscts: opts.RTSCTS}
	if err := p.SetDTR(true); err != nil && !isNoTTY(err) {
		var pe *serial.PortError
		if !errors.As(err, &pe) {
			_ = s.Close()
			return nil, fmt.Errorf("line: %s: DTR: %w", path, err)
		}
	}
	if opts.RTSCTS {
		// After serial.Open, which clears CRTSCTS.
		if err := setRTSCTS(fd, true); err != nil {
			_ = s.Close()
			return nil, fmt.Errorf("line: %s: RTS/CTS: %w", path, err)
		}
	}
	return s, nil
}

// Read reads what the device has received; it blocks until a byte comes, the read deadline
// passes or Close.
func (s *Serial) Read(b []byte) (int, error) { return s.f.Read(b) }

// Write writes to the device; see Serial for what its deadline means on a UART.
func (s *Serial) Write(b []byte) (int, error) { return s.f.Write(b) }

// SetReadDeadline sets the deadline for pending and future Reads; zero means none.
func (s *Serial) SetReadDeadline(t time.Time) error { return s.f.SetReadDeadline(t) }

// SetWriteDeadline sets the deadline for pending and future Writes; zero means none.
func (s *Serial) SetWriteDeadline(t time.Time) error { return s.f.SetWriteDeadline(t) }

// Close closes both descriptors; a pending Read or Write returns an error wrapping
// os.ErrClosed, as do later calls.
func (s *Serial) Close() error {
	err := s.f.Close()
	if cerr := s.ctl.Close(); err == nil {
		err = cerr
	}
	return err
}

// SetDTR drives DTR. A pty has no modem lines: that is reported as ErrNoModemControl.
func (s *Serial) SetDTR(on bool) error {
	if err := s.ctl.SetDTR(on); err != nil {
		if isNoTTY(err) {
			return fmt.Errorf("%s: %w", s.path, ErrNoModemControl)
		}
		return err
	}
	return nil
}

// CarrierDetect reads the DCD line. A pty has no modem lines: that is reported as
// ErrNoModemControl.
func (s *Serial) CarrierDetect() (bool, error) {
	bits, err := s.ctl.GetModemStatusBits()
	if err != nil {
		if isNoTTY(err) {
			return false, fmt.Errorf("%s: %w", s.path, ErrNoModemControl)
		}
		return false, err
	}
	return bits.DCD, nil
}

// Baud returns the speed the device was opened or last set at.
func (s *Serial) Baud() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.baud
}

// SetBaud changes the device's speed, keeping 8N1 and RTS/CTS as they were.
func (s *Serial) SetBaud(rate int) error {
	if rate <= 0 {
		return fmt.Errorf("line: %s: speed %d", s.path, rate)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.ctl.SetMode(&serial.Mode{BaudRate: rate, DataBits: 8, Parity: serial.NoParity, StopBits: serial.OneStopBit}); err != nil {
		return fmt.Errorf("line: %s: set speed %d: %w", s.path, rate, err)
	}
	if s.rtscts {
		// SetMode rewrites the termios flags and clears CRTSCTS.
		if err := setRTSCTS(s.fd, true); err != nil {
			return fmt.Errorf("line: %s: RTS/CTS: %w", s.path, err)
		}
	}
	s.baud = rate
	return nil
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

// isNoTTY reports the error a pty (or any device without modem lines) gives to a modem-line
// ioctl.
func isNoTTY(err error) bool {
	return errors.Is(err, syscall.ENOTTY) || strings.Contains(err.Error(), "inappropriate ioctl")
}

var (
	_ Line         = (*Serial)(nil)
	_ ModemControl = (*Serial)(nil)
	_ BaudSetter   = (*Serial)(nil)
)
