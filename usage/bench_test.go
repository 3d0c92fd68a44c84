package usage

import (
	"context"
	"testing"
)

// BenchmarkObserve is one counter update from the session (per tick, per
// link event): it must not allocate.
func BenchmarkObserve(b *testing.B) {
	m, err := Open(b.TempDir(), testICCID, Options{Quota: 1 << 62})
	if err != nil {
		b.Fatal(err)
	}
	l := m.NewLink()
	b.ReportAllocs()
	var rx uint64
	for b.Loop() {
		rx += 1500
		l.Observe(rx, rx/10)
	}
}

// BenchmarkFlush is one state file write (encode, temp file, fsync,
// rename, directory fsync): the cost paid every --usage-interval.
func BenchmarkFlush(b *testing.B) {
	m, err := Open(b.TempDir(), testICCID, Options{})
	if err != nil {
		b.Fatal(err)
	}
	l := m.NewLink()
	ctx := context.Background()
	b.ReportAllocs()
	var rx uint64
	for b.Loop() {
		rx++
		l.Observe(rx, 0)
		if err := m.Flush(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseState is reading the state file at Open.
func BenchmarkParseState(b *testing.B) {
	data := goodFile(b, testICCID)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := parseState(data, testICCID); err != nil {
			b.Fatal(err)
		}
	}
}
