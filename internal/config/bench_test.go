package config_test

import (
	"testing"

	"github.com/pppdial/pppdial/internal/config"
)

// BenchmarkParse measures checking the README's two-link file (secret files included).
func BenchmarkParse(b *testing.B) {
	data := []byte(example(b))
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := config.Parse("bench.toml", data, schema()); err != nil {
			b.Fatal(err)
		}
	}
}
