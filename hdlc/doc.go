// Package hdlc implements the asynchronous HDLC-like framing of RFC 1662
// that carries PPP over a serial line: flag sequences, byte stuffing under an
// async control character map (ACCM), the frame check sequence (FCS-16 or
// FCS-32), and address/control and protocol field compression.
//
// # Shape
//
// An [Encoder] appends whole frames to a caller's buffer; a [Decoder] is fed
// arbitrary chunks of a byte stream, exactly as a serial port returns them,
// and calls back once per good frame. Neither does I/O, starts goroutines or
// takes locks: PPP gives one goroutine ownership of a link's state, and that
// goroutine reads the port, feeds the decoder and writes what the encoder
// produced. Keeping the framer a pure transformation means it is tested and
// fuzzed without timing, runs at memory speed, and imposes no concurrency
// policy on its user. Neither type is safe for concurrent use.
//
// # Why the callback aliases the decoder's buffer
//
// [Decoder.Feed] hands each frame's information field to a callback as a
// slice of the decoder's own buffer, valid only until the callback returns.
// The decoder therefore never allocates per frame (it owns one buffer sized
// by [Decoder.SetMaxLen]), and a caller that keeps a frame copies exactly the
// bytes it keeps. Returning a list of frames instead would force either an
// allocation per frame or a rule about when returned slices die that is far
// easier to get wrong than "only during the callback".
//
// A callback rather than an iterator also lets the link react between frames
// of the same chunk: when LCP opens, the link changes the receive ACCM or the
// FCS width from inside the callback, and the change applies to the very
// next byte of the chunk (RFC 1662 section 7.1 switches maps at that point).
//
// # Speed
//
// The framer touches every byte of the link, and the targets are small ARM
// boards, so it works on runs rather than single bytes. Encoding scans for
// the next byte that needs escaping (a 256-entry table built from the ACCM
// and extra escapes, or two vectorised [bytes.IndexByte] calls when only the
// flag and escape octets qualify) and copies each clean run in one append.
// Decoding does the same for the next flag, escape or discarded control
// character. The FCS-16 is computed over whole runs with slicing-by-16
// tables built at init; FCS-32 is the IEEE CRC-32 and uses [hash/crc32],
// which is hardware-accelerated where the CPU allows.
package hdlc
