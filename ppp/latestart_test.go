package ppp_test

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pppdial/pppdial/internal/serialline"
	"github.com/pppdial/pppdial/modemsim"
	"github.com/pppdial/pppdial/ppp"
)

// CONNECT to up against a modem whose PPP server starts 200 ms after CONNECT costs round trips,
// not a 3 s restart timer (issue 13): the client's first Configure-Request is lost, the second
// goes out 250 ms after the first. Timed on synctest's virtual clock, over an emulated
// 115200-baud line.
func TestConnUpAfterLateStartingPeer(t *testing.T) {
	for _, tc := range []struct {
		name         string
		firstRestart time.Duration
		check        func(t *testing.T, took time.Duration)
	}{
		{"default", 0, func(t *testing.T, took time.Duration) { assert.Less(t, took, time.Second) }},
		{"plain restart timer", -1, func(t *testing.T, took time.Duration) {
			assert.GreaterOrEqual(t, took, 3*time.Second, "the test sees the 3 s wait it guards against")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				host, modem := serialline.Pipe(serialline.Options{Baud: 115200})
				ctx, cancel := context.WithCancel(context.Background())
				served := make(chan error, 1)
				go func() {
					// CONNECT has just been sent: the modem's data mode begins.
					served <- modemsim.LateStart(200*time.Millisecond, modemsim.PPPServer(ppp.Config{}, nil))(ctx, modem)
				}()

				connect := time.Now()
				upOrDown := make(chan ppp.Event, 2)
				c := ppp.NewConn(host, ppp.Config{FirstRestart: tc.firstRestart, OnEvent: func(ev ppp.Event) {
					if ev.Kind == ppp.EventUp || ev.Kind == ppp.EventDown {
						upOrDown <- ev
					}
				}})
				c.Start(ctx)
				ev := <-upOrDown
				require.Equal(t, ppp.EventUp, ev.Kind, "link ended: %v", ev.Err)
				took := ev.Time.Sub(connect)
				t.Logf("CONNECT to up: %v", took)
				tc.check(t, took)

				cctx, ccancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer ccancel()
				require.NoError(t, c.Close(cctx))
				cancel()
				<-served
				_ = host.Close()
			})
		})
	}
}
