package tty

import (
	"fmt"
	"os"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
)

// OpenPTY opens a pseudo-terminal pair with the slave in raw mode (8 bits clean: no echo, no CR/LF
// translation, no signals), both ends usable with deadlines and unblocked by Close.
func OpenPTY() (master, slave *os.File, err error) {
	m, s, err := pty.Open()
	if err != nil {
		return nil, nil, fmt.Errorf("tty: open pty: %w", err)
	}
	// pty.Open made both descriptors blocking (through Fd): take non-blocking duplicates, which
	// os.NewFile hands to the runtime poller, and drop the originals.
	master, err = pollable(m)
	if err != nil {
		_ = s.Close()
		return nil, nil, err
	}
	slave, err = pollable(s)
	if err != nil {
		_ = master.Close()
		return nil, nil, err
	}
	if err := MakeRawFile(slave); err != nil {
		_ = master.Close()
		_ = slave.Close()
		return nil, nil, fmt.Errorf("tty: raw mode on %s: %w", slave.Name(), err)
	}
	return master, slave, nil
}

// pollable replaces f by a non-blocking duplicate.
func pollable(f *os.File) (*os.File, error) {
	name := f.Name()
	fd, err := unix.FcntlInt(f.Fd(), unix.F_DUPFD_CLOEXEC, 0)
	_ = f.Close()
	if err != nil {
		return nil, fmt.Errorf("tty: dup %s: %w", name, err)
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		_ = unix.Close(fd)
		return nil, fmt.Errorf("tty: non-blocking %s: %w", name, err)
	}
	return os.NewFile(uintptr(fd), name), nil
}

// MakeRawFile puts the terminal f in raw mode.
func MakeRawFile(f *os.File) error {
	sc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var ierr error
	if err := sc.Control(func(fd uintptr) { ierr = MakeRaw(int(fd)) }); err != nil {
		return err
	}
	return ierr
}
