package config

import (
	"testing"

	"github.com/BurntSushi/toml"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestConfigKeyLines(t *testing.T) {
	src := "\xef\xbb\xbf# comment [[link]]\r\n" + // 1
		"top = 'x' # [egress]\r\n" + // 2
		"[egress]\n" + // 3
		"socks = \"a\\\"b = [\" # x\n" + // 4
		"\"quoted.key\" = 1\n" + // 5
		"dotted . inner = 2\n" + // 6
		"[[link]]\n" + // 7
		"arr = [\n" + // 8
		"  \"]\", # ] [\n" + // 9
		"  { a = 1 },\n" + // 10
		"]\n" + // 11
		"ml = \"\"\"\n" + // 12
		"port = \"not a key\"\n" + // 13
		"\"\"\"\"\n" + // 14: the string ends with a quote
		"lit = '''\n" + // 15
		"[[link]]''''\n" + // 16
		"port = \"/dev/ttyUSB0\"\n" + // 17
		"[link.sub]\n" + // 18
		"x = 1\n" + // 19
		"[[link]]\n" + // 20
		"port = \"/dev/ttyUSB1\"\n" + // 21
		"inline = { port = \"z\",\n" + // 22: TOML 1.1 allows a newline here
		"  y = 2 }\n" + // 23
		"[ 'egress' . \"deep\" ]\n" + // 24
		"z = 3\n" // 25
	var doc map[string]any
	_, err := toml.Decode(src, &doc)
	require.NoError(t, err, "the scanner is meant for documents the library accepts")
	got := keyLines([]byte(src))
	link := seg("link")
	want := map[string]int{
		seg("top"):                                   2,
		seg("egress"):                                3,
		seg("egress") + seg("socks"):                 4,
		seg("egress") + seg("quoted.key"):            5,
		seg("egress") + seg("dotted"):                6,
		seg("egress") + seg("dotted") + seg("inner"): 6,
		link:                                   7,
		link + elem(0):                         7,
		link + elem(0) + seg("arr"):            8,
		link + elem(0) + seg("ml"):             12,
		link + elem(0) + seg("lit"):            15,
		link + elem(0) + seg("port"):           17,
		link + elem(0) + seg("sub"):            18,
		link + elem(0) + seg("sub") + seg("x"): 19,
		link + elem(1):                         20,
		link + elem(1) + seg("port"):           21,
		link + elem(1) + seg("inline"):         22,
		seg("egress") + seg("deep"):            24,
		seg("egress") + seg("deep") + seg("z"): 25,
	}
	assert.Equal(t, want, got)
}

// The scanner is never given invalid TOML by Parse, but it must not panic or loop on it.
func TestConfigKeyLinesGarbage(t *testing.T) {
	for _, src := range []string{"", "[", "[[", "\"", "'''", "a = \"\"\"", "a = [[[", "=", "]]]", "\xef\xbb", "a.\n", "[a.]"} {
		assert.NotPanics(t, func() { keyLines([]byte(src)) }, "%q", src)
	}
}
