package pppdial

import (
	"bytes"
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pppdial/pppdial/at"
	"github.com/pppdial/pppdial/internal/serialline"
	"github.com/pppdial/pppdial/line"
	"github.com/pppdial/pppdial/modemsim"
)

// lossyConnectLine loses the first CONNECT result line the modem sends, as a burst of noise or
// a bit error in it does on a real line: the modem is in data mode and its peer sends PPP
// frames, but the host never reads CONNECT.
type lossyConnectLine struct {
	line.Line
	mu   sync.Mutex
	lost bool
}

func (l *lossyConnectLine) Read(b []byte) (int, error) {
	for {
		n, err := l.Line.Read(b)
		l.mu.Lock()
		if !l.lost && n > 0 {
			if i := bytes.Index(b[:n], []byte("CONNECT")); i >= 0 {
				end := n // a line cut short by the read: lose what came of it
				if k := bytes.IndexAny(b[i:n], "\r\n"); k >= 0 {
					end = i + k
				}
				for end < n && (b[end] == '\r' || b[end] == '\n') {
					end++
				}
				n = i + copy(b[i:], b[end:n])
				l.lost = true
			}
		}
		l.mu.Unlock()
		if n > 0 || err != nil {
			return n, err
		}
	}
}

// TestSessionRecoversFromALostConnect: the modem's CONNECT is lost on the line, so the host's
// ATD waits for an answer while the modem is online and the network's PPP frames arrive. The
// PPP frames say the call is up: the attempt ends at once (the call hung up), and the next
// attempt brings the link up, instead of waiting for the dial timeout (60 s by default, set
// to an hour here so that only the recovery can bring the link up in time). The chaos run
// caught this: a redial under loss or bit errors left the link down for a minute.
func TestSessionRecoversFromALostConnect(t *testing.T) {
	t.Parallel()
	r := newRig(t, modemsim.EC25(), serialline.Options{})
	cfg := r.config()
	cfg.Persist = true
	cfg.Modem.Timeouts.Dial = time.Hour
	lossy := &lossyConnectLine{}
	cfg.Open = func(ctx context.Context) (line.Line, error) {
		l, err := r.open(ctx)
		if err != nil {
			return nil, err
		}
		lossy.Line = l
		return lossy, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	sess, err := Dial(ctx, cfg)
	require.NoError(t, err, "the link comes up after the lost CONNECT")
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		require.NoError(t, sess.Close(ctx))
	})
	e := r.waitEvent(EventError, time.Second)
	assert.ErrorIs(t, e.Err, at.ErrConnectLost)
	assert.Equal(t, 1, e.Attempt)
	assert.True(t, lossy.lost, "the CONNECT was lost")
	assert.Equal(t, 2, r.modem.Stats().Dials, "the first call hung up, the second one carries the link")
	assert.Equal(t, 1, r.modem.Stats().Hangups)
}
