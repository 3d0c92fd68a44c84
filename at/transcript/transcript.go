// Package transcript reads and writes modem transcripts: what a host and a modem said to each
// other, byte for byte and in order, in a form people can read and edit.
//
// The format (documented for users in testdata/transcripts/README.md):
//
//	# pppdial transcript v1
//	# modem: Quectel EC25-E
//	# config: apn=internet pin=****
//	# expect: ok
//	> 0.000 "AT\r\n"
//	< 0.012 "\r\nOK\r\n"
//
// Lines starting with '#' before the first event are headers ("# key: value"); later ones, and
// header-like lines without a colon, are comments. Each event line is a direction ('>' host to
// modem, '<' modem to host), a time offset in seconds since the start, and the bytes as a Go
// double-quoted string (C-style escapes: \r \n \t \" \\ \xNN). One event is one read or write
// as it happened, so a reply split across reads stays split. Blank lines are ignored.
package transcript

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
)

// Direction says who sent an event's bytes.
type Direction byte

// The two directions.
const (
	Host  Direction = '>' // host to modem (a write by the dialer)
	Modem Direction = '<' // modem to host (a read by the dialer)
)

// String returns ">" or "<".
func (d Direction) String() string { return string(rune(d)) }

// Event is one read or write.
type Event struct {
	Dir  Direction
	At   time.Duration // offset since the transcript started
	Data []byte
	Line int // line number in the file it was parsed from; 0 when built in code
}

// Header is one "# key: value" line.
type Header struct {
	Key, Value string
}

// Transcript is a parsed transcript.
type Transcript struct {
	Headers []Header
	Events  []Event
}

// Get returns the value of the first header named key ("" when absent).
func (t *Transcript) Get(key string) string {
	for _, h := range t.Headers {
		if strings.EqualFold(h.Key, key) {
			return h.Value
		}
	}
	return ""
}

// maxLineLen bounds one line of a transcript file.
const maxLineLen = 1 << 20

// Parse reads a transcript.
func Parse(r io.Reader) (*Transcript, error) {
	t := &Transcript{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), maxLineLen)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "":
			continue
		case strings.HasPrefix(line, "#"):
			if len(t.Events) > 0 {
				continue
			}
			body := strings.TrimSpace(line[1:])
			k, v, ok := strings.Cut(body, ":")
			if !ok || strings.ContainsAny(k, " \t") || k == "" {
				continue // a comment
			}
			t.Headers = append(t.Headers, Header{Key: strings.TrimSpace(k), Value: strings.TrimSpace(v)})
		case line[0] == '>' || line[0] == '<':
			ev, err := parseEvent(line)
			if err != nil {
				return nil, fmt.Errorf("transcript: line %d: %w", n, err)
			}
			ev.Line = n
			t.Events = append(t.Events, ev)
		default:
			return nil, fmt.Errorf("transcript: line %d: want '>', '<' or '#', got %q", n, truncate(line))
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("transcript: line %d: %w", n+1, err)
	}
	return t, nil
}

func truncate(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}

func parseEvent(line string) (Event, error) {
	ev := Event{Dir: Direction(line[0])}
	rest := strings.TrimSpace(line[1:])
	ts, data, ok := strings.Cut(rest, " ")
	if !ok {
		return ev, fmt.Errorf("want a time offset and a quoted string")
	}
	sec, err := strconv.ParseFloat(ts, 64)
	if err != nil || sec < 0 || sec > 1e9 {
		return ev, fmt.Errorf("bad time offset %q", truncate(ts))
	}
	ev.At = time.Duration(sec * float64(time.Second))
	data = strings.TrimSpace(data)
	if len(data) < 2 || data[0] != '"' {
		return ev, fmt.Errorf("want the bytes as a double-quoted string")
	}
	s, err := strconv.Unquote(data)
	if err != nil {
		return ev, fmt.Errorf("bad quoted string %s: %w", truncate(data), err)
	}
	ev.Data = []byte(s)
	return ev, nil
}

// ParseFile reads the transcript in path.
func ParseFile(path string) (*Transcript, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	t, err := Parse(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}

// Quote renders bytes as the format writes them: a Go double-quoted string that keeps printable
// ASCII as is and escapes everything else (\r, \n, \t, \xNN).
func Quote(b []byte) string {
	var sb strings.Builder
	sb.Grow(len(b) + 2)
	sb.WriteByte('"')
	for _, c := range b {
		switch {
		case c == '"' || c == '\\':
			sb.WriteByte('\\')
			sb.WriteByte(c)
		case c == '\r':
			sb.WriteString(`\r`)
		case c == '\n':
			sb.WriteString(`\n`)
		case c == '\t':
			sb.WriteString(`\t`)
		case c >= 0x20 && c < 0x7f:
			sb.WriteByte(c)
		default:
			fmt.Fprintf(&sb, `\x%02x`, c)
		}
	}
	sb.WriteByte('"')
	return sb.String()
}

// FormatEvent renders one event line (without the newline).
func FormatEvent(ev Event) string {
	return fmt.Sprintf("%c %.3f %s", byte(ev.Dir), ev.At.Seconds(), Quote(ev.Data))
}

// Magic is the first line of every transcript this package writes.
const Magic = "# pppdial transcript v1"

// Writer writes a transcript as it happens: Magic, the headers, then the events. Every call
// writes its line through to the underlying writer at once, so a transcript of a session that
// ends without warning is complete up to its last event. The first error is kept and returned
// by every later call.
type Writer struct {
	w       io.Writer
	started bool
	err     error
}

// NewWriter returns a Writer on w; nothing is written before the first call.
func NewWriter(w io.Writer) *Writer { return &Writer{w: w} }

func (w *Writer) line(s string) error {
	if w.err != nil {
		return w.err
	}
	if !w.started {
		w.started = true
		if _, w.err = io.WriteString(w.w, Magic+"\n"); w.err != nil {
			return w.err
		}
	}
	_, w.err = io.WriteString(w.w, s+"\n")
	return w.err
}

// Header writes one "# key: value" header; headers must come before the first event.
func (w *Writer) Header(h Header) error {
	return w.line(fmt.Sprintf("# %s: %s", h.Key, h.Value))
}

// Event writes one event line.
func (w *Writer) Event(ev Event) error { return w.line(FormatEvent(ev)) }

// Encode writes t in the transcript format.
func (t *Transcript) Encode(w io.Writer) error {
	bw := bufio.NewWriter(w)
	tw := NewWriter(bw)
	for _, h := range t.Headers {
		tw.Header(h)
	}
	for _, ev := range t.Events {
		tw.Event(ev)
	}
	if tw.err != nil {
		return tw.err
	}
	return bw.Flush()
}

// ParseKV parses a header value of space-separated key=value pairs (values may be Go-quoted).
// A key given twice keeps its last value; ParsePairs keeps them all.
func ParseKV(s string) (map[string]string, error) {
	pairs, err := ParsePairs(s)
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(pairs))
	for _, p := range pairs {
		out[p.Key] = p.Value
	}
	return out, nil
}

// ParsePairs parses a header value of space-separated key=value pairs (values may be
// Go-quoted), in order.
func ParsePairs(s string) ([]Header, error) {
	var out []Header
	s = strings.TrimSpace(s)
	for s != "" {
		eq := strings.IndexByte(s, '=')
		if eq <= 0 {
			return nil, fmt.Errorf("transcript: want key=value, got %q", truncate(s))
		}
		k := s[:eq]
		if strings.ContainsAny(k, " \t\"") {
			return nil, fmt.Errorf("transcript: bad key %q", truncate(k))
		}
		s = s[eq+1:]
		var v string
		if strings.HasPrefix(s, "\"") {
			q, err := strconv.QuotedPrefix(s)
			if err != nil {
				return nil, fmt.Errorf("transcript: value of %s: %w", k, err)
			}
			v, _ = strconv.Unquote(q)
			s = s[len(q):]
		} else {
			end := strings.IndexAny(s, " \t")
			if end < 0 {
				end = len(s)
			}
			v, s = s[:end], s[end:]
		}
		out = append(out, Header{Key: k, Value: v})
		s = strings.TrimSpace(s)
	}
	return out, nil
}

// FormatPairs renders pairs as ParsePairs reads them, quoting a value only when it must be.
func FormatPairs(pairs []Header) string {
	var b strings.Builder
	for i, p := range pairs {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(p.Key)
		b.WriteByte('=')
		if p.Value == "" || strings.ContainsAny(p.Value, " \t\"\\") || strings.IndexFunc(p.Value, notPrintable) >= 0 {
			b.WriteString(strconv.Quote(p.Value))
		} else {
			b.WriteString(p.Value)
		}
	}
	return b.String()
}

func notPrintable(r rune) bool { return r < 0x20 || r == 0x7f }
