package eventq_test

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pppdial/pppdial/internal/eventq"
)

type ev struct {
	N      int
	Missed uint64
}

func setMissed(e *ev, n uint64) { e.Missed = n }

func TestInOrder(t *testing.T) {
	var mu sync.Mutex
	var got []int
	q := eventq.New(func(e ev) { mu.Lock(); got = append(got, e.N); mu.Unlock() }, setMissed, 0)
	for i := range 100 {
		q.Post(ev{N: i})
	}
	require.NoError(t, q.Flush(context.Background()))
	mu.Lock()
	defer mu.Unlock()
	require.Len(t, got, 100)
	for i, n := range got {
		assert.Equal(t, i, n)
	}
}

// A stuck observer never blocks Post; what it missed is counted and reported on the next event
// it gets.
func TestSlowObserverToldWhatItMissed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		var got []ev
		q := eventq.New(func(e ev) {
			if e.N == 0 {
				<-release
			}
			got = append(got, e)
		}, setMissed, 4)
		q.Post(ev{N: 0})
		synctest.Wait() // the observer holds event 0
		for i := 1; i <= 10; i++ {
			q.Post(ev{N: i}) // 1..4 queue, 5..10 are dropped
		}
		assert.Equal(t, uint64(6), q.Dropped())
		close(release)
		synctest.Wait()
		q.Post(ev{N: 11})
		require.NoError(t, q.Close(context.Background()))
		require.Len(t, got, 6)
		assert.Equal(t, []int{0, 1, 2, 3, 4, 11}, []int{got[0].N, got[1].N, got[2].N, got[3].N, got[4].N, got[5].N})
		assert.Equal(t, uint64(6), got[5].Missed, "the first event after the drops says how many")
		assert.Zero(t, got[1].Missed)
	})
}

func TestCloseIsBounded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		block := make(chan struct{})
		q := eventq.New(func(ev) { <-block }, setMissed, 0)
		q.Post(ev{})
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		assert.ErrorIs(t, q.Close(ctx), context.DeadlineExceeded)
		q.Post(ev{N: 1}) // after Close: ignored
		close(block)
		require.NoError(t, q.Close(context.Background()))
	})
}

func TestNilObserver(t *testing.T) {
	q := eventq.New[ev](nil, setMissed, 0)
	q.Post(ev{})
	require.NoError(t, q.Flush(context.Background()))
	require.NoError(t, q.Close(context.Background()))
}
