//go:build !linux

// Package tty sets terminals (ptys, serial ports) to raw mode for PPP.
package tty

import "errors"

// MakeRaw is implemented on Linux only.
func MakeRaw(fd int) error { return errors.ErrUnsupported }
