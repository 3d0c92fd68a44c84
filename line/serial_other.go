//go:build !linux

package line

import "errors"

// Options tune Open.
type Options struct {
	// Baud is the line speed, 8N1 (default 115200).
	Baud int
	// RTSCTS turns on hardware flow control.
	RTSCTS bool
}

// Open is implemented on Linux only.
func Open(path string, opts Options) (Line, error) { return nil, errors.ErrUnsupported }
