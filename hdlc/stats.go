package hdlc

// Stats counts what an [Encoder] or [Decoder] has seen. An Encoder fills the
// Out fields, a Decoder the In fields and the error counters, so the two can
// be summed into one link-wide figure.
type Stats struct {
	FramesIn  uint64 // good frames delivered by Decoder.Feed
	BytesIn   uint64 // wire bytes fed to Decoder.Feed, flags and noise included
	FramesOut uint64 // frames built by Encoder.AppendFrame
	BytesOut  uint64 // wire bytes appended by Encoder.AppendFrame, flags included

	FCSErrors   uint64 // frames dropped because the FCS did not check
	Aborts      uint64 // frames ended by the abort sequence 0x7d 0x7e
	TooLong     uint64 // frames dropped for an information field over the maximum length
	Runts       uint64 // non-empty frames too short to hold a protocol field and FCS
	BadProtocol uint64 // frames with a good FCS whose protocol field is malformed
}

// Add returns the field-by-field sum of s and o, e.g. encoder plus decoder.
func (s Stats) Add(o Stats) Stats {
	return Stats{
		FramesIn:    s.FramesIn + o.FramesIn,
		BytesIn:     s.BytesIn + o.BytesIn,
		FramesOut:   s.FramesOut + o.FramesOut,
		BytesOut:    s.BytesOut + o.BytesOut,
		FCSErrors:   s.FCSErrors + o.FCSErrors,
		Aborts:      s.Aborts + o.Aborts,
		TooLong:     s.TooLong + o.TooLong,
		Runts:       s.Runts + o.Runts,
		BadProtocol: s.BadProtocol + o.BadProtocol,
	}
}

// Errors returns the number of frames the decoder dropped, for any reason.
func (s Stats) Errors() uint64 {
	return s.FCSErrors + s.Aborts + s.TooLong + s.Runts + s.BadProtocol
}
