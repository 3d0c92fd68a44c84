package fsm

import (
	"errors"
	"iter"
)

// ErrMalformed reports options or a packet whose length fields do not add up.
var ErrMalformed = errors.New("malformed control packet")

// ValidOptions checks that b is a well-formed sequence of type-length-data options: every
// length is at least 2 and no option runs past the end of b. Callers validate before iterating
// with Options so that a malformed packet is rejected as a whole, never half-applied.
func ValidOptions(b []byte) error {
	for len(b) > 0 {
		if len(b) < 2 || b[1] < 2 || int(b[1]) > len(b) {
			return ErrMalformed
		}
		b = b[b[1]:]
	}
	return nil
}

// Options iterates over the options in b, yielding each option's type and data (the bytes after
// the type and length octets). It stops at the first malformed option; validate with
// ValidOptions first to tell a short packet from a complete one.
func Options(b []byte) iter.Seq2[byte, []byte] {
	return func(yield func(byte, []byte) bool) {
		for len(b) >= 2 && b[1] >= 2 && int(b[1]) <= len(b) {
			if !yield(b[0], b[2:b[1]]) {
				return
			}
			b = b[b[1]:]
		}
	}
}

// AppendOption appends one option (type, length, data) to dst. Data longer than 253 bytes
// cannot be encoded and is truncated, which no PPP option needs.
func AppendOption(dst []byte, typ byte, data []byte) []byte {
	if len(data) > 253 {
		data = data[:253]
	}
	dst = append(dst, typ, byte(2+len(data)))
	return append(dst, data...)
}

// HasOption reports whether the option list b contains an option of type typ.
func HasOption(b []byte, typ byte) bool {
	for t := range Options(b) {
		if t == typ {
			return true
		}
	}
	return false
}

// Responder collects the per-option verdicts for one received Configure-Request and turns them
// into the reply RFC 1661 section 5 prescribes: a Configure-Reject listing every option that is
// rejected if there is any, else a Configure-Nak listing every option (and hint) that is naked
// if there is any, else a Configure-Ack echoing the request. Protocols use it inside
// Rules.CheckRequest so that they only decide per option.
type Responder struct {
	ack, nak, rej []byte
}

// Reset forgets all verdicts; call it at the start of every CheckRequest.
func (r *Responder) Reset() {
	r.ack, r.nak, r.rej = r.ack[:0], r.nak[:0], r.rej[:0]
}

// Ack records an acceptable option (typ with the data the peer sent).
func (r *Responder) Ack(typ byte, data []byte) { r.ack = AppendOption(r.ack, typ, data) }

// Nak records an option whose value is unacceptable, with the value we suggest instead. It is
// also how a hint for an option the peer did not send is given (an unsolicited Nak option).
func (r *Responder) Nak(typ byte, suggest []byte) { r.nak = AppendOption(r.nak, typ, suggest) }

// Reject records an option we do not recognise or will not negotiate; data must be the peer's
// data unchanged.
func (r *Responder) Reject(typ byte, data []byte) { r.rej = AppendOption(r.rej, typ, data) }

// Result appends the reply's options to dst and returns the reply code.
func (r *Responder) Result(dst []byte) (Code, []byte) {
	switch {
	case len(r.rej) > 0:
		return ConfigureReject, append(dst, r.rej...)
	case len(r.nak) > 0:
		return ConfigureNak, append(dst, r.nak...)
	default:
		return ConfigureAck, append(dst, r.ack...)
	}
}

// nakToReject turns a Configure-Nak reply into a Configure-Reject of the requested options the
// Nak named, once Max-Failure Naks have been sent without converging (RFC 1661 4.6). Naked
// options that were not in the request (hints) are dropped; if nothing is left to reject, the
// request is acceptable as it stands and is acked.
func nakToReject(req, nak, dst []byte) (Code, []byte) {
	start := len(dst)
	for typ, data := range Options(req) {
		if HasOption(nak, typ) {
			dst = AppendOption(dst, typ, data)
		}
	}
	if len(dst) == start {
		return ConfigureAck, append(dst, req...)
	}
	return ConfigureReject, dst
}

// isSubsequence reports whether the options in rej all appear, byte for byte and in order, in
// req: what RFC 1661 5.4 requires of a Configure-Reject.
func isSubsequence(rej, req []byte) bool {
	for typ, data := range Options(rej) {
		found := false
		for len(req) >= 2 && int(req[1]) <= len(req) && req[1] >= 2 {
			t, d := req[0], req[2:req[1]]
			req = req[req[1]:]
			if t == typ && string(d) == string(data) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}
