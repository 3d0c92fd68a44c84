package transcript

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// DialConfig is a transcript's "# config:" header: how the recorded dial was configured, so that
// a replay dials the same way and writes the same commands. Zero fields are not written and a
// replay takes its defaults for them.
//
// The header is space-separated key=value pairs: apn, pin (recorded as ****), pdp, cid, dial,
// init (once per command, in order: init=+CFUN=1 init=&D2), reg (the registration commands,
// comma-separated), query-mtu=on (AT+CGCONTRDP before ATD), and the durations poll, guard,
// wake, wake-retry, cmd, sim, register, dial-timeout (Go syntax: 20ms, 1.5s). A value with
// spaces or quotes is Go-quoted.
type DialConfig struct {
	APN, PIN, PDP string
	CID           int
	Dial          string
	Init          []string
	Reg           []string
	QueryMTU      bool
	// Identity: the dial read the modem's identity (at.Config.Identity).
	Identity bool

	Poll, Guard, Wake, WakeRetry, Command, SIM, Register, DialTimeout time.Duration
}

// durations names the duration keys, in the order they are written.
func (c *DialConfig) durations() []struct {
	key string
	d   *time.Duration
} {
	return []struct {
		key string
		d   *time.Duration
	}{
		{"poll", &c.Poll}, {"guard", &c.Guard}, {"wake", &c.Wake}, {"wake-retry", &c.WakeRetry},
		{"cmd", &c.Command}, {"sim", &c.SIM}, {"register", &c.Register}, {"dial-timeout", &c.DialTimeout},
	}
}

// String renders the header value.
func (c DialConfig) String() string {
	var pairs []Header
	add := func(k, v string) {
		if v != "" {
			pairs = append(pairs, Header{Key: k, Value: v})
		}
	}
	add("apn", c.APN)
	add("pin", c.PIN)
	add("pdp", c.PDP)
	if c.CID != 0 {
		add("cid", strconv.Itoa(c.CID))
	}
	add("dial", c.Dial)
	for _, cmd := range c.Init {
		pairs = append(pairs, Header{Key: "init", Value: cmd})
	}
	add("reg", strings.Join(c.Reg, ","))
	if c.QueryMTU {
		add("query-mtu", "on")
	}
	if c.Identity {
		add("identity", "on")
	}
	for _, d := range c.durations() {
		if *d.d != 0 {
			add(d.key, d.d.String())
		}
	}
	return FormatPairs(pairs)
}

// ParseDialConfig reads a "# config:" header value. Unknown keys are an error: a replay that
// silently dialed differently from the recording would report a mismatch far from its cause.
func ParseDialConfig(s string) (DialConfig, error) {
	var c DialConfig
	pairs, err := ParsePairs(s)
	if err != nil {
		return c, err
	}
	durs := map[string]*time.Duration{}
	for _, d := range c.durations() {
		durs[d.key] = d.d
	}
	for _, p := range pairs {
		switch p.Key {
		case "apn":
			c.APN = p.Value
		case "pin":
			c.PIN = p.Value
		case "pdp":
			c.PDP = p.Value
		case "cid":
			if c.CID, err = strconv.Atoi(p.Value); err != nil {
				return c, fmt.Errorf("transcript: config cid: %w", err)
			}
		case "dial":
			c.Dial = p.Value
		case "init":
			c.Init = append(c.Init, p.Value)
		case "reg":
			c.Reg = strings.Split(p.Value, ",")
		case "query-mtu":
			switch p.Value {
			case "on":
				c.QueryMTU = true
			case "off":
			default:
				return c, fmt.Errorf("transcript: config query-mtu: %q: want on or off", p.Value)
			}
		case "identity":
			switch p.Value {
			case "on":
				c.Identity = true
			case "off":
			default:
				return c, fmt.Errorf("transcript: config identity: %q: want on or off", p.Value)
			}
		default:
			d, ok := durs[p.Key]
			if !ok {
				return c, fmt.Errorf("transcript: config: unknown key %q", p.Key)
			}
			if *d, err = time.ParseDuration(p.Value); err != nil {
				return c, fmt.Errorf("transcript: config %s: %w", p.Key, err)
			}
		}
	}
	return c, nil
}
