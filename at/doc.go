// Package at brings a cellular modem from any state to PPP data mode over a serial line: the
// AT command phase of pppdial.
//
// Dial runs the steps a chat script would, each with its own timeout and a progress report:
// wake (AT until OK, escaping and hanging up a modem left in data mode), echo off, verbose
// errors, SIM state and PIN (entered once, never retried when rejected), signal in dBm,
// registration over +CREG/+CGREG/+CEREG (polled and from URCs), operator, APN and ATD. It returns
// a Session whose Data is the PPP stream, starting with exactly the bytes that followed the
// CONNECT line. Failures are typed: sentinels (ErrNoCarrier, ErrWrongPIN, ErrNoResponse, ...)
// and *CMEError, wrapped in *StepError, all matchable with errors.Is and errors.As.
//
// # The AT engine and the gate
//
// Commands and answers go through github.com/warthog618/modem/at (v0.4.0): it serialises
// commands, skips echoes, collects information lines and maps OK/ERROR/+CME ERROR, with a
// timeout per command. Three of its traits are worked around here rather than patched:
//
//   - Its reader goroutine keeps reading the port after CONNECT and would swallow the peer's
//     first PPP frames. It therefore never touches the port: it reads from a gate fed from the
//     Port's buffer, one whole line at a time, and the gate is retired (EOF, library closed)
//     before ATD, which this package writes and whose answer it parses on the raw stream.
//   - It matches unsolicited lines by prefix on every line, so registering "+CREG:" as an
//     indication would also swallow the answer to AT+CREG?; unregistered URCs arriving mid-command
//     become the command's "information". The gate knows the pending command and classifies each
//     line: a URC ("+CREG: 1") and the read answer ("+CREG: 0,1") are told apart by shape, and
//     URCs go to Config.OnURC (and the registration wait), never to the library.
//   - Its bufio.Scanner gives up after 100 empty reads, and go.bug.st/serial returns (0, nil)
//     on every read timeout: the gate never returns (0, nil), and Open's port never does either.
//
// # Ports
//
// Port owns every read from the line so the phases hand bytes to one another without loss; wrap
// a line once (NewPort, or Open for a real serial device) and use that Port for every Dial and
// Hangup. Hangup escapes with guard times ("+++"), sends ATH, and drops DTR when the port has one.
//
// # Transcripts
//
// Recorder writes a live session in the transcript format of testdata/transcripts (PINs and
// passwords redacted) and Replay plays one back as the modem, checking every byte the dialer
// writes and the outcome; see package transcript and testdata/transcripts/README.md.
package at
