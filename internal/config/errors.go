package config

import (
	"errors"
	"fmt"
	"strings"
)

// The kinds of problem a configuration file can have; every *Issue wraps one of them, so a
// caller tells them apart with errors.Is.
var (
	ErrSyntax       = errors.New("not valid TOML")
	ErrUnknownKey   = errors.New("unknown key")
	ErrType         = errors.New("wrong type")
	ErrValue        = errors.New("bad value")
	ErrDuplicate    = errors.New("duplicate")
	ErrMissing      = errors.New("missing")
	ErrSecretFile   = errors.New("secret file")
	ErrInlineSecret = errors.New("inline secret") // a warning, never an error
)

// Issue is one problem in a configuration file, or one warning about it, at the line it was
// found on. Its message never holds a secret's value.
type Issue struct {
	File    string // the file's name as given to Load or Parse
	Line    int    // 1-based; 0 when the problem has no single line (no [[link]] at all)
	Section string // `link "pp0"`, `link #2` or `[egress]`; empty for the file as a whole
	Key     string // the key at fault; empty for a whole table
	Err     error  // wraps one of the Err* kinds
}

// Error formats the issue as FILE:LINE: SECTION: key "KEY": REASON, the way compilers do, so
// editors jump to the line.
func (i *Issue) Error() string { return i.Position() + ": " + i.Reason() }

// Position is FILE:LINE, or FILE when the issue has no line.
func (i *Issue) Position() string {
	if i.Line > 0 {
		return fmt.Sprintf("%s:%d", i.File, i.Line)
	}
	return i.File
}

// Reason is the issue without its position: SECTION: key "KEY": REASON.
func (i *Issue) Reason() string {
	var b strings.Builder
	if i.Section != "" {
		b.WriteString(i.Section)
		b.WriteString(": ")
	}
	if i.Key != "" {
		fmt.Fprintf(&b, "key %q: ", i.Key)
	}
	b.WriteString(i.Err.Error())
	return b.String()
}

// Unwrap returns the kind of problem and the cause beneath it.
func (i *Issue) Unwrap() error { return i.Err }

// Error is every problem Load found in one file, in file order.
type Error struct {
	Issues []*Issue
}

// Error puts one issue on each line.
func (e *Error) Error() string {
	lines := make([]string, len(e.Issues))
	for n, i := range e.Issues {
		lines[n] = i.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap gives errors.Is and errors.As every issue.
func (e *Error) Unwrap() []error {
	errs := make([]error, len(e.Issues))
	for n, i := range e.Issues {
		errs[n] = i
	}
	return errs
}

// KeyError is what a Schema's Check hooks return to blame one key: Load reports it at that key's
// line.
type KeyError struct {
	Key string
	Err error
}

// Error names the key.
func (e *KeyError) Error() string { return fmt.Sprintf("key %q: %v", e.Key, e.Err) }

// Unwrap returns the cause.
func (e *KeyError) Unwrap() error { return e.Err }

// kindf is an error of the given kind with a reason, matching errors.Is(err, kind).
func kindf(kind error, format string, args ...any) error {
	return &kindError{kind: kind, msg: fmt.Sprintf(format, args...)}
}

// kindError carries a reason while matching its kind; the reason alone is printed, since the
// kind's own words ("bad value") would only repeat it.
type kindError struct {
	kind  error
	msg   string
	cause error
}

func (e *kindError) Error() string { return e.msg }

func (e *kindError) Unwrap() []error {
	if e.cause != nil {
		return []error{e.kind, e.cause}
	}
	return []error{e.kind}
}
