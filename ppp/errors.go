package ppp

import "errors"

// Reasons a link ends (Conn.Err, Link.Err, the Err of an EventDown). They read as the reason
// itself ("peer not responding") because they are shown to users as such.
var (
	// ErrClosed: the link was closed by us (Close, or the Start context ended).
	ErrClosed = errors.New("link closed")
	// ErrLowerDown: the serial stream ended or failed (EOF, read or write error).
	ErrLowerDown = errors.New("lower layer down")
	// ErrPeerTerminated: the peer sent an LCP Terminate-Request, or ended every network
	// protocol.
	ErrPeerTerminated = errors.New("terminated by peer")
	// ErrPeerNotResponding: keepalive Echo-Requests went unanswered.
	ErrPeerNotResponding = errors.New("peer not responding")
	// ErrNegotiation: a control protocol did not converge (Max-Configure exhausted, endless
	// Naks, a catastrophic reject, no address assigned). The wrapping error says which.
	ErrNegotiation = errors.New("negotiation failed")
	// ErrAuthRejected: the peer rejected our credentials. The error is an *AuthError carrying
	// the peer's message.
	ErrAuthRejected = errors.New("authentication rejected by peer")
	// ErrAuthFailed: the peer did not authenticate itself to us (wrong credentials, or it
	// refused the protocol we require).
	ErrAuthFailed = errors.New("peer failed to authenticate")
	// ErrAuthTimeout: authentication did not complete in time (no reply to our request or
	// challenge, or the peer never sent its credentials).
	ErrAuthTimeout = errors.New("authentication timed out")
	// ErrLoopback: our own LCP frames come back (a modem in echo mode, a looped line).
	ErrLoopback = errors.New("serial line is looped back")
	// ErrInvalidConfig: Config.Validate failed; the link never started.
	ErrInvalidConfig = errors.New("invalid PPP configuration")
)

// Errors returned by Conn.WritePacket.
var (
	// ErrNotUp: the network protocol for the packet is not open (yet, or any more).
	ErrNotUp = errors.New("link not up")
	// ErrBadPacket: the packet is empty or neither IPv4 nor IPv6.
	ErrBadPacket = errors.New("not an IPv4 or IPv6 packet")
	// ErrPacketTooBig: the packet exceeds the peer's MRU.
	ErrPacketTooBig = errors.New("packet larger than the peer's MRU")
	// ErrTxBusy: the transmit queue stayed full for WriteTimeout (the writer is stuck); the
	// packet was dropped and counted.
	ErrTxBusy = errors.New("transmit queue full")
)

// AuthError is the reason a link ends when the peer rejects our credentials; its message is
// "authentication rejected by peer: <peer's message>". errors.Is(err, ErrAuthRejected) holds.
type AuthError struct {
	Protocol string // "PAP" or "CHAP"
	Message  string // the peer's message, as received
}

// Error returns "authentication rejected by peer: <message>".
func (e *AuthError) Error() string { return ErrAuthRejected.Error() + ": " + e.Message }

// Is makes errors.Is(err, ErrAuthRejected) true.
func (e *AuthError) Is(target error) bool { return target == ErrAuthRejected }
