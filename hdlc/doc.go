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
// next byte of the chunk: a peer starts using the negotiated map once the
// Configure-Ack is exchanged, often within the same serial read.
//
// # Speed
//
// The framer touches every byte of the link, and the targets are small ARM
// boards, so it works on runs of bytes rather than byte by byte, and never
// allocates per frame:
//
//   - The FCS is computed over whole runs. FCS-16 uses slicing-by-16 tables
//     built at init (sixteen independent look-ups per sixteen bytes); on
//     amd64 with PCLMULQDQ, inputs of 64 bytes or more are first folded to
//     16 bytes with carry-less multiplication, four lanes at a time, which
//     is several times faster again (build with -tags purego to use the
//     tables alone). FCS-32 is the IEEE CRC-32, so it is [hash/crc32], which
//     is hardware-accelerated where the CPU allows.
//   - When only the flag and the control escape need escaping (ACCM 0, the
//     usual negotiated map) the encoder finds them with the vectorised
//     [bytes.IndexByte], tracking the next of each, and copies every clean
//     run with one append. Under any other map it encodes byte by byte but
//     branch-free, from a 256-entry table giving each octet's wire form.
//   - The decoder likewise finds the next flag, then each control escape,
//     with [bytes.IndexByte] when the receive ACCM is 0; otherwise one loop
//     checks each byte against a 256-entry table of flag, escape and
//     characters to discard. The FCS is checked once, over the finished
//     frame, while it is still in cache.
//
// BenchmarkEncode and BenchmarkDecode measure this against a classic
// byte-at-a-time framer (RFC 1662's appendix style) kept in the benchmark
// file as the baseline.
package hdlc
