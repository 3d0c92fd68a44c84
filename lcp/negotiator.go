package lcp

import (
	"github.com/pppdial/pppdial/ppp/fsm"
)

// Negotiator implements fsm.Rules for LCP on top of the pure functions in this package. It keeps
// what the exchange has taught so far: our current request, what the peer acked, the peer's
// acked values, and whether the peer refused authentication or looks like a loopback.
type Negotiator struct {
	Policy Policy
	// Rand returns random 32-bit numbers for magic numbers; it must be set.
	Rand func() uint32

	want Options // our next Configure-Request
	ours Options // our request as the peer acked it
	peer Options // the peer's request as we acked it

	authRefused bool
	loopbacks   int
	resp        fsm.Responder
}

// NewNegotiator returns a Negotiator for policy p drawing magic numbers from rand.
func NewNegotiator(p Policy, rand func() uint32) *Negotiator {
	n := &Negotiator{Policy: p, Rand: rand}
	n.Reset()
	return n
}

// Reset starts a new negotiation from the policy, with a fresh magic number. The peer's values
// are kept: they belong to the peer's requests, which Reset does not concern.
func (n *Negotiator) Reset() {
	n.want = n.Policy.Initial(nonZero(n.Rand, 0))
	n.authRefused = false
	n.loopbacks = 0
}

// AppendRequest appends our Configure-Request options.
func (n *Negotiator) AppendRequest(dst []byte) []byte { return AppendRequest(dst, n.want) }

// CheckRequest answers the peer's Configure-Request.
func (n *Negotiator) CheckRequest(opts, dst []byte) (fsm.Code, []byte) {
	n.resp.Reset()
	v := CheckRequest(opts, n.Policy, n.want.Magic, n.Rand, &n.resp)
	if v.Loopback {
		n.loopbacks++
		// RFC 1661 6.4: on a match, choose a new magic number for ourselves too, so two ends
		// that drew the same number diverge.
		n.want.Magic = nonZero(n.Rand, n.want.Magic)
	}
	code, out := n.resp.Result(dst)
	if code == fsm.ConfigureAck {
		n.peer = v.Peer
	}
	return code, out
}

// Acked records that the peer acked our request.
func (n *Negotiator) Acked([]byte) { n.ours = n.want }

// Naked applies a Configure-Nak.
func (n *Negotiator) Naked(opts []byte) error {
	want, res, err := ApplyNak(n.want, opts, n.Policy, n.Rand)
	if err != nil {
		return err
	}
	n.want = want
	n.authRefused = n.authRefused || res.AuthRefused
	if res.Loopback {
		n.loopbacks++
	}
	return nil
}

// Rejected applies a Configure-Reject.
func (n *Negotiator) Rejected(opts []byte) error {
	want, res, err := ApplyReject(n.want, opts)
	if err != nil {
		return err
	}
	n.want = want
	n.authRefused = n.authRefused || res.AuthRefused
	return nil
}

// Ours returns our options as the peer acked them (valid once LCP is opened).
func (n *Negotiator) Ours() Options { return n.ours }

// Peer returns the peer's options as we acked them (valid once LCP is opened).
func (n *Negotiator) Peer() Options { return n.peer }

// Magic returns the magic number we currently use (0: none negotiated).
func (n *Negotiator) Magic() uint32 { return n.ours.Magic }

// AuthRefused reports whether the peer naked or rejected the authentication protocol we demand.
func (n *Negotiator) AuthRefused() bool { return n.authRefused }

// Loopbacks returns how many magic-number collisions this negotiation has seen (in the peer's
// requests and in its Naks of ours): two honest ends collide once in 2^32; a count that reaches
// Max-Failure means the line is looped back (a modem echoing our frames), which pppd also
// concludes after 5.
func (n *Negotiator) Loopbacks() int { return n.loopbacks }
