package apn

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
)

// Auth is the authentication an APN entry asks for.
type Auth uint8

// The authentication methods of the database.
const (
	AuthAny  Auth = iota // the database names none: whatever the peer asks for
	AuthPAP              // PAP only
	AuthCHAP             // CHAP only
)

// String returns "any", "pap" or "chap".
func (a Auth) String() string {
	switch a {
	case AuthPAP:
		return "pap"
	case AuthCHAP:
		return "chap"
	case AuthAny:
		return "any"
	}
	return fmt.Sprintf("auth(%d)", uint8(a))
}

// Network is the network an IMSI belongs to, as the database knows it.
type Network struct {
	MCC, MNC  string   // "234", "10"; MNC as the database writes it (2 or 3 digits)
	Country   string   // ISO 3166 alpha-2, lower case ("gb"); "" when unknown
	Providers []string // the providers the database lists on the network: primary first, then database order
}

// String returns e.g. "234/10 (gb: O2, giffgaff)".
func (n Network) String() string {
	s := n.MCC + "/" + n.MNC
	if len(n.Providers) > 0 {
		s += " (" + n.Country + ": " + strings.Join(n.Providers, ", ") + ")"
	}
	return s
}

// Candidate is one way to set up the PDP context, to try in the order Lookup gives.
//
// Default distinguishes writing an empty APN with AT+CGDCONT (the network chooses its default)
// from not writing a context at all (the modem's stored one), which is what a dialer does for
// an unknown network. Password is a credential: String, GoString, LogValue and MarshalJSON hide it.
type Candidate struct {
	APN                string
	Username, Password string
	Auth               Auth
	// Default marks the last candidate: an empty APN, the network's default.
	Default bool
	// Providers names the providers that list this APN on the network, for the log.
	Providers []string
	// Remembered says it worked on an earlier start (Recall put it first).
	Remembered bool
}

// NetworkDefault is the candidate that writes an empty APN: the network's default context.
func NetworkDefault() Candidate { return Candidate{Default: true} }

// same tells whether two candidates set up the same context: the APN (case-insensitive, as
// 3GPP TS 23.003 has it), the credentials and the authentication.
func (c Candidate) same(o Candidate) bool {
	return c.Default == o.Default && strings.EqualFold(c.APN, o.APN) &&
		c.Username == o.Username && c.Password == o.Password && c.Auth == o.Auth
}

const redacted = "****"

func (c Candidate) password() string {
	if c.Password == "" {
		return ""
	}
	return redacted
}

// String returns the APN and the user for a log line, never the password:
// `"internet" user "web" password **** (O2)`, or "network default APN".
func (c Candidate) String() string {
	var b strings.Builder
	if c.Default {
		b.WriteString("network default APN")
	} else {
		fmt.Fprintf(&b, "%q", c.APN)
	}
	if c.Username != "" {
		fmt.Fprintf(&b, " user %q", c.Username)
	}
	if c.Password != "" {
		b.WriteString(" password " + redacted)
	}
	if c.Auth != AuthAny {
		b.WriteString(" auth " + c.Auth.String())
	}
	if len(c.Providers) > 0 {
		b.WriteString(" (" + strings.Join(c.Providers, ", ") + ")")
	}
	if c.Remembered {
		b.WriteString(" [remembered]")
	}
	return b.String()
}

// GoString keeps %#v from printing the password.
func (c Candidate) GoString() string {
	return fmt.Sprintf("apn.Candidate{APN:%q, Username:%q, Password:%q, Auth:%d, Default:%t, Providers:%#v, Remembered:%t}",
		c.APN, c.Username, c.password(), c.Auth, c.Default, c.Providers, c.Remembered)
}

// LogValue logs the candidate with the password redacted.
func (c Candidate) LogValue() slog.Value {
	attrs := []slog.Attr{slog.String("apn", c.APN)}
	if c.Default {
		attrs = append(attrs, slog.Bool("default", true))
	}
	if c.Username != "" {
		attrs = append(attrs, slog.String("user", c.Username))
	}
	if c.Password != "" {
		attrs = append(attrs, slog.String("password", redacted))
	}
	if c.Auth != AuthAny {
		attrs = append(attrs, slog.String("auth", c.Auth.String()))
	}
	if len(c.Providers) > 0 {
		attrs = append(attrs, slog.String("providers", strings.Join(c.Providers, ", ")))
	}
	if c.Remembered {
		attrs = append(attrs, slog.Bool("remembered", true))
	}
	return slog.GroupValue(attrs...)
}

// MarshalJSON encodes the candidate for events and status output, the password redacted.
func (c Candidate) MarshalJSON() ([]byte, error) {
	return json.Marshal(c.wire(c.password()))
}

// candidateJSON is a candidate's JSON form: in events (password redacted) and in the memory file.
type candidateJSON struct {
	APN        string   `json:"apn"`
	Username   string   `json:"username,omitempty"`
	Password   string   `json:"password,omitempty"`
	Auth       string   `json:"auth,omitempty"`
	Default    bool     `json:"default,omitempty"`
	Providers  []string `json:"providers,omitempty"`
	Remembered bool     `json:"remembered,omitempty"`
}

func (c Candidate) wire(password string) candidateJSON {
	j := candidateJSON{APN: c.APN, Username: c.Username, Password: password, Default: c.Default,
		Providers: c.Providers, Remembered: c.Remembered}
	if c.Auth != AuthAny {
		j.Auth = c.Auth.String()
	}
	return j
}

func (j candidateJSON) candidate() (Candidate, error) {
	c := Candidate{APN: j.APN, Username: j.Username, Password: j.Password, Default: j.Default,
		Providers: j.Providers, Remembered: j.Remembered}
	switch j.Auth {
	case "":
	case "pap":
		c.Auth = AuthPAP
	case "chap":
		c.Auth = AuthCHAP
	default:
		return Candidate{}, fmt.Errorf("authentication %q", j.Auth)
	}
	return c, nil
}
