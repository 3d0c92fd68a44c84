package serialline

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestBytesCrossBothWays(t *testing.T) {
	a, b := Pipe(Options{})
	defer a.Close()
	defer b.Close()

	_, err := a.Write([]byte("AT\r"))
	require.NoError(t, err)
	buf := make([]byte, 16)
	n, err := b.Read(buf)
	require.NoError(t, err)
	assert.Equal(t, "AT\r", string(buf[:n]))

	_, err = b.Write([]byte("\r\nOK\r\n"))
	require.NoError(t, err)
	n, err = io.ReadFull(a, buf[:6])
	require.NoError(t, err)
	assert.Equal(t, "\r\nOK\r\n", string(buf[:n]))
}

func TestLargeTransferIntactThroughSmallBuffer(t *testing.T) {
	a, b := Pipe(Options{BufferSize: 100})
	data := make([]byte, 1<<20)
	for i := range data {
		data[i] = byte(rand.Uint32())
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		_, err := a.Write(data)
		assert.NoError(t, err)
		a.Close()
	}()
	got, err := io.ReadAll(b)
	require.NoError(t, err)
	wg.Wait()
	assert.True(t, bytes.Equal(data, got), "data changed in flight")
	assert.Equal(t, uint64(len(data)), a.TxStats().BytesDelivered)
}

func TestBaudPacesDelivery(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// 9600 baud = 960 bytes/s: 480 bytes need 0.5 s on the wire (virtual clock).
		a, b := Pipe(Options{Baud: 9600})
		defer a.Close()
		defer b.Close()
		start := time.Now()
		_, err := a.Write(make([]byte, 480))
		require.NoError(t, err)
		_, err = io.ReadFull(b, make([]byte, 480))
		require.NoError(t, err)
		assert.Equal(t, 500*time.Millisecond, time.Since(start).Round(time.Millisecond), "paced at the line's speed")
	})
}

func TestCloseGivesEOFAfterDrain(t *testing.T) {
	a, b := Pipe(Options{})
	_, err := a.Write([]byte("last words"))
	require.NoError(t, err)
	require.NoError(t, a.Close())
	got, err := io.ReadAll(b)
	require.NoError(t, err)
	assert.Equal(t, "last words", string(got))
	_, err = b.Write([]byte("x"))
	assert.True(t, errors.Is(err, net.ErrClosed), "write to a closed peer: %v", err)
	b.Close()
}

func TestCloseUnblocksReadAndWrite(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := Pipe(Options{BufferSize: 4})
		readErr := make(chan error, 1)
		go func() { _, err := a.Read(make([]byte, 1)); readErr <- err }()
		writeErr := make(chan error, 1)
		// The Write fills the line, then blocks; the Read finds nothing: both blocked.
		go func() { _, err := a.Write(make([]byte, 64)); writeErr <- err }()
		synctest.Wait()
		require.NoError(t, a.Close())
		synctest.Wait()
		select {
		case err := <-readErr:
			assert.True(t, errors.Is(err, net.ErrClosed), "%v", err)
		default:
			t.Fatal("Read stayed blocked after Close")
		}
		select {
		case err := <-writeErr:
			assert.True(t, errors.Is(err, net.ErrClosed), "%v", err)
		default:
			t.Fatal("Write stayed blocked after Close")
		}
		b.Close()
	})
}

func TestReadDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := Pipe(Options{})
		defer a.Close()
		defer b.Close()
		start := time.Now()
		require.NoError(t, b.SetReadDeadline(time.Now().Add(30*time.Millisecond)))
		_, err := b.Read(make([]byte, 1))
		assert.True(t, errors.Is(err, os.ErrDeadlineExceeded), "%v", err)
		assert.Equal(t, 30*time.Millisecond, time.Since(start), "at the deadline (virtual clock)")

		// A deadline set while a Read is blocked wakes it.
		require.NoError(t, b.SetReadDeadline(time.Time{}))
		done := make(chan error, 1)
		go func() { _, err := b.Read(make([]byte, 1)); done <- err }()
		synctest.Wait() // the Read is blocked
		require.NoError(t, b.SetReadDeadline(time.Now()))
		synctest.Wait()
		select {
		case err := <-done:
			assert.True(t, errors.Is(err, os.ErrDeadlineExceeded), "%v", err)
		default:
			t.Fatal("blocked Read ignored a new deadline")
		}
	})
}

// TestWaitTx: WaitTx returns once the counters it waits on reach the wanted figure, and with
// the context's error when they do not.
func TestWaitTx(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := Pipe(Options{Baud: 9600}) // 960 bytes/s
		defer a.Close()
		defer b.Close()
		go func() { _, _ = io.Copy(io.Discard, b) }()
		_, err := a.Write(make([]byte, 960))
		require.NoError(t, err)
		start := time.Now()
		require.NoError(t, a.WaitTx(t.Context(), func(s Stats) bool { return s.BytesDelivered >= 480 }))
		assert.GreaterOrEqual(t, a.TxStats().BytesDelivered, uint64(480))
		assert.InDelta(t, 500*time.Millisecond, time.Since(start), float64(50*time.Millisecond), "half the bytes after half a second")

		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		err = a.WaitTx(ctx, func(s Stats) bool { return s.BytesDelivered > 960 })
		assert.ErrorIs(t, err, context.DeadlineExceeded, "no more bytes than were written")
	})
}

func TestBitErrorRate(t *testing.T) {
	a, b := Pipe(Options{Seed: 7, BufferSize: 1 << 20})
	defer a.Close()
	defer b.Close()
	a.SetFaults(Faults{BitErrorRate: 1e-3})
	data := make([]byte, 100000) // 800000 bits: about 800 flips expected
	_, err := a.Write(data)
	require.NoError(t, err)
	got := make([]byte, len(data))
	_, err = io.ReadFull(b, got)
	require.NoError(t, err)
	flipped := 0
	for _, c := range got {
		for ; c != 0; c &= c - 1 {
			flipped++
		}
	}
	assert.InDelta(t, 800, flipped, 200)
	assert.Equal(t, uint64(flipped), a.TxStats().BitsFlipped)
}

func TestDropAndBlackhole(t *testing.T) {
	a, b := Pipe(Options{Seed: 1})
	defer a.Close()
	defer b.Close()
	a.SetFaults(Faults{DropRate: 1})
	_, err := a.Write([]byte("lost"))
	require.NoError(t, err)
	a.SetFaults(Faults{Blackhole: true})
	_, err = a.Write([]byte("gone"))
	require.NoError(t, err)
	a.SetFaults(Faults{})
	_, err = a.Write([]byte("kept"))
	require.NoError(t, err)
	buf := make([]byte, 16)
	n, err := b.Read(buf)
	require.NoError(t, err)
	assert.Equal(t, "kept", string(buf[:n]))
	assert.Equal(t, uint64(8), a.TxStats().BytesDropped)
}

func TestStallHoldsThenReleases(t *testing.T) {
	a, b := Pipe(Options{})
	defer a.Close()
	defer b.Close()
	a.SetFaults(Faults{Stall: true})
	_, err := a.Write([]byte("held"))
	require.NoError(t, err)
	require.NoError(t, b.SetReadDeadline(time.Now().Add(50*time.Millisecond)))
	_, err = b.Read(make([]byte, 8))
	require.True(t, errors.Is(err, os.ErrDeadlineExceeded), "stalled line delivered: %v", err)
	require.NoError(t, b.SetReadDeadline(time.Time{}))
	a.SetFaults(Faults{})
	buf := make([]byte, 8)
	n, err := b.Read(buf)
	require.NoError(t, err)
	assert.Equal(t, "held", string(buf[:n]))
}

// TestClosedAndModemLines: Closed tells an end its user closed from a cut one; the modem
// control lines read back what was set.
func TestClosedAndModemLines(t *testing.T) {
	a, b := Pipe(Options{})
	assert.False(t, a.Closed())
	b.Cut()
	assert.False(t, a.Closed(), "cut, not closed")
	assert.False(t, b.Closed(), "cut, not closed")
	require.NoError(t, a.Close())
	assert.True(t, a.Closed())
	assert.False(t, b.Closed(), "the other end was not closed")

	m := WithModemLines(a)
	up, err := m.CarrierDetect()
	require.NoError(t, err)
	assert.True(t, up, "DCD up at first")
	assert.True(t, m.DTR(), "DTR up at first")
	m.SetDCD(false)
	require.NoError(t, m.SetDTR(false))
	up, _ = m.CarrierDetect()
	assert.False(t, up)
	assert.False(t, m.DTR())
}

func TestCutLosesInFlightAndClosesBoth(t *testing.T) {
	a, b := Pipe(Options{Baud: 300})
	_, err := a.Write([]byte("never arrives at 300 baud in time"))
	require.NoError(t, err)
	a.Cut()
	_, err = b.Read(make([]byte, 64))
	assert.ErrorIs(t, err, io.EOF)
	_, err = a.Read(make([]byte, 64))
	assert.ErrorIs(t, err, io.EOF)
	_, err = b.Write([]byte("x"))
	assert.ErrorIs(t, err, net.ErrClosed)
	b.Close()
	a.Close()
}

func BenchmarkThroughput(b *testing.B) {
	x, y := Pipe(Options{})
	defer x.Close()
	defer y.Close()
	chunk := make([]byte, 1500)
	buf := make([]byte, 4096)
	b.SetBytes(int64(len(chunk)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := x.Write(chunk); err != nil {
			b.Fatal(err)
		}
		if _, err := io.ReadFull(y, buf[:len(chunk)]); err != nil {
			b.Fatal(err)
		}
	}
}

func TestWriteDeadline(t *testing.T) {
	a, b := Pipe(Options{BufferSize: 8})
	defer a.Close()
	defer b.Close()
	// Nobody reads b: the line fills and Write waits for room until its deadline.
	require.NoError(t, a.SetWriteDeadline(time.Now().Add(50*time.Millisecond)))
	n, err := a.Write([]byte("0123456789abcdef"))
	assert.ErrorIs(t, err, os.ErrDeadlineExceeded)
	assert.Equal(t, 8, n, "what fitted is queued and counted")

	// A deadline moved while a Write waits takes effect at once.
	require.NoError(t, a.SetWriteDeadline(time.Time{}))
	done := make(chan error, 1)
	go func() {
		_, err := a.Write([]byte("x"))
		done <- err
	}()
	require.NoError(t, a.SetWriteDeadline(time.Now()))
	select {
	case err := <-done:
		assert.ErrorIs(t, err, os.ErrDeadlineExceeded)
	case <-time.After(2 * time.Second):
		t.Fatal("Write did not see the new deadline")
	}
}

// TestSetBaudMismatchGarblesAndPaces: while the two ends' speeds differ, bytes either way arrive
// garbled; once both follow, they cross intact, paced at the new speed (virtual clock).
func TestSetBaudMismatchGarblesAndPaces(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := Pipe(Options{Baud: 9600})
		defer a.Close()
		defer b.Close()
		assert.Equal(t, 9600, a.Baud())
		require.Error(t, a.SetBaud(0))

		require.NoError(t, a.SetBaud(96000))
		assert.Equal(t, 96000, a.Baud())
		assert.Equal(t, 9600, b.Baud(), "the other end keeps its speed")
		buf := make([]byte, 4)
		_, err := b.Write([]byte("OK\r\n"))
		require.NoError(t, err)
		_, err = io.ReadFull(a, buf)
		require.NoError(t, err)
		assert.NotEqual(t, "OK\r\n", string(buf))
		for _, c := range buf {
			assert.GreaterOrEqual(t, c, byte(0x80), "a garbled byte never reads as text")
		}
		assert.Equal(t, uint64(4), b.TxStats().BytesGarbled)
		_, err = a.Write([]byte("AT\r\n"))
		require.NoError(t, err)
		_, err = io.ReadFull(b, buf)
		require.NoError(t, err)
		assert.NotEqual(t, "AT\r\n", string(buf))

		require.NoError(t, b.SetBaud(96000))
		// 96000 baud = 9600 bytes/s: 4800 bytes take 0.5 s where 9600 baud took 5 s.
		start := time.Now()
		data := make([]byte, 4800)
		for i := range data {
			data[i] = byte(i)
		}
		_, err = a.Write(data)
		require.NoError(t, err)
		got := make([]byte, len(data))
		_, err = io.ReadFull(b, got)
		require.NoError(t, err)
		assert.Equal(t, data, got, "same speed both ends: intact")
		assert.Equal(t, 500*time.Millisecond, time.Since(start).Round(10*time.Millisecond), "paced at the new speed")
		assert.Equal(t, uint64(4), a.TxStats().BytesGarbled, "nothing garbled once both ends follow")
	})
}
