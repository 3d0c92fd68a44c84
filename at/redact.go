package at

import (
	"strings"
)

// Redacted replaces secrets in logs and transcripts.
const Redacted = "****"

// secretArgs maps commands that carry secrets to the indexes of their secret arguments
// (-1 = every argument). The user names in +CGAUTH and friends are kept: they help debugging
// and are not credentials on their own.
var secretArgs = map[string][]int{
	"+CPIN":     {-1},   // PIN, or PUK and new PIN
	"+CPIN2":    {-1},   // PIN2
	"+CPWD":     {-1},   // facility, old and new password
	"+CLCK":     {2},    // facility, mode, password
	"+CGAUTH":   {3},    // cid, auth, user, password
	"+QICSGP":   {4},    // Quectel: ctx, type, apn, user, password
	"$QCPDPP":   {2},    // Qualcomm: cid, auth, password, user
	"^AUTHDATA": {3, 4}, // Huawei: cid, auth, plmn, password, user
}

// redactLine hides secret arguments of an AT command line ("AT+CPIN=\"1234\"" becomes
// "AT+CPIN=\"****\""). Lines that are not such a command are returned unchanged.
func redactLine(line string) string {
	up := asciiUpper(line)
	i := strings.Index(up, "AT")
	for i >= 0 {
		rest := up[i+2:]
		for name, idx := range secretArgs {
			if !strings.HasPrefix(rest, name+"=") {
				continue
			}
			start := i + 2 + len(name) + 1
			end := len(line)
			if k := strings.IndexAny(line[start:], "\r\n;"); k >= 0 {
				end = start + k
			}
			return line[:start] + redactArgs(line[start:end], idx) + redactLine(line[end:])
		}
		j := strings.Index(up[i+2:], "AT")
		if j < 0 {
			break
		}
		i += 2 + j
	}
	return line
}

// asciiUpper upper-cases ASCII letters only, so the result indexes like s even when s holds
// bytes that are not UTF-8 (strings.ToUpper would turn each into a 3-byte U+FFFD).
func asciiUpper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'a' && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}

// redactArgs replaces the chosen comma-separated arguments, keeping their quotes.
func redactArgs(args string, idx []int) string {
	parts := splitArgs(args)
	for n := range parts {
		hide := false
		for _, k := range idx {
			if k == -1 || k == n {
				hide = true
			}
		}
		if !hide || parts[n] == "" {
			continue
		}
		p := strings.TrimSpace(parts[n])
		if strings.HasPrefix(p, "\"") {
			parts[n] = "\"" + Redacted + "\""
		} else {
			parts[n] = Redacted
		}
	}
	return strings.Join(parts, ",")
}

// splitArgs splits at commas outside quotes, keeping each part as written.
func splitArgs(s string) []string {
	var out []string
	inq := false
	last := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '"':
			inq = !inq
		case ',':
			if !inq {
				out = append(out, s[last:i])
				last = i + 1
			}
		}
	}
	return append(out, s[last:])
}

// sensitivePrefix reports whether the unterminated tail of a line might still become a command
// with secrets, so a recorder must wait for the rest of the line before writing it.
func sensitivePrefix(tail string) bool {
	up := strings.ToUpper(tail)
	for name := range secretArgs {
		full := "AT" + name + "="
		if strings.Contains(up, full) {
			return true
		}
		// A tail ending in the first bytes of such a command.
		for k := 2; k < len(full); k++ {
			if strings.HasSuffix(up, full[:k]) {
				return true
			}
		}
	}
	return false
}
