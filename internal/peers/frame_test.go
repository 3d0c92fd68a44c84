package peers_test

import (
	"bytes"
	"encoding/binary"
	"io"
	"time"
)

// A minimal RFC 1662 framer for the harness's own tests, independent of package hdlc so these
// tests check the peers, not our framer: FCS-16, every control character escaped.

func fcs16(p []byte) uint16 {
	fcs := uint16(0xffff)
	for _, b := range p {
		fcs ^= uint16(b)
		for range 8 {
			if fcs&1 != 0 {
				fcs = fcs>>1 ^ 0x8408
			} else {
				fcs >>= 1
			}
		}
	}
	return fcs
}

// encodeFrame returns one flag-delimited frame with header ff 03.
func encodeFrame(protocol uint16, info []byte) []byte {
	body := []byte{0xff, 0x03, byte(protocol >> 8), byte(protocol)}
	body = append(body, info...)
	fcs := fcs16(body) ^ 0xffff
	body = append(body, byte(fcs), byte(fcs>>8))
	out := []byte{0x7e}
	for _, b := range body {
		if b < 0x20 || b == 0x7d || b == 0x7e {
			out = append(out, 0x7d, b^0x20)
		} else {
			out = append(out, b)
		}
	}
	return append(out, 0x7e)
}

type frame struct {
	protocol uint16
	info     []byte
}

// decodeFrames splits a byte stream into the frames with a good FCS (header and protocol field
// may be compressed); bad ones are dropped.
func decodeFrames(stream []byte) []frame {
	var out []frame
	for _, chunk := range bytes.Split(stream, []byte{0x7e}) {
		var p []byte
		esc := false
		for _, b := range chunk {
			switch {
			case b == 0x7d:
				esc = true
			case esc:
				p = append(p, b^0x20)
				esc = false
			default:
				p = append(p, b)
			}
		}
		if len(p) < 4 || fcs16(p) != 0xf0b8 {
			continue
		}
		p = p[:len(p)-2]
		if len(p) >= 2 && p[0] == 0xff && p[1] == 0x03 {
			p = p[2:]
		}
		if len(p) == 0 {
			continue
		}
		var proto uint16
		if p[0]&1 == 1 { // PFC-compressed protocol field
			proto, p = uint16(p[0]), p[1:]
		} else if len(p) >= 2 {
			proto, p = binary.BigEndian.Uint16(p), p[2:]
		} else {
			continue
		}
		out = append(out, frame{proto, p})
	}
	return out
}

// lcpConfReq is an LCP Configure-Request with the given id and options.
func lcpConfReq(id byte, opts ...byte) []byte {
	n := 4 + len(opts)
	return append([]byte{1, id, byte(n >> 8), byte(n)}, opts...)
}

// deadliner is what Port offers beyond io.ReadWriter.
type deadliner interface {
	SetReadDeadline(time.Time) error
}

// readUntil reads from r until done(stream) is true or d passes; it returns what it read.
func readUntil(r io.Reader, d time.Duration, done func([]byte) bool) []byte {
	var stream []byte
	deadline := time.Now().Add(d)
	if dl, ok := r.(deadliner); ok {
		_ = dl.SetReadDeadline(deadline)
		defer dl.SetReadDeadline(time.Time{}) //nolint:errcheck // best effort reset
	}
	buf := make([]byte, 4096)
	for time.Now().Before(deadline) && !done(stream) {
		n, err := r.Read(buf)
		stream = append(stream, buf[:n]...)
		if err != nil {
			break
		}
	}
	return stream
}

// hasLCP reports whether the stream holds an LCP packet with this code (and id, unless id < 0).
func hasLCP(stream []byte, code byte, id int) bool {
	for _, f := range decodeFrames(stream) {
		if f.protocol == 0xc021 && len(f.info) >= 4 && f.info[0] == code && (id < 0 || int(f.info[1]) == id) {
			return true
		}
	}
	return false
}
