package at

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"syscall"
	"time"

	modemat "github.com/warthog618/modem/at"
)

// gate is the io.Reader the AT library reads from. It hands the library whole lines taken from
// the Port's buffer, keeps URCs and junk away from it, and can be retired: from then on it
// returns io.EOF and takes no more bytes, so everything the modem sends after ATD stays in the
// Port for the dial and the data phase.
//
// Why a filter and not the library's own indications: the library matches indications by
// prefix on every line, so registering "+CREG:" would also swallow the answer to AT+CREG?, and
// lines it does not know are returned as the command's information. The gate knows the pending
// command and tells the two apart by shape (see isAnswer).
type gate struct {
	p       *Port
	retired bool   // under p.mu
	pending string // the command waiting for its answer, under p.mu
	sawPPP  bool   // PPP frames were seen instead of text, under p.mu
	out     []byte // a line being handed to the library; only the library's reader touches it
	onURC   func(string)
	log     *slog.Logger
}

// Read gives the library the next non-URC line, blocking until there is one or the gate is
// retired. It never returns (0, nil): the library's bufio.Scanner gives up after 100 of those.
func (g *gate) Read(b []byte) (int, error) {
	if len(g.out) > 0 {
		n := copy(b, g.out)
		g.out = g.out[n:]
		return n, nil
	}
	p := g.p
	p.mu.Lock()
	for {
		if g.retired {
			p.mu.Unlock()
			return 0, io.EOF
		}
		if line, ok := p.nextTextLocked(&g.sawPPP); ok {
			kind := classify(line, g.pending)
			switch kind {
			case lineEmpty:
				continue
			case lineJunk:
				p.mu.Unlock()
				g.log.Debug("at: junk from modem", "line", fmt.Sprintf("%q", line))
				p.mu.Lock()
				continue
			case lineURC:
				p.mu.Unlock()
				g.onURC(strings.TrimSpace(line))
				p.mu.Lock()
				continue
			}
			p.mu.Unlock()
			g.log.Debug("at: <", "line", redactLine(line))
			g.out = append(g.out[:0], strings.TrimSpace(line)...)
			g.out = append(g.out, '\n')
			n := copy(b, g.out)
			g.out = g.out[n:]
			return n, nil
		}
		if p.err != nil {
			err := p.err
			p.mu.Unlock()
			return 0, err
		}
		_ = p.waitLocked(nil, time.Time{})
	}
}

// engine runs the command phase: warthog618/modem/at issues the commands and collects the
// answers; the gate feeds it.
type engine struct {
	p    *Port
	g    *gate
	a    *modemat.AT
	log  *slog.Logger
	done bool
}

// newEngine starts the AT library on the port. It must be retired before the port is used for
// anything else.
func newEngine(p *Port, log *slog.Logger, onURC func(string)) *engine {
	g := &gate{p: p, onURC: onURC, log: log}
	rw := struct {
		io.Reader
		io.Writer
	}{g, p}
	return &engine{p: p, g: g, a: modemat.New(rw), log: log}
}

// retire stops the library and waits until its goroutines are gone. Idempotent.
func (e *engine) retire() {
	if e.done {
		return
	}
	e.done = true
	e.p.mu.Lock()
	e.g.retired = true
	e.p.broadcastLocked()
	e.p.mu.Unlock()
	<-e.a.Closed()
}

// sawPPP reports (and clears) whether PPP frames arrived instead of text.
func (e *engine) sawPPP() bool {
	e.p.mu.Lock()
	defer e.p.mu.Unlock()
	s := e.g.sawPPP
	e.g.sawPPP = false
	return s
}

// exec runs one command (without "AT") and returns its information lines. The timeout bounds
// the command; cancelling ctx retires the engine (the dial is over anyway).
func (e *engine) exec(ctx context.Context, cmd string, timeout time.Duration) ([]string, error) {
	if e.done {
		return nil, fmt.Errorf("at: command engine already retired")
	}
	if dl, ok := ctx.Deadline(); ok {
		if d := time.Until(dl); d < timeout {
			timeout = d
		}
	}
	if timeout <= 0 {
		return nil, ErrCommandTimeout
	}
	e.p.mu.Lock()
	e.g.pending = cmd
	e.p.mu.Unlock()
	e.log.Debug("at: >", "cmd", redactLine("AT"+cmd))
	type result struct {
		info []string
		err  error
	}
	ch := make(chan result, 1)
	go func() {
		info, err := e.a.Command(cmd, modemat.WithTimeout(timeout))
		ch <- result{info, err}
	}()
	var r result
	select {
	case r = <-ch:
	case <-ctx.Done():
		e.retire()
		<-ch
		return nil, ctx.Err()
	}
	e.p.mu.Lock()
	e.g.pending = ""
	perr := e.p.err
	e.p.mu.Unlock()
	if r.err == nil {
		return r.info, nil
	}
	var cme modemat.CMEError
	var cms modemat.CMSError
	switch {
	case errors.Is(r.err, modemat.ErrDeadlineExceeded):
		return r.info, ErrCommandTimeout
	case errors.Is(r.err, modemat.ErrError):
		return r.info, ErrCommandFailed
	case errors.As(r.err, &cme):
		return r.info, parseCME(string(cme))
	case errors.As(r.err, &cms):
		return r.info, fmt.Errorf("+CMS ERROR: %s: %w", string(cms), ErrCommandFailed)
	case errors.Is(r.err, modemat.ErrClosed):
		e.done = true
		if perr != nil {
			return nil, fmt.Errorf("at: reading the port: %w", perr)
		}
		return nil, fmt.Errorf("at: the port was closed: %w", io.EOF)
	}
	return r.info, r.err
}

// isNoTTY reports the error a pty gives to modem-line ioctls.
func isNoTTY(err error) bool {
	return errors.Is(err, syscall.ENOTTY) || strings.Contains(err.Error(), "inappropriate ioctl")
}
