package metrics

import (
	"context"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestServeScrapeAndShutdown(t *testing.T) {
	c := New(Options{})
	l := c.Link("pp0")
	l.SetUp(true)
	var rx uint64
	l.SetCounters(func() Counters { return Counters{RxBytes: rx} })

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, ln, NewRegistry(c)) }()

	client := &http.Client{Timeout: 10 * time.Second}
	get := func(path string) (int, string) {
		resp, err := client.Get("http://" + ln.Addr().String() + path)
		require.NoError(t, err)
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp.StatusCode, string(body)
	}
	code, body := get("/metrics")
	assert.Equal(t, http.StatusOK, code)
	assert.Contains(t, body, `pppdial_link_up{ifname="pp0"} 1`)
	assert.Contains(t, body, `pppdial_bytes_total{direction="rx",ifname="pp0"} 0`)
	assert.Contains(t, body, "go_goroutines ")
	assert.Contains(t, body, "process_cpu_seconds_total ")

	rx = 3 << 20 // between scrapes: read at the next one
	_, body = get("/metrics")
	assert.Contains(t, body, `pppdial_bytes_total{direction="rx",ifname="pp0"} 3.145728e+06`)

	code, _ = get("/")
	assert.Equal(t, http.StatusNotFound, code)
	client.CloseIdleConnections()

	cancel()
	select {
	case err := <-done:
		assert.NoError(t, err)
	case <-time.After(ShutdownTimeout + 5*time.Second):
		t.Fatal("Serve did not return after its context ended")
	}
	_, err = net.DialTimeout("tcp", ln.Addr().String(), time.Second)
	assert.Error(t, err, "listener still open after Serve returned")
}

func TestListenAndServeBadAddress(t *testing.T) {
	err := ListenAndServe(t.Context(), "127.0.0.1:notaport", NewRegistry(New(Options{})))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "metrics:")
}
