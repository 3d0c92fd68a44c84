//go:build linux

package line_test

import (
	"bytes"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/creack/pty"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/pppdial/pppdial/line"
)

// openPTY opens a pty pair and the slave through line.Open, as a modem's tty would be.
func openPTY(t *testing.T) (master *os.File, l line.Line) {
	t.Helper()
	m, s, err := pty.Open()
	require.NoError(t, err)
	t.Cleanup(func() { m.Close(); s.Close() })
	l, err = line.Open(s.Name(), line.Options{Baud: 115200})
	require.NoError(t, err)
	t.Cleanup(func() { l.Close() })
	return m, l
}

func TestSerialReadWrite(t *testing.T) {
	m, l := openPTY(t)
	_, err := m.Write([]byte("AT\r"))
	require.NoError(t, err)
	require.NoError(t, l.SetReadDeadline(time.Now().Add(2*time.Second)))
	b := make([]byte, 16)
	n, err := l.Read(b)
	require.NoError(t, err)
	assert.Equal(t, "AT\r", string(b[:n]), "raw mode: CR passes untouched")

	_, err = l.Write([]byte{0x7e, 0x00, 0x0d, 0x0a, 0xff})
	require.NoError(t, err)
	n, err = m.Read(b)
	require.NoError(t, err)
	assert.Equal(t, []byte{0x7e, 0x00, 0x0d, 0x0a, 0xff}, b[:n], "8 bits clean")
}

func TestSerialReadDeadline(t *testing.T) {
	_, l := openPTY(t)
	start := time.Now()
	require.NoError(t, l.SetReadDeadline(time.Now().Add(100*time.Millisecond)))
	n, err := l.Read(make([]byte, 8))
	assert.Zero(t, n, "never (0, nil): a timeout is an error")
	assert.ErrorIs(t, err, os.ErrDeadlineExceeded)
	assert.GreaterOrEqual(t, time.Since(start), 100*time.Millisecond)
}

func TestSerialWriteDeadline(t *testing.T) {
	_, l := openPTY(t)
	// Nobody reads the master: the pty's buffer fills and Write waits for room until its
	// deadline, as a UART's does when the modem holds CTS.
	require.NoError(t, l.SetWriteDeadline(time.Now().Add(200*time.Millisecond)))
	chunk := bytes.Repeat([]byte{0x55}, 4096)
	var err error
	for i := 0; i < 1024 && err == nil; i++ {
		_, err = l.Write(chunk)
	}
	assert.ErrorIs(t, err, os.ErrDeadlineExceeded)
}

func TestSerialCloseUnblocksRead(t *testing.T) {
	_, l := openPTY(t)
	done := make(chan error, 1)
	go func() {
		_, err := l.Read(make([]byte, 8))
		done <- err
	}()
	require.NoError(t, l.Close())
	select {
	case err := <-done:
		assert.ErrorIs(t, err, os.ErrClosed)
	case <-time.After(2 * time.Second):
		t.Fatal("Close did not unblock Read")
	}
	_, err := l.Write([]byte("x"))
	assert.ErrorIs(t, err, os.ErrClosed)
}

func TestSerialModemControlOnPTY(t *testing.T) {
	_, l := openPTY(t)
	mc, ok := l.(line.ModemControl)
	require.True(t, ok, "a serial line has modem control")
	assert.True(t, errors.Is(mc.SetDTR(false), line.ErrNoModemControl), "a pty has no DTR")
	_, err := mc.CarrierDetect()
	assert.ErrorIs(t, err, line.ErrNoModemControl)
}

func TestOpenMissingDevice(t *testing.T) {
	_, err := line.Open("/dev/does-not-exist", line.Options{})
	assert.ErrorIs(t, err, os.ErrNotExist)
}

func TestSerialSetBaud(t *testing.T) {
	m, s, err := pty.Open()
	require.NoError(t, err)
	t.Cleanup(func() { m.Close(); s.Close() })
	l, err := line.Open(s.Name(), line.Options{Baud: 115200, RTSCTS: true})
	require.NoError(t, err)
	t.Cleanup(func() { l.Close() })
	bs, ok := l.(line.BaudSetter)
	require.True(t, ok, "a serial device's speed can be set")
	assert.Equal(t, 115200, bs.Baud())
	require.NoError(t, bs.SetBaud(921600))
	assert.Equal(t, 921600, bs.Baud())
	tio, err := unix.IoctlGetTermios(int(s.Fd()), unix.TCGETS)
	require.NoError(t, err)
	assert.Equal(t, uint32(unix.B921600), tio.Cflag&unix.CBAUD, "the device runs at the new speed")
	assert.NotZero(t, tio.Cflag&unix.CRTSCTS, "RTS/CTS survives the speed change")
	assert.Error(t, bs.SetBaud(0))

	// Still 8 bits clean at the new speed.
	_, err = l.Write([]byte{0x7e, 0xff, 0x0d})
	require.NoError(t, err)
	b := make([]byte, 8)
	n, err := m.Read(b)
	require.NoError(t, err)
	assert.Equal(t, []byte{0x7e, 0xff, 0x0d}, b[:n])
}

// TestOpenIsExclusive: a device open through Open cannot be opened again, even by root (this
// test's user on CI) for whom TIOCEXCL does not count: the flock refuses it with ErrBusy. Once
// the first holder closes it, it opens again.
func TestOpenIsExclusive(t *testing.T) {
	m, s, err := pty.Open()
	require.NoError(t, err)
	t.Cleanup(func() { m.Close(); s.Close() })
	first, err := line.Open(s.Name(), line.Options{})
	require.NoError(t, err)
	_, err = line.Open(s.Name(), line.Options{})
	require.ErrorIs(t, err, line.ErrBusy, "uid %d", os.Getuid())
	assert.Contains(t, err.Error(), s.Name())
	require.NoError(t, first.Close())
	again, err := line.Open(s.Name(), line.Options{})
	require.NoError(t, err, "free again once closed")
	require.NoError(t, again.Close())
}
