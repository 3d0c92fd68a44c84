package bind_test

import (
	"io"
	"net/netip"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pppdial/pppdial/bind"
	"github.com/pppdial/pppdial/netif/netiftest"
)

func TestNetdevDescriptors(t *testing.T) {
	t.Parallel()
	l := newLink(t, nil, netiftest.Options{})
	nd := bind.NewNetdev(l.reg, 3)
	var fds []int
	for range 3 {
		fd, err := nd.Socket(bind.AF_INET, bind.SOCK_STREAM, bind.IPPROTO_TCP)
		require.NoError(t, err)
		fds = append(fds, fd)
	}
	assert.Equal(t, []int{0, 1, 2}, fds)
	_, err := nd.Socket(bind.AF_INET, bind.SOCK_DGRAM, 0)
	assert.ErrorIs(t, err, syscall.EMFILE)
	require.NoError(t, nd.Close(1))
	fd, err := nd.Socket(bind.AF_INET, bind.SOCK_DGRAM, bind.IPPROTO_UDP)
	require.NoError(t, err)
	assert.Equal(t, 1, fd, "lowest free descriptor")
	assert.ErrorIs(t, nd.Close(7), syscall.EBADF)
	_, err = nd.Send(9, []byte("x"), 0, time.Time{})
	assert.ErrorIs(t, err, syscall.EBADF)
	_, err = nd.Send(0, []byte("x"), 0, time.Time{})
	assert.ErrorIs(t, err, syscall.ENOTCONN)
	_, err = nd.Socket(99, bind.SOCK_STREAM, 0)
	assert.ErrorIs(t, err, syscall.EAFNOSUPPORT)
	_, err = nd.Socket(bind.AF_INET, bind.SOCK_STREAM, bind.IPPROTO_UDP)
	assert.ErrorIs(t, err, syscall.EPROTONOSUPPORT)

	assert.ErrorIs(t, nd.SetSockOpt(0, bind.SOL_SOCKET, bind.SO_BINDTODEVICE, "pp9"), syscall.ENODEV)
	assert.NoError(t, nd.SetSockOpt(0, bind.SOL_SOCKET, bind.SO_BINDTODEVICE, "pp0"))
	assert.NoError(t, nd.SetSockOpt(0, bind.SOL_SOCKET, bind.SO_BINDTODEVICE, []byte("pp1\x00")))
	assert.ErrorIs(t, nd.SetSockOpt(0, bind.SOL_SOCKET, 12345, 1), syscall.ENOPROTOOPT)
	for _, fd := range []int{0, 1, 2} {
		require.NoError(t, nd.Close(fd))
	}
}

func TestNetdevTCP(t *testing.T) {
	t.Parallel()
	l := newLink(t, nil, netiftest.Options{})
	nd := bind.NewNetdev(l.reg, 8)

	lfd, err := nd.Socket(bind.AF_INET, bind.SOCK_STREAM, bind.IPPROTO_TCP)
	require.NoError(t, err)
	require.NoError(t, nd.SetSockOpt(lfd, bind.SOL_SOCKET, bind.SO_BINDTODEVICE, "pp1"))
	require.NoError(t, nd.Bind(lfd, netip.MustParseAddrPort("0.0.0.0:80")))
	require.NoError(t, nd.Listen(lfd, 4))

	type acc struct {
		fd   int
		peer netip.AddrPort
		err  error
	}
	accepted := make(chan acc, 1)
	go func() {
		fd, peer, err := nd.Accept(lfd)
		accepted <- acc{fd, peer, err}
	}()

	cfd, err := nd.Socket(bind.AF_INET, bind.SOCK_STREAM, 0)
	require.NoError(t, err)
	require.NoError(t, nd.SetSockOpt(cfd, bind.SOL_SOCKET, bind.SO_BINDTODEVICE, "pp0"))
	require.NoError(t, nd.Connect(cfd, "peer.test", netip.AddrPortFrom(netip.Addr{}, 80)))
	a := <-accepted
	require.NoError(t, a.err)
	assert.Equal(t, cliAddr, a.peer.Addr())

	k, err := nd.Send(cfd, []byte("hello"), 0, time.Now().Add(5*time.Second))
	require.NoError(t, err)
	assert.Equal(t, 5, k)
	buf := make([]byte, 16)
	k, err = nd.Recv(a.fd, buf, 0, time.Now().Add(5*time.Second))
	require.NoError(t, err)
	assert.Equal(t, "hello", string(buf[:k]))

	// A deadline in the past fails at once.
	_, err = nd.Recv(a.fd, buf, 0, time.Now().Add(-time.Second))
	require.Error(t, err)

	require.NoError(t, nd.Close(cfd))
	_, err = nd.Recv(a.fd, buf, 0, time.Now().Add(5*time.Second))
	assert.ErrorIs(t, err, io.EOF)
	require.NoError(t, nd.Close(a.fd))
	require.NoError(t, nd.Close(lfd))
}

// A Recv blocked on one socket neither holds up other sockets nor a Close
// of its own, which unblocks it.
func TestNetdevNoLockWhileBlocking(t *testing.T) {
	t.Parallel()
	l := newLink(t, nil, netiftest.Options{})
	nd := bind.NewNetdev(l.reg, 8)
	nd.Interface = "pp0"

	srv, err := nd.Socket(bind.AF_INET, bind.SOCK_DGRAM, 0)
	require.NoError(t, err)
	require.NoError(t, nd.SetSockOpt(srv, bind.SOL_SOCKET, bind.SO_BINDTODEVICE, "pp1"))
	require.NoError(t, nd.Bind(srv, netip.MustParseAddrPort("10.64.0.2:53000")))

	blocked, err := nd.Socket(bind.AF_INET, bind.SOCK_DGRAM, 0)
	require.NoError(t, err)
	require.NoError(t, nd.Bind(blocked, netip.MustParseAddrPort("0.0.0.0:53001")))
	recvErr := make(chan error, 1)
	go func() {
		_, _, err := nd.RecvFrom(blocked, make([]byte, 10), 0, time.Time{})
		recvErr <- err
	}()

	// Meanwhile other sockets work, from several goroutines.
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			fd, err := nd.Socket(bind.AF_INET, bind.SOCK_DGRAM, 0)
			if !assert.NoError(t, err) {
				return
			}
			defer nd.Close(fd)
			_, err = nd.SendTo(fd, []byte{byte('a' + i)}, 0, netip.MustParseAddrPort("10.64.0.2:53000"), time.Time{})
			assert.NoError(t, err)
		})
	}
	wg.Wait()
	got := map[byte]bool{}
	for range 4 {
		buf := make([]byte, 4)
		k, from, err := nd.RecvFrom(srv, buf, 0, time.Now().Add(5*time.Second))
		require.NoError(t, err)
		require.Equal(t, 1, k)
		assert.Equal(t, cliAddr, from.Addr())
		got[buf[0]] = true
	}
	assert.Len(t, got, 4)

	select {
	case err := <-recvErr:
		t.Fatalf("Recv returned early: %v", err)
	default:
	}
	require.NoError(t, nd.Close(blocked))
	select {
	case err := <-recvErr:
		assert.Error(t, err)
	case <-time.After(3 * time.Second):
		t.Fatal("Close did not unblock Recv")
	}
	require.NoError(t, nd.Close(srv))
}

func TestNetdevResolveAndAddr(t *testing.T) {
	t.Parallel()
	l := newLink(t, nil, netiftest.Options{})
	nd := bind.NewNetdev(l.reg, 0)
	_, err := nd.Addr()
	assert.ErrorIs(t, err, syscall.ENETUNREACH, "no default interface")
	require.NoError(t, l.reg.SetDefault(l.cli))
	a, err := nd.Addr()
	require.NoError(t, err)
	assert.Equal(t, cliAddr, a)
	ip, err := nd.GetHostByName("peer.test")
	require.NoError(t, err)
	assert.Equal(t, srvAddr, ip)
	_, err = nd.GetHostByName("nope.test")
	assert.Error(t, err)
}
