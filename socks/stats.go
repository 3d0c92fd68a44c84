package socks

import "sync/atomic"

// Stats is a snapshot of a Server's state and counters (for metrics; every counter only grows).
type Stats struct {
	Conns        int // client connections open now
	Associations int // UDP associations open now

	RefusedConns        uint64 // connections closed at once: MaxConns reached
	RefusedAssociations uint64 // UDP ASSOCIATE refused: MaxAssociations reached, or a unix socket
	RefusedAuth         uint64 // clients refused by authentication (no acceptable method, wrong credentials)
	HandshakeTimeouts   uint64 // clients that did not finish the handshake in time
	DialFailures        uint64 // CONNECT destinations that could not be reached
	IdleAssociations    uint64 // associations ended by UDPIdleTimeout

	Dropped DroppedDatagrams // datagrams the UDP relay did not carry, by reason
}

// DroppedDatagrams counts datagrams the UDP relay dropped, by reason.
type DroppedDatagrams struct {
	ForeignSource uint64 // from an address other than the association's client
	Fragmented    uint64 // FRAG != 0 (fragmentation is not supported, as RFC 1928 allows)
	Malformed     uint64 // too short, or an unknown address type
	Unreachable   uint64 // the destination could not be resolved or dialed, or the send failed
}

type counters struct {
	refusedConns, refusedAssocs, refusedAuth, handshakeTimeouts, dialFailures, idleAssocs atomic.Uint64
	foreign, fragmented, malformed, unreachable                                           atomic.Uint64
}

// Stats returns a snapshot of s's counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	conns, assocs := len(s.conns), s.assocs
	s.mu.Unlock()
	c := &s.counters
	return Stats{
		Conns: conns, Associations: assocs,
		RefusedConns: c.refusedConns.Load(), RefusedAssociations: c.refusedAssocs.Load(),
		RefusedAuth: c.refusedAuth.Load(), HandshakeTimeouts: c.handshakeTimeouts.Load(),
		DialFailures: c.dialFailures.Load(), IdleAssociations: c.idleAssocs.Load(),
		Dropped: DroppedDatagrams{
			ForeignSource: c.foreign.Load(), Fragmented: c.fragmented.Load(),
			Malformed: c.malformed.Load(), Unreachable: c.unreachable.Load(),
		},
	}
}
