package netif_test

import (
	"context"
	"encoding/binary"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pppdial/pppdial/netif"
	"github.com/pppdial/pppdial/netif/netiftest"
)

// watchDev wraps a Device and records, in both directions, the largest IP packet and the MSS
// option of every TCP SYN, as a capture of the link would show them.
type watchDev struct {
	netif.Device
	mu            sync.Mutex
	maxOut, maxIn int
	synMSSOut     []uint16
}

func (d *watchDev) WritePacket(p []byte) error {
	d.mu.Lock()
	d.maxOut = max(d.maxOut, len(p))
	if mss, ok := synMSS(p); ok {
		d.synMSSOut = append(d.synMSSOut, mss)
	}
	d.mu.Unlock()
	return d.Device.WritePacket(p)
}

func (d *watchDev) SetPacketHandler(h func([]byte)) {
	if h == nil {
		d.Device.SetPacketHandler(nil)
		return
	}
	d.Device.SetPacketHandler(func(p []byte) {
		d.mu.Lock()
		d.maxIn = max(d.maxIn, len(p))
		d.mu.Unlock()
		h(p)
	})
}

func (d *watchDev) take() (maxOut, maxIn int, mss []uint16) {
	d.mu.Lock()
	defer d.mu.Unlock()
	maxOut, maxIn, mss = d.maxOut, d.maxIn, d.synMSSOut
	d.maxOut, d.maxIn, d.synMSSOut = 0, 0, nil
	return maxOut, maxIn, mss
}

// synMSS returns the MSS option of an IPv4 TCP segment with SYN set.
func synMSS(p []byte) (uint16, bool) {
	if len(p) < 20 || p[0]>>4 != 4 || p[9] != 6 {
		return 0, false
	}
	tcp := p[int(p[0]&0x0f)*4:]
	if len(tcp) < 20 || tcp[13]&0x02 == 0 {
		return 0, false
	}
	opts := tcp[20:min(int(tcp[12]>>4)*4, len(tcp))]
	for len(opts) > 0 {
		switch {
		case opts[0] == 0:
			return 0, false
		case opts[0] == 1:
			opts = opts[1:]
		case len(opts) < 2 || opts[1] < 2 || int(opts[1]) > len(opts):
			return 0, false
		case opts[0] == 2 && opts[1] == 4:
			return binary.BigEndian.Uint16(opts[2:4]), true
		default:
			opts = opts[opts[1]:]
		}
	}
	return 0, false
}

// The userspace stack's TCP follows the interface MTU the link negotiated (issue 13): the MSS
// it advertises is MTU-40, so a peer whose own MTU is larger still sends segments that fit, and
// what it sends fits too. A redial that brings a different MTU (same addresses, sockets kept)
// changes the MSS of the next connections.
func TestTCPFollowsMTU(t *testing.T) {
	reg := netif.NewRegistry()
	pa, pb := netiftest.Pipe(netiftest.Options{})
	wa := &watchDev{Device: pa}
	a, err := reg.AddPPP(wa, netif.Options{Logger: quiet})
	require.NoError(t, err)
	b, err := reg.AddPPP(pb, netif.Options{Logger: quiet})
	require.NoError(t, err)
	t.Cleanup(func() {
		_ = reg.Remove(a)
		_ = reg.Remove(b)
		_ = pa.Close()
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	for _, mtu := range []int{1280, 576, 1500} {
		// Our side takes the negotiated MTU; the peer keeps 1500, as a peer that sends up to
		// our MRU but whose own interface is larger would.
		require.NoError(t, a.SetUp(netif.Config{Local: addrA, Peer: addrB, MTU: mtu}))
		require.NoError(t, b.SetUp(netif.Config{Local: addrB, Peer: addrA, MTU: 1500}))
		require.Equal(t, mtu, a.MTU())

		_, err := netiftest.Download(ctx, a, b, 256<<10) // b sends to a
		require.NoError(t, err)
		_, err = netiftest.Download(ctx, b, a, 256<<10) // a sends to b
		require.NoError(t, err)
		maxOut, maxIn, mss := wa.take()
		t.Logf("MTU %d: SYN MSS %v, largest packet sent %d, received %d", mtu, mss, maxOut, maxIn)
		require.Len(t, mss, 2, "one SYN and one SYN-ACK from our side")
		for _, m := range mss {
			assert.Equal(t, uint16(mtu-40), m, "advertised MSS = MTU - 40")
		}
		assert.LessOrEqual(t, maxOut, mtu, "no packet sent above the MTU")
		assert.LessOrEqual(t, maxIn, mtu, "the peer's segments fit our MSS")
		assert.Greater(t, maxIn, mtu-100, "full-sized segments were used (the test measures something)")
		a.SetDown(nil) // the next round is a redial with another MTU
	}
}
