package control

import (
	"encoding/json"
	"errors"
	"fmt"
)

// The operations a Request names.
const (
	OpStatus = "status" // the link's Status
	OpList   = "list"   // every link's Status
	OpRedial = "redial" // drop the link and dial again now
	OpAT     = "at"     // run AT commands on the link's AT channel
)

// Protocol limits, checked by ParseRequest and the Server.
const (
	MaxRequestBytes = 8 << 10 // one request line, newline included
	MaxATCommands   = 16      // commands in one at request
	MaxATCommandLen = 512     // bytes of one command
	maxIfnameLen    = 15      // IFNAMSIZ - 1
)

// Request is one request line.
type Request struct {
	Op     string   `json:"op"`
	Ifname string   `json:"ifname,omitempty"` // "" names the only (or first) link
	Cmds   []string `json:"cmds,omitempty"`   // OpAT only
}

// Response is one response line.
type Response struct {
	OK     bool       `json:"ok"`
	Code   string     `json:"code,omitempty"`  // when !OK: one of the Code constants
	Error  string     `json:"error,omitempty"` // when !OK: what went wrong
	Status *Status    `json:"status,omitempty"`
	Links  []Status   `json:"links,omitempty"`
	AT     []ATResult `json:"at,omitempty"`
}

// ATResult is one AT command's answer: its information lines (the final OK not included), or
// Error for a command the modem or the channel failed. The commands after a failed one are not
// run.
type ATResult struct {
	Cmd   string   `json:"cmd"`
	Lines []string `json:"lines"`
	Error string   `json:"error,omitempty"`
}

// The error codes of a failed Response, each matched by the sentinel error beside it.
const (
	CodeBadRequest  = "bad-request" // ErrBadRequest
	CodeTooLarge    = "too-large"   // ErrTooLarge
	CodeBusy        = "busy"        // ErrBusy
	CodeNoLink      = "no-link"     // ErrNoLink
	CodeUnsupported = "unsupported" // ErrUnsupported
	CodeFailed      = "failed"      // ErrFailed
)

// Sentinel errors: a *RemoteError matches the one of its code with errors.Is, and the server's
// own checks wrap them.
var (
	ErrBadRequest  = errors.New("control: bad request")
	ErrTooLarge    = errors.New("control: request too large")
	ErrBusy        = errors.New("control: too many clients")
	ErrNoLink      = errors.New("control: no such link")
	ErrUnsupported = errors.New("control: not supported by this link")
	ErrFailed      = errors.New("control: the operation failed")
)

// codeErrs pairs codes and sentinels, the more specific first: an error wrapping two gets the
// first one's code.
var codeErrs = []struct {
	code string
	err  error
}{
	{CodeBadRequest, ErrBadRequest}, {CodeTooLarge, ErrTooLarge}, {CodeBusy, ErrBusy},
	{CodeNoLink, ErrNoLink}, {CodeUnsupported, ErrUnsupported}, {CodeFailed, ErrFailed},
}

// RemoteError is a failed Response as the Client returns it.
type RemoteError struct {
	Code    string
	Message string
	AT      []ATResult // OpAT: the results up to and including the failed command
}

// Error says what the daemon answered, with its code.
func (e *RemoteError) Error() string {
	return fmt.Sprintf("control: daemon: %s (%s)", e.Message, e.Code)
}

// Is matches the sentinel error of e's code.
func (e *RemoteError) Is(target error) bool {
	for _, c := range codeErrs {
		if c.code == e.Code {
			return c.err == target
		}
	}
	return false
}

// ParseRequest parses and checks one request line (without its newline): a JSON object with a
// known op, a valid interface name, and for OpAT 1 to MaxATCommands commands of printable ASCII
// (no CR, LF, Ctrl-Z or ESC: one command must not smuggle another or end an SMS). Unknown
// fields are ignored. Errors wrap ErrBadRequest or ErrTooLarge.
func ParseRequest(line []byte) (Request, error) {
	var r Request
	if len(line) >= MaxRequestBytes {
		return r, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(line), MaxRequestBytes-1)
	}
	if err := json.Unmarshal(line, &r); err != nil {
		return Request{}, fmt.Errorf("%w: %v", ErrBadRequest, err)
	}
	if err := CheckIfname(r.Ifname, true); err != nil {
		return Request{}, fmt.Errorf("%w: %v", ErrBadRequest, err)
	}
	switch r.Op {
	case OpStatus, OpList, OpRedial:
		if len(r.Cmds) > 0 {
			return Request{}, fmt.Errorf("%w: cmds given to %s", ErrBadRequest, r.Op)
		}
	case OpAT:
		if err := checkCmds(r.Cmds); err != nil {
			return Request{}, fmt.Errorf("%w: %v", ErrBadRequest, err)
		}
	case "":
		return Request{}, fmt.Errorf("%w: no op", ErrBadRequest)
	default:
		return Request{}, fmt.Errorf("%w: unknown op %q", ErrBadRequest, r.Op)
	}
	return r, nil
}

func checkCmds(cmds []string) error {
	if len(cmds) == 0 || len(cmds) > MaxATCommands {
		return fmt.Errorf("%d commands, want 1 to %d", len(cmds), MaxATCommands)
	}
	for i, c := range cmds {
		if c == "" || len(c) > MaxATCommandLen {
			return fmt.Errorf("command %d: %d bytes, want 1 to %d", i+1, len(c), MaxATCommandLen)
		}
		for j := 0; j < len(c); j++ {
			if c[j] < 0x20 || c[j] > 0x7e {
				return fmt.Errorf("command %d: byte %#02x at %d is not printable ASCII", i+1, c[j], j)
			}
		}
	}
	return nil
}

// CheckIfname checks an interface name as the kernel would take it: 1 to 15 bytes of letters,
// digits, '-', '_' and '.', and not "." or "..". With empty set, "" is accepted too.
func CheckIfname(name string, empty bool) error {
	if name == "" {
		if empty {
			return nil
		}
		return errors.New("empty interface name")
	}
	if len(name) > maxIfnameLen || name == "." || name == ".." {
		return fmt.Errorf("invalid interface name %q", name)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
			return fmt.Errorf("invalid interface name %q", name)
		}
	}
	return nil
}
