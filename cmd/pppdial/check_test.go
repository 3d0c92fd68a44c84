package main

import (
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pppdial/pppdial/internal/config"
)

// writeConfig writes a config file; %DIR% in it stands for the file's directory.
func writeConfig(t *testing.T, dir, text string) string {
	t.Helper()
	path := filepath.Join(dir, "pppdial.toml")
	require.NoError(t, os.WriteFile(path, []byte(strings.ReplaceAll(text, "%DIR%", dir)), 0o644))
	return path
}

// exampleConfig is the README's example (internal/config/testdata/two-links.toml) with its
// secret files made in dir.
func exampleConfig(t *testing.T, dir string) string {
	t.Helper()
	data, err := os.ReadFile("../../internal/config/testdata/two-links.toml")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "pin"), []byte("1234\n"), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "web.password"), []byte("s3cret\n"), 0o600))
	return writeConfig(t, dir, strings.ReplaceAll(string(data), "/etc/pppdial/", "%DIR%/"))
}

func TestCheckConfigValid(t *testing.T) {
	t.Parallel()
	path := exampleConfig(t, t.TempDir())
	code, stdout, stderr := runToEnd(t, 30*time.Second, "check", "-c", path)
	require.Equal(t, exitOK, code, stderr)
	assert.Equal(t, path+`: valid: 2 link(s): link "pp0" on /dev/serial/by-id/usb-Quectel_EC25-if02-port0, link "pp1" on /dev/ttyAMA0`+"\n", stdout)
	assert.Empty(t, stderr)

	// An inline secret is valid, with a warning at its line that does not show it.
	path = writeConfig(t, t.TempDir(), "[[link]]\nport = \"/dev/ttyUSB0\"\npassword = \"hunter2\"\n")
	code, stdout, stderr = runToEnd(t, 30*time.Second, "check", "-c", path)
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stdout, "valid: 1 link(s)")
	assert.Contains(t, stderr, path+`:3: warning: link #1: key "password": a secret written in the file`)
	assert.NotContains(t, stderr+stdout, "hunter2")
}

// TestCheckConfigBadFiles is the acceptance table, through the binary: each bad file is
// refused (exit 2) with FILE:LINE and the reason.
func TestCheckConfigBadFiles(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, file string
		line       int
		reason     string
	}{
		{"unknown key", "[[link]]\nport = \"/dev/ttyUSB0\"\napn = \"internet\"\nspeed = 9600\n", 4,
			`link #1: key "speed": unknown key`},
		{"wrong type", "[[link]]\nport = \"/dev/ttyUSB0\"\nrtscts = \"yes\"\n", 3,
			`link #1: key "rtscts": want true or false, not a string`},
		{"bad value", "[[link]]\nport = \"/dev/ttyUSB0\"\nlcp-echo-interval = \"often\"\n", 3,
			`link #1: key "lcp-echo-interval": invalid value "often": parse error`},
		{"duplicate ifname", "[[link]]\nifname = \"pp0\"\nport = \"/dev/ttyUSB0\"\n\n[[link]]\nifname = \"pp0\"\nport = \"/dev/ttyUSB1\"\n", 6,
			`link "pp0": key "ifname": "pp0" is also the ifname of the link at line 2`},
		{"duplicate port", "[[link]]\nifname = \"pp0\"\nport = \"/dev/ttyUSB0\"\n\n[[link]]\nifname = \"pp1\"\nport = \"/dev/ttyUSB0\"\n", 7,
			`link "pp1": key "port": "/dev/ttyUSB0" is also the port of the link at line 3: one modem port serves one link`},
		{"duplicate port through a by-id name", "[[link]]\nifname = \"pp0\"\nport = \"%DIR%/by-id-modem\"\n\n[[link]]\nifname = \"pp1\"\nport = \"%DIR%/ttyS9\"\n", 7,
			`link "pp1": key "port": "%DIR%/ttyS9" is also the port of the link at line 3 (both are %DIR%/ttyS9): one modem port serves one link`},
		{"missing port", "[[link]]\nport = \"/dev/ttyUSB0\"\n\n[[link]]\nifname = \"pp1\"\napn = \"internet\"\n", 4,
			`link "pp1": key "port": no port: every link needs port = "/dev/..."`},
		{"secret file with loose permissions", "[[link]]\nport = \"/dev/ttyUSB0\"\npin-file = \"%DIR%/pin\"\n", 3,
			`link #1: key "pin-file": %DIR%/pin has mode 0644, which lets group or others at the secret; chmod 600 %DIR%/pin`},
		{"password file readable by the group", "[[link]]\nport = \"/dev/ttyUSB0\"\nuser = \"web\"\npassword-file = \"%DIR%/pin\"\n", 4,
			`link #1: key "password-file": %DIR%/pin has mode 0644, which lets group or others at the secret; chmod 600 %DIR%/pin`},
		{"egress secret file with loose permissions", "[egress]\nsocks = \"127.0.0.1:1080\"\nsocks-user = \"u\"\nsocks-password-file = \"%DIR%/pin\"\n\n[[link]]\nport = \"/dev/ttyUSB0\"\n", 4,
			`[egress]: key "socks-password-file": %DIR%/pin has mode 0644, which lets group or others at the secret; chmod 600 %DIR%/pin`},
		{"bad ifname", "[[link]]\nport = \"/dev/ttyUSB0\"\nifname = \"wwan0\"\n", 3,
			`link "wwan0": key "ifname": "wwan0": want ppN (pp0, pp1, ...)`},
		{"egress flag in a link", "[[link]]\nport = \"/dev/ttyUSB0\"\nsocks = \"127.0.0.1:1080\"\n", 3,
			`link #1: key "socks": unknown key here; it belongs in [egress]`},
		{"syntax", "[[link]]\nport = /dev/ttyUSB0\n", 2, "expected value but found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			pin := filepath.Join(dir, "pin")
			require.NoError(t, os.WriteFile(pin, []byte("1234\n"), 0o600))
			require.NoError(t, os.Chmod(pin, 0o644))
			// A device and a by-id name for it.
			require.NoError(t, os.WriteFile(filepath.Join(dir, "ttyS9"), nil, 0o600))
			require.NoError(t, os.Symlink(filepath.Join(dir, "ttyS9"), filepath.Join(dir, "by-id-modem")))
			path := writeConfig(t, dir, tt.file)
			code, stdout, stderr := runToEnd(t, 30*time.Second, "check", "-c", path)
			assert.Equal(t, exitUsage, code)
			assert.Empty(t, stdout)
			want := path + ":" + strconv.Itoa(tt.line) + ": " + strings.ReplaceAll(tt.reason, "%DIR%", dir)
			assert.True(t, strings.HasPrefix(stderr, want), "stderr %q\nwants the prefix %q", stderr, want)
			assert.NotContains(t, stderr, "1234")
		})
	}
}

func TestCheckConfigUsage(t *testing.T) {
	t.Parallel()
	var stdout, stderr strings.Builder
	assert.Equal(t, exitUsage, run(t.Context(), []string{"check"}, &stdout, &stderr))
	assert.Contains(t, stderr.String(), "want -c FILE")
	stderr.Reset()
	assert.Equal(t, exitUsage, run(t.Context(), []string{"check", "-c", "a.toml", "extra"}, &stdout, &stderr))
	assert.Equal(t, exitOK, run(t.Context(), []string{"check", "-h"}, &stdout, &stderr))
	assert.Contains(t, stderr.String(), "Usage: pppdial check -c FILE")
	stderr.Reset()
	assert.Equal(t, exitUsage, run(t.Context(), []string{"check", "-c", filepath.Join(t.TempDir(), "absent.toml")}, &stdout, &stderr))
	assert.Contains(t, stderr.String(), "no such file")
	assert.Empty(t, stdout.String())
}

// TestConfigKeysAreTheDialFlags guards the one-table rule: every dial flag is a key of exactly
// one table, and the flags the schema names exist on the side it expects them.
func TestConfigKeysAreTheDialFlags(t *testing.T) {
	t.Parallel()
	all := flag.NewFlagSet("dial", flag.ContinueOnError)
	new(dialOptions).register(all)
	link, egress := dialFlagSet(false), dialFlagSet(true)
	n := 0
	all.VisitAll(func(f *flag.Flag) {
		n++
		inLink, inEgress := link.Lookup(f.Name) != nil, egress.Lookup(f.Name) != nil
		assert.True(t, inLink != inEgress, "flag %s: in link %v, in egress %v", f.Name, inLink, inEgress)
	})
	assert.Greater(t, n, 30)

	s := configSchema()
	for _, name := range append([]string{s.Port, s.Ifname}, s.Secrets...) {
		assert.NotNil(t, link.Lookup(name), "link flag %s", name)
	}
	for _, name := range s.SecretFiles {
		assert.NotNil(t, egress.Lookup(name), "egress flag %s", name)
	}
	for _, name := range []string{"socks", "socks-user", "tun", "defaultroute"} {
		assert.NotNil(t, egress.Lookup(name), "egress flag %s", name)
	}

	// Each call is a fresh set: two links do not share variables.
	a, b := dialFlagSet(false), dialFlagSet(false)
	require.NoError(t, a.Set("apn", "one"))
	assert.Equal(t, "", b.Lookup("apn").Value.String())
}

// The values of a checked file reach the dial flags.
func TestConfigAppliesToDialFlags(t *testing.T) {
	t.Parallel()
	f, err := config.Load(exampleConfig(t, t.TempDir()), configSchema())
	require.NoError(t, err)
	fs := dialFlagSet(false)
	require.NoError(t, f.Links[0].Apply(fs))
	assert.Equal(t, "internet", fs.Lookup("apn").Value.String())
	assert.Equal(t, "1234", fs.Lookup("pin").Value.String())
	assert.Equal(t, "10s", fs.Lookup("lcp-echo-interval").Value.String())
	eg := dialFlagSet(true)
	require.NoError(t, f.Egress.Apply(eg))
	assert.Equal(t, "127.0.0.1:1080", eg.Lookup("socks").Value.String())
}
