package modemsim_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pppdial/pppdial/modemsim"
	"github.com/pppdial/pppdial/ppp"
)

// TestPPPServerEndToEnd dials the emulated modem, runs the project's PPP client over the session
// against the PPP server behind CONNECT, and hangs up.
func TestPPPServerEndToEnd(t *testing.T) {
	up := make(chan *ppp.Conn, 1)
	r := newRig(t, fast(modemsim.EC25()), modemsim.PPPServer(ppp.Config{}, func(c *ppp.Conn) { up <- c }))
	s, err := r.dial(t, cfg())
	require.NoError(t, err)

	client := ppp.NewConn(s.Data(), ppp.Config{Role: ppp.Client})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	client.Start(ctx)
	st, err := client.WaitUp(ctx)
	require.NoError(t, err)
	assert.Equal(t, modemsim.DefaultPeerAddr, st.Local)
	assert.Equal(t, modemsim.DefaultServerAddr, st.Peer)
	server := <-up
	sst, err := server.WaitUp(ctx)
	require.NoError(t, err)
	assert.Equal(t, modemsim.DefaultPeerAddr, sst.Peer)

	require.NoError(t, client.Close(ctx))
	require.NoError(t, s.Hangup(ctx))
	assert.Equal(t, 1, r.m.Stats().Hangups)
}
