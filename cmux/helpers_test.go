package cmux_test

import (
	"context"
	"testing"
	"time"

	"github.com/pppdial/pppdial/cmux"
	"github.com/pppdial/pppdial/internal/serialline"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// memLine is one end of an in-memory serial line as a line.Line. serialline's Write blocks only
// while 16 KiB are queued and the Mux's reader always drains its end, so a write deadline has
// nothing to bound here: it is accepted and not enforced.
type memLine struct{ *serialline.Port }

func (memLine) SetWriteDeadline(time.Time) error { return nil }

// linePair returns the two ends of a new in-memory line; both are closed at cleanup.
func linePair(t testing.TB) (host, modem memLine) {
	a, b := serialline.Pipe(serialline.Options{Seed: 1})
	t.Cleanup(func() { _ = a.Close(); _ = b.Close() })
	return memLine{a}, memLine{b}
}

// muxPair starts a host (initiator) and a modem (responder) Mux on an in-memory line and opens
// DLC 0; both are closed at cleanup.
func muxPair(t testing.TB, hostCfg, modemCfg cmux.Config) (host, modem *cmux.Mux, hl, ml memLine) {
	hl, ml = linePair(t)
	modem = cmux.NewResponder(ml, modemCfg)
	host = cmux.New(hl, hostCfg)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = host.Close(ctx)
		_ = modem.Close(ctx)
		_ = hl.Close()
		_ = ml.Close()
		<-host.Done()
		<-modem.Done()
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.NoError(t, host.Open(ctx))
	return host, modem, hl, ml
}

// openPair opens DLC n on the host and accepts it on the modem.
func openPair(t testing.TB, host, modem *cmux.Mux, n int) (h, m *cmux.Channel) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	h, err := host.OpenChannel(ctx, n)
	require.NoError(t, err)
	m, err = modem.Accept(ctx)
	require.NoError(t, err)
	require.Equal(t, n, m.DLCI())
	return h, m
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}
