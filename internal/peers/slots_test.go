//go:build linux

package peers

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestAcquireSlotsAllOrNone: a request for two slots while one is taken waits without holding
// the free one (a test wanting one VM gets it at once), and succeeds once both are free.
func TestAcquireSlotsAllOrNone(t *testing.T) {
	t.Setenv(EnvMaxVMs, "2")
	home := t.TempDir()
	ctx := context.Background()

	other, err := acquireSlots(ctx, home, 1)
	require.NoError(t, err)
	short, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancel()
	_, err = acquireSlots(short, home, 2)
	require.ErrorIs(t, err, context.DeadlineExceeded, "one of two slots is taken")

	// Nothing of the failed request is held: the second slot is free for a one-VM test, at once.
	quick, cancel2 := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel2()
	one, err := acquireSlots(quick, home, 1)
	require.NoError(t, err, "the free slot was not kept by the request that could not have both")
	require.NoError(t, one[0].Close())

	require.NoError(t, other[0].Close())
	both, err := acquireSlots(ctx, home, 2)
	require.NoError(t, err)
	assert.Len(t, both, 2)
	for _, f := range both {
		require.NoError(t, f.Close())
	}

	_, err = acquireSlots(ctx, home, 3)
	assert.ErrorContains(t, err, "allows 2", "more than the machine allows fails at once")
}
