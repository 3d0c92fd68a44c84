package ppp

import (
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"
	"time"
)

// frame is one frame on the in-memory wire.
type frame struct {
	proto uint16
	info  []byte
}

// recSink records what a Link outputs and queues its frames for the peer.
type recSink struct {
	sent      []frame
	delivered []frame
	events    []Event
	framings  []Framing
	queue     *[]frame // the peer's inbound queue
	drop      bool     // drop everything sent (a dead peer)
	// framingAt records, for each SetFraming, how many frames had been sent before it.
	framingAt []int
}

func (s *recSink) SendFrame(p uint16, info []byte) {
	f := frame{p, append([]byte(nil), info...)}
	s.sent = append(s.sent, f)
	if s.queue != nil && !s.drop {
		*s.queue = append(*s.queue, f)
	}
}
func (s *recSink) Deliver(p uint16, pkt []byte) {
	s.delivered = append(s.delivered, frame{p, append([]byte(nil), pkt...)})
}
func (s *recSink) SetFraming(f Framing) {
	s.framings = append(s.framings, f)
	s.framingAt = append(s.framingAt, len(s.sent))
}
func (s *recSink) Event(e Event) { s.events = append(s.events, e) }

func (s *recSink) kinds() []EventKind {
	var k []EventKind
	for _, e := range s.events {
		k = append(k, e.Kind)
	}
	return k
}

// wire connects two Links back to back with a fake clock: deterministic, no goroutines.
type wire struct {
	t      testing.TB
	a, b   *Link
	sa, sb *recSink
	qa, qb []frame // inbound queues of a and b
	now    time.Time
	// filter, when set, may drop or alter a frame in flight (to is "a" or "b").
	filter func(to string, f frame) (frame, bool)
}

func newWire(t testing.TB, ca, cb Config) *wire {
	w := &wire{t: t, now: time.Unix(1_700_000_000, 0)}
	w.sa = &recSink{queue: &w.qb}
	w.sb = &recSink{queue: &w.qa}
	if ca.Rand == nil {
		ca.Rand = rand.NewChaCha8([32]byte{1})
	}
	if cb.Rand == nil {
		cb.Rand = rand.NewChaCha8([32]byte{2})
	}
	w.a = NewLink(ca, w.sa)
	w.b = NewLink(cb, w.sb)
	return w
}

func (w *wire) open() {
	w.a.Open(w.now)
	w.b.Open(w.now)
}

// pump delivers all queued frames at the current time.
func (w *wire) pump() {
	for i := 0; len(w.qa)+len(w.qb) > 0; i++ {
		if i >= 100000 { // not require.Less: this runs for every frame (fuzz targets)
			w.t.Fatal("frames never stop")
		}
		if len(w.qa) > 0 {
			f := w.qa[0]
			w.qa = w.qa[1:]
			if w.pass("a", &f) {
				w.a.Input(w.now, f.proto, f.info)
			}
		}
		if len(w.qb) > 0 {
			f := w.qb[0]
			w.qb = w.qb[1:]
			if w.pass("b", &f) {
				w.b.Input(w.now, f.proto, f.info)
			}
		}
	}
}

func (w *wire) pass(to string, f *frame) bool {
	if w.filter == nil {
		return true
	}
	nf, ok := w.filter(to, *f)
	*f = nf
	return ok
}

// run pumps frames and advances the clock to the next deadline until cond holds or limit of
// simulated time passes; it returns whether cond held.
func (w *wire) run(limit time.Duration, cond func() bool) bool {
	end := w.now.Add(limit)
	for spins := 0; ; spins++ {
		if spins > 10000 {
			w.t.Fatalf("timers spin without time passing: a next=%v b next=%v now=%v", w.a.NextDeadline(), w.b.NextDeadline(), w.now)
		}
		w.pump()
		if cond() {
			return true
		}
		next := earliest(w.a.NextDeadline(), w.b.NextDeadline())
		if next.IsZero() || next.After(end) {
			w.now = end
			w.a.Tick(w.now)
			w.b.Tick(w.now)
			w.pump()
			return cond()
		}
		if next.After(w.now) {
			w.now = next
			spins = 0
		}
		w.a.Tick(w.now)
		w.b.Tick(w.now)
	}
}

// clone returns a wire whose Links carry on from w's state, independently: the same phases,
// automata, timers, negotiated options, counters and random streams, and the frames in flight.
// Its sinks start empty. w must have been built by newWire.
func (w *wire) clone(t testing.TB) *wire {
	c := &wire{t: t}
	c.sa = &recSink{queue: &c.qb}
	c.sb = &recSink{queue: &c.qa}
	c.a, c.b = newLinkLike(w.a, c.sa), newLinkLike(w.b, c.sb)
	w.copyTo(c, t)
	return c
}

// copyTo makes c, a clone of w, carry on from w's state again, whatever it did since; it
// allocates (almost) nothing. The negotiators' scratch buffers are shared with w's: run one of
// w's copies at a time, and not w itself any more.
func (w *wire) copyTo(c *wire, t testing.TB) {
	c.t, c.now, c.filter = t, w.now, w.filter
	c.qa, c.qb = copyFrames(c.qa, w.qa), copyFrames(c.qb, w.qb)
	for _, s := range []*recSink{c.sa, c.sb} {
		s.sent, s.delivered, s.events = s.sent[:0], s.delivered[:0], s.events[:0]
		s.framings, s.framingAt = s.framings[:0], s.framingAt[:0]
	}
	w.a.copyTo(c.a)
	w.b.copyTo(c.b)
}

func copyFrames(dst, src []frame) []frame {
	dst = dst[:0]
	for _, f := range src {
		dst = append(dst, frame{f.proto, slices.Clone(f.info)})
	}
	return dst
}

// newLinkLike returns a Link with l's configuration and a random source of its own, for
// copyTo. l's random source must be the harness's *rand.ChaCha8.
func newLinkLike(l *Link, sink Sink) *Link {
	rng := *l.cfg.Rand.(*rand.ChaCha8)
	cfg := l.cfg
	cfg.Rand = &rng
	return NewLink(cfg, sink)
}

// copyTo makes n, a Link from newLinkLike(l), carry on from l's state: n keeps its own
// automata, negotiators, layers and random source (all bound to n), and takes l's state into
// them.
func (l *Link) copyTo(n *Link) {
	*n.cfg.Rand.(*rand.ChaCha8) = *l.cfg.Rand.(*rand.ChaCha8)
	keep := *n
	*n = *l
	n.cfg, n.sink, n.log, n.buf = keep.cfg, keep.sink, keep.log, keep.buf[:0]
	n.status.DNS = append(keep.status.DNS[:0:0], l.status.DNS...)
	n.lcp, n.ipcp, n.v6 = keep.lcp, keep.ipcp, keep.v6
	n.lcp.CopyState(l.lcp)
	n.ipcp.CopyState(l.ipcp)
	if n.v6 != nil {
		n.v6.CopyState(l.v6)
	}
	// The negotiators hold values only, but for their random sources, bound to n.
	n.lcpN, n.ipcpN, n.v6N = keep.lcpN, keep.ipcpN, keep.v6N
	r32 := n.lcpN.Rand
	*n.lcpN = *l.lcpN
	n.lcpN.Rand = r32
	*n.ipcpN = *l.ipcpN
	if n.v6N != nil {
		rb := n.v6N.Rand
		*n.v6N = *l.v6N
		n.v6N.Rand = rb
	}
}

func earliest(a, b time.Time) time.Time {
	switch {
	case a.IsZero():
		return b
	case b.IsZero():
		return a
	case b.Before(a):
		return b
	}
	return a
}

func bothUp(w *wire) func() bool {
	return func() bool { return w.a.Status().IPv4 && w.b.Status().IPv4 }
}

var (
	addr       = netip.MustParseAddr
	clientConf = Config{Role: Client, Username: "user", Password: "secret"}
	serverConf = Config{Role: Server, Username: "user", Password: "secret",
		LocalAddr: addr("10.0.0.1"), PeerAddr: addr("10.0.0.2"),
		DNS: []netip.Addr{addr("10.0.0.1"), addr("9.9.9.9")}}
)
