package fsm

import (
	"encoding/binary"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// numRules negotiates one option (type 1, a 16-bit value): we request want; the peer's value is
// acceptable when it is at most limit, otherwise it is naked down to limit (or to nakTo when set,
// which lets a test build a Nak loop). Type 99 is always rejected.
type numRules struct {
	want, limit, nakTo uint16
	got                uint16 // peer's accepted value
	sendBogus          bool   // also request option 99
	resets             int
	ups, downs         int
	finished, started  int
}

func (r *numRules) Reset() { r.resets++ }
func (r *numRules) AppendRequest(dst []byte) []byte {
	dst = AppendOption(dst, 1, binary.BigEndian.AppendUint16(nil, r.want))
	if r.sendBogus {
		dst = AppendOption(dst, 99, []byte{1})
	}
	return dst
}
func (r *numRules) CheckRequest(opts, dst []byte) (Code, []byte) {
	var resp Responder
	for typ, data := range Options(opts) {
		switch {
		case typ == 1 && len(data) == 2:
			v := binary.BigEndian.Uint16(data)
			if v > r.limit {
				to := r.limit
				if r.nakTo != 0 {
					to = r.nakTo
				}
				resp.Nak(1, binary.BigEndian.AppendUint16(nil, to))
			} else {
				r.got = v
				resp.Ack(typ, data)
			}
		default:
			resp.Reject(typ, data)
		}
	}
	return resp.Result(dst)
}
func (r *numRules) Acked([]byte) {}
func (r *numRules) Naked(opts []byte) error {
	for typ, data := range Options(opts) {
		if typ == 1 && len(data) == 2 {
			r.want = binary.BigEndian.Uint16(data)
		}
	}
	return nil
}
func (r *numRules) Rejected(opts []byte) error {
	if HasOption(opts, 99) {
		r.sendBogus = false
	}
	return nil
}
func (r *numRules) Up()       { r.ups++ }
func (r *numRules) Down()     { r.downs++ }
func (r *numRules) Started()  { r.started++ }
func (r *numRules) Finished() { r.finished++ }

// pair wires two automata back to back through queues, with a shared fake clock.
type pair struct {
	a, b       *FSM
	ra, rb     *numRules
	qa, qb     [][]byte // packets in flight to a and to b
	now        time.Time
	logA, logB []Code // codes sent by a and by b
	dropToB    bool
}

func newPair(cfg Config, ra, rb *numRules) *pair {
	p := &pair{ra: ra, rb: rb, now: time.Unix(0, 0)}
	p.a = New(cfg, ra, ra, func(pkt []byte) {
		p.logA = append(p.logA, Code(pkt[0]))
		if !p.dropToB {
			p.qb = append(p.qb, append([]byte(nil), pkt...))
		}
	})
	p.b = New(cfg, rb, rb, func(pkt []byte) {
		p.logB = append(p.logB, Code(pkt[0]))
		p.qa = append(p.qa, append([]byte(nil), pkt...))
	})
	return p
}

// pump delivers queued packets until both queues are empty (bounded).
func (p *pair) pump(t *testing.T) {
	for i := 0; len(p.qa)+len(p.qb) > 0; i++ {
		require.Less(t, i, 1000, "no convergence")
		if len(p.qa) > 0 {
			pkt := p.qa[0]
			p.qa = p.qa[1:]
			p.a.Input(p.now, pkt)
		}
		if len(p.qb) > 0 {
			pkt := p.qb[0]
			p.qb = p.qb[1:]
			p.b.Input(p.now, pkt)
		}
	}
}

func (p *pair) advance(d time.Duration) {
	p.now = p.now.Add(d)
	p.a.Tick(p.now)
	p.b.Tick(p.now)
}

func TestNegotiationOpensBothSides(t *testing.T) {
	ra := &numRules{want: 1500, limit: 1500}
	rb := &numRules{want: 1500, limit: 1500}
	p := newPair(Config{}, ra, rb)
	p.a.Open(p.now)
	p.a.Up(p.now)
	p.b.Open(p.now)
	p.b.Up(p.now) // both sent Configure-Requests at once: crossed
	p.pump(t)
	assert.Equal(t, Opened, p.a.State())
	assert.Equal(t, Opened, p.b.State())
	assert.Equal(t, 1, ra.ups)
	assert.Equal(t, 1, rb.ups)
	assert.Equal(t, uint16(1500), ra.got)
	assert.True(t, p.a.Deadline().IsZero(), "timer stopped in Opened")
}

func TestNakConverges(t *testing.T) {
	ra := &numRules{want: 2000, limit: 1500}
	rb := &numRules{want: 1500, limit: 1000}
	p := newPair(Config{}, ra, rb)
	p.a.Open(p.now)
	p.a.Up(p.now)
	p.b.Open(p.now)
	p.b.Up(p.now)
	p.pump(t)
	require.Equal(t, Opened, p.a.State())
	require.Equal(t, Opened, p.b.State())
	assert.Equal(t, uint16(1000), ra.want, "a took b's Nak")
	assert.Equal(t, uint16(1000), rb.got)
	assert.Contains(t, p.logB, ConfigureNak)
}

func TestRejectOfUnknownOption(t *testing.T) {
	ra := &numRules{want: 100, limit: 1500, sendBogus: true}
	rb := &numRules{want: 100, limit: 1500}
	p := newPair(Config{}, ra, rb)
	p.a.Open(p.now)
	p.a.Up(p.now)
	p.b.Open(p.now)
	p.b.Up(p.now)
	p.pump(t)
	require.Equal(t, Opened, p.a.State())
	assert.False(t, ra.sendBogus, "a stopped requesting the rejected option")
	assert.Contains(t, p.logB, ConfigureReject)
}

// A peer that keeps asking for a value we nak gets a Reject after Max-Failure Naks.
func TestNakLoopEndsInReject(t *testing.T) {
	h := newHarness(Config{MaxFailure: 3})
	h.r.verdict = ConfigureNak
	h.f.Open(h.now)
	h.f.Up(h.now)
	req := []byte{1, 7, 0, 8, 1, 4, 0x05, 0xdc}
	var codes []int
	for i := range 5 {
		req[1] = byte(10 + i)
		h.sent = nil
		h.f.Input(h.now, req)
		codes = append(codes, codesOf(h.sent)...)
	}
	assert.Equal(t, []int{3, 3, 3, 4, 4}, codes, "3 Naks, then Rejects")
	last := h.sent[len(h.sent)-1]
	assert.Equal(t, []byte{1, 4, 0x05, 0xdc}, last[4:], "the Reject names the requested option")
}

// Max-Configure Configure-Requests to a silent peer, then This-Layer-Finished.
func TestMaxConfigureExhaustion(t *testing.T) {
	h := newHarness(Config{MaxConfigure: 4, Restart: time.Second})
	h.f.Open(h.now)
	h.f.Up(h.now)
	for range 10 {
		h.now = h.now.Add(time.Second)
		h.f.Tick(h.now)
	}
	assert.Equal(t, []int{1, 1, 1, 1}, codesOf(h.sent))
	assert.Equal(t, Stopped, h.f.State())
	assert.Equal(t, []action{actTLS, actTLF}, h.r.layerCalls)
	assert.ErrorIs(t, h.f.Reason(), ErrNoResponse)
	assert.True(t, h.f.Deadline().IsZero())
	// Retransmissions keep the identifier (RFC 1661 5.1 allows it).
	for _, p := range h.sent {
		assert.Equal(t, h.sent[0][1], p[1])
	}
}

// A copy carries on from the original's state (state, restart counter and timer, identifier,
// outstanding request) through its own send function and layer, and the two run independently.
func TestCopyState(t *testing.T) {
	cfg := Config{MaxConfigure: 4, Restart: time.Second}
	src := newHarness(cfg)
	src.f.Open(src.now)
	src.f.Up(src.now)
	src.now = src.now.Add(time.Second)
	src.f.Tick(src.now) // one retransmission: restarts 2 left
	require.Len(t, src.sent, 2)

	dst := newHarness(cfg)
	dst.now = src.now
	dst.f.CopyState(src.f)
	assert.Equal(t, src.f.State(), dst.f.State())
	assert.Equal(t, src.f.Deadline(), dst.f.Deadline())
	assert.Equal(t, src.f.Stats(), dst.f.Stats())
	for range 3 { // two more retransmissions, then the timeout that gives up
		dst.now = dst.now.Add(time.Second)
		dst.f.Tick(dst.now)
	}
	assert.Equal(t, []int{1, 1}, codesOf(dst.sent), "the copy's own send, with the restarts left")
	assert.Equal(t, src.sent[0][:8], dst.sent[0][:8], "same identifier and request")
	assert.Equal(t, []action{actTLF}, dst.r.layerCalls, "the copy's own layer")
	assert.Equal(t, Stopped, dst.f.State())
	assert.Len(t, src.sent, 2, "the original is untouched")
	assert.Equal(t, ReqSent, src.f.State())
}

// Close to a silent peer: Max-Terminate Terminate-Requests, then Closed, in bounded time.
func TestMaxTerminateExhaustion(t *testing.T) {
	ra := &numRules{want: 1, limit: 1}
	rb := &numRules{want: 1, limit: 1}
	p := newPair(Config{Restart: time.Second}, ra, rb)
	p.a.Open(p.now)
	p.a.Up(p.now)
	p.b.Open(p.now)
	p.b.Up(p.now)
	p.pump(t)
	require.Equal(t, Opened, p.a.State())
	p.dropToB = true
	p.logA = nil
	start := p.now
	p.a.Close(p.now)
	for p.a.State() != Closed {
		p.advance(100 * time.Millisecond)
		require.Less(t, p.now.Sub(start), 10*time.Second)
	}
	assert.Equal(t, []Code{TerminateRequest, TerminateRequest}, p.logA)
	assert.Equal(t, 2*time.Second, p.now.Sub(start))
	assert.Equal(t, 1, ra.finished)
}

func TestCloseWithAnsweringPeer(t *testing.T) {
	ra := &numRules{want: 1, limit: 1}
	rb := &numRules{want: 1, limit: 1}
	p := newPair(Config{}, ra, rb)
	p.a.Open(p.now)
	p.a.Up(p.now)
	p.b.Open(p.now)
	p.b.Up(p.now)
	p.pump(t)
	p.a.Close(p.now)
	p.pump(t)
	assert.Equal(t, Closed, p.a.State())
	assert.Equal(t, Stopping, p.b.State())
	assert.ErrorIs(t, p.b.Reason(), ErrTerminatedByPeer)
	p.advance(3 * time.Second) // zrc: b finishes after one restart period
	assert.Equal(t, Stopped, p.b.State())
	assert.Equal(t, 1, rb.finished)
	assert.Equal(t, 1, rb.downs)
}

func TestAckValidation(t *testing.T) {
	h := newHarness(Config{})
	h.f.Open(h.now)
	h.f.Up(h.now)
	id := h.sent[0][1]
	// Wrong identifier.
	h.f.Input(h.now, []byte{2, id + 1, 0, 8, 1, 4, 0x05, 0xdc})
	assert.Equal(t, ReqSent, h.f.State())
	// Right identifier, different options.
	h.f.Input(h.now, []byte{2, id, 0, 8, 1, 4, 0x05, 0xdd})
	assert.Equal(t, ReqSent, h.f.State())
	// Good Ack (with padding after the length).
	h.f.Input(h.now, []byte{2, id, 0, 8, 1, 4, 0x05, 0xdc, 0xff, 0xff})
	assert.Equal(t, AckRcvd, h.f.State())
	// Duplicate Ack is ignored.
	h.f.Input(h.now, []byte{2, id, 0, 8, 1, 4, 0x05, 0xdc})
	assert.Equal(t, AckRcvd, h.f.State())
	assert.Equal(t, 1, h.r.acked)
	assert.Equal(t, uint64(3), h.f.Stats().Discarded)
}

func TestRejectMustBeSubsetOfRequest(t *testing.T) {
	h := newHarness(Config{})
	h.f.Open(h.now)
	h.f.Up(h.now)
	id := h.sent[0][1]
	h.f.Input(h.now, []byte{4, id, 0, 8, 1, 4, 0x05, 0xdd}) // value changed: invalid
	assert.Empty(t, h.r.rejected)
	h.f.Input(h.now, []byte{4, id, 0, 8, 1, 4, 0x05, 0xdc})
	assert.Len(t, h.r.rejected, 1)
	assert.Len(t, h.sent, 2, "a new Configure-Request follows the Reject")
	assert.NotEqual(t, id, h.sent[1][1], "with a new identifier")
}

func TestUnknownCodeIsCodeRejected(t *testing.T) {
	h := newHarness(Config{})
	h.f.Open(h.now)
	h.f.Up(h.now)
	h.sent = nil
	pkt := []byte{0x42, 9, 0, 6, 0xaa, 0xbb}
	h.f.Input(h.now, pkt)
	require.Len(t, h.sent, 1)
	assert.Equal(t, byte(CodeReject), h.sent[0][0])
	assert.Equal(t, pkt, h.sent[0][4:])
}

func TestCodeRejectOfConfigureRequestIsCatastrophic(t *testing.T) {
	h := newHarness(Config{})
	h.f.Open(h.now)
	h.f.Up(h.now)
	h.f.Input(h.now, []byte{7, 1, 0, 8, 1, 1, 0, 4})
	assert.Equal(t, Stopped, h.f.State())
	assert.ErrorIs(t, h.f.Reason(), ErrRejected)
	assert.Contains(t, h.r.layerCalls, actTLF)
}

func TestCodeRejectOfEchoIsPermitted(t *testing.T) {
	h := newHarness(Config{})
	h.f.Open(h.now)
	h.f.Up(h.now)
	h.f.Input(h.now, []byte{7, 1, 0, 8, 9, 1, 0, 4})
	assert.Equal(t, ReqSent, h.f.State())
}

func TestEchoOnlyInOpened(t *testing.T) {
	h := newHarness(Config{})
	h.f.Open(h.now)
	h.f.Up(h.now)
	h.sent = nil
	echo := []byte{9, 3, 0, 8, 0, 0, 0, 1}
	h.f.Input(h.now, echo)
	assert.Empty(t, h.sent, "no Echo-Reply before Opened")
	h.f.state = Opened
	h.f.Input(h.now, echo)
	require.Len(t, h.sent, 1)
	assert.Equal(t, []byte{10, 3, 0, 8, 0x11, 0x22, 0x33, 0x44}, h.sent[0])
	h.f.Input(h.now, []byte{10, 3, 0, 8, 0, 0, 0, 1})
	assert.Equal(t, 1, h.r.echoes)
}

func TestEchoCodesUnknownWithoutEchoMagic(t *testing.T) {
	r := &recorder{}
	var sent [][]byte
	f := New(Config{}, r, r, func(p []byte) { sent = append(sent, append([]byte(nil), p...)) })
	now := time.Unix(0, 0)
	f.Open(now)
	f.Up(now)
	sent = nil
	f.Input(now, []byte{9, 3, 0, 8, 0, 0, 0, 1}) // IPCP has no Echo-Request
	require.Len(t, sent, 1)
	assert.Equal(t, byte(CodeReject), sent[0][0])
}

func TestMalformedPacketsDiscarded(t *testing.T) {
	h := newHarness(Config{})
	h.f.Open(h.now)
	h.f.Up(h.now)
	h.sent = nil
	for _, pkt := range [][]byte{
		nil, {1}, {1, 2, 0}, {1, 2, 0, 3}, {1, 2, 0, 9, 1, 4}, // short, bad length
		{1, 2, 0, 6, 1, 1}, {1, 2, 0, 7, 1, 9, 0}, // option length < 2, overrun
		{7, 2, 0, 4}, // Code-Reject without the rejected packet
	} {
		h.f.Input(h.now, pkt)
	}
	assert.Empty(t, h.sent)
	assert.Equal(t, ReqSent, h.f.State())
}

func TestPacketsIgnoredBeforeLowerUp(t *testing.T) {
	h := newHarness(Config{})
	h.f.Open(h.now)
	h.f.Input(h.now, []byte{1, 1, 0, 4})
	assert.Empty(t, h.sent)
	assert.Equal(t, Starting, h.f.State())
}

func TestOptionsHelpers(t *testing.T) {
	b := AppendOption(nil, 1, []byte{5, 0xdc})
	b = AppendOption(b, 7, nil)
	require.NoError(t, ValidOptions(b))
	var types []byte
	for typ := range Options(b) {
		types = append(types, typ)
	}
	assert.Equal(t, []byte{1, 7}, types)
	assert.True(t, HasOption(b, 7))
	assert.False(t, HasOption(b, 8))
	assert.ErrorIs(t, ValidOptions([]byte{1, 1}), ErrMalformed)
	assert.ErrorIs(t, ValidOptions([]byte{1, 5, 0}), ErrMalformed)
	assert.ErrorIs(t, ValidOptions([]byte{1}), ErrMalformed)

	var r Responder
	r.Ack(1, []byte{1})
	code, out := r.Result(nil)
	assert.Equal(t, ConfigureAck, code)
	assert.Equal(t, []byte{1, 3, 1}, out)
	r.Nak(2, []byte{2})
	code, _ = r.Result(nil)
	assert.Equal(t, ConfigureNak, code)
	r.Reject(3, nil)
	code, out = r.Result(nil)
	assert.Equal(t, ConfigureReject, code)
	assert.Equal(t, []byte{3, 2}, out)
	r.Reset()
	code, out = r.Result(nil)
	assert.Equal(t, ConfigureAck, code)
	assert.Empty(t, out)
}

func TestStringers(t *testing.T) {
	assert.Equal(t, "Ack-Rcvd", AckRcvd.String())
	assert.Equal(t, "RXJ-", RXJMinus.String())
	assert.Equal(t, "ConfReq", ConfigureRequest.String())
	assert.Equal(t, "code=0x42", Code(0x42).String())
	assert.Equal(t, "State(42)", State(42).String())
}

// A peer that naks every request with a value the rules cannot take: after Max-Configure
// Naks further ones are ignored and the retransmissions run out.
func TestNakLoopFromPeerEnds(t *testing.T) {
	h := newHarness(Config{MaxConfigure: 3, Restart: time.Second})
	h.f.Open(h.now)
	h.f.Up(h.now)
	for i := 0; i < 20 && h.f.State() != Stopped; i++ {
		id := h.sent[len(h.sent)-1][1]
		h.f.Input(h.now, []byte{3, id, 0, 8, 1, 4, 0x05, 0xdc})
		h.now = h.now.Add(time.Second)
		h.f.Tick(h.now)
	}
	assert.Equal(t, Stopped, h.f.State())
	assert.ErrorIs(t, h.f.Reason(), ErrNotConverging)
	assert.Len(t, h.r.naked, 3)
}

// closeOnUp closes its automaton from This-Layer-Up, as the link does when LCP opens without
// the authentication it requires.
type closeOnUp struct {
	numRules
	f   *FSM
	now time.Time
}

func (c *closeOnUp) Up() {
	c.ups++
	if c.f.State() != Opened {
		panic("layer action before the state change")
	}
	c.f.Close(c.now)
}

func TestLayerActionRunsInNewState(t *testing.T) {
	ra := &closeOnUp{numRules: numRules{want: 1, limit: 1}}
	rb := &numRules{want: 1, limit: 1}
	p := &pair{ra: &ra.numRules, rb: rb, now: time.Unix(0, 0)}
	p.a = New(Config{}, ra, ra, func(pkt []byte) {
		p.logA = append(p.logA, Code(pkt[0]))
		p.qb = append(p.qb, append([]byte(nil), pkt...))
	})
	p.b = New(Config{}, rb, rb, func(pkt []byte) {
		p.logB = append(p.logB, Code(pkt[0]))
		p.qa = append(p.qa, append([]byte(nil), pkt...))
	})
	ra.f, ra.now = p.a, p.now
	p.a.Open(p.now)
	p.a.Up(p.now)
	p.b.Open(p.now)
	p.b.Up(p.now)
	p.pump(t)
	assert.Equal(t, 1, ra.ups)
	assert.Equal(t, 1, ra.downs, "the Close from Up took the layer down again")
	assert.Equal(t, Closed, p.a.State())
	assert.Contains(t, p.logA, TerminateRequest)
}

// A silent peer (its PPP not started yet) gets our Configure-Request again after FirstRestart,
// then after intervals that double up to Restart; Max-Configure still counts every one.
func TestFirstRestartBacksOffToRestart(t *testing.T) {
	h := newHarness(Config{MaxConfigure: 8, Restart: 3 * time.Second, FirstRestart: 250 * time.Millisecond})
	start := h.now
	h.f.Open(h.now)
	h.f.Up(h.now)
	var at []time.Duration
	for h.f.State() == ReqSent {
		d := h.f.Deadline()
		at = append(at, d.Sub(start))
		h.now = d
		h.f.Tick(h.now)
	}
	ms := time.Millisecond
	assert.Equal(t, []time.Duration{250 * ms, 750 * ms, 1750 * ms, 3750 * ms, 6750 * ms, 9750 * ms, 12750 * ms, 15750 * ms}, at,
		"timeouts: 0.25, 0.5, 1, 2, then 3 s")
	assert.Equal(t, []int{1, 1, 1, 1, 1, 1, 1, 1}, codesOf(h.sent), "Max-Configure requests, no more")
	assert.Equal(t, Stopped, h.f.State())
	assert.ErrorIs(t, h.f.Reason(), ErrNoResponse)
}

// Once the peer has spoken it listens: a missing answer means a slow peer, and the timer runs
// at Restart so that a request it is still working on is not duplicated.
func TestFirstRestartEndsWhenPeerHeard(t *testing.T) {
	h := newHarness(Config{Restart: 3 * time.Second, FirstRestart: 250 * time.Millisecond})
	h.f.Open(h.now)
	h.f.Up(h.now)
	first := h.now
	require.Equal(t, first.Add(250*time.Millisecond), h.f.Deadline(), "nothing heard yet: the short interval")

	// The peer's own Configure-Request arrives before our timer fires: we ack it, and the
	// timer set for our first request still fires early (the request may have been lost
	// before the peer listened).
	h.now = h.now.Add(100 * time.Millisecond)
	h.f.Input(h.now, []byte{byte(ConfigureRequest), 7, 0, 4})
	require.Equal(t, AckSent, h.f.State())
	assert.Equal(t, first.Add(250*time.Millisecond), h.f.Deadline())
	h.now = h.f.Deadline()
	h.f.Tick(h.now)
	assert.Equal(t, h.now.Add(3*time.Second), h.f.Deadline(), "then Restart")

	// A later negotiation (renegotiation after Opened) runs at Restart from its first request.
	h.f.Input(h.now, append([]byte{byte(ConfigureAck), h.sent[len(h.sent)-1][1], 0, byte(4 + len(h.r.request))}, h.r.request...))
	require.Equal(t, Opened, h.f.State())
	h.f.Input(h.now, []byte{byte(TerminateAck), 9, 0, 4}) // RTA in Opened: tld, scr
	require.Equal(t, ReqSent, h.f.State())
	assert.Equal(t, h.now.Add(3*time.Second), h.f.Deadline())
}

// Without FirstRestart every interval is Restart (the RFC's plain timer).
func TestRestartWithoutFirstRestart(t *testing.T) {
	h := newHarness(Config{Restart: 3 * time.Second})
	h.f.Open(h.now)
	h.f.Up(h.now)
	assert.Equal(t, h.now.Add(3*time.Second), h.f.Deadline())
	h.now = h.f.Deadline()
	h.f.Tick(h.now)
	assert.Equal(t, h.now.Add(3*time.Second), h.f.Deadline())
}

// A peer that starts listening only after our timer has grown announces itself with its own
// Configure-Request: our unanswered request goes out again FirstRestart later, not at the end
// of the grown interval. A first packet that answers our request changes nothing.
func TestFirstPacketFromPeerBringsRestartForward(t *testing.T) {
	h := newHarness(Config{Restart: 3 * time.Second, FirstRestart: 250 * time.Millisecond})
	start := h.now
	h.f.Open(h.now)
	h.f.Up(h.now)
	for range 3 { // timeouts at 0.25, 0.75, 1.75 s: the next is due at 3.75 s
		h.now = h.f.Deadline()
		h.f.Tick(h.now)
	}
	require.Equal(t, start.Add(3750*time.Millisecond), h.f.Deadline())
	h.now = start.Add(2 * time.Second)
	h.f.Input(h.now, []byte{byte(ConfigureRequest), 1, 0, 4})
	require.Equal(t, AckSent, h.f.State())
	assert.Equal(t, start.Add(2250*time.Millisecond), h.f.Deadline(), "brought forward to FirstRestart from now")
	h.now = h.f.Deadline()
	h.f.Tick(h.now)
	assert.Equal(t, []int{1, 1, 1, 1, 2, 1}, codesOf(h.sent), "four requests, our Ack, the request again")
	assert.Equal(t, h.now.Add(3*time.Second), h.f.Deadline(), "then Restart")

	// The peer's first packet acks our request: the timer is left as it was (Ack-Rcvd waits for
	// the peer's request).
	h = newHarness(Config{Restart: 3 * time.Second, FirstRestart: 250 * time.Millisecond})
	h.f.Open(h.now)
	h.f.Up(h.now)
	h.now = h.f.Deadline()
	h.f.Tick(h.now) // the next is due 0.5 s later
	due := h.f.Deadline()
	h.now = h.now.Add(100 * time.Millisecond)
	h.f.Input(h.now, append([]byte{byte(ConfigureAck), h.sent[0][1], 0, byte(4 + len(h.r.request))}, h.r.request...))
	require.Equal(t, AckRcvd, h.f.State())
	assert.Equal(t, due, h.f.Deadline())
}
