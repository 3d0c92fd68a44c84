package metrics

import "github.com/prometheus/client_golang/prometheus"

// SOCKSCounters are the SOCKS egress's figures at one moment (socks.Server.Stats, mapped by the
// caller: this package does not link the SOCKS server). The *Total fields only grow.
type SOCKSCounters struct {
	Conns, Associations int // open now

	RefusedConns, RefusedAssociations, RefusedAuth, HandshakeTimeouts uint64
	DialFailures, IdleAssociations                                    uint64

	DroppedForeignSource, DroppedFragmented, DroppedMalformed, DroppedUnreachable uint64
}

var (
	descSOCKSConns   = desc("pppdial_socks_connections", "SOCKS client connections open now.")
	descSOCKSAssocs  = desc("pppdial_socks_udp_associations", "SOCKS UDP associations open now.")
	descSOCKSRefused = desc("pppdial_socks_refused_total", "SOCKS clients and requests refused, by reason (max_conns, max_udp, auth, handshake_timeout).", "reason")
	descSOCKSDialErr = desc("pppdial_socks_dial_failures_total", "SOCKS CONNECT destinations that could not be reached.")
	descSOCKSIdle    = desc("pppdial_socks_udp_idle_closed_total", "SOCKS UDP associations ended because no datagram came for the idle timeout.")
	descSOCKSDropped = desc("pppdial_socks_dropped_datagrams_total", "Datagrams the SOCKS UDP relay did not carry, by reason (foreign_source, fragmented, malformed, unreachable).", "reason")
)

var socksDescs = []*prometheus.Desc{descSOCKSConns, descSOCKSAssocs, descSOCKSRefused, descSOCKSDialErr, descSOCKSIdle, descSOCKSDropped}

// SetSOCKS makes f the source of the pppdial_socks_* families, read at every scrape; nil removes
// them (no SOCKS server). f must not call the Collector.
func (c *Collector) SetSOCKS(f func() SOCKSCounters) {
	c.mu.Lock()
	c.socks = f
	c.mu.Unlock()
}

func collectSOCKS(ch chan<- prometheus.Metric, s SOCKSCounters) {
	gauge(ch, descSOCKSConns, float64(s.Conns))
	gauge(ch, descSOCKSAssocs, float64(s.Associations))
	for _, r := range []struct {
		reason string
		v      uint64
	}{{"max_conns", s.RefusedConns}, {"max_udp", s.RefusedAssociations}, {"auth", s.RefusedAuth}, {"handshake_timeout", s.HandshakeTimeouts}} {
		counter(ch, descSOCKSRefused, r.v, r.reason)
	}
	counter(ch, descSOCKSDialErr, s.DialFailures)
	counter(ch, descSOCKSIdle, s.IdleAssociations)
	for _, r := range []struct {
		reason string
		v      uint64
	}{{"foreign_source", s.DroppedForeignSource}, {"fragmented", s.DroppedFragmented}, {"malformed", s.DroppedMalformed}, {"unreachable", s.DroppedUnreachable}} {
		counter(ch, descSOCKSDropped, r.v, r.reason)
	}
}
