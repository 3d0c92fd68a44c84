package modemsim_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pppdial/pppdial/at"
	"github.com/pppdial/pppdial/cmux"
	"github.com/pppdial/pppdial/modemsim"
)

// TestCMUXEveryFamily starts the multiplexer on every family's modem, runs AT on DLC 1 and a
// data call on DLC 2 (a loopback behind CONNECT, frames split at N1), and closes it: the line
// is back in AT mode.
func TestCMUXEveryFamily(t *testing.T) {
	for name, p := range modemsim.Profiles() {
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				p.RegistrationDelay = 0
				r := newRig(t, p, modemsim.Loopback)
				ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
				defer cancel()
				require.NoError(t, at.Prepare(ctx, r.port, at.Config{}))
				model, err := r.port.Exec(ctx, "+CGMM", time.Second)
				require.NoError(t, err)
				q, known := cmux.QuirksFor(model[len(model)-1])
				assert.True(t, known, "AT+CGMM %q names a family of the quirks table", model)
				_, err = r.port.Exec(ctx, "+CMUX=0,0,5,31", time.Second)
				require.NoError(t, err)
				raw, err := r.port.Raw(ctx)
				require.NoError(t, err)
				mux := cmux.New(raw, cmux.Config{N1: 31, Quirks: q})
				require.NoError(t, mux.Open(ctx))
				c1, err := mux.OpenChannel(ctx, 1)
				require.NoError(t, err)
				c2, err := mux.OpenChannel(ctx, 2)
				require.NoError(t, err)
				if q.SendsMSCOnOpen {
					assert.NotZero(t, c1.Signals()&cmux.SigRTC, "SIM800 sends its MSC when a DLC opens")
				} else {
					assert.Zero(t, c1.Signals(), "no MSC of the modem's own")
				}
				a1, a2 := at.NewPort(c1), at.NewPort(c2)
				defer a1.Close()
				defer a2.Close()
				require.NoError(t, at.Prepare(ctx, a1, at.Config{}))
				csq, err := a1.Exec(ctx, "+CSQ", time.Second)
				require.NoError(t, err)
				assert.True(t, strings.HasPrefix(csq[len(csq)-1], "+CSQ: "), "%q", csq)
				_, err = a1.Exec(ctx, "+CMUX=0", time.Second)
				assert.Error(t, err, "no multiplexer inside a DLC")

				sess, err := at.Dial(ctx, a2, at.Config{APN: "internet"})
				require.NoError(t, err)
				data := sess.Data()
				msg := bytes.Repeat([]byte("0123456789abcdef"), 20) // 320 bytes: 11 frames at N1 31
				_, err = data.Write(msg)
				require.NoError(t, err)
				got := readN(t, data, len(msg), 5*time.Second)
				assert.Equal(t, msg, got)
				// AT on DLC 1 while DLC 2 is online.
				_, err = a1.Exec(ctx, "+CSQ", time.Second)
				require.NoError(t, err)
				assert.Zero(t, mux.Stats().Decoder.Oversize, "no frame above N1 from the modem")

				require.NoError(t, mux.Close(ctx))
				require.NoError(t, raw.Close())
				require.Eventually(t, func() bool { return r.m.Stats().CMUXEnds == 1 }, 2*time.Second, 10*time.Millisecond)
				assert.Equal(t, 1, r.m.Stats().CMUXStarts)
				_, err = r.port.Exec(ctx, "", time.Second)
				require.NoError(t, err, "plain AT answers once the multiplexer is closed")
			})
		})
	}
}

// TestCMUXModemClosesChannel: the modem's DISC on DLC 2 fails the host's channel with
// ErrChannelClosed; DLC 1 goes on.
func TestCMUXModemClosesChannel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, modemsim.EC25(), modemsim.Loopback)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		assert.Error(t, r.m.CloseChannel(2), "no multiplexer yet")
		// As the session does: the modem answering first (it may still be starting), then AT+CMUX.
		require.NoError(t, at.Prepare(ctx, r.port, at.Config{}))
		_, err := r.port.Exec(ctx, "+CMUX=0", time.Second)
		require.NoError(t, err)
		raw, err := r.port.Raw(ctx)
		require.NoError(t, err)
		mux := cmux.New(raw, cmux.Config{N1: 31})
		defer mux.Close(ctx)
		require.NoError(t, mux.Open(ctx))
		c1, err := mux.OpenChannel(ctx, 1)
		require.NoError(t, err)
		c2, err := mux.OpenChannel(ctx, 2)
		require.NoError(t, err)
		require.NoError(t, r.m.CloseChannel(2))
		_, err = c2.Read(make([]byte, 10))
		require.ErrorIs(t, err, cmux.ErrChannelClosed)
		a1 := at.NewPort(c1)
		defer a1.Close()
		_, err = a1.Exec(ctx, "", time.Second)
		require.NoError(t, err)
	})
}
