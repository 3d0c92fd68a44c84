// Package ppp is the PPP link layer of pppdial: the Link (phases, protocol demultiplexing,
// LCP, PAP, CHAP-MD5, IPCP, IPV6CP, keepalive) and Conn, which runs a Link over the serial
// stream a modem yields after CONNECT.
//
// Why two layers: everything PPP decides (when to retransmit, when a peer is dead, which
// address was assigned, when the ACCM changes) lives in Link, which does no I/O, starts no
// goroutine and reads time only from its arguments, so every timeout is tested
// deterministically with a fake clock. Conn adds exactly what a real link needs and nothing
// more: HDLC framing (package hdlc), one goroutine that owns the Link and decodes the frames
// it is fed (so the framing LCP negotiates applies exactly from the next frame), a reader and a
// writer goroutine that only move bytes, timers, bounded shutdown, and the events for
// Config.OnEvent. The option rules live in lcp, ipcp and ipcp/ipv6cp,
// the automaton they share in ppp/fsm.
//
// Both roles are supported: a client (what a gateway runs against a modem) asks to be assigned
// an address and DNS servers and authenticates itself if the peer demands it; a server (what the
// modem simulator runs behind ATD) assigns them and may demand PAP or CHAP.
//
// Why a link ended is always a typed error, usable with errors.Is and errors.As:
// ErrPeerNotResponding, ErrPeerTerminated, *AuthError (ErrAuthRejected), ErrAuthFailed,
// ErrAuthTimeout, ErrNegotiation, ErrLoopback, ErrLowerDown, ErrClosed, ErrInvalidConfig.
package ppp
