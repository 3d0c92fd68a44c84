//go:build linux

package modemsim_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pppdial/pppdial/at"
	"github.com/pppdial/pppdial/line"
	"github.com/pppdial/pppdial/modemsim"
)

// TestServePTY dials the emulated modem through a pty opened as a serial port, as the CLI does:
// go.bug.st/serial on the slave, the pty's "inappropriate ioctl" for DTR tolerated.
func TestServePTY(t *testing.T) {
	m := modemsim.New(fast(modemsim.EC25()), greeter)
	pty, err := modemsim.ServePTY(context.Background(), m)
	require.NoError(t, err)
	defer func() { assert.NoError(t, pty.Close()) }()

	for _, rtscts := range []bool{false, true} {
		l, err := line.Open(pty.Path, line.Options{Baud: 115200, RTSCTS: rtscts})
		require.NoError(t, err)
		port := at.NewPort(l)
		s, err := func() (*at.Session, error) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			return at.Dial(ctx, port, cfg())
		}()
		require.NoError(t, err)
		assert.Equal(t, lcpConfReq, readN(t, s.Data(), len(lcpConfReq), 2*time.Second))
		// Escape and ATH work; the DTR drop is not needed, and a pty could not do it anyway.
		require.NoError(t, s.Hangup(context.Background()))
		require.ErrorIs(t, port.SetDTR(false), line.ErrNoModemControl, "a pty has no DTR")
		require.NoError(t, port.Close())
	}
	assert.Equal(t, 2, m.Stats().Hangups)
}

func TestOpenMissingDevice(t *testing.T) {
	_, err := line.Open("/dev/does-not-exist", line.Options{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "/dev/does-not-exist")
}

func TestPTYClosesCleanly(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	pty, err := modemsim.ServePTY(ctx, modemsim.New(fast(modemsim.SIM800()), nil))
	require.NoError(t, err)
	cancel()
	select {
	case <-pty.Done():
	case <-time.After(2 * time.Second):
		t.Fatal("modem did not stop")
	}
	err = pty.Close()
	assert.True(t, err == nil || errors.Is(err, context.Canceled), "%v", err)
}

// TestServeATPTY: the two ports of a USB modem on two ptys, as the CLI opens them (--port for
// PPP, --at-port for AT): the AT port answers while the call runs on the other, whose data goes
// on untouched. Real ptys: the reads are bounded by read deadlines, not by virtual time.
func TestServeATPTY(t *testing.T) {
	m := modemsim.New(fast(modemsim.EC25()), greeter)
	ctx := context.Background()
	data, err := modemsim.ServePTY(ctx, m)
	require.NoError(t, err)
	defer func() { assert.NoError(t, data.Close()) }()
	atp, err := modemsim.ServeATPTY(ctx, m)
	require.NoError(t, err)
	defer func() { assert.NoError(t, atp.Close()) }()
	require.NotEqual(t, data.Path, atp.Path)

	l, err := line.Open(data.Path, line.Options{Baud: 115200})
	require.NoError(t, err)
	port := at.NewPort(l)
	defer port.Close()
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	s, err := at.Dial(dctx, port, cfg())
	require.NoError(t, err)
	assert.Equal(t, lcpConfReq, readN(t, s.Data(), len(lcpConfReq), 2*time.Second))

	al, err := line.Open(atp.Path, line.Options{Baud: 115200})
	require.NoError(t, err)
	defer al.Close()
	a := &term{t: t, l: al}
	assert.Contains(t, a.cmd("AT+CREG?"), "+CREG: 0,1\r\n", "the AT port sees the modem registered")
	assert.Contains(t, a.cmd("AT+CSQ"), "+CSQ: 24,99\r\n")

	_, err = s.Data().Write([]byte("ping"))
	require.NoError(t, err)
	assert.Equal(t, []byte("ping"), readN(t, s.Data(), 4, 2*time.Second), "the call is untouched")
	assert.Equal(t, 1, m.Stats().Connects)
}
