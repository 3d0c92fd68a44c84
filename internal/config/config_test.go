package config_test

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pppdial/pppdial/internal/config"
)

// pinValue is a secret flag whose parser quotes what it refuses, as many do: the config package
// must not pass that on.
type pinValue string

func (p *pinValue) String() string { return string(*p) }
func (p *pinValue) Set(s string) error {
	if s == "" || strings.Trim(s, "0123456789") != "" {
		return fmt.Errorf("PIN %q is not digits", s)
	}
	*p = pinValue(s)
	return nil
}

// listValue is a flag of its own kind that may be repeated: a TOML array sets it once per element.
type listValue []string

func (l *listValue) String() string     { return strings.Join(*l, ",") }
func (l *listValue) Set(s string) error { *l = append(*l, s); return nil }

func newLinkFlags() *flag.FlagSet {
	fs := flag.NewFlagSet("link", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.String("port", "", "")
	fs.String("ifname", "", "")
	fs.String("apn", "", "")
	fs.Var(new(pinValue), "pin", "")
	fs.String("password", "", "")
	fs.String("user", "", "")
	fs.Int("baud", 115200, "")
	fs.Bool("rtscts", false, "")
	fs.Bool("persist", false, "")
	fs.Duration("holdoff", 5*time.Second, "")
	fs.Duration("lcp-echo-interval", 10*time.Second, "")
	fs.Int("lcp-echo-failure", 3, "")
	fs.Float64("ratio", 0.5, "")
	fs.Uint("mtu", 1500, "")
	fs.Var(new(listValue), "init", "")
	return fs
}

func newEgressFlags() *flag.FlagSet {
	fs := flag.NewFlagSet("egress", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.String("socks", "", "")
	fs.String("socks-password-file", "", "")
	fs.Bool("tun", false, "")
	return fs
}

func schema() config.Schema {
	return config.Schema{
		Link:        newLinkFlags,
		Egress:      newEgressFlags,
		Secrets:     []string{"pin", "password"},
		SecretFiles: []string{"socks-password-file"},
		Port:        "port",
		Ifname:      "ifname",
		CheckLink: func(fs *flag.FlagSet) error {
			if name := fs.Lookup("ifname").Value.String(); name != "" && !strings.HasPrefix(name, "pp") {
				return &config.KeyError{Key: "ifname", Err: errors.New("want ppN")}
			}
			return nil
		},
		CheckEgress: func(fs *flag.FlagSet) error {
			if fs.Lookup("tun").Value.String() == "true" && fs.Lookup("socks").Value.String() != "" {
				return errors.New("tun and socks are exclusive")
			}
			return nil
		},
	}
}

// secretFile writes content to a file with mode perm and returns its path.
func secretFile(t testing.TB, content string, perm os.FileMode) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "secret")
	require.NoError(t, os.WriteFile(path, []byte(content), 0o600))
	require.NoError(t, os.Chmod(path, perm)) // past the umask
	return path
}

// example is testdata/two-links.toml with its secret files made under dir.
func example(t testing.TB) string {
	t.Helper()
	data, err := os.ReadFile("testdata/two-links.toml")
	require.NoError(t, err)
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "pin"), []byte("1234\n"), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "web.password"), []byte("s3cret\r\n"), 0o600))
	return strings.ReplaceAll(string(data), "/etc/pppdial/", dir+"/")
}

func TestConfigTwoLinks(t *testing.T) {
	f, err := config.Parse("two-links.toml", []byte(example(t)), schema())
	require.NoError(t, err)
	assert.Empty(t, f.Warnings)
	require.Len(t, f.Links, 2)

	pp0, pp1 := f.Links[0], f.Links[1]
	assert.Equal(t, "pp0", pp0.Ifname)
	assert.Equal(t, "/dev/serial/by-id/usb-Quectel_EC25-if02-port0", pp0.Port)
	assert.Equal(t, `link "pp0"`, pp0.Name)
	assert.Equal(t, 7, pp0.Line)
	assert.Equal(t, "pp1", pp1.Ifname)
	assert.Equal(t, "/dev/ttyAMA0", pp1.Port)
	assert.Equal(t, 16, pp1.Line)
	assert.True(t, pp0.IsSet("pin"), "pin-file sets pin")
	assert.False(t, pp0.IsSet("baud"))

	// Apply hands the caller's own flag set the values, secrets read from their files.
	fs := newLinkFlags()
	require.NoError(t, pp0.Apply(fs))
	assert.Equal(t, "1234", fs.Lookup("pin").Value.String())
	assert.Equal(t, "internet", fs.Lookup("apn").Value.String())
	assert.Equal(t, "true", fs.Lookup("persist").Value.String())
	assert.Equal(t, "10s", fs.Lookup("lcp-echo-interval").Value.String())
	assert.Equal(t, "115200", fs.Lookup("baud").Value.String(), "an unset key keeps the flag's default")

	fs = newLinkFlags()
	require.NoError(t, pp1.Apply(fs))
	assert.Equal(t, "s3cret", fs.Lookup("password").Value.String(), "first line, line ending dropped")
	assert.Equal(t, "true", fs.Lookup("rtscts").Value.String())
	assert.Equal(t, "10s", fs.Lookup("holdoff").Value.String())

	require.NotNil(t, f.Egress)
	eg := newEgressFlags()
	require.NoError(t, f.Egress.Apply(eg))
	assert.Equal(t, "127.0.0.1:1080", eg.Lookup("socks").Value.String())

	// A flag set that refuses the secret does not get it quoted back.
	strict := flag.NewFlagSet("strict", flag.ContinueOnError)
	newLinkFlags().VisitAll(func(f *flag.Flag) {
		if f.Name != "pin" {
			strict.Var(f.Value, f.Name, f.Usage)
		}
	})
	strict.Func("pin", "", func(s string) error { return fmt.Errorf("no PIN %q here", s) })
	err = pp0.Apply(strict)
	require.ErrorIs(t, err, config.ErrValue)
	assert.NotContains(t, err.Error(), "1234")

	// Printing a link, however, never prints its secrets.
	for _, format := range []string{"%v", "%+v", "%#v", "%s"} {
		assert.NotContains(t, fmt.Sprintf(format, pp0), "1234", format)
		assert.NotContains(t, fmt.Sprintf(format, pp1), "s3cret", format)
	}
}

func TestConfigValues(t *testing.T) {
	f, err := config.Parse("v.toml", []byte(`
[[link]]
port = "/dev/ttyUSB0"
ratio = 2          # an integer for a float flag
mtu = 1400
init = ["ATE0", "AT+CMEE=2"]   # a flag of its own kind, repeated
[[link]]
port = "/dev/ttyUSB1"
ratio = 0.25
init = "ATZ"
`), schema())
	require.NoError(t, err)
	fs := newLinkFlags()
	require.NoError(t, f.Links[0].Apply(fs))
	assert.Equal(t, "2", fs.Lookup("ratio").Value.String())
	assert.Equal(t, "1400", fs.Lookup("mtu").Value.String())
	assert.Equal(t, "ATE0,AT+CMEE=2", fs.Lookup("init").Value.String())
	fs = newLinkFlags()
	require.NoError(t, f.Links[1].Apply(fs))
	assert.Equal(t, "0.25", fs.Lookup("ratio").Value.String())
	assert.Equal(t, "ATZ", fs.Lookup("init").Value.String())
	assert.Equal(t, "link #1", f.Links[0].Name, "no ifname: named by position")
	assert.Equal(t, "port /dev/ttyUSB0", f.Links[0].ID())
}

// TestConfigBadFiles is the acceptance table: every bad file is refused with the line and the
// reason.
func TestConfigBadFiles(t *testing.T) {
	loose := secretFile(t, "1234\n", 0o644)
	groupOnly := secretFile(t, "1234\n", 0o640)
	empty := secretFile(t, "\n", 0o600)
	good := secretFile(t, "1234\n", 0o600)
	dev := filepath.Join(t.TempDir(), "ttyUSB0")
	require.NoError(t, os.WriteFile(dev, nil, 0o600))
	byID := filepath.Join(t.TempDir(), "usb-modem-if02")
	require.NoError(t, os.Symlink(dev, byID))

	tests := []struct {
		name     string
		file     string
		line     int
		kind     error
		key      string
		contains string
	}{
		{"unknown key", "[[link]]\nport = \"/dev/ttyUSB0\"\nbogus = 1\n", 3, config.ErrUnknownKey, "bogus", "unknown key"},
		{"underscores", "[[link]]\nport = \"/dev/ttyUSB0\"\nlcp_echo_interval = \"5s\"\n", 3, config.ErrUnknownKey, "lcp_echo_interval", `did you mean "lcp-echo-interval"`},
		{"underscored secret file", "[[link]]\nport = \"/dev/ttyUSB0\"\npin_file = \"x\"\n", 3, config.ErrUnknownKey, "pin_file", `did you mean "pin-file"`},
		{"egress key in a link", "[[link]]\nport = \"/dev/ttyUSB0\"\ntun = true\n", 3, config.ErrUnknownKey, "tun", "belongs in [egress]"},
		{"link key in egress", "[egress]\napn = \"x\"\n[[link]]\nport = \"/dev/ttyUSB0\"\n", 2, config.ErrUnknownKey, "apn", "belongs in a [[link]] table"},
		{"link key at the top", "apn = \"x\"\n[[link]]\nport = \"/dev/ttyUSB0\"\n", 1, config.ErrUnknownKey, "apn", "belongs in a [[link]] table"},
		{"unknown table", "[modem]\nport = \"x\"\n[[link]]\nport = \"/dev/ttyUSB0\"\n", 1, config.ErrUnknownKey, "modem", "[[link]] tables and an [egress] table"},
		{"string for a bool", "[[link]]\nport = \"/dev/ttyUSB0\"\nrtscts = \"yes\"\n", 3, config.ErrType, "rtscts", "want true or false, not a string"},
		{"string for an int", "[[link]]\nport = \"/dev/ttyUSB0\"\n\nbaud = \"fast\"\n", 4, config.ErrType, "baud", "want an integer, not a string"},
		{"integer for a string", "[[link]]\nport = \"/dev/ttyUSB0\"\napn = 42\n", 3, config.ErrType, "apn", "want a string, not an integer"},
		{"integer for a duration", "[[link]]\nport = \"/dev/ttyUSB0\"\nholdoff = 5\n", 3, config.ErrType, "holdoff", `a string such as "10s"`},
		{"array for a string", "[[link]]\nport = \"/dev/ttyUSB0\"\napn = [\"a\", \"b\"]\n", 3, config.ErrType, "apn", "not an array"},
		{"table for an int", "[[link]]\nport = \"/dev/ttyUSB0\"\nbaud = { speed = 9600 }\n", 3, config.ErrType, "baud", "not a table"},
		{"date for a string", "[[link]]\nport = \"/dev/ttyUSB0\"\napn = 2024-01-01\n", 3, config.ErrType, "apn", "not a date-time"},
		{"bad duration", "[[link]]\nport = \"/dev/ttyUSB0\"\nholdoff = \"5 parsecs\"\n", 3, config.ErrValue, "holdoff", `invalid value "5 parsecs": parse error`},
		{"negative for unsigned", "[[link]]\nport = \"/dev/ttyUSB0\"\nmtu = -1\n", 3, config.ErrValue, "mtu", `invalid value "-1": parse error`},
		{"link is not a table", "link = \"pp0\"\n", 1, config.ErrType, "link", "want [[link]] tables, not a string"},
		{"egress is not a table", "egress = 1\n[[link]]\nport = \"/dev/ttyUSB0\"\n", 1, config.ErrType, "egress", "want an [egress] table"},
		{"no link", "[egress]\nsocks = \"127.0.0.1:1080\"\n", 0, config.ErrMissing, "", "no [[link]] table"},
		{"empty file", "", 0, config.ErrMissing, "", "no [[link]] table"},
		{"missing port", "[[link]]\nport = \"/dev/ttyUSB0\"\n\n[[link]]\nifname = \"pp1\"\napn = \"x\"\n", 4, config.ErrMissing, "port", "every link needs port"},
		{"duplicate ifname", "[[link]]\nifname = \"pp0\"\nport = \"/dev/ttyUSB0\"\n[[link]]\nport = \"/dev/ttyUSB1\"\nifname = \"pp0\"\n", 6, config.ErrDuplicate, "ifname", `"pp0" is also the ifname of the link at line 2`},
		{"duplicate port", "[[link]]\nport = \"/dev/ttyUSB0\"\n[[link]]\nport = \"/dev/ttyUSB0\"\n", 4, config.ErrDuplicate, "port", "also the port of the link at line 2"},
		{"duplicate port by symlink", "[[link]]\nport = \"" + dev + "\"\n[[link]]\n\nport = \"" + byID + "\"\n", 5, config.ErrDuplicate, "port", "(both are " + dev + ")"},
		{"duplicate port in inline tables", "link = [\n  {port = \"/dev/a\"},\n  {port = \"/dev/a\"},\n]\n", 1, config.ErrDuplicate, "port", "of the link at line 1"},
		{"secret file readable by others", "[[link]]\nport = \"/dev/ttyUSB0\"\npin-file = \"" + loose + "\"\n", 3, config.ErrSecretFile, "pin-file", "chmod 600 " + loose},
		{"secret file readable by group", "[[link]]\nport = \"/dev/ttyUSB0\"\npassword-file = \"" + groupOnly + "\"\n", 3, config.ErrSecretFile, "password-file", "mode 0640"},
		{"secret file empty", "[[link]]\nport = \"/dev/ttyUSB0\"\npin-file = \"" + empty + "\"\n", 3, config.ErrSecretFile, "pin-file", "empty"},
		{"secret file missing", "[[link]]\nport = \"/dev/ttyUSB0\"\npin-file = \"/nonexistent/pin\"\n", 3, config.ErrSecretFile, "pin-file", "no such file"},
		{"secret file path not a string", "[[link]]\nport = \"/dev/ttyUSB0\"\npin-file = 1234\n", 3, config.ErrType, "pin-file", "want a string (a file's path)"},
		{"secret inline and from a file", "[[link]]\nport = \"/dev/ttyUSB0\"\npin = \"1234\"\npin-file = \"" + good + "\"\n", 3, config.ErrDuplicate, "pin", "set pin or pin-file, not both"},
		{"egress secret file loose", "[egress]\nsocks-password-file = \"" + loose + "\"\n[[link]]\nport = \"/dev/ttyUSB0\"\n", 2, config.ErrSecretFile, "socks-password-file", "chmod 600"},
		{"link check hook", "[[link]]\nport = \"/dev/ttyUSB0\"\n\nifname = \"eth0\"\n", 4, config.ErrValue, "ifname", "want ppN"},
		{"egress check hook", "[[link]]\nport = \"/dev/ttyUSB0\"\n[egress]\ntun = true\nsocks = \"x:1\"\n", 3, config.ErrValue, "", "exclusive"},
		{"syntax", "[[link]]\nport = \"/dev/ttyUSB0\"\napn = \"unterminated\n", 3, config.ErrSyntax, "", "strings cannot contain newlines"},
		{"duplicate key (TOML)", "[[link]]\nport = \"/dev/ttyUSB0\"\nport = \"/dev/ttyUSB1\"\n", 3, config.ErrSyntax, "", "already"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := config.Parse("bad.toml", []byte(tt.file), schema())
			require.Error(t, err)
			assert.Nil(t, f)
			var issue *config.Issue
			require.ErrorAs(t, err, &issue)
			assert.ErrorIs(t, issue, tt.kind)
			assert.Equal(t, tt.line, issue.Line, "line: %v", err)
			assert.Equal(t, tt.key, issue.Key, "key: %v", err)
			assert.Contains(t, issue.Error(), tt.contains)
			prefix := "bad.toml: "
			if tt.line > 0 {
				prefix = fmt.Sprintf("bad.toml:%d: ", tt.line)
			}
			assert.True(t, strings.HasPrefix(err.Error(), prefix), "%q wants the prefix %q", err, prefix)
		})
	}
}

// TestConfigLinesOfTheSecondLink guards what the TOML library alone gets wrong: keys of the same
// name in two [[link]] tables are reported at their own lines.
func TestConfigLinesOfTheSecondLink(t *testing.T) {
	_, err := config.Parse("l.toml", []byte(`[[link]]
port = "/dev/ttyUSB0"
baud = "x"
notes = """
[[link]]
baud = "y"
"""
[[link]]
port = "/dev/ttyUSB1"
rtscts = "no"   # [[link]] in a comment
baud = "z"
`), schema())
	var cerr *config.Error
	require.ErrorAs(t, err, &cerr)
	got := map[string]int{}
	for _, i := range cerr.Issues {
		got[i.Section+" "+i.Key] = i.Line
	}
	assert.Equal(t, map[string]int{
		"link #1 baud":   3,
		"link #1 notes":  4,
		"link #2 rtscts": 10,
		"link #2 baud":   11,
	}, got)
}

func TestConfigAllIssuesInFileOrder(t *testing.T) {
	_, err := config.Parse("many.toml", []byte(`[[link]]
ifname = "pp0"
port = "/dev/ttyUSB0"
rtscts = 1
[[link]]
ifname = "pp0"
port = "/dev/ttyUSB0"
bogus = true
`), schema())
	var cerr *config.Error
	require.ErrorAs(t, err, &cerr)
	var lines []int
	for _, i := range cerr.Issues {
		lines = append(lines, i.Line)
	}
	assert.Equal(t, []int{4, 6, 7, 8}, lines, "%v", err)
	assert.Len(t, strings.Split(err.Error(), "\n"), 4, "one issue per line")
}

func TestConfigInlineSecrets(t *testing.T) {
	f, err := config.Parse("inline.toml", []byte("[[link]]\nport = \"/dev/ttyUSB0\"\npin = \"4321\"\npassword = \"hunter2\"\n"), schema())
	require.NoError(t, err, "inline secrets are allowed")
	require.Len(t, f.Warnings, 2)
	assert.Equal(t, 3, f.Warnings[0].Line)
	assert.Equal(t, "pin", f.Warnings[0].Key)
	assert.ErrorIs(t, f.Warnings[0], config.ErrInlineSecret)
	assert.Contains(t, f.Warnings[0].Error(), "prefer pin-file")
	assert.Equal(t, 4, f.Warnings[1].Line)
	for _, w := range f.Warnings {
		assert.NotContains(t, w.Error(), "4321")
		assert.NotContains(t, w.Error(), "hunter2")
	}
}

// A secret's parser may quote what it refuses; the message must not.
func TestConfigSecretNotInErrors(t *testing.T) {
	_, err := config.Parse("s.toml", []byte("[[link]]\nport = \"/dev/ttyUSB0\"\npin = \"12ab\"\n"), schema())
	require.ErrorIs(t, err, config.ErrValue)
	assert.NotContains(t, err.Error(), "12ab")
	assert.Contains(t, err.Error(), `s.toml:3: link #1: key "pin": invalid value (not shown: it is a secret)`)

	bad := secretFile(t, "98xy\n", 0o600)
	_, err = config.Parse("s.toml", []byte("[[link]]\nport = \"/dev/ttyUSB0\"\npin-file = \""+bad+"\"\n"), schema())
	require.ErrorIs(t, err, config.ErrValue)
	assert.NotContains(t, err.Error(), "98xy")
}

func TestConfigLoad(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "pppdial.toml")
	require.NoError(t, os.WriteFile(path, []byte(example(t)), 0o644))
	f, err := config.Load(path, schema())
	require.NoError(t, err)
	assert.Equal(t, path, f.Name)
	assert.Len(t, f.Links, 2)

	require.NoError(t, os.WriteFile(path, []byte("[[link]]\nbaud = true\n"), 0o644))
	_, err = config.Load(path, schema())
	assert.ErrorContains(t, err, path+":2: ")

	_, err = config.Load(filepath.Join(dir, "absent.toml"), schema())
	assert.ErrorIs(t, err, os.ErrNotExist)

	big := filepath.Join(dir, "big.toml")
	require.NoError(t, os.WriteFile(big, make([]byte, 1<<20+1), 0o644))
	_, err = config.Load(big, schema())
	assert.ErrorContains(t, err, "not a configuration file")

	_, err = config.Parse("x", nil, config.Schema{})
	assert.Error(t, err, "a Schema without flag sets is refused")
}

func TestReadSecretFile(t *testing.T) {
	s, err := config.ReadSecretFile(secretFile(t, "line one\r\nline two\n", 0o600))
	require.NoError(t, err)
	assert.Equal(t, "line one", s)

	s, err = config.ReadSecretFile(secretFile(t, "no newline", 0o400))
	require.NoError(t, err)
	assert.Equal(t, "no newline", s)

	for _, perm := range []os.FileMode{0o604, 0o640, 0o660, 0o602} {
		path := secretFile(t, "x\n", perm)
		_, err := config.ReadSecretFile(path)
		assert.ErrorContains(t, err, "chmod 600 "+path, "%#o", perm)
	}
	_, err = config.ReadSecretFile(t.TempDir())
	assert.ErrorContains(t, err, "not a regular file")
	_, err = config.ReadSecretFile(secretFile(t, "", 0o600))
	assert.ErrorContains(t, err, "empty")
}

// The README shows testdata/two-links.toml; they must not drift apart.
func TestConfigREADMEExample(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	require.NoError(t, err)
	example, err := os.ReadFile("testdata/two-links.toml")
	require.NoError(t, err)
	assert.Contains(t, string(readme), "```toml\n"+string(example)+"```\n")
}
