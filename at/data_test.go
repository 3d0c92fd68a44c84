package at

import (
	"bytes"
	"errors"
	"io"
	"os"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pppdial/pppdial/internal/serialline"
)

// dataMode puts p in data mode, as a CONNECT would, and returns its data line.
func dataMode(p *Port) *dataLine {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.enterDataLocked()
	return p.data
}

// drainData reads stream through a data line in reads of size bytes, to the end, and returns
// what passed and the error that ended it.
func drainData(stream []byte, size int) ([]byte, error) {
	p := bufferedPort(stream)
	p.err = io.EOF // the line ends after the stream
	return readAll(dataMode(p), size)
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
			out, err := drainData(tc.stream, size)
			if tc.lost {
				require.ErrorIs(t, err, ErrCarrierLost, "%s (reads of %d)", name, size)
				assert.ErrorIs(t, err, ErrNoCarrier)
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
		out, err := drainData(stream, int(size%64)+1)
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

// readAll reads d in reads of size bytes until an error.
func readAll(d *dataLine, size int) ([]byte, error) {
	var out []byte
	buf := make([]byte, size)
	for {
		n, err := d.Read(buf)
		out = append(out, buf[:n]...)
		if err != nil {
			return out, err
		}
	}
}

func TestCarrierWatchNoCarrierAfterTruncatedFrame(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// Unpaced, the bytes come in one read; at 9600 baud a few at a time, so the line is split
		// across reads.
		for _, baud := range []int{0, 9600} {
			host, modem := serialline.Pipe(serialline.Options{Baud: baud})
			p := NewPort(host)
			d := dataMode(p)
			// The call dropped in the middle of a frame: its tail never comes, the modem's line does.
			_, err := modem.Write([]byte("~\xff\x03\x00\x21\x45\x00\x05\xdc\r\nNO CARRIER\r\n"))
			require.NoError(t, err)
			start := time.Now()
			_, err = readAll(d, 64)
			require.ErrorIs(t, err, ErrCarrierLost, "baud %d", baud)
			assert.GreaterOrEqual(t, time.Since(start), noCarrierQuiet, "only after the line stayed quiet")
			assert.Less(t, time.Since(start), time.Second)
			p.mu.Lock()
			assert.Nil(t, p.data, "the modem is in command mode again")
			p.mu.Unlock()
			p.Close()
			modem.Close()
		}

		// The same bytes followed by more of the frame are payload, not a result code.
		host2, modem2 := serialline.Pipe(serialline.Options{})
		p2 := NewPort(host2)
		defer p2.Close()
		d2 := dataMode(p2)
		_, err := modem2.Write([]byte("~\x21\x45 log: \r\nNO CARRIER\r\n"))
		require.NoError(t, err)
		got, err := d2.Read(make([]byte, 64))
		require.NoError(t, err)
		require.Equal(t, len("~\x21\x45 log: \r\nNO CARRIER\r\n"), got)
		_, err = modem2.Write([]byte("and more~"))
		require.NoError(t, err)
		b := make([]byte, 64)
		n, err := d2.Read(b)
		require.NoError(t, err, "the frame went on: payload")
		assert.Equal(t, "and more~", string(b[:n]))
		modem2.Close()

		// The link's own deadline still works while the watch is suspicious.
		host3, modem3 := serialline.Pipe(serialline.Options{})
		p3 := NewPort(host3)
		defer p3.Close()
		defer modem3.Close()
		d3 := dataMode(p3)
		_, err = modem3.Write([]byte("~\x21\x45\r\nNO CARRIER\r\n"))
		require.NoError(t, err)
		want := len("~\x21\x45\r\nNO CARRIER\r\n")
		for got := 0; got < want; {
			n, err := d3.Read(make([]byte, 64))
			require.NoError(t, err)
			got += n
		}
		require.NoError(t, d3.SetReadDeadline(time.Now()))
		_, err = d3.Read(make([]byte, 64))
		assert.ErrorIs(t, err, os.ErrDeadlineExceeded, "teardown's deadline is reported as such")
	})
}

func TestDataLineDeadlineLosesNothing(t *testing.T) {
	host, modem := serialline.Pipe(serialline.Options{})
	defer modem.Close()
	p := NewPort(host)
	defer p.Close()
	d := dataMode(p)

	// A Read blocked on a silent line gives up at the deadline, wherever it is set from.
	done := make(chan error, 1)
	go func() {
		_, err := d.Read(make([]byte, 8))
		done <- err
	}()
	require.NoError(t, d.SetReadDeadline(time.Now()))
	select {
	case err := <-done:
		assert.ErrorIs(t, err, os.ErrDeadlineExceeded)
	case <-time.After(2 * time.Second):
		t.Fatal("Read ignored the deadline")
	}

	// What the line brings meanwhile stays for the next Read: the Port's reader goes on.
	_, err := modem.Write([]byte("~\xff\x03~"))
	require.NoError(t, err)
	require.NoError(t, d.SetReadDeadline(time.Time{}))
	buf := make([]byte, 16)
	n, err := d.Read(buf)
	require.NoError(t, err)
	assert.Equal(t, "~\xff\x03~", string(buf[:n]))

	// Close ends the data line, not the Port.
	require.NoError(t, d.Close())
	_, err = d.Read(buf)
	assert.ErrorIs(t, err, os.ErrClosed)
	_, err = d.Write([]byte("x"))
	assert.ErrorIs(t, err, os.ErrClosed)
	assert.NoError(t, p.failed())
}

func TestDataLineNoticesDCDDrop(t *testing.T) {
	host, modem := serialline.Pipe(serialline.Options{})
	defer modem.Close()
	l := serialline.WithModemLines(host)
	p := NewPort(l)
	defer p.Close()
	d := dataMode(p)
	d.watchDCD()

	start := time.Now()
	l.SetDCD(false) // the modem lost the call; no NO CARRIER text this time
	_, err := readAll(d, 64)
	assert.Less(t, time.Since(start), time.Second, "noticed within a second")
	assert.ErrorIs(t, err, ErrDCDLost)
	assert.ErrorIs(t, err, ErrCarrierLost)
	assert.ErrorIs(t, err, ErrNoCarrier)
}

// loopLine returns the same data forever; writes vanish.
type loopLine struct{ data []byte }

func (l *loopLine) Read(b []byte) (int, error)       { return copy(b, l.data), nil }
func (l *loopLine) Write(b []byte) (int, error)      { return len(b), nil }
func (l *loopLine) Close() error                     { return nil }
func (l *loopLine) SetReadDeadline(time.Time) error  { return nil }
func (l *loopLine) SetWriteDeadline(time.Time) error { return nil }

// benchFrame is a frame of binary data: a line end now and then (1 in 256), flags at its ends.
func benchFrame() []byte {
	frame := make([]byte, 1500)
	for i := range frame {
		frame[i] = byte(i*131 + i/7)
		if frame[i] == 0x7e {
			frame[i] = 0x7d
		}
	}
	frame[0], frame[len(frame)-1] = 0x7e, 0x7e
	return frame
}

// The NO CARRIER watch is on every byte of the link: it must cost next to nothing.
func BenchmarkCarrierWatch(b *testing.B) {
	frame := benchFrame()
	var w carrierWatch
	b.SetBytes(int64(len(frame)))
	b.ReportAllocs()
	for b.Loop() {
		if w.scan(frame) {
			b.Fatal("NO CARRIER in a frame")
		}
	}
}

// BenchmarkDataLine is the data path through the Port: its reader goroutine, the buffer, the
// data line's Read and the watch.
func BenchmarkDataLine(b *testing.B) {
	frame := benchFrame()
	p := NewPort(&loopLine{data: frame})
	d := dataMode(p)
	buf := make([]byte, len(frame))
	b.SetBytes(int64(len(frame)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := io.ReadFull(d, buf); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	_ = p.Close()
}
