package config_test

import (
	"flag"
	"fmt"
	"time"

	"github.com/pppdial/pppdial/internal/config"
)

// exampleSchema is a command's flag table: a link has a port, an interface name, an APN, a PIN
// and a keepalive interval; the egress a SOCKS address.
func exampleSchema() config.Schema {
	return config.Schema{
		Link: func() *flag.FlagSet {
			fs := flag.NewFlagSet("link", flag.ContinueOnError)
			fs.String("port", "", "the modem's serial port")
			fs.String("ifname", "", "interface name")
			fs.String("apn", "", "APN")
			fs.String("pin", "", "SIM PIN")
			fs.Duration("lcp-echo-interval", 10*time.Second, "keepalive")
			return fs
		},
		Egress: func() *flag.FlagSet {
			fs := flag.NewFlagSet("egress", flag.ContinueOnError)
			fs.String("socks", "", "SOCKS5 address")
			return fs
		},
		Secrets: []string{"pin"},
		Port:    "port",
		Ifname:  "ifname",
	}
}

func ExampleParse() {
	_, err := config.Parse("pppdial.toml", []byte(`
[egress]
socks = "127.0.0.1:1080"

[[link]]
ifname = "pp0"
port = "/dev/ttyUSB2"
lcp-echo-interval = 10

[[link]]
ifname = "pp1"
port = "/dev/ttyUSB2"
apn_name = "internet"
`), exampleSchema())
	fmt.Println(err)
	// Output:
	// pppdial.toml:8: link "pp0": key "lcp-echo-interval": want a duration as a string such as "10s" or "1m30s", not an integer
	// pppdial.toml:12: link "pp1": key "port": "/dev/ttyUSB2" is also the port of the link at line 7: one modem port serves one link
	// pppdial.toml:13: link "pp1": key "apn_name": unknown key
}

func ExampleDiff() {
	s := exampleSchema()
	old, _ := config.Parse("old", []byte(`
[[link]]
ifname = "pp0"
port = "/dev/ttyUSB2"
apn = "internet"
[[link]]
ifname = "pp1"
port = "/dev/ttyAMA0"
`), s)
	// On SIGHUP: pp0's APN changed; pp1 spells out a default, which changes nothing.
	new, _ := config.Parse("new", []byte(`
[[link]]
ifname = "pp0"
port = "/dev/ttyUSB2"
apn = "internet.v2"
[[link]]
ifname = "pp1"
port = "/dev/ttyAMA0"
lcp-echo-interval = "10s"
`), s)
	c := config.Diff(old, new)
	for _, l := range c.Changed {
		fmt.Println("redial", l.Ifname)
	}
	for _, l := range c.Unchanged {
		fmt.Println("keep", l.Ifname)
	}
	// Output:
	// redial pp0
	// keep pp1
}
