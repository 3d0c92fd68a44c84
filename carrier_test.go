package pppdial

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pppdial/pppdial/at"
	"github.com/pppdial/pppdial/internal/serialline"
	"github.com/pppdial/pppdial/modemsim"
)

// chunked is a stream that returns its data in fixed-size reads, as a serial port does.
type chunked struct {
	data []byte
	size int
}

func (c *chunked) Read(b []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	n := min(len(b), c.size, len(c.data))
	copy(b, c.data[:n])
	c.data = c.data[n:]
	return n, nil
}

func (c *chunked) Write(b []byte) (int, error) { return len(b), nil }

// drain reads w to the end and returns what passed and the error that ended it.
func drain(w *carrierWatch) ([]byte, error) {
	var out []byte
	buf := make([]byte, 64)
	for {
		n, err := w.Read(buf)
		out = append(out, buf[:n]...)
		if err != nil {
			return out, err
		}
	}
}

func TestCarrierWatch(t *testing.T) {
	frame := []byte("~\xff\x03\xc0\x21\x09\x01\x00\x08abcd\x12\x34~")
	for name, tc := range map[string]struct {
		stream []byte
		lost   bool
	}{
		"between frames":         {append(append([]byte{}, frame...), "\r\nNO CARRIER\r\n"...), true},
		"at the start":           {[]byte("\r\nNO CARRIER\r\n"), true},
		"LF only":                {append(append([]byte{}, frame...), "\nNO CARRIER\n"...), true},
		"inside a frame payload": {[]byte("~\x21\x45\r\nNO CARRIER\r\nmore data~"), false},
		"no line end yet":        {append(append([]byte{}, frame...), "\r\nNO CARRIER"...), false},
		"other result code":      {append(append([]byte{}, frame...), "\r\nOK\r\n"...), false},
		"plain frames":           {bytes.Repeat(frame, 5), false},
	} {
		for _, size := range []int{1, 3, 7, 64} {
			w := newCarrierWatch(&chunked{data: tc.stream, size: size})
			out, err := drain(w)
			if tc.lost {
				require.ErrorIs(t, err, ErrCarrierLost, "%s (reads of %d)", name, size)
				assert.ErrorIs(t, err, at.ErrNoCarrier)
			} else {
				require.ErrorIs(t, err, io.EOF, "%s (reads of %d)", name, size)
				assert.Equal(t, tc.stream, out, "%s: bytes pass untouched", name)
			}
		}
	}
}

func FuzzCarrierWatch(f *testing.F) {
	f.Add([]byte("~\xff\x03\xc0\x21~\r\nNO CARRIER\r\n"), uint8(3))
	f.Add([]byte("\r\nNO CARRIER\r\n"), uint8(1))
	f.Add([]byte("~~~~\r\n\r\n\r\nNO CARRIER\n"), uint8(5))
	f.Fuzz(func(t *testing.T, stream []byte, size uint8) {
		w := newCarrierWatch(&chunked{data: stream, size: int(size%64) + 1})
		out, err := drain(w)
		if !errors.Is(err, ErrCarrierLost) && !errors.Is(err, io.EOF) {
			t.Fatalf("unexpected error %v", err)
		}
		if !bytes.HasPrefix(stream, out) {
			t.Fatalf("bytes changed in passing")
		}
		if errors.Is(err, io.EOF) && len(out) != len(stream) {
			t.Fatalf("bytes lost")
		}
		// Whenever the stream holds a NO CARRIER line right after a flag, it is found.
		if bytes.Contains(stream, []byte("~\r\nNO CARRIER\r\n")) && !errors.Is(err, ErrCarrierLost) {
			t.Fatalf("missed NO CARRIER in %q", stream)
		}
	})
}

// dcdLine is an emulated serial line with a carrier-detect wire the test controls.
type dcdLine struct {
	*serialline.Port
	dcd atomic.Bool
}

func (l *dcdLine) CarrierDetect() (bool, error) { return l.dcd.Load(), nil }

func TestSessionNoticesDCDDrop(t *testing.T) {
	r := newRig(t, modemsim.EC25(), serialline.Options{})
	r.mu.Lock()
	line := &dcdLine{Port: r.host}
	r.mu.Unlock()
	line.dcd.Store(true)
	cfg := r.config()
	cfg.Open = func(context.Context) (io.ReadWriteCloser, error) { return line, nil }
	sess := r.dial(cfg)
	require.True(t, sess.Netif().IsUp())

	start := time.Now()
	line.dcd.Store(false) // the modem lost the call; no NO CARRIER text this time
	down := r.waitEvent(EventDown, 3*time.Second)
	assert.Less(t, time.Since(start), time.Second, "noticed within a second")
	assert.ErrorIs(t, down.Err, ErrDCDLost)
	assert.ErrorIs(t, down.Err, ErrCarrierLost)
	assert.Equal(t, CodeLinkLost, down.Code)
}

func TestCarrierWatchNoCarrierAfterTruncatedFrame(t *testing.T) {
	// Unpaced, the bytes come in one read; at 9600 baud a few at a time, so the line is split
	// across reads.
	for _, baud := range []int{0, 9600} {
		host, modem := serialline.Pipe(serialline.Options{Baud: baud})
		defer host.Close()
		defer modem.Close()
		w := newCarrierWatch(host)
		// The call dropped in the middle of a frame: its tail never comes, the modem's line does.
		_, err := modem.Write([]byte("~\xff\x03\x00\x21\x45\x00\x05\xdc\r\nNO CARRIER\r\n"))
		require.NoError(t, err)
		start := time.Now()
		_, err = drain(w)
		require.ErrorIs(t, err, ErrCarrierLost, "baud %d", baud)
		assert.GreaterOrEqual(t, time.Since(start), noCarrierQuiet, "only after the line stayed quiet")
		assert.Less(t, time.Since(start), time.Second)
	}

	// The same bytes followed by more of the frame are payload, not a result code.
	host2, modem2 := serialline.Pipe(serialline.Options{})
	defer host2.Close()
	w2 := newCarrierWatch(host2)
	go func() {
		_, _ = modem2.Write([]byte("~\x21\x45 log: \r\nNO CARRIER\r\n"))
		time.Sleep(50 * time.Millisecond)
		_, _ = modem2.Write([]byte("and more~"))
		time.Sleep(2 * noCarrierQuiet)
		modem2.Close()
	}()
	out, err := drain(w2)
	require.ErrorIs(t, err, io.EOF)
	assert.True(t, bytes.HasSuffix(out, []byte("and more~")))

	// The link's own deadline still works while the watch is suspicious.
	host3, modem3 := serialline.Pipe(serialline.Options{})
	defer host3.Close()
	defer modem3.Close()
	w3 := newCarrierWatch(host3)
	_, err = modem3.Write([]byte("~\x21\x45\r\nNO CARRIER\r\n"))
	require.NoError(t, err)
	_, err = w3.Read(make([]byte, 64))
	require.NoError(t, err)
	require.NoError(t, w3.SetReadDeadline(time.Now()))
	_, err = w3.Read(make([]byte, 64))
	assert.ErrorIs(t, err, os.ErrDeadlineExceeded, "teardown's deadline is reported as such")
}

// loopReader returns the same data forever.
type loopReader struct{ data []byte }

func (l *loopReader) Read(b []byte) (int, error)  { return copy(b, l.data), nil }
func (l *loopReader) Write(b []byte) (int, error) { return len(b), nil }

// The watch is on every byte of the link: it must cost next to nothing.
func BenchmarkCarrierWatch(b *testing.B) {
	// A frame of binary data: a line end now and then (1 in 256), flags at its ends.
	frame := make([]byte, 1500)
	for i := range frame {
		frame[i] = byte(i*131 + i/7)
		if frame[i] == 0x7e {
			frame[i] = 0x7d
		}
	}
	frame[0], frame[len(frame)-1] = 0x7e, 0x7e
	w := newCarrierWatch(&loopReader{data: frame})
	buf := make([]byte, len(frame))
	b.SetBytes(int64(len(frame)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := w.Read(buf); err != nil {
			b.Fatal(err)
		}
	}
}
