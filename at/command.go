package at

import (
	"context"
	"log/slog"
	"strings"
	"time"
)

// Answer is what a modem answered to one command of Commands.
type Answer struct {
	Command string   // the command as sent, with its "AT"
	Info    []string // the information lines before the final result
	Err     error    // nil for OK; else ErrCommandFailed, *CMEError, ErrCommandTimeout, ...
}

// Commands sends each command to the modem on port and returns the answers, in order: a tool
// for trying a modem by hand (`pppdial at`). A command may be given with or without its "AT".
// Unsolicited result codes that arrive meanwhile go to onEvent (EventURC), when it is set, as
// Config.OnEvent gets them from Dial: in order, on a goroutine of its own, all taken before
// Commands returns. timeout bounds each command (default 5 s). It stops early only when ctx
// ends or the port fails; a command the modem refuses is reported in its Answer and the next
// one is sent.
func Commands(ctx context.Context, port *Port, cmds []string, timeout time.Duration, onEvent func(Event), log *slog.Logger) ([]Answer, error) {
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	port.SetLogger(log)
	if onEvent != nil {
		events := newEvents(onEvent)
		defer drainEvents(ctx, events) // after the route below is gone: nothing posted late
		report := func(line string) { events.Post(Event{Time: time.Now(), Kind: EventURC, Line: line}) }
		port.cmdURC.Store(&report)
		defer port.cmdURC.Store(nil)
	}
	var out []Answer
	for _, c := range cmds {
		body := c
		if len(body) >= 2 && strings.EqualFold(body[:2], "AT") {
			body = body[2:]
		}
		info, err := port.Exec(ctx, body, timeout)
		out = append(out, Answer{Command: "AT" + body, Info: info, Err: err})
		if ctx.Err() != nil || port.failed() != nil {
			return out, err
		}
	}
	return out, nil
}
