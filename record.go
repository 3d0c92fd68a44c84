package pppdial

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/pppdial/pppdial/at"
)

// heldRecord holds a transcript back until the dial's outcome is known, because the
// transcript's headers, which come first, say what outcome a replay must reach ("# expect:").
//
// After the dial it keeps only the modem's first data events: the peer's first PPP bytes are
// what a replay feeds to the data stream, while our own PPP frames carry random magic numbers
// no replay can match, and the later hang-up is not part of a dial.
type heldRecord struct {
	mu         sync.Mutex
	w          io.Writer
	buf        bytes.Buffer
	released   bool
	dataEvents int // modem data events written after the dial
}

// maxDataEvents is how many of the modem's reads after CONNECT a transcript keeps.
const maxDataEvents = 2

// Write takes one event line from the Recorder (it writes line by line).
func (h *heldRecord) Write(b []byte) (int, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.released {
		return h.buf.Write(b)
	}
	if !bytes.HasPrefix(b, []byte("<")) || h.dataEvents >= maxDataEvents {
		return len(b), nil
	}
	h.dataEvents++
	return h.w.Write(b)
}

// release writes the headers for cfg and the outcome of the dial (err), then what was held.
func (h *heldRecord) release(cfg at.Config, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.released {
		return
	}
	h.released = true
	held := h.buf.Bytes()
	// The Recorder wrote its own first line; the headers go right after it.
	first, rest, _ := bytes.Cut(held, []byte("\n"))
	var b strings.Builder
	b.Write(first)
	b.WriteString("\n")
	fmt.Fprintf(&b, "# config: %s\n", transcriptConfig(cfg))
	fmt.Fprintf(&b, "# expect: %s\n", at.Outcome(err))
	_, _ = io.WriteString(h.w, b.String())
	_, _ = h.w.Write(rest)
	h.buf.Reset()
}

// transcriptConfig renders the dial's settings as a transcript's "# config:" header, so that a
// replay dials the same way. The PIN is written as ****: a replay sends that, as recorded.
func transcriptConfig(cfg at.Config) string {
	var parts []string
	add := func(k, v string) {
		if v != "" {
			parts = append(parts, k+"="+v)
		}
	}
	add("apn", cfg.APN)
	if cfg.PIN != "" {
		add("pin", at.Redacted)
	}
	add("pdp", cfg.PDPType)
	if cfg.CID != 0 {
		add("cid", fmt.Sprint(cfg.CID))
	}
	add("dial", cfg.DialString)
	if cfg.Guard != 0 {
		add("guard", cfg.Guard.String())
	}
	if cfg.PollInterval != 0 {
		add("poll", cfg.PollInterval.String())
	}
	return strings.Join(parts, " ")
}
