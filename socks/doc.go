// Package socks serves SOCKS5 (RFC 1928: CONNECT and UDP ASSOCIATE) with optional RFC 1929
// username/password authentication, for programs that put their traffic on a link they do not
// otherwise reach: every outgoing connection and datagram leaves through a dial function the
// caller supplies (for pppdial, a bind.Dialer on the cellular interface).
//
// The protocol itself is github.com/things-go/go-socks5's; this package adds what a server
// offered to other programs on a gateway needs:
//
//   - a UDP relay held to its client: bound to the address the client's control connection
//     reached (never the wildcard), accepting datagrams only from the control connection's
//     remote IP (and, after the first one, only from that port), carrying answers back only
//     from destinations the client wrote to, and ending when the control connection closes or
//     the association is idle past a timeout;
//   - limits on concurrent connections and associations, a handshake timeout, and counters of
//     what was refused or dropped (Stats), so a misbehaving local client cannot exhaust memory
//     or descriptors;
//   - listeners on unix sockets (Listen), where UDP ASSOCIATE is refused: there is no client
//     address to hold a relay to.
//
// The root package pppdial does not import this package: a gateway that wants SOCKS wires a
// Server to its own link.
package socks
