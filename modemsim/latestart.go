package modemsim

import (
	"context"
	"errors"
	"os"
	"time"

	"github.com/pppdial/pppdial/line"
)

// LateStart is a DataFunc that runs df only d after CONNECT, as a modem whose PPP server starts
// a moment after it answered (pppd behind a modem's CONNECT): the host's bytes sent before then
// are lost. The wait is bounded by d, not by ctx.
func LateStart(d time.Duration, df DataFunc) DataFunc {
	return func(ctx context.Context, data line.Line) error {
		if err := data.SetReadDeadline(time.Now().Add(d)); err != nil {
			return err
		}
		buf := make([]byte, 512)
		for {
			if _, err := data.Read(buf); err != nil {
				if !errors.Is(err, os.ErrDeadlineExceeded) {
					return err
				}
				break
			}
		}
		if err := data.SetReadDeadline(time.Time{}); err != nil {
			return err
		}
		return df(ctx, data)
	}
}
