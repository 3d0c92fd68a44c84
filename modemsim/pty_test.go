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
