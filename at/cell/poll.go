package cell

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

// ErrRejected is what an Exec returns (wrapped or as is) when the modem answers a command with
// ERROR or +CME ERROR: the integrator maps its AT engine's errors to it, or sets
// Poller.Rejected. A rejected command is dropped from the poll for good.
var ErrRejected = errors.New("cell: command rejected by the modem")

// Exec sends one AT command (given with its "AT") and returns the information lines of the
// answer, those before the final OK. It is the AT engine's exec.
type Exec func(ctx context.Context, cmd string) ([]string, error)

// Query is one command of a poll plan and the parser of its answer.
type Query struct {
	Cmd   string                          // "AT+CSQ"
	Setup string                          // sent once before the first Cmd ("AT+UCGED=5"); "" for none
	Parse func([]string) (Picture, error) // reads Cmd's information lines
}

// Family names a modem family whose poll plan differs.
type Family string

// The families with a plan. A family the Plan does not know gets the generic plan.
const (
	FamilyGeneric Family = "generic"
	FamilySIM7600 Family = "sim7600" // SIMCom SIM7500/SIM7600: + AT+CPSI?
	FamilySIM800  Family = "sim800"  // SIMCom SIM800/SIM900: GSM only, no +CESQ, no +CEREG, no +CPSI
	FamilyEC25    Family = "ec25"    // Quectel EC25/EC21/EG25/EG91: + AT+QENG="servingcell"
	FamilyBG96    Family = "bg96"    // Quectel BG96/BG95 (Cat-M, NB-IoT): + AT+QENG="servingcell"
	FamilySARAR4  Family = "sara-r4" // u-blox SARA-R4: + AT+UCGED? in mode 5
	FamilySARAR5  Family = "sara-r5" // u-blox SARA-R5: + AT+UCGED? in mode 2
)

// Plan is the commands to poll for a family, in merge order: the 27.007 commands first, the
// vendor's serving-cell command last so its finer values win. The registration read answers
// carry the area and cell only when the session enabled them with +CREG=2 / +CEREG=2.
func Plan(f Family) []Query {
	csq := Query{Cmd: "AT+CSQ", Parse: ParseCSQ}
	cesq := Query{Cmd: "AT+CESQ", Parse: ParseCESQ}
	cops := Query{Cmd: "AT+COPS?", Parse: ParseCOPS}
	creg := Query{Cmd: "AT+CREG?", Parse: ParseRegistrationAnswer}
	cgreg := Query{Cmd: "AT+CGREG?", Parse: ParseRegistrationAnswer}
	cereg := Query{Cmd: "AT+CEREG?", Parse: ParseRegistrationAnswer}
	generic := []Query{csq, cesq, cops, creg, cereg}
	switch f {
	case FamilySIM800:
		return []Query{csq, cops, creg, cgreg}
	case FamilySIM7600:
		return append(generic, Query{Cmd: "AT+CPSI?", Parse: ParseCPSI})
	case FamilyEC25, FamilyBG96:
		return append(generic, Query{Cmd: `AT+QENG="servingcell"`, Parse: ParseQENG})
	case FamilySARAR4:
		return append(generic, Query{Cmd: "AT+UCGED?", Setup: "AT+UCGED=5", Parse: ParseUCGED})
	case FamilySARAR5:
		return append(generic, Query{Cmd: "AT+UCGED?", Setup: "AT+UCGED=2", Parse: ParseUCGED})
	}
	return generic
}

// Stats counts what a Poller met.
type Stats struct {
	Polls     int      // Poll calls that sent at least one command
	Malformed int      // answers a parser refused (counted, skipped, the command kept)
	Dropped   []string // commands dropped after the modem rejected them (or their Setup)
}

// Poller runs a plan through an Exec and merges the answers into one Picture. A command the
// modem rejects is dropped for good and never fails the poll; an answer that does not parse is
// counted and skipped. Safe for use by several goroutines (polls run one at a time).
type Poller struct {
	exec     Exec
	plan     []Query
	rejected func(error) bool

	mu        sync.Mutex
	dropped   map[string]bool
	setupDone map[string]bool
	stats     Stats
}

// NewPoller returns a Poller for plan (usually Plan(family)). rejected tells a modem's refusal
// from other failures; nil means errors.Is(err, ErrRejected).
func NewPoller(exec Exec, plan []Query, rejected func(error) bool) *Poller {
	if rejected == nil {
		rejected = func(err error) bool { return errors.Is(err, ErrRejected) }
	}
	return &Poller{exec: exec, plan: plan, rejected: rejected,
		dropped: map[string]bool{}, setupDone: map[string]bool{}}
}

// Poll sends the plan's commands still in it and returns the merged picture. Its error is not a
// link failure: it is the first Exec error that was not a rejection (a timeout, a closed
// channel: the AT channel's health, which the caller's probe judges) or ctx's; the poll stops
// there and returns what it had.
func (p *Poller) Poll(ctx context.Context) (Picture, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var pic Picture
	sent := false
	for _, q := range p.plan {
		if p.dropped[q.Cmd] {
			continue
		}
		if err := ctx.Err(); err != nil {
			return pic, err
		}
		if q.Setup != "" && !p.setupDone[q.Cmd] {
			sent = true
			if _, err := p.exec(ctx, q.Setup); err != nil {
				if p.rejected(err) {
					p.drop(q.Cmd)
					continue
				}
				p.count(sent)
				return pic, fmt.Errorf("cell: %s: %w", q.Setup, err)
			}
			p.setupDone[q.Cmd] = true
		}
		sent = true
		lines, err := p.exec(ctx, q.Cmd)
		if err != nil {
			if p.rejected(err) {
				p.drop(q.Cmd)
				continue
			}
			p.count(sent)
			return pic, fmt.Errorf("cell: %s: %w", q.Cmd, err)
		}
		a, err := q.Parse(lines)
		if err != nil {
			p.stats.Malformed++
			continue
		}
		pic = pic.Merge(a)
	}
	p.count(sent)
	return pic, nil
}

func (p *Poller) count(sent bool) {
	if sent {
		p.stats.Polls++
	}
}

func (p *Poller) drop(cmd string) {
	p.dropped[cmd] = true
	p.stats.Dropped = append(p.stats.Dropped, cmd)
}

// Stats returns the counters so far.
func (p *Poller) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.stats
	s.Dropped = append([]string(nil), s.Dropped...)
	return s
}

// Reset puts every dropped command back in the plan and forgets the setups sent: for a modem
// that was reset, or replaced by another behind the same port.
func (p *Poller) Reset() {
	p.mu.Lock()
	defer p.mu.Unlock()
	clear(p.dropped)
	clear(p.setupDone)
	p.stats.Dropped = nil
}
