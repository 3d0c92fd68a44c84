package at

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/pppdial/pppdial/line"
)

// HangupOptions tune Hangup. Zero fields take the defaults.
type HangupOptions struct {
	// Guard is the silence before and after "+++" (default 1 s; V.250 S12=50). Modems ignore
	// an escape whose guard times are shorter than their S12 setting.
	Guard time.Duration
	// Timeout bounds the whole hang-up (default 3*Guard + 3*Answer).
	Timeout time.Duration
	// Answer bounds the wait for OK to each of +++ and ATH (default 2 s).
	Answer time.Duration
	// NoDTR skips the DTR drop that is tried when the escape and ATH get no OK.
	NoDTR bool
}

// Hangup gets the modem on port back to command mode and ends the call: "+++" with guard
// times, then ATH; when that is not confirmed and the line has modem control (a real serial
// port; not a pty, not a multiplexer channel), DTR is dropped for a guard time and ATH tried
// again. It returns within opts.Timeout or when ctx ends. Data mode, if it still runs, ends
// first (the session's Data line fails from then on): stop the PPP link before.
func Hangup(ctx context.Context, p *Port, opts HangupOptions) error {
	if opts.Guard <= 0 {
		opts.Guard = time.Second
	}
	if opts.Answer <= 0 {
		opts.Answer = 2 * time.Second
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 3*opts.Guard + 3*opts.Answer
	}
	ctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	if err := p.lockExec(ctx); err != nil {
		return fmt.Errorf("at: hangup: %w: %w", ErrHangupFailed, err)
	}
	defer p.unlockExec()

	// Data still buffered from the call is of no use now; but a NO CARRIER among it says the
	// modem has left data mode by itself, and the escape (guard times, and an OK that will
	// never come) can be skipped.
	p.mu.Lock()
	p.commandModeLocked(fmt.Errorf("at: hung up: %w", os.ErrClosed))
	commandMode := p.modemLeft || bytes.Contains(p.buf, []byte("NO CARRIER"))
	p.buf = nil
	p.skipLF = false
	p.roomLocked()
	p.mu.Unlock()

	if !commandMode {
		// Take the modem's OK to "+++" (it may come a little after the guard time), so it is
		// not taken for the answer to ATH. No OK is no reason to stop: the modem may have been
		// in command mode already, or answers ATH only.
		var w *finalWaiter
		err := sendEscape(ctx, p, opts.Guard, func() { w = p.expectFinal() })
		if w != nil {
			if err == nil {
				_, _ = w.wait(ctx, opts.Answer)
			}
			w.stop()
		}
		if err != nil {
			return fmt.Errorf("at: hangup: %w: %w", ErrHangupFailed, err)
		}
	}
	err := ath(ctx, p, opts.Answer)
	if err == nil {
		return nil
	}
	if ctx.Err() == nil && !opts.NoDTR {
		if derr := p.SetDTR(false); derr == nil {
			_ = sleep(ctx, opts.Guard)
			_ = p.SetDTR(true)
			_ = sleep(ctx, opts.Guard/2)
			if err = ath(ctx, p, opts.Answer); err == nil {
				return nil
			}
		} else if !errors.Is(derr, line.ErrNoModemControl) {
			err = fmt.Errorf("%w; DTR drop: %w", err, derr)
		}
	}
	return fmt.Errorf("at: hangup: %w: %w", ErrHangupFailed, err)
}

// ath sends ATH and waits for OK (NO CARRIER first is fine: the call ended). The caller holds
// the Port's command lock.
func ath(ctx context.Context, p *Port, answer time.Duration) error {
	_, err := p.exec(ctx, "H", answer)
	return err
}
