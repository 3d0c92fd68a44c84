package at

import (
	"errors"
	"io"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// lineWithoutDeadline is a line like a go.bug.st/serial port: Read blocks, no read deadline.
type lineWithoutDeadline struct {
	io.Reader
	io.Writer
}

func TestPortKeepsItsOwnReadDeadline(t *testing.T) {
	pr, pw := io.Pipe()
	defer pw.Close()
	p := NewPort(lineWithoutDeadline{pr, io.Discard})

	// A Read blocked on a silent line gives up at the deadline.
	done := make(chan error, 1)
	go func() {
		_, err := p.Read(make([]byte, 8))
		done <- err
	}()
	time.Sleep(20 * time.Millisecond)
	require.NoError(t, p.SetReadDeadline(time.Now()))
	select {
	case err := <-done:
		assert.True(t, errors.Is(err, os.ErrDeadlineExceeded), "%v", err)
	case <-time.After(2 * time.Second):
		t.Fatal("Read ignored the deadline")
	}

	// The line's read that was in flight hands its bytes to the next Read: nothing is lost.
	require.NoError(t, p.SetReadDeadline(time.Time{}))
	go func() { _, _ = pw.Write([]byte("\r\nOK\r\n")) }()
	buf := make([]byte, 16)
	n, err := p.Read(buf)
	require.NoError(t, err)
	assert.Equal(t, "\r\nOK\r\n", string(buf[:n]))
}
