package cmux_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"testing"
	"testing/synctest"
	"time"

	"github.com/pppdial/pppdial/cmux"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestChannelData(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		host, modem, _, _ := muxPair(t, cmux.Config{N1: 31}, cmux.Config{N1: 31})
		h1, m1 := openPair(t, host, modem, 1)
		h2, m2 := openPair(t, host, modem, 2)

		_, err := h1.Write([]byte("AT+CSQ\r"))
		require.NoError(t, err)
		buf := make([]byte, 64)
		n, err := m1.Read(buf)
		require.NoError(t, err)
		assert.Equal(t, "AT+CSQ\r", string(buf[:n]))

		// A write longer than N1 goes out in frames of at most N1 and arrives whole, in order.
		big := make([]byte, 10000)
		for i := range big {
			big[i] = byte(i * 7)
		}
		wrote := make(chan error, 1)
		go func() { _, err := m2.Write(big); wrote <- err }()
		got := make([]byte, len(big))
		_, err = io.ReadFull(h2, got)
		require.NoError(t, err)
		assert.Equal(t, big, got)
		// The writer counts a frame after it is on the line, so the reader can see it first: the
		// sender's figures are read once its Write has returned.
		require.NoError(t, <-wrote)
		assert.Equal(t, uint64((len(big)+30)/31), h2.Stats().FramesIn)
		assert.Equal(t, uint64(len(big)), h2.Stats().BytesIn)
		assert.Equal(t, uint64(len(big)), m2.Stats().BytesOut)

		// DLC 1 is unaffected.
		_, err = m1.Write([]byte("\r\n+CSQ: 20,99\r\n"))
		require.NoError(t, err)
		n, err = h1.Read(buf)
		require.NoError(t, err)
		assert.Equal(t, "\r\n+CSQ: 20,99\r\n", string(buf[:n]))

		s := host.Stats()
		assert.NotZero(t, s.FramesIn)
		assert.NotZero(t, s.FramesOut)
		assert.Zero(t, s.Decoder.BadFCS)
		assert.Equal(t, uint64(len(big)), s.Channels[2].BytesIn)
	})
}

func TestReadDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		host, modem, _, _ := muxPair(t, cmux.Config{}, cmux.Config{})
		h, _ := openPair(t, host, modem, 1)
		require.NoError(t, h.SetReadDeadline(time.Now().Add(-time.Second)))
		_, err := h.Read(make([]byte, 8))
		assert.ErrorIs(t, err, os.ErrDeadlineExceeded)
	})
}

// The SIM800 quirk: the modem sends its own MSC right after UA. OpenChannel answers it and the
// channel carries the modem's signals.
func TestMSCOnOpen(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		host, modem, _, _ := muxPair(t, cmux.Config{}, cmux.Config{MSCOnOpen: true})
		h, m := openPair(t, host, modem, 1)
		// The modem's MSC came right after its UA, before it answered ours: by the time our MSC
		// was acknowledged (OpenChannel returned), its signals are recorded.
		assert.Equal(t, cmux.SigRTC|cmux.SigRTR|cmux.SigDV, h.Signals())
		assert.Equal(t, cmux.SigRTC|cmux.SigRTR|cmux.SigDV, m.Signals())
	})
}

// FCoff from the modem stops our writes on every DLC until FCon; MSC with FC stops one DLC.
func TestFlowControl(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		host, modem, _, _ := muxPair(t, cmux.Config{}, cmux.Config{})
		h, m := openPair(t, host, modem, 1)
		ctx := ctxT(t)

		require.NoError(t, modem.SetFlow(ctx, false)) // FCoff: acknowledged, so in force at the host
		require.NoError(t, h.SetWriteDeadline(time.Now().Add(20*time.Millisecond)))
		n, err := h.Write([]byte("held"))
		assert.ErrorIs(t, err, os.ErrDeadlineExceeded)
		assert.Zero(t, n)
		require.NoError(t, modem.SetFlow(ctx, true)) // FCon
		require.NoError(t, h.SetWriteDeadline(time.Time{}))
		_, err = h.Write([]byte("go"))
		require.NoError(t, err)
		buf := make([]byte, 8)
		n, err = m.Read(buf)
		require.NoError(t, err)
		assert.Equal(t, "go", string(buf[:n]))

		require.NoError(t, m.SetFlow(ctx, false)) // MSC with FC on DLC 1
		require.NoError(t, h.SetWriteDeadline(time.Now().Add(20*time.Millisecond)))
		_, err = h.Write([]byte("held"))
		assert.ErrorIs(t, err, os.ErrDeadlineExceeded)
		require.NoError(t, h.SetWriteDeadline(time.Time{}))
		// A writer blocked by flow control resumes when the modem clears FC.
		done := make(chan error, 1)
		go func() { _, err := h.Write([]byte("later")); done <- err }()
		require.NoError(t, m.SetFlow(ctx, true))
		require.NoError(t, <-done)
		n, err = m.Read(buf)
		require.NoError(t, err)
		assert.Equal(t, "later", string(buf[:n]))
	})
}

// A full receive buffer makes the Mux tell the modem to stop (MSC with FC) instead of losing
// data; reading it empty lets the modem go on.
func TestReceiveBackpressure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// The default 64 KiB: the stop at 32 KiB leaves room for what is in flight when the modem
		// hears it: the 16 KiB the line holds, the batch its writer is in, the decoder's buffer.
		host, modem, _, _ := muxPair(t, cmux.Config{}, cmux.Config{})
		h, m := openPair(t, host, modem, 1)
		data := bytes.Repeat([]byte("0123456789abcdef"), 32<<10) // 512 KiB
		// Let the writer fill the buffer and be stopped before anything is read.
		require.NoError(t, m.SetWriteDeadline(time.Now().Add(time.Hour)))
		done := make(chan error, 1)
		go func() { _, err := m.Write(data); done <- err }()
		got := make([]byte, len(data))
		require.NoError(t, h.SetReadDeadline(time.Now().Add(time.Minute))) // fail, not hang, on loss
		_, err := io.ReadFull(h, got)
		require.NoError(t, err, "dropped: %d", host.Stats().Dropped)
		require.NoError(t, <-done)
		assert.Equal(t, data, got)
		assert.Zero(t, host.Stats().Dropped, "the modem was stopped in time, nothing dropped")
	})
}

// A DLC the modem closes mid-transfer fails Read and Write with a clear error naming it.
func TestModemClosesChannel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		host, modem, _, _ := muxPair(t, cmux.Config{}, cmux.Config{})
		h, m := openPair(t, host, modem, 2)
		_, err := m.Write([]byte("partial"))
		require.NoError(t, err)
		require.NoError(t, m.Close()) // DISC from the modem, acknowledged
		buf := make([]byte, 64)
		n, err := h.Read(buf) // data that arrived before the DISC is still read
		require.NoError(t, err)
		assert.Equal(t, "partial", string(buf[:n]))
		_, err = h.Read(buf)
		require.ErrorIs(t, err, cmux.ErrChannelClosed)
		var ce *cmux.ChannelClosedError
		require.ErrorAs(t, err, &ce)
		assert.Equal(t, uint8(2), ce.DLCI)
		assert.Equal(t, cmux.DISC, ce.By)
		_, err = h.Write([]byte("x"))
		assert.ErrorIs(t, err, cmux.ErrChannelClosed)
		assert.Contains(t, err.Error(), "DLC 2")
		// The DLC can be opened again.
		openPair(t, host, modem, 2)
	})
}

func TestPing(t *testing.T) {
	// Real time: on a virtual clock an in-memory line's round trip takes no time at all.
	host, modem, _, _ := muxPair(t, cmux.Config{}, cmux.Config{})
	rtt, err := host.Ping(ctxT(t))
	require.NoError(t, err)
	assert.Positive(t, rtt)
	_, err = modem.Ping(ctxT(t)) // either side may probe
	require.NoError(t, err)
	require.NoError(t, host.PowerSave(ctxT(t)))
}

// Close: DISC on the DLCs, CLD; the modem ends its side, both stop reading, and the line is
// free for AT again.
func TestClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		host, modem, hl, ml := muxPair(t, cmux.Config{}, cmux.Config{})
		h, m := openPair(t, host, modem, 1)
		require.NoError(t, host.Close(ctxT(t)))
		<-host.Done()
		<-modem.Done()
		assert.ErrorIs(t, modem.Err(), cmux.ErrMuxClosed)
		assert.Contains(t, modem.Err().Error(), "CLD")
		_, err := h.Read(make([]byte, 1))
		assert.ErrorIs(t, err, os.ErrClosed)
		_, err = m.Read(make([]byte, 1))
		assert.ErrorIs(t, err, cmux.ErrChannelClosed, "the host's DISC closed DLC 1 first")
		_, err = host.OpenChannel(ctxT(t), 1)
		assert.ErrorIs(t, err, cmux.ErrNotOpen)
		// Nothing else was written after the multiplexer ended: the line carries AT again.
		_, err = hl.Write([]byte("AT\r"))
		require.NoError(t, err)
		buf := make([]byte, 16)
		n, err := ml.Read(buf)
		require.NoError(t, err)
		assert.Equal(t, "AT\r", string(buf[:n]))
		require.NoError(t, host.Close(ctxT(t)), "idempotent")
	})
}

// The modem ending the multiplexer (DISC on DLC 0) fails the host's channels with ErrMuxClosed.
func TestModemEndsMux(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		host, modem, _, _ := muxPair(t, cmux.Config{}, cmux.Config{})
		h, _ := openPair(t, host, modem, 1)
		require.NoError(t, modem.Close(ctxT(t))) // the responder DISCs its DLCs and stops
		_, err := h.Read(make([]byte, 1))
		assert.ErrorIs(t, err, cmux.ErrChannelClosed)
	})
}

func TestOpenChannelErrors(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		host, modem, _, _ := muxPair(t, cmux.Config{}, cmux.Config{})
		_, err := host.OpenChannel(ctxT(t), 0)
		assert.ErrorIs(t, err, cmux.ErrBadDLCI)
		_, err = host.OpenChannel(ctxT(t), 62)
		assert.ErrorIs(t, err, cmux.ErrBadDLCI)
		openPair(t, host, modem, 3)
		_, err = host.OpenChannel(ctxT(t), 3)
		assert.ErrorIs(t, err, cmux.ErrChannelInUse)
		_, err = modem.OpenChannel(ctxT(t), 4)
		assert.Error(t, err)
	})
}

// Data for a DLC that is not open is answered with DM and counted.
func TestDataForClosedDLC(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		host, _, _, ml := muxPair(t, cmux.Config{}, cmux.Config{})
		// Raw UIH on DLC 5 from the modem's side of the line, behind the responder's back.
		b, err := cmux.AppendFrame(nil, cmux.Frame{DLCI: 5, Type: cmux.UIH, Info: []byte("stray")})
		require.NoError(t, err)
		_, err = ml.Write(b)
		require.NoError(t, err)
		// A Ping answered afterwards proves the stray frame was processed first (one reader, in order).
		_, err = host.Ping(ctxT(t))
		require.NoError(t, err)
		assert.Equal(t, uint64(1), host.Stats().Dropped)
	})
}

// Frames hurt on the line are counted and dropped; the multiplexer keeps working.
func TestBadFramesOnLine(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		host, modem, _, ml := muxPair(t, cmux.Config{N1: 31}, cmux.Config{N1: 31})
		h, m := openPair(t, host, modem, 1)
		bad, err := cmux.AppendFrame(nil, cmux.Frame{DLCI: 1, Type: cmux.UIH, Info: []byte("lost")})
		require.NoError(t, err)
		bad[2] ^= 0x04 // control octet hurt: FCS no longer matches
		long, err := cmux.AppendFrame(nil, cmux.Frame{DLCI: 1, Type: cmux.UIH, Info: make([]byte, 32)})
		require.NoError(t, err)
		_, err = ml.Write(append(append(bad, long...), "noise"...))
		require.NoError(t, err)
		_, err = m.Write([]byte("fine"))
		require.NoError(t, err)
		buf := make([]byte, 16)
		n, err := h.Read(buf)
		require.NoError(t, err)
		assert.Equal(t, "fine", string(buf[:n]))
		_, err = host.Ping(ctxT(t)) // the reader has published its counters by now
		require.NoError(t, err)
		s := host.Stats().Decoder
		assert.Equal(t, uint64(1), s.BadFCS)
		assert.Equal(t, uint64(1), s.Oversize)
		assert.NotZero(t, s.Garbage)
	})
}

// A Mux whose line dies fails its channels with the line's error.
func TestLineDies(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		host, modem, hl, _ := muxPair(t, cmux.Config{}, cmux.Config{})
		h, _ := openPair(t, host, modem, 1)
		hl.Cut()
		_, err := h.Read(make([]byte, 1))
		require.Error(t, err)
		assert.Contains(t, err.Error(), "line read")
		assert.False(t, errors.Is(err, cmux.ErrChannelClosed))
		<-host.Done()
	})
}

func TestAcceptEndsWithContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, modem, _, _ := muxPair(t, cmux.Config{}, cmux.Config{})
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := modem.Accept(ctx)
		assert.ErrorIs(t, err, context.Canceled)
	})
}

// A modem that answers SABM on DLC 0 and then nothing: Close still returns, within its bounds
// (virtual time: the T1/T2 retries are not waited for in real time).
func TestCloseSilentModem(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hl, ml := linePair(t)
		go func() {
			fr := cmux.NewFramer(ml, ml, 0)
			f, err := fr.ReadFrame()
			if err != nil || f.Type != cmux.SABM {
				return
			}
			_ = fr.WriteFrame(cmux.Frame{DLCI: 0, CR: true, Type: cmux.UA, PF: true})
			for {
				if _, err := fr.ReadFrame(); err != nil {
					return // the line was closed at cleanup
				}
			}
		}()
		host := cmux.New(hl, cmux.Config{})
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		require.NoError(t, host.Open(ctx))
		begin := time.Now()
		err := host.Close(ctx)
		elapsed := time.Since(begin)
		require.ErrorIs(t, err, cmux.ErrCloseUnconfirmed)
		// CLD once with T2 (1 s), then one DISC on DLC 0 with T1 (0.5 s).
		assert.Equal(t, 1500*time.Millisecond, elapsed)
		<-host.Done()
		_ = hl.Close()
		_ = ml.Close()
	})
}

// Close bounded by its context even if the modem stays silent for longer.
func TestCloseContextBound(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hl, ml := linePair(t)
		host := cmux.New(hl, cmux.Config{})
		ctx, cancel := context.WithTimeout(context.Background(), 700*time.Millisecond)
		defer cancel()
		err := host.Open(ctx) // nobody answers SABM
		require.ErrorIs(t, err, context.DeadlineExceeded)
		require.NoError(t, host.Close(ctx))
		<-host.Done()
		_ = hl.Close()
		_ = ml.Close()
	})
}
