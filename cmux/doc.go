// Package cmux is the 3GPP TS 27.010 multiplexer (CMUX), basic option, in pure Go: several
// virtual channels (DLCs) over one serial line, so the modem answers AT commands on one channel
// while PPP runs on another.
//
// The layers, bottom up:
//   - AppendFrame, Decoder and Framer encode and decode frames on caller buffers (flag, EA
//     address with C/R and DLCI, control with P/F, one- or two-octet length, FCS), counting and
//     dropping what is damaged, with no goroutines and no allocation per frame.
//   - Mux runs one end of the multiplexer on a line.Line: New for the host (initiator), which
//     opens DLC 0 (Open) and the channels (OpenChannel), answers the modem's MSC, honours its
//     flow control (FCoff/FCon, FC in MSC), probes it (Ping: Test command) and closes it (Close:
//     DISC, CLD, DISC on DLC 0); NewResponder for the modem side, used by tests and emulators.
//   - Channel is one DLC and is itself a line.Line: the AT engine and the PPP link run on it
//     unchanged. Writes are split into frames of at most N1 bytes.
//
// Around the multiplexer: Command formats AT+CMUX for a line speed and N1, QuirksFor returns a
// modem family's known deviations, and LooksLikeCMUX and SendCloseSequence let start-up
// recovery find and close a multiplexer a crashed run left open.
//
// The peer this package is tested against is the Linux kernel's n_gsm (see the interop test).
package cmux
