package cell

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// ErrMalformed is wrapped by every parse error: an answer that does not have the documented shape.
var ErrMalformed = errors.New("cell: malformed answer")

// malformed wraps ErrMalformed with what was wrong; the line is quoted, bounded in length.
func malformed(what, line string) error {
	if len(line) > 120 {
		line = line[:120] + "..."
	}
	return fmt.Errorf("%w: %s: %q", ErrMalformed, what, line)
}

// field is one comma-separated value of an information line.
type field struct {
	s      string // trimmed, quotes removed
	quoted bool   // the value was in double quotes
}

// split cuts the value part of an information line at commas outside quotes.
func split(s string) []field {
	var out []field
	var b strings.Builder
	inq, quoted := false, false
	flush := func() {
		out = append(out, field{s: strings.TrimSpace(b.String()), quoted: quoted})
		b.Reset()
		quoted = false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"':
			inq = !inq
			quoted = true
		case c == ',' && !inq:
			flush()
		default:
			b.WriteByte(c)
		}
	}
	flush()
	return out
}

// value returns what follows "prefix:" in the first of lines that starts with it (spaces around
// the line and after the colon ignored).
func value(lines []string, prefix string) (string, bool) {
	for _, l := range lines {
		l = strings.TrimSpace(l)
		if strings.HasPrefix(l, prefix) && strings.HasPrefix(l[len(prefix):], ":") {
			return strings.TrimSpace(l[len(prefix)+1:]), true
		}
	}
	return "", false
}

// unknown reports the placeholders vendors print for a value they do not have.
func unknown(s string) bool {
	return s == "" || s == "-" || s == "--"
}

// atoi parses a decimal integer, refusing the placeholders.
func atoi(s string) (int, bool) {
	if unknown(s) {
		return 0, false
	}
	n, err := strconv.Atoi(s)
	return n, err == nil
}

// atof parses a decimal number ("-104.20", "13.75", "-075.00").
func atof(s string) (float64, bool) {
	if unknown(s) {
		return 0, false
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, false
	}
	return f, true
}

// hexID parses a hex identity (cell ID, LAC, TAC), with or without "0x". All-f values are the
// "not known" that modems print when not camped (FFFE is a real LAC and is kept).
func hexID(s string, bits int) (uint64, bool) {
	if unknown(s) {
		return 0, false
	}
	s = strings.TrimPrefix(strings.TrimPrefix(s, "0x"), "0X")
	if s == "" || strings.Trim(s, "fF") == "" {
		return 0, false
	}
	n, err := strconv.ParseUint(s, 16, bits)
	return n, err == nil
}

// digits reports a non-empty string of ASCII digits of at most max characters (MCC, MNC).
func digits(s string, max int) bool {
	if s == "" || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func ptr[T any](v T) *T { return &v }
