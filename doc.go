// Package pppdial is a PPP-over-UART cellular modem stack: it brings an LTE modem up with AT
// commands, runs PPP (LCP, PAP/CHAP, IPCP, IPV6CP) over RFC 1662 framing, and turns the link
// into a pp<N> network interface with a userspace TCP/IP stack, on which package bind opens
// sockets beside the host's own.
//
// This package is the session that ties the chain together for programs: Dial opens the port,
// dials, negotiates, registers the interface and keeps it up — redialing with backoff after a
// drop when Config.Persist is set — and Close tears it all down within a deadline. Events
// report every step, with stable codes for failures. The pppdial command is a thin shell over
// this package.
//
// # Events
//
// A session is observed one way: Config.OnEvent receives one stream of Event values — the
// session's own (up, down, redial, ...), the dialer's steps and URCs and the link's phases —
// in order, on a goroutine of its own, so that a slow observer never holds the link up; one
// that falls far behind is told how many events it missed (Event.Missed). The up event is
// taken before Dial returns, and the last event before Close returns.
//
// # Several links
//
// StartGroup runs several sessions side by side (two modems, say, beside Wi-Fi): each link is
// dialed, recovers and fails on its own, their events come in one stream with Event.Ifname
// set, and the group chooses by health which member of an ordered egress list carries new
// connections (Group.Router, and the registry's default interface), with hysteresis so that a
// flapping link does not take traffic back and forth (package egress). An EventRoute reports
// each change. Connections already open stay on their link until it goes down.
//
// The layers live in their own packages: line (the serial line), at (the dialer, owner of the
// line), hdlc (framing), ppp (the link), netif (interfaces), bind (sockets by interface),
// modemsim (emulated modems, for tests), egress (the group's choice) and demo (the whole chain against them, for
// `pppdial demo`). This package links neither modemsim nor net/http.
package pppdial
