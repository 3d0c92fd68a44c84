//go:build linux

package peers

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestAcquireSlotsNoDeadlock: with one of two slots taken, a request for two keeps the free one
// while it waits (a one-VM request cannot take it from under it) and a second request for two
// holds nothing meanwhile; when the slot is released the first gets both, and the second gets
// them once the first lets them go.
func TestAcquireSlotsNoDeadlock(t *testing.T) {
	t.Setenv(EnvMaxVMs, "2")
	home := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	closeAll := func(fs []*os.File) {
		for _, f := range fs {
			require.NoError(t, f.Close())
		}
	}

	other, err := acquireSlots(ctx, home, 1)
	require.NoError(t, err)
	first := make(chan []*os.File)
	go func() {
		fs, err := acquireSlots(ctx, home, 2)
		assert.NoError(t, err)
		first <- fs
	}()
	// The first request takes the free slot while it waits for the other: a one-VM request
	// finds none.
	require.Eventually(t, func() bool {
		short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		defer cancel()
		fs, err := acquireSlots(short, home, 1)
		if err == nil {
			closeAll(fs)
			return false
		}
		return true
	}, 10*time.Second, 100*time.Millisecond, "the gathering request keeps the slot it found free")
	second := make(chan []*os.File)
	go func() {
		fs, err := acquireSlots(ctx, home, 2)
		assert.NoError(t, err)
		second <- fs
	}()

	closeAll(other)
	var got []*os.File
	select {
	case got = <-first:
	case <-second:
		t.Fatal("the second request for two went first")
	case <-ctx.Done():
		t.Fatal("the first request for two never got both slots")
	}
	assert.Len(t, got, 2)
	closeAll(got)
	select {
	case got = <-second:
	case <-ctx.Done():
		t.Fatal("the second request for two never got both slots")
	}
	assert.Len(t, got, 2)
	closeAll(got)

	_, err = acquireSlots(ctx, home, 3)
	assert.ErrorContains(t, err, "allows 2", "more than the machine allows fails at once")
}
