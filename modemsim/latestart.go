package modemsim

import (
	"context"
	"errors"
	"io"
	"os"
	"time"
)

// LateStart is a DataFunc that runs df only d after CONNECT, as a modem whose PPP server starts
// a moment after it answered (pppd behind a modem's CONNECT): the host's bytes sent before then
// are lost. The wait is bounded by d, not by ctx.
func LateStart(d time.Duration, df DataFunc) DataFunc {
	return func(ctx context.Context, data io.ReadWriter) error {
		until := time.Now().Add(d)
		if dl, ok := data.(interface{ SetReadDeadline(time.Time) error }); ok && dl.SetReadDeadline(until) == nil {
			buf := make([]byte, 512)
			for {
				if _, err := data.Read(buf); err != nil {
					if !errors.Is(err, os.ErrDeadlineExceeded) {
						return err
					}
					break
				}
			}
			_ = dl.SetReadDeadline(time.Time{})
		} else {
			// A stream without deadlines keeps what the host sent; it is only late.
			t := time.NewTimer(time.Until(until))
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return ctx.Err()
			}
		}
		return df(ctx, data)
	}
}
