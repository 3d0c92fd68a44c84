package at

import (
	"bytes"
	"context"
	"io"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pppdial/pppdial/internal/serialline"
)

func TestHangupAfterNoCarrierSkipsTheEscape(t *testing.T) {
	host, modem := serialline.Pipe(serialline.Options{})
	defer host.Close()
	defer modem.Close()
	p := NewPort(host)
	defer p.Close()
	data := dataMode(p)

	// The call ended on the network's side: the modem printed NO CARRIER and is in command
	// mode; the link stopped reading before it saw it, so it sits in the Port's buffer.
	_, err := modem.Write([]byte("~\x7d\x23junk~\r\nNO CARRIER\r\n"))
	require.NoError(t, err)
	buf := make([]byte, 4)
	_, err = data.Read(buf) // the link's last read takes a few bytes; the rest stays buffered
	require.NoError(t, err)
	deadline := time.Now().Add(time.Second)
	for p.Buffered() < len("~\r\nNO CARRIER\r\n") && time.Now().Before(deadline) {
		p.mu.Lock()
		_ = p.waitLocked(context.Background(), time.Now().Add(10*time.Millisecond))
		p.mu.Unlock()
	}

	got := make(chan []byte, 1)
	go func() {
		var seen []byte
		b := make([]byte, 64)
		for !bytes.Contains(seen, []byte("ATH\r\n")) {
			n, err := modem.Read(b)
			seen = append(seen, b[:n]...)
			if err != nil {
				break
			}
		}
		_, _ = io.WriteString(modem, "\r\nOK\r\n")
		got <- seen
	}()
	start := time.Now()
	require.NoError(t, Hangup(context.Background(), p, HangupOptions{Guard: time.Second}))
	assert.Less(t, time.Since(start), 500*time.Millisecond, "no guard times, no wait for an OK to +++")
	assert.Equal(t, "ATH\r\n", string(<-got), "only ATH: no escape to a modem in command mode")
}
