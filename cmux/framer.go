package cmux

import "io"

// Framer reads and writes one frame at a time on an io.Reader and an io.Writer, in the manner of
// golang.org/x/net/http2's Framer: no goroutines, no locking, no allocation per frame after the
// first write. A Framer is not safe for concurrent use; the Mux is the concurrent layer above.
type Framer struct {
	r    io.Reader
	w    io.Writer
	dec  *Decoder
	wbuf []byte
}

// NewFramer returns a Framer that writes to w, reads from r and accepts information fields up
// to n1 bytes (n1 <= 0: DefaultN1).
func NewFramer(w io.Writer, r io.Reader, n1 int) *Framer {
	return &Framer{r: r, w: w, dec: NewDecoder(n1)}
}

// Decoder is the Framer's decoder, for its counters.
func (fr *Framer) Decoder() *Decoder { return fr.dec }

// ReadFrame returns the next good frame. Its Info is valid until the next ReadFrame. Damaged
// frames and garbage are counted in Decoder().Stats() and skipped; a read error is returned as
// is (a read of zero bytes with no error, which some serial drivers return on a timeout, is
// retried).
func (fr *Framer) ReadFrame() (Frame, error) {
	for {
		if f, ok := fr.dec.Next(); ok {
			return f, nil
		}
		n, err := fr.r.Read(fr.dec.Space())
		fr.dec.Commit(n)
		if err != nil && n == 0 {
			return Frame{}, err
		}
	}
}

// WriteFrame encodes f and writes it with one Write call.
func (fr *Framer) WriteFrame(f Frame) error {
	var err error
	fr.wbuf, err = AppendFrame(fr.wbuf[:0], f)
	if err != nil {
		return err
	}
	_, err = fr.w.Write(fr.wbuf)
	return err
}
