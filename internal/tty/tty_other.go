//go:build !linux

// Package tty sets terminals (ptys, serial ports) to raw mode for PPP.
package tty

import (
	"errors"
	"os"
)

// MakeRaw is implemented on Linux only.
func MakeRaw(fd int) error { return errors.ErrUnsupported }

// OpenPTY is implemented on Linux only.
func OpenPTY() (master, slave *os.File, err error) { return nil, nil, errors.ErrUnsupported }

// MakeRawFile is implemented on Linux only.
func MakeRawFile(f *os.File) error { return errors.ErrUnsupported }
