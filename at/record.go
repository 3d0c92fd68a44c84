package at

import (
	"bytes"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/pppdial/pppdial/at/transcript"
)

// RecorderOptions tune a Recorder.
type RecorderOptions struct {
	// Headers are written after the "# config:" and "# expect:" headers, e.g.
	// {"modem", "Quectel EC25"}.
	Headers []transcript.Header
	// Secrets are replaced with "****" wherever they appear in the AT phase, in both directions
	// (PAP/CHAP passwords). Dial adds its PIN on its own.
	Secrets []string
	// DataEvents is how many of the modem's reads after CONNECT are kept (default 2): the
	// peer's first PPP bytes are what a replay feeds to the data line, while the host's own PPP
	// frames carry random magic numbers no replay can match, and are not recorded.
	DataEvents int
}

// Recorder records one dial as a transcript (testdata/transcripts/README.md) that Replay accepts:
// set it as Config.Record. It holds the transcript back until the dial's outcome is known,
// because the headers, which come first, say how the dial was configured ("# config:") and
// what a replay must reach ("# expect:"); then it writes the held events, and the modem's first
// DataEvents reads after CONNECT as they come. Secrets are redacted: AT+CPIN="1234" is recorded
// as AT+CPIN="****", in the host's write and in the modem's echo, and the config header says
// pin=****, which a replay sends as is.
//
// It taps the Port, so it records every byte the dial reads and writes, the Port's buffer
// included, and it splits the modem's bytes where the Port began data mode.
type Recorder struct {
	w    *transcript.Writer
	opts RecorderOptions

	mu      sync.Mutex
	state   recState
	start   time.Time
	secrets []string
	held    []recEvent
	data    int // data events written
}

type recState int

const (
	recIdle recState = iota
	recDialing
	recData
	recDone
)

// recEvent is one read or write; off is the modem stream offset of its first byte.
type recEvent struct {
	dir  transcript.Direction
	at   time.Duration
	off  uint64
	data []byte
}

// NewRecorder returns a Recorder that writes the transcript to w.
func NewRecorder(w io.Writer, opts RecorderOptions) *Recorder {
	if opts.DataEvents <= 0 {
		opts.DataEvents = 2
	}
	return &Recorder{w: transcript.NewWriter(w), opts: opts, secrets: append([]string(nil), opts.Secrets...)}
}

// begin starts recording the dial on p.
func (r *Recorder) begin(p *Port, pin string) {
	r.mu.Lock()
	if r.state != recIdle {
		r.mu.Unlock()
		return
	}
	r.state = recDialing
	r.start = time.Now()
	if pin != "" {
		r.secrets = append(r.secrets, pin)
	}
	r.mu.Unlock()
	p.setTap(r)
}

// modem takes a chunk read from the line (called with p.mu held).
func (r *Recorder) modem(p *Port, b []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	ev := recEvent{dir: transcript.Modem, at: time.Since(r.start), off: p.received - uint64(len(b))}
	switch r.state {
	case recDialing:
		ev.data = bytes.Clone(b)
		r.held = append(r.held, ev)
	case recData:
		r.writeData(ev.at, b)
	}
	if r.state == recDone && p.tap == r {
		p.tap = nil // nothing more to record: off the reader's path
	}
}

// host takes a chunk written to the line (called with p.mu held).
func (r *Recorder) host(p *Port, b []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.state == recDialing {
		r.held = append(r.held, recEvent{dir: transcript.Host, at: time.Since(r.start), data: bytes.Clone(b)})
	}
	if r.state == recDone && p.tap == r {
		p.tap = nil
	}
}

// dialed writes the headers for cfg and the dial's outcome (err), then the held events: the
// modem's bytes before the data mode began redacted, those after as data.
func (r *Recorder) dialed(p *Port, cfg Config, err error) {
	p.mu.Lock()
	dataStart := p.dataStart
	r.mu.Lock()
	p.mu.Unlock()
	defer r.mu.Unlock()
	if r.state != recDialing {
		return
	}
	r.state = recDone
	r.w.Header(transcript.Header{Key: "config", Value: transcriptConfig(cfg).String()})
	r.w.Header(transcript.Header{Key: "expect", Value: Outcome(err)})
	for _, h := range r.opts.Headers {
		r.w.Header(transcript.Header{Key: h.Key, Value: r.redact(h.Value)})
	}
	var text, data []recEvent
	for _, ev := range r.held {
		if err == nil && ev.dir == transcript.Modem && ev.off+uint64(len(ev.data)) > dataStart {
			cut := int(max(dataStart, ev.off) - ev.off)
			if cut > 0 {
				text = append(text, recEvent{dir: ev.dir, at: ev.at, data: ev.data[:cut]})
			}
			data = append(data, recEvent{dir: ev.dir, at: ev.at, data: ev.data[cut:]})
			continue
		}
		if len(data) == 0 {
			text = append(text, ev)
		}
	}
	r.held = nil
	r.writeText(text)
	if err != nil {
		return
	}
	r.state = recData
	for _, ev := range data {
		r.writeData(ev.at, ev.data)
	}
}

// writeText writes the AT phase's events, redacted. A chunk whose unterminated last line might
// still grow into a command with a secret (an echo of AT+CPIN="12 split across reads) is joined
// with the next chunk of its direction first, so the secret is whole when it is redacted.
func (r *Recorder) writeText(evs []recEvent) {
	var pending [2]*recEvent // by direction: Host, Modem
	idx := func(d transcript.Direction) int {
		if d == transcript.Host {
			return 0
		}
		return 1
	}
	emit := func(i int) {
		if ev := pending[i]; ev != nil {
			r.w.Event(transcript.Event{Dir: ev.dir, At: ev.at, Data: []byte(r.redact(redactLine(string(ev.data))))})
			pending[i] = nil
		}
	}
	for _, ev := range evs {
		i := idx(ev.dir)
		if pending[i] == nil {
			ev := ev
			pending[i] = &ev
		} else {
			pending[i].data = append(pending[i].data, ev.data...)
		}
		tail := pending[i].data
		if k := bytes.LastIndexAny(tail, "\r\n"); k >= 0 {
			tail = tail[k+1:]
		}
		if len(pending[i].data) < 4096 && sensitivePrefix(string(tail)) {
			continue
		}
		emit(i)
	}
	emit(0)
	emit(1)
}

// writeData writes one data-mode read of the modem's, up to DataEvents of them.
func (r *Recorder) writeData(at time.Duration, b []byte) {
	if r.data >= r.opts.DataEvents || len(b) == 0 {
		if r.data >= r.opts.DataEvents {
			r.state = recDone
		}
		return
	}
	r.data++
	r.w.Event(transcript.Event{Dir: transcript.Modem, At: at, Data: b})
}

func (r *Recorder) redact(s string) string {
	for _, sec := range r.secrets {
		if sec != "" {
			s = strings.ReplaceAll(s, sec, Redacted)
		}
	}
	return s
}

// transcriptConfig renders the dial's settings as the "# config:" header, so that a replay
// dials the same way: every setting that changes what the dialer writes (Init among them) and
// the pauses that shape its timing. The step timeouts are left out (a replay runs with short
// ones). The PIN is written as ****: a replay sends that, as recorded.
func transcriptConfig(cfg Config) transcript.DialConfig {
	c := transcript.DialConfig{
		APN: cfg.APN, PDP: cfg.PDPType, CID: cfg.CID, Dial: cfg.DialString,
		Init: cfg.Init, Reg: cfg.RegistrationCommands, Poll: cfg.PollInterval, Guard: cfg.Guard,
		Identity: cfg.Identity,
		QueryMTU: cfg.QueryMTU,
	}
	if cfg.PIN != "" {
		c.PIN = Redacted
	}
	return c
}

// configFromTranscript is transcriptConfig's inverse: the Config a replay dials with. Fields the
// header leaves out take base's values.
func configFromTranscript(c transcript.DialConfig, base Config) Config {
	set := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	set(&base.APN, c.APN)
	set(&base.PIN, c.PIN)
	set(&base.PDPType, c.PDP)
	set(&base.DialString, c.Dial)
	if c.CID != 0 {
		base.CID = c.CID
	}
	if c.Init != nil {
		base.Init = c.Init
	}
	if c.Reg != nil {
		base.RegistrationCommands = c.Reg
	}
	base.Identity = base.Identity || c.Identity
	base.QueryMTU = base.QueryMTU || c.QueryMTU
	for _, d := range []struct {
		dst *time.Duration
		v   time.Duration
	}{
		{&base.PollInterval, c.Poll}, {&base.Guard, c.Guard}, {&base.Timeouts.Wake, c.Wake},
		{&base.Timeouts.WakeRetry, c.WakeRetry}, {&base.Timeouts.Command, c.Command},
		{&base.Timeouts.SIM, c.SIM}, {&base.Timeouts.Register, c.Register}, {&base.Timeouts.Dial, c.DialTimeout},
	} {
		if d.v != 0 {
			*d.dst = d.v
		}
	}
	return base
}
