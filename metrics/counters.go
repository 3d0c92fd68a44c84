package metrics

import "github.com/pppdial/pppdial/hdlc"

// Counters are one PPP link's cumulative counters since it started, as the session reads them:
// IP bytes and packets from the link's netif.Counters, frame errors from its ppp.Stats.
type Counters struct {
	RxBytes, TxBytes     uint64 // IP bytes received and sent (netif BytesIn, BytesOut)
	RxPackets, TxPackets uint64 // IP packets received and sent (netif PacketsIn, PacketsOut)
	// Framing is the HDLC decoder's and encoder's counters (ppp.Stats.Framing); its error
	// counts are exported by kind.
	Framing hdlc.Stats
	// Discarded is frames with a good FCS that the PPP link dropped: malformed, or not
	// acceptable in the phase (ppp.Stats.Discarded).
	Discarded uint64
}

// frameErrorKinds are the kind label values of pppdial_frame_errors_total.
var frameErrorKinds = []struct {
	name string
	get  func(Counters) uint64
}{
	{"fcs", func(c Counters) uint64 { return c.Framing.FCSErrors }},
	{"abort", func(c Counters) uint64 { return c.Framing.Aborts }},
	{"too_long", func(c Counters) uint64 { return c.Framing.TooLong }},
	{"runt", func(c Counters) uint64 { return c.Framing.Runts }},
	{"bad_protocol", func(c Counters) uint64 { return c.Framing.BadProtocol }},
	{"discarded", func(c Counters) uint64 { return c.Discarded }},
}

// counterBase keeps exported counters monotonic over a succession of sources, each counting
// from zero. Not safe for concurrent use: the Link's lock guards it.
type counterBase struct {
	src  func() Counters
	base Counters // what ended sources (and restarts of the current one) counted
	last Counters // the current source's last reading
}

// setSource retires the current source, after one last reading, and starts f.
func (b *counterBase) setSource(f func() Counters) {
	if b.src != nil {
		b.observe(b.src())
	}
	b.base = b.base.add(b.last)
	b.last = Counters{}
	b.src = f
}

// read returns base plus the current source's counters.
func (b *counterBase) read() Counters {
	if b.src != nil {
		b.observe(b.src())
	}
	return b.base.add(b.last)
}

// observe takes a reading of the current source. A counter below its last reading means the
// source restarted: what it had counted moves into the base.
func (b *counterBase) observe(c Counters) {
	if c.less(b.last) {
		b.base = b.base.add(b.last)
	}
	b.last = c
}

func (c Counters) add(o Counters) Counters {
	return Counters{
		RxBytes: c.RxBytes + o.RxBytes, TxBytes: c.TxBytes + o.TxBytes,
		RxPackets: c.RxPackets + o.RxPackets, TxPackets: c.TxPackets + o.TxPackets,
		Framing:   c.Framing.Add(o.Framing),
		Discarded: c.Discarded + o.Discarded,
	}
}

// less reports whether any counter of c is below o's.
func (c Counters) less(o Counters) bool {
	f, g := c.Framing, o.Framing
	return c.RxBytes < o.RxBytes || c.TxBytes < o.TxBytes || c.RxPackets < o.RxPackets ||
		c.TxPackets < o.TxPackets || c.Discarded < o.Discarded ||
		f.FramesIn < g.FramesIn || f.BytesIn < g.BytesIn || f.FramesOut < g.FramesOut ||
		f.BytesOut < g.BytesOut || f.FCSErrors < g.FCSErrors || f.Aborts < g.Aborts ||
		f.TooLong < g.TooLong || f.Runts < g.Runts || f.BadProtocol < g.BadProtocol
}
