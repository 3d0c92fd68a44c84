//go:build linux

package peers

import (
	"github.com/pppdial/pppdial/internal/tty"

	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// Port is our end of a pseudo-terminal that a peer speaks PPP on, in raw mode (8 bits, no echo,
// no line editing, no CR/LF translation, no flow control), so every byte passes unchanged.
//
// The descriptor is non-blocking and registered with Go's poller, so Close unblocks a pending
// Read and read/write deadlines work. A Port is safe for one reader and one writer at a time.
type Port struct {
	f *os.File
}

// Read reads bytes the peer wrote. After the peer's side is gone it returns an error (EIO on
// Linux ptys); after Close, os.ErrClosed.
func (p *Port) Read(b []byte) (int, error) { return p.f.Read(b) }

// Write sends bytes to the peer.
func (p *Port) Write(b []byte) (int, error) { return p.f.Write(b) }

// Close closes our end; a blocked Read or Write returns.
func (p *Port) Close() error { return p.f.Close() }

// SetReadDeadline sets the deadline for Read, like net.Conn's.
func (p *Port) SetReadDeadline(t time.Time) error { return p.f.SetReadDeadline(t) }

// SetWriteDeadline sets the deadline for Write, like net.Conn's.
func (p *Port) SetWriteDeadline(t time.Time) error { return p.f.SetWriteDeadline(t) }

// SetDeadline sets both deadlines.
func (p *Port) SetDeadline(t time.Time) error { return p.f.SetDeadline(t) }

// Name is the device path of the pty (for logs and error messages).
func (p *Port) Name() string { return p.f.Name() }

// newPort takes ownership of fd: it switches it to raw mode and non-blocking, and wraps it so Go's
// poller handles it (os.NewFile only does that for descriptors already non-blocking).
func newPort(fd int, name string) (*Port, error) {
	if err := tty.MakeRaw(fd); err != nil {
		_ = unix.Close(fd)
		return nil, fmt.Errorf("peers: raw mode on %s: %w", name, err)
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		_ = unix.Close(fd)
		return nil, fmt.Errorf("peers: non-blocking %s: %w", name, err)
	}
	return &Port{f: os.NewFile(uintptr(fd), name)}, nil
}

// openPTY opens a tty device (the slave side of a pty someone else created) as a Port. O_NOCTTY
// keeps it from becoming the test process's controlling terminal.
func openPTY(path string) (*Port, error) {
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("peers: open %s: %w", path, err)
	}
	return newPort(fd, path)
}
