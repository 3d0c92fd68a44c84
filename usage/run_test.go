package usage

import (
	"context"
	"os"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Run writes the state file once per interval, not before, and once more
// when its context ends.
func TestRunFlushesEveryInterval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m, err := Open(t.TempDir(), testICCID, Options{})
		require.NoError(t, err)
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- m.Run(ctx, time.Minute) }()

		saved := func() uint64 {
			t.Helper()
			synctest.Wait()
			s, err := parseStateFile(m.Path())
			if os.IsNotExist(err) {
				return 0
			}
			require.NoError(t, err)
			return s.Current.RxBytes
		}
		l := m.NewLink()
		l.Observe(100, 0)
		time.Sleep(time.Minute - time.Millisecond)
		assert.Zero(t, saved(), "nothing written before the first interval")
		time.Sleep(time.Millisecond)
		assert.Equal(t, uint64(100), saved())

		l.Observe(250, 0)
		time.Sleep(time.Minute / 2)
		assert.Equal(t, uint64(100), saved())
		time.Sleep(time.Minute / 2)
		assert.Equal(t, uint64(250), saved())

		l.Observe(300, 0)
		cancel()
		require.NoError(t, <-done)
		assert.Equal(t, uint64(300), saved(), "final flush at stop")
	})
}

func TestFlushCanceled(t *testing.T) {
	m, err := Open(t.TempDir(), testICCID, Options{})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	assert.ErrorIs(t, m.Flush(ctx), context.Canceled)
	assert.NoFileExists(t, m.Path())
}
