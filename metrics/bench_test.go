package metrics

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// BenchmarkObserveEchoRTT is the session's push per answered keepalive: it must not allocate.
func BenchmarkObserveEchoRTT(b *testing.B) {
	l := New(Options{}).Link("pp0")
	b.ReportAllocs()
	d := time.Duration(0)
	for b.Loop() {
		d += 7 * time.Millisecond
		l.ObserveEchoRTT(d % (3 * time.Second))
	}
}

// BenchmarkSetSignal is one signal poll's push.
func BenchmarkSetSignal(b *testing.B) {
	c := New(Options{})
	l := busyLink(c)
	p := l.signal
	b.ReportAllocs()
	for b.Loop() {
		l.SetSignal(p)
	}
}

// BenchmarkGather is one scrape of a busy link through a registry (what /metrics costs,
// encoding aside).
func BenchmarkGather(b *testing.B) {
	c := New(Options{})
	busyLink(c).SetUsage(fixedUsage{})
	reg := prometheus.NewRegistry()
	reg.MustRegister(c)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := reg.Gather(); err != nil {
			b.Fatal(err)
		}
	}
}
