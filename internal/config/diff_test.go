package config_test

import (
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pppdial/pppdial/internal/config"
)

func parse(t *testing.T, src string) *config.File {
	t.Helper()
	f, err := config.Parse("diff.toml", []byte(src), schema())
	require.NoError(t, err)
	return f
}

func ids(links []*config.Link) []string {
	var s []string
	for _, l := range links {
		s = append(s, l.ID())
	}
	return s
}

func TestConfigDiff(t *testing.T) {
	pin := secretFile(t, "1234\n", 0o600)
	old := parse(t, `
[egress]
socks = "127.0.0.1:1080"
[[link]]
ifname = "pp0"
port = "/dev/ttyUSB0"
apn = "internet"
[[link]]
ifname = "pp1"
port = "/dev/ttyUSB1"
apn = "web"
[[link]]
ifname = "pp2"
port = "/dev/ttyUSB2"
pin-file = "`+pin+`"
[[link]]
port = "/dev/ttyACM0"
`)

	// The first load: everything is new.
	c := config.Diff(nil, old)
	assert.Equal(t, []string{"ifname pp0", "ifname pp1", "ifname pp2", "port /dev/ttyACM0"}, ids(c.Added))
	assert.Empty(t, c.Changed)
	assert.False(t, c.EgressChanged)

	// Reading the same file again changes nothing.
	c = config.Diff(old, old)
	assert.Len(t, c.Unchanged, 4)
	assert.Empty(t, c.Added)
	assert.Empty(t, c.Removed)
	assert.Empty(t, c.Changed)

	// pp0: its APN changed. pp1: the default spelled out, moved, commented: the same settings.
	// pp2: the PIN file now holds another PIN. The ACM0 link is gone, pp3 is new.
	require.NoError(t, os.WriteFile(pin, []byte("9999\n"), 0o600))
	next := parse(t, `
[egress]
socks = "127.0.0.1:1080"
[[link]]
ifname = "pp3"
port = "/dev/ttyUSB3"
[[link]]
port = "/dev/ttyUSB1"
ifname = "pp1"
apn = "web"      # the same
baud = 115200    # the default
[[link]]
ifname = "pp0"
port = "/dev/ttyUSB0"
apn = "internet.v2"
[[link]]
ifname = "pp2"
port = "/dev/ttyUSB2"
pin-file = "`+pin+`"
`)
	c = config.Diff(old, next)
	assert.Equal(t, []string{"ifname pp3"}, ids(c.Added))
	assert.Equal(t, []string{"port /dev/ttyACM0"}, ids(c.Removed))
	assert.Equal(t, []string{"ifname pp0", "ifname pp2"}, ids(c.Changed))
	assert.Equal(t, []string{"ifname pp1"}, ids(c.Unchanged))
	assert.False(t, c.EgressChanged)
	assert.Same(t, next.Links[2], c.Changed[0], "Changed holds the new version")

	egress := parse(t, `
[egress]
socks = "127.0.0.1:1081"
[[link]]
ifname = "pp0"
port = "/dev/ttyUSB0"
apn = "internet"
`)
	c = config.Diff(old, egress)
	assert.True(t, c.EgressChanged)
	assert.Equal(t, []string{"ifname pp0"}, ids(c.Unchanged))
	assert.Len(t, c.Removed, 3)
}
