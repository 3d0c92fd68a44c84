package netif_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/adapters/gonet"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv6"

	"github.com/pppdial/pppdial/netif"
	"github.com/pppdial/pppdial/netif/netiftest"
)

// TestMain checks, after all tests and their cleanups, that no goroutine
// (ours, gVisor's, the pipe's) outlived its test.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var quiet = slog.New(slog.DiscardHandler)

var (
	addrA = netip.MustParseAddr("10.64.0.1")
	addrB = netip.MustParseAddr("10.64.0.2")
	llA   = netip.MustParseAddr("fe80::a")
	llB   = netip.MustParseAddr("fe80::b")
)

// pairUp returns two registered pp interfaces connected back to back and
// up (A=10.64.0.1, B=10.64.0.2); everything is torn down by t.Cleanup.
func pairUp(t testing.TB, opts netiftest.Options) (a, b *netif.Netif, da, db *netiftest.Device) {
	t.Helper()
	reg := netif.NewRegistry()
	da, db = netiftest.Pipe(opts)
	a, err := reg.AddPPP(da, netif.Options{Logger: quiet})
	require.NoError(t, err)
	b, err = reg.AddPPP(db, netif.Options{Logger: quiet})
	require.NoError(t, err)
	t.Cleanup(func() {
		_ = reg.Remove(a)
		_ = reg.Remove(b)
		_ = da.Close()
	})
	require.NoError(t, a.SetUp(netif.Config{Local: addrA, Peer: addrB, LocalV6: llA, PeerV6: llB}))
	require.NoError(t, b.SetUp(netif.Config{Local: addrB, Peer: addrA, LocalV6: llB, PeerV6: llA}))
	return a, b, da, db
}

func full(a netip.Addr, port uint16) tcpip.FullAddress {
	if a.IsUnspecified() {
		return tcpip.FullAddress{Port: port} // gVisor's wildcard is the empty address
	}
	return tcpip.FullAddress{Addr: tcpip.AddrFromSlice(a.AsSlice()), Port: port}
}

func TestTCPBackToBack(t *testing.T) {
	a, b, _, _ := pairUp(t, netiftest.Options{})
	ln, err := gonet.ListenTCP(b.Stack(), full(addrB, 8080), ipv4.ProtocolNumber)
	require.NoError(t, err)
	defer ln.Close()

	payload := make([]byte, 1<<20)
	_, _ = rand.Read(payload)
	want := sha256.Sum256(payload)
	got := make(chan [32]byte, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			got <- [32]byte{}
			return
		}
		defer c.Close()
		h := sha256.New()
		_, _ = io.Copy(h, c)
		var s [32]byte
		copy(s[:], h.Sum(nil))
		got <- s
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := gonet.DialContextTCP(ctx, a.Stack(), full(addrB, 8080), ipv4.ProtocolNumber)
	require.NoError(t, err)
	_, err = io.Copy(c, bytes.NewReader(payload))
	require.NoError(t, err)
	require.NoError(t, c.Close())
	select {
	case s := <-got:
		assert.Equal(t, want, s)
	case <-ctx.Done():
		t.Fatal("transfer timed out")
	}
	ca, cb := a.Counters(), b.Counters()
	assert.Greater(t, ca.PacketsOut, uint64(700))
	assert.Greater(t, ca.BytesOut, uint64(1<<20))
	assert.Greater(t, cb.PacketsIn, uint64(700))
	assert.Zero(t, ca.ErrorsOut)
}

func TestIPv6LinkLocal(t *testing.T) {
	a, b, _, _ := pairUp(t, netiftest.Options{})
	ln, err := gonet.ListenTCP(b.Stack(), full(llB, 80), ipv6.ProtocolNumber)
	require.NoError(t, err)
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err == nil {
			_, _ = c.Write([]byte("hello6"))
			_ = c.Close()
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := gonet.DialContextTCP(ctx, a.Stack(), full(llB, 80), ipv6.ProtocolNumber)
	require.NoError(t, err)
	defer c.Close()
	bs, err := io.ReadAll(c)
	require.NoError(t, err)
	assert.Equal(t, "hello6", string(bs))
}

// A blocked reader fails promptly when the link goes down, and a redial
// with new addresses works on the same interfaces.
func TestDownAbortsAndRedial(t *testing.T) {
	a, b, _, _ := pairUp(t, netiftest.Options{})
	ln, err := gonet.ListenTCP(b.Stack(), full(netip.IPv4Unspecified(), 9000), ipv4.ProtocolNumber)
	require.NoError(t, err)
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			accepted <- c
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := gonet.DialContextTCP(ctx, a.Stack(), full(addrB, 9000), ipv4.ProtocolNumber)
	require.NoError(t, err)
	defer c.Close()
	srv := <-accepted
	defer srv.Close()

	readErr := make(chan error, 1)
	go func() {
		_, err := c.Read(make([]byte, 10))
		readErr <- err
	}()
	// The read is blocked before the link goes down: that is the path under test.
	require.NoError(t, netiftest.WaitBlocked(ctx, "TestDownAbortsAndRedial.func", "gonet.(*TCPConn).Read"))
	why := errors.New("carrier lost")
	start := time.Now()
	a.SetDown(why)
	select {
	case err := <-readErr:
		require.Error(t, err)
		assert.Less(t, time.Since(start), time.Second)
	case <-time.After(5 * time.Second):
		t.Fatal("read did not fail after SetDown")
	}
	err = a.CheckUp()
	assert.ErrorIs(t, err, syscall.ENETDOWN)
	assert.ErrorIs(t, err, why)
	assert.Equal(t, netif.FlagPointToPoint, a.Flags())

	// Redial: new addresses on both ends.
	newA, newB := netip.MustParseAddr("10.65.0.7"), netip.MustParseAddr("10.65.0.8")
	b.SetDown(nil)
	require.NoError(t, a.SetUp(netif.Config{Local: newA, Peer: newB, DNS: []netip.Addr{newB}, MTU: 1400}))
	require.NoError(t, b.SetUp(netif.Config{Local: newB, Peer: newA, MTU: 1400}))
	assert.Equal(t, 1400, a.MTU())
	assert.Equal(t, newA, a.Config().Local)
	assert.Equal(t, []netip.Addr{newB}, a.DNS())
	ln2, err := gonet.ListenTCP(b.Stack(), full(newB, 9001), ipv4.ProtocolNumber)
	require.NoError(t, err)
	defer ln2.Close()
	go func() {
		c, err := ln2.Accept()
		if err == nil {
			_, _ = c.Write([]byte("again"))
			_ = c.Close()
		}
	}()
	c2, err := gonet.DialContextTCP(ctx, a.Stack(), full(newB, 9001), ipv4.ProtocolNumber)
	require.NoError(t, err)
	defer c2.Close()
	bs, err := io.ReadAll(c2)
	require.NoError(t, err)
	assert.Equal(t, "again", string(bs))
	assert.Equal(t, newA.String(), c2.LocalAddr().(*net.TCPAddr).IP.String())
}

func TestDownloadHelperLossy(t *testing.T) {
	a, b, da, db := pairUp(t, netiftest.Options{DropRate: 0.01, Seed: 7})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := netiftest.Download(ctx, a, b, 2<<20)
	require.NoError(t, err)
	assert.Equal(t, int64(2<<20), res.Bytes)
	assert.Positive(t, res.Goodput())
	assert.Positive(t, da.Stats().Lost+db.Stats().Lost, "the pipe lost packets")
	t.Logf("2 MiB with 1%% loss: %v (%.1f MB/s)", res.Elapsed, res.Goodput()/1e6)
}
