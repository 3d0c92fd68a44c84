package at

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	modemat "github.com/warthog618/modem/at"
)

// The chat engine is github.com/warthog618/modem/at (v0.4.0): every command, the dial and the
// hang-up's ATH go through its Command, with its timeout and its matching of information lines
// and final results. It reads whole lines from a gate on the Port's buffer instead of from the
// line, because its own reader would keep consuming after CONNECT and eat the peer's first PPP
// frame. The gate stops handing out lines the moment the dial's CONNECT is cut, and starts
// again when data mode ends, so one engine serves the Port's whole life.
//
// The gate also keeps URCs, junk and PPP frames away from the library: the library matches
// indications by prefix on every line, so registering "+CREG:" would also swallow the answer to
// AT+CREG?, and lines it does not know are returned as the command's information. The gate knows
// the pending command and tells the two apart by shape (see classify).
//
// Two things the library cannot do are done beside it, on the same Port: the escape "+++"
// (it has no guard times, and its own Escape sends ESC), and waiting for the OK to "+++",
// which comes while no command is pending (the library drops such lines). ATD goes through
// SMSCommand: Command ends its line with "\r\n", and V.250 lets a modem abort a dial on any
// character after the command line's CR; SMSCommand ends it with the CR alone (no SMS text is
// sent: no modem answers ATD with the SMS prompt).

// gate is the io.Reader the library reads from: whole lines taken from the Port's buffer.
type gate struct {
	p       *Port
	retired bool   // under p.mu
	pending string // the command waiting for its answer, under p.mu
	sawPPP  bool   // PPP frames were seen instead of text, under p.mu
	// connectLost gets a token when PPP frames come while ATD waits for its answer: the
	// modem is online, its CONNECT lost on the line (noise, a bit error in it).
	connectLost chan struct{}
	waiter      chan string
	out         []byte // a line being handed to the library; only the library's reader touches it
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
	log := p.log.Load()
	p.mu.Lock()
	for {
		if g.retired {
			p.mu.Unlock()
			return 0, io.EOF
		}
		if p.data != nil {
			// Data mode: the buffer belongs to the data line.
			_ = p.waitLocked(nil, time.Time{})
			continue
		}
		dialing := strings.HasPrefix(g.pending, "D")
		var framed bool
		text, ok := p.nextTextLocked(&framed, dialing)
		if framed {
			g.sawPPP = true
			if dialing {
				select {
				case g.connectLost <- struct{}{}:
				default:
				}
			}
		}
		if ok {
			s := strings.TrimSpace(text)
			kind := classify(s, g.pending)
			if dialing {
				// The library knows verbose result codes only, and takes OK as the end of the
				// dial: a numeric code is translated, an OK (a late answer to an earlier
				// command) dropped.
				switch {
				case kind == lineOK:
					continue
				case s == "4":
					s = "ERROR"
				case resultCodes[s] != "":
					s = resultCodes[s]
				}
			}
			switch kind {
			case lineEmpty:
				continue
			case lineJunk:
				p.mu.Unlock()
				log.Debug("at: junk from modem", "line", fmt.Sprintf("%q", s))
				p.mu.Lock()
				continue
			case lineURC:
				p.mu.Unlock()
				p.urc(s)
				p.mu.Lock()
				continue
			case lineOK, lineError, lineResult, lineInfo:
				if kind == lineOK && strings.HasPrefix(g.pending, "+CMUX=") {
					// The modem speaks 27.010 from the next byte: see Port.Raw.
					p.enterRawLocked()
				}
				if g.waiter != nil && g.pending == "" && (kind != lineInfo || s == "NO CARRIER") {
					select {
					case g.waiter <- s:
					default:
					}
					continue
				}
			}
			p.mu.Unlock()
			log.Debug("at: <", "line", redactLine(s))
			g.out = append(g.out[:0], s...)
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

// engine is one run of the library on the Port, until it is retired.
type engine struct {
	g      *gate
	a      *modemat.AT
	closed <-chan struct{}
}

// engine returns the Port's running engine, starting one if there is none (first use, or the
// last one was retired by a cancelled command).
func (p *Port) engine() *engine {
	p.engMu.Lock()
	defer p.engMu.Unlock()
	if p.eng != nil {
		select {
		case <-p.eng.closed:
		default:
			return p.eng
		}
	}
	g := &gate{p: p, connectLost: make(chan struct{}, 1)}
	rw := struct {
		io.Reader
		io.Writer
	}{g, commandWriter{p}}
	a := modemat.New(rw)
	p.eng = &engine{g: g, a: a, closed: a.Closed()}
	return p.eng
}

// retireEngine stops the library and waits (at most a write deadline) until its goroutines
// are gone.
func (p *Port) retireEngine() {
	if e := p.retireEngineNoWait(); e != nil {
		t := time.NewTimer(cmdWriteTimeout + time.Second)
		defer t.Stop()
		select {
		case <-e.closed:
		case <-t.C:
		}
	}
}

// retireEngineNoWait stops the library: its reader gets EOF from the gate, and it closes once
// a command it is running returns. It returns the retired engine, if there was one.
func (p *Port) retireEngineNoWait() *engine {
	p.engMu.Lock()
	e := p.eng
	p.eng = nil
	p.engMu.Unlock()
	if e == nil {
		return nil
	}
	p.mu.Lock()
	e.g.retired = true
	p.broadcastLocked()
	p.mu.Unlock()
	return e
}

// sawPPP reports (and clears) whether PPP frames arrived instead of text.
func (p *Port) sawPPP() bool {
	p.engMu.Lock()
	e := p.eng
	p.engMu.Unlock()
	if e == nil {
		return false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	s := e.g.sawPPP
	e.g.sawPPP = false
	return s
}

// Exec sends one AT command (cmd without "AT", e.g. "+CSQ"; "" sends a bare "AT") and returns
// its information lines. timeout bounds the wait for the final result; ctx ends the wait early.
// Errors wrap the package's sentinels: ErrCommandTimeout, ErrCommandFailed (ERROR), *CMEError,
// and an io.EOF or the line's error when the line is gone. While the Port is in data mode no
// answer can come, and Exec times out: on a multiplexed modem, Exec on the AT channel's Port
// while PPP runs on another channel's.
func (p *Port) Exec(ctx context.Context, cmd string, timeout time.Duration) ([]string, error) {
	if err := p.lockExec(ctx); err != nil {
		return nil, err
	}
	defer p.unlockExec()
	return p.exec(ctx, cmd, timeout)
}

func (p *Port) lockExec(ctx context.Context) error {
	select {
	case p.execSem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (p *Port) unlockExec() { <-p.execSem }

// exec runs one command; the caller holds execSem. A dial ("D...") returns the CONNECT line as
// its only information line, with the Port in data mode. Cancelling ctx retires the engine (the
// library cannot abandon a command); the next command starts a new one.
func (p *Port) exec(ctx context.Context, cmd string, timeout time.Duration) ([]string, error) {
	if dl, ok := ctx.Deadline(); ok {
		if d := time.Until(dl); d < timeout {
			timeout = d
		}
	}
	if timeout <= 0 {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, ErrCommandTimeout
	}
	if err := p.failed(); err != nil {
		return nil, fmt.Errorf("at: reading the port: %w", err)
	}
	if p.unsettled {
		// The last command went unanswered: its answer may still be on its way, and would be
		// taken for this one's (every answer after it off by one). Let it come and go first.
		if err := p.settle(ctx, settleQuiet); err != nil {
			return nil, err
		}
	}
	e := p.engine()
	var connectLost <-chan struct{}
	p.mu.Lock()
	e.g.pending = cmd
	if strings.HasPrefix(cmd, "D") {
		select {
		case <-e.g.connectLost: // from an earlier dial on this engine
		default:
		}
		connectLost = e.g.connectLost
	}
	p.mu.Unlock()
	p.log.Load().Debug("at: >", "cmd", redactLine("AT"+cmd))
	type result struct {
		info []string
		err  error
	}
	ch := make(chan result, 1)
	go func() {
		var r result
		if strings.HasPrefix(cmd, "D") {
			r.info, r.err = e.a.SMSCommand(cmd, "", modemat.WithTimeout(timeout))
		} else {
			r.info, r.err = e.a.Command(cmd, modemat.WithTimeout(timeout))
		}
		ch <- r
	}()
	var r result
	select {
	case r = <-ch:
	case <-connectLost:
		// No answer will come: the CONNECT is behind us. The library cannot abandon its
		// command: retire it, as for a cancelled one.
		p.retireEngineNoWait()
		return nil, ErrConnectLost
	case <-ctx.Done():
		// The library cannot abandon a command: retire it and do not wait for it (its write
		// may be stuck until the line's write deadline); the next command starts a new engine.
		p.retireEngineNoWait()
		return nil, ctx.Err()
	}
	p.mu.Lock()
	e.g.pending = ""
	perr := p.err
	p.mu.Unlock()
	p.unsettled = errors.Is(r.err, modemat.ErrDeadlineExceeded)
	if r.err == nil {
		return r.info, nil
	}
	var cme modemat.CMEError
	var cms modemat.CMSError
	var ce modemat.ConnectError
	switch {
	case errors.Is(r.err, modemat.ErrDeadlineExceeded):
		return r.info, ErrCommandTimeout
	case errors.Is(r.err, modemat.ErrError):
		return r.info, ErrCommandFailed
	case errors.As(r.err, &cme):
		return r.info, parseCME(string(cme))
	case errors.As(r.err, &cms):
		return r.info, fmt.Errorf("+CMS ERROR: %s: %w", string(cms), ErrCommandFailed)
	case errors.As(r.err, &ce):
		return r.info, dialError(string(ce))
	case errors.Is(r.err, modemat.ErrClosed):
		if perr != nil {
			return nil, fmt.Errorf("at: reading the port: %w", perr)
		}
		return nil, fmt.Errorf("at: the port was closed: %w", io.EOF)
	}
	return r.info, r.err
}

// settle waits until the line has been quiet for quiet (at most settleMax): the answer
// to a command that timed out arrives meanwhile, and the library drops it, as it drops every
// line that comes while no command is pending. The caller holds execSem.
func (p *Port) settle(ctx context.Context, quiet time.Duration) error {
	p.unsettled = false
	deadline := time.Now().Add(settleMax)
	if dl, ok := ctx.Deadline(); ok {
		// Never at the cost of the command: it keeps at least half of what is left.
		deadline = time.Now().Add(min(settleMax, time.Until(dl)/2))
	}
	for {
		before := p.textBytes()
		if time.Until(deadline) <= 0 {
			return nil
		}
		if err := sleep(ctx, min(quiet, time.Until(deadline))); err != nil {
			return err
		}
		if p.textBytes() == before || !time.Now().Before(deadline) {
			return nil
		}
	}
}

// A modem answers within tens of milliseconds once it answers at all: a line quiet for
// settleQuiet has nothing more on its way. settleMax bounds a modem that keeps talking.
const (
	settleQuiet = 100 * time.Millisecond
	settleMax   = 2 * time.Second
)

// finalWaiter takes the next final result line that comes while no command is pending (the
// OK to "+++"), which the library would drop.
type finalWaiter struct {
	p  *Port
	e  *engine
	ch chan string
}

// expectFinal starts taking such lines; call it before the bytes that the line answers are
// written, so an answer that comes at once is not missed. The caller holds execSem.
func (p *Port) expectFinal() *finalWaiter {
	w := &finalWaiter{p: p, e: p.engine(), ch: make(chan string, 1)}
	p.mu.Lock()
	w.e.g.waiter = w.ch
	p.broadcastLocked()
	p.mu.Unlock()
	return w
}

// wait waits up to timeout for the line.
func (w *finalWaiter) wait(ctx context.Context, timeout time.Duration) (string, error) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case s := <-w.ch:
		return s, nil
	case <-t.C:
		return "", ErrCommandTimeout
	case <-ctx.Done():
		return "", ctx.Err()
	case <-w.e.closed:
		return "", fmt.Errorf("at: the port was closed: %w", io.EOF)
	}
}

// stop ends the wait: such lines go to the library again.
func (w *finalWaiter) stop() {
	w.p.mu.Lock()
	if w.e.g.waiter == w.ch {
		w.e.g.waiter = nil
	}
	w.p.mu.Unlock()
}
