package at

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
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
// times, then ATH; when that is not confirmed and the port has DTR control (a real serial port;
// not a pty), DTR is dropped for a guard time and ATH tried again. It returns within
// opts.Timeout or when ctx ends. Nothing else may read or write port meanwhile: stop the PPP
// link first.
//
// Pass the *Port the dial ran on (Session.Port); a plain io.ReadWriter is wrapped, and then a
// read may still be in flight when Hangup returns.
func Hangup(ctx context.Context, port io.ReadWriter, opts HangupOptions) error {
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
	p := NewPort(port)

	// Data still buffered from the call is of no use now; but a NO CARRIER among it says the
	// modem has left data mode by itself, and the escape (guard times, and an OK that will
	// never come) can be skipped.
	p.mu.Lock()
	commandMode := bytes.Contains(p.buf, []byte("NO CARRIER"))
	p.buf = nil
	p.skipLF = false
	p.mu.Unlock()

	if !commandMode {
		if err := sendEscape(ctx, p, opts.Guard); err != nil {
			return fmt.Errorf("at: hangup: %w: %w", ErrHangupFailed, err)
		}
		// Take the modem's OK to "+++" (it may come a little after the guard time), so it is
		// not taken for the answer to ATH. No OK is no reason to stop: the modem may have been
		// in command mode already, or answers ATH only.
		_ = waitOK(ctx, p, "+++", opts.Answer)
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
		} else if !errors.Is(derr, errNoDTR) {
			err = fmt.Errorf("%w; DTR drop: %w", err, derr)
		}
	}
	return fmt.Errorf("at: hangup: %w: %w", ErrHangupFailed, err)
}

// ath writes ATH and waits for OK (NO CARRIER first is fine: the call ended).
func ath(ctx context.Context, p *Port, answer time.Duration) error {
	if _, err := p.Write([]byte("ATH\r")); err != nil {
		return err
	}
	return waitOK(ctx, p, "ATH", answer)
}

// waitOK reads command-mode lines (skipping PPP frames) until OK, an error line or the timeout.
func waitOK(ctx context.Context, p *Port, what string, answer time.Duration) error {
	deadline := time.Now().Add(answer)
	p.mu.Lock()
	defer p.mu.Unlock()
	for {
		line, err := p.readLineLocked(ctx, deadline, nil)
		if err != nil {
			if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
				return fmt.Errorf("no OK to %s in %v", what, answer)
			}
			return err
		}
		s := strings.TrimSpace(line)
		if s == "NO CARRIER" && what == "+++" {
			return nil // the call ended as we escaped: the modem is in command mode
		}
		switch classify(s, "H") {
		case lineOK:
			return nil
		case lineError:
			return fmt.Errorf("%s answered %q", what, s)
		}
	}
}
