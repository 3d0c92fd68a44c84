// Package at brings a cellular modem from any state to PPP data mode over a line: the AT command
// phase of pppdial, and the owner of the line while PPP runs.
//
// Dial runs the steps a chat script would, each with its own timeout and a progress event:
// wake (AT until OK, escaping and hanging up a modem left in data mode, closing a multiplexer
// left open, and on a line whose speed can be set looking for a modem an earlier AT+IPR left at
// another speed), echo off, the speed (Config.BaudSwitch, or back to the line's), verbose
// errors, Config.Init commands, SIM state and PIN (entered once, never retried when rejected),
// signal in dBm, registration over +CREG/+CGREG/+CEREG (polled and from URCs), operator, APN,
// the network's MTU (AT+CGCONTRDP, Config.QueryMTU) and ATD. It returns a Session whose Data() is the PPP stream as a line.Line, starting with exactly
// the bytes that followed the CONNECT line. Failures are typed: sentinels (ErrNoCarrier,
// ErrWrongPIN, ErrNoResponse, ...) and *CMEError (whose Code is a CMECode, the 27.007 numbers
// named: CMESIMBusy, CMEIncorrectPassword, ...), wrapped in *StepError, all matchable with
// errors.Is and errors.As.
//
// # Events
//
// What Dial and Prepare do is observed one way: Config.OnEvent receives an Event for every
// step's start and end and for every unsolicited result code, in order, on a goroutine of its
// own, so a slow observer never holds the modem up; one that falls far behind is told how many
// events it missed (Event.Missed). Dial and Prepare return once their events were taken (5 s
// at most). Commands reports URCs the same way.
//
// # One owner of the line
//
// A Port takes a line.Line (a serial port from line.Open, a pty, a pipe, one channel of a
// multiplexer) and is its only reader: one goroutine reads into the Port's buffer, and both
// modes consume from there, so no byte is lost when one mode hands over to the other. In command
// mode the AT engine takes text lines; from the dial's CONNECT on, the session's data line takes
// the bytes. The data line watches for the modem's NO CARRIER (between frames at once; inside a
// frame only when the line then stays quiet 300 ms, since payloads may carry those bytes) and,
// where the line has modem control, for DCD dropping; it then ends with ErrCarrierLost or
// ErrDCDLost and the Port is in command mode again. Hangup (escape "+++" with guard times, ATH,
// a DTR drop where the line has one) goes through the same Port, as does Exec, which sends any
// command: on a multiplexed modem, the AT channel's Port answers Exec while PPP runs on another
// channel's.
//
// # The AT engine
//
// Every command, the dial and the hang-up's ATH go through github.com/warthog618/modem/at
// (v0.4.0): it serialises commands, skips echoes, collects information lines and maps
// OK/ERROR/+CME ERROR and the dial's result codes, with a timeout per command. Its traits are
// worked around rather than patched (see engine.go): it reads from a gate on the Port's buffer,
// never from the line, and the gate stops at the CONNECT line; the gate keeps URCs (told apart
// from answers by shape: "+CREG: 1" against "+CREG: 0,1"), junk and PPP frames away from it; the
// gate never returns (0, nil), on which its bufio.Scanner would give up; ATD goes through its
// SMSCommand so that the dial line ends in CR alone. The escape itself, with its guard times,
// and the wait for the OK to "+++" (which comes while no command is pending) are done beside it
// on the same gate.
//
// # Transcripts
//
// A Recorder (Config.Record) writes a dial in the transcript format of testdata/transcripts
// (PINs and passwords redacted) and Replay plays one back as the modem, checking every byte the
// dialer writes and the outcome. Both use package transcript, the format's one codec, including
// the "# config:" header that says how the dial was configured (transcript.DialConfig).
package at
