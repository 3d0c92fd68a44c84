package at

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/pppdial/pppdial/at/transcript"
)

// RecorderOptions tune a Recorder.
type RecorderOptions struct {
	// Headers are written first as "# key: value" lines, e.g. {"modem", "Quectel EC25"},
	// {"config", "apn=internet pin=****"}, {"expect", "ok"}.
	Headers []transcript.Header
	// Secrets are replaced with "****" wherever they appear, in both directions. Dial adds its
	// PIN on its own when handed a *Recorder.
	Secrets []string
	// DataLimit is how many bytes to record in each direction after the CONNECT line
	// (default 256; negative records everything).
	DataLimit int
}

// Recorder wraps a port and writes what crosses it to w in the transcript format
// (testdata/transcripts/README.md), with PINs and passwords redacted: AT+CPIN="1234" is recorded
// as AT+CPIN="****", in the host's write and in the modem's echo. Pass it to Dial in place of the
// port.
type Recorder struct {
	rw    io.ReadWriter
	start time.Time

	mu        sync.Mutex
	w         *bufio.Writer
	secrets   []string
	limit     int
	connected bool
	data      [2]int                  // bytes recorded after CONNECT, per direction
	pending   [2]pendingChunk         // held back until a secret line is complete
	err       error                   // first write error
	tail      [2][]byte               // last bytes seen, to find CONNECT split across reads
	dirs      [2]transcript.Direction // index -> direction
}

type pendingChunk struct {
	at   time.Duration
	data []byte
}

// NewRecorder writes the headers to w and returns the recording wrapper around rw.
func NewRecorder(rw io.ReadWriter, w io.Writer, opts RecorderOptions) *Recorder {
	r := &Recorder{
		rw:      rw,
		start:   time.Now(),
		w:       bufio.NewWriter(w),
		secrets: append([]string(nil), opts.Secrets...),
		limit:   opts.DataLimit,
		dirs:    [2]transcript.Direction{transcript.Host, transcript.Modem},
	}
	if r.limit == 0 {
		r.limit = 256
	}
	fmt.Fprintf(r.w, "# pppdial transcript v1\n")
	for _, h := range opts.Headers {
		fmt.Fprintf(r.w, "# %s: %s\n", h.Key, r.redact(h.Value))
	}
	r.err = r.w.Flush()
	return r
}

// AddSecret adds a string to redact from now on.
func (r *Recorder) AddSecret(s string) {
	if s == "" {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.secrets = append(r.secrets, s)
}

// Read reads from the port and records what came.
func (r *Recorder) Read(b []byte) (int, error) {
	n, err := r.rw.Read(b)
	if n > 0 {
		r.record(1, b[:n])
	}
	return n, err
}

// Write records and writes to the port.
func (r *Recorder) Write(b []byte) (int, error) {
	r.record(0, b)
	return r.rw.Write(b)
}

// SetDTR passes DTR control through when the port has it.
func (r *Recorder) SetDTR(on bool) error {
	if d, ok := r.rw.(interface{ SetDTR(bool) error }); ok {
		return d.SetDTR(on)
	}
	return errNoDTR
}

// Close flushes anything held back and closes the port if it can be closed.
func (r *Recorder) Close() error {
	err := r.Flush()
	if c, ok := r.rw.(io.Closer); ok {
		if cerr := c.Close(); err == nil {
			err = cerr
		}
	}
	return err
}

// Flush writes chunks held back (a line that might still carry a secret) and flushes w.
func (r *Recorder) Flush() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := range r.pending {
		r.emit(i)
	}
	if err := r.w.Flush(); r.err == nil {
		r.err = err
	}
	return r.err
}

func (r *Recorder) record(dir int, b []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	at := time.Since(r.start)
	if r.connected {
		r.recordData(dir, at, b)
		return
	}
	pc := &r.pending[dir]
	if len(pc.data) == 0 {
		pc.at = at
	}
	pc.data = append(pc.data, b...)
	// Look for CONNECT in what the modem sent (possibly split across reads).
	if dir == 1 {
		seen := append(r.tail[1], b...)
		if k := bytes.Index(seen, []byte("CONNECT")); k >= 0 {
			// Record up to the end of the CONNECT line as command-mode bytes, the rest as data.
			end := len(seen)
			if e := bytes.IndexAny(seen[k:], "\r\n\x7e"); e >= 0 {
				end = k + e
				for end < len(seen) && (seen[end] == '\r' || seen[end] == '\n') {
					end++
				}
				consumed := end - len(r.tail[1]) // bytes of b up to the line end
				if consumed < 0 {
					consumed = 0
				}
				rest := b[consumed:]
				pc.data = pc.data[:len(pc.data)-len(rest)]
				r.emit(0)
				r.emit(1)
				r.connected = true
				r.tail[1] = nil
				r.recordData(1, at, rest)
				return
			}
		}
		if len(seen) > 64 {
			seen = seen[len(seen)-64:]
		}
		r.tail[1] = append([]byte(nil), seen...)
	}
	// Hold the chunk while its unterminated tail may still grow into a secret.
	tail := pc.data
	if i := bytes.LastIndexAny(tail, "\r\n"); i >= 0 {
		tail = tail[i+1:]
	}
	if len(pc.data) < 4096 && sensitivePrefix(string(tail)) {
		return
	}
	r.emit(dir)
}

// recordData records bytes of the data phase, up to the limit.
func (r *Recorder) recordData(dir int, at time.Duration, b []byte) {
	if r.limit >= 0 {
		room := r.limit - r.data[dir]
		if room <= 0 {
			return
		}
		if len(b) > room {
			b = b[:room]
		}
		r.data[dir] += len(b)
	}
	r.writeEvent(dir, at, b)
}

// emit writes the pending chunk of one direction, redacted.
func (r *Recorder) emit(dir int) {
	pc := &r.pending[dir]
	if len(pc.data) == 0 {
		return
	}
	r.writeEvent(dir, pc.at, []byte(r.redact(redactLine(string(pc.data)))))
	pc.data = nil
}

func (r *Recorder) writeEvent(dir int, at time.Duration, b []byte) {
	if len(b) == 0 || r.err != nil {
		return
	}
	line := transcript.FormatEvent(transcript.Event{Dir: r.dirs[dir], At: at, Data: b})
	if _, err := r.w.WriteString(line + "\n"); err != nil {
		r.err = err
		return
	}
	if err := r.w.Flush(); err != nil {
		r.err = err
	}
}

func (r *Recorder) redact(s string) string {
	for _, sec := range r.secrets {
		if sec != "" {
			s = strings.ReplaceAll(s, sec, Redacted)
		}
	}
	return s
}
