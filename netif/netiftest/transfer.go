package netiftest

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"time"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/adapters/gonet"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"

	"github.com/pppdial/pppdial/netif"
)

// Result is what Download measured.
type Result struct {
	Bytes   int64
	Elapsed time.Duration // from the client's connect to the last byte received
}

// Goodput is the application payload rate in bytes per second.
func (r Result) Goodput() float64 { return float64(r.Bytes) / r.Elapsed.Seconds() }

// Download measures a bulk TCP download over two pp interfaces that are up
// and whose stacks reach each other (an in-memory Pipe, or two ppp.Conns on
// a serial line): server listens on its IPv4 address, client connects, the
// server sends size pseudo-random bytes, the client checks their SHA-256.
// It returns when the transfer is verified, fails, or ctx ends; no
// goroutine outlives it.
func Download(ctx context.Context, client, server *netif.Netif, size int64) (Result, error) {
	srvAddr := server.Config().Local
	if !srvAddr.IsValid() {
		return Result{}, errors.New("netiftest: server interface has no IPv4 address")
	}
	// An ephemeral port: repeated runs must not meet the last one's
	// TIME_WAIT.
	fa := tcpip.FullAddress{Addr: tcpip.AddrFrom4(srvAddr.As4())}
	ln, err := gonet.ListenTCP(server.Stack(), fa, ipv4.ProtocolNumber)
	if err != nil {
		return Result{}, fmt.Errorf("listen: %w", err)
	}
	fa.Port = uint16(ln.Addr().(*net.TCPAddr).Port)
	seed := rand.Uint64()
	want := make(chan []byte, 1)
	srvErr := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			srvErr <- err
			return
		}
		defer c.Close()
		stop := context.AfterFunc(ctx, func() { _ = c.Close() })
		defer stop()
		h := sha256.New()
		_, err = io.Copy(io.MultiWriter(c, h), io.LimitReader(newPRNG(seed), size))
		want <- h.Sum(nil)
		srvErr <- err
	}()
	defer func() { _ = ln.Close(); <-srvErr }()

	start := time.Now()
	c, err := gonet.DialContextTCP(ctx, client.Stack(), fa, ipv4.ProtocolNumber)
	if err != nil {
		return Result{}, fmt.Errorf("dial: %w", err)
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { _ = c.Close() })
	defer stop()
	h := sha256.New()
	n, err := io.Copy(h, c)
	res := Result{Bytes: n, Elapsed: time.Since(start)}
	if err != nil {
		return res, fmt.Errorf("receive: %w", err)
	}
	if ctx.Err() != nil {
		return res, ctx.Err()
	}
	if n != size {
		return res, fmt.Errorf("received %d bytes, want %d", n, size)
	}
	if got, w := h.Sum(nil), <-want; string(got) != string(w) {
		return res, errors.New("payload corrupted")
	}
	return res, nil
}

// prng is an io.Reader of deterministic pseudo-random bytes.
type prng struct{ r *rand.ChaCha8 }

func newPRNG(seed uint64) io.Reader {
	var s [32]byte
	for i := range 8 {
		s[i] = byte(seed >> (8 * i))
	}
	return prng{rand.NewChaCha8(s)}
}

// Read fills b with pseudo-random bytes.
func (p prng) Read(b []byte) (int, error) { return p.r.Read(b) }
