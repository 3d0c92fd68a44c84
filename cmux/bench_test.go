package cmux_test

import (
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/pppdial/pppdial/cmux"
)

// BenchmarkMux pushes data through a host channel, the in-memory line and the modem's channel:
// framing, the line, the reader's decoding and demultiplexing, the channel buffers. One op is a
// 64 KiB Write, so allocs/op counts allocations per ~500 frames at N1 127.
func BenchmarkMux(b *testing.B) {
	for _, n1 := range []int{31, 127, 1500} {
		b.Run(fmt.Sprintf("N1=%d", n1), func(b *testing.B) {
			host, modem, _, _ := muxPair(b, cmux.Config{N1: n1}, cmux.Config{N1: n1})
			h, m := openPair(b, host, modem, 2)
			block := make([]byte, 64<<10)
			total := int64(len(block)) * int64(b.N)
			done := make(chan error, 1)
			go func() {
				_, err := io.CopyN(io.Discard, m, total)
				done <- err
			}()
			b.SetBytes(int64(len(block)))
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if _, err := h.Write(block); err != nil {
					b.Fatal(err)
				}
			}
			select {
			case err := <-done:
				if err != nil {
					b.Fatal(err)
				}
			case <-time.After(10 * time.Second):
				b.Fatalf("reader stuck: modem %+v host %+v", modem.Stats(), host.Stats())
			}
			b.StopTimer()
			frames := m.Stats().FramesIn
			b.ReportMetric(float64(frames)/float64(b.N), "frames/op")
		})
	}
}

// BenchmarkDecoder decodes a stream of UIH frames of N1 127 fed in 4 KiB reads.
func BenchmarkDecoder(b *testing.B) {
	info := make([]byte, 127)
	var stream []byte
	for len(stream) < 64<<10 {
		stream, _ = cmux.AppendFrame(stream, cmux.Frame{DLCI: 2, CR: true, Type: cmux.UIH, Info: info})
	}
	dec := cmux.NewDecoder(127)
	b.SetBytes(int64(len(stream)))
	b.ReportAllocs()
	for range b.N {
		p := stream
		for len(p) > 0 {
			n := dec.Feed(p[:min(4096, len(p))])
			p = p[n:]
			for {
				if _, ok := dec.Next(); !ok {
					break
				}
			}
		}
	}
}

// BenchmarkAppendFrame encodes UIH frames of N1 127 into a reused buffer.
func BenchmarkAppendFrame(b *testing.B) {
	info := make([]byte, 127)
	buf := make([]byte, 0, cmux.FrameLen(127))
	b.SetBytes(int64(len(info)))
	b.ReportAllocs()
	for range b.N {
		buf, _ = cmux.AppendFrame(buf[:0], cmux.Frame{DLCI: 2, CR: true, Type: cmux.UIH, Info: info})
	}
}
