//go:build !linux

package line

import (
	"errors"
	"strings"
)

// Options tune Open.
type Options struct {
	// Baud is the line speed, 8N1 (default 115200).
	Baud int
	// RTSCTS turns on hardware flow control.
	RTSCTS bool
}

// Open is implemented on Linux only.
func Open(path string, opts Options) (Line, error) { return nil, errors.ErrUnsupported }

// IsNoTTY reports the error a device without modem lines gives to a modem-line ioctl.
func IsNoTTY(err error) bool { return strings.Contains(err.Error(), "inappropriate ioctl") }
