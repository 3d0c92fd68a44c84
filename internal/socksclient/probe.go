package socksclient

import (
	"errors"
	"net"
	"net/netip"
	"sync"
	"syscall"
	"time"
)

// UDPEcho is a UDP echo server that records what it receives, so a test can tell what reached
// it and from where.
type UDPEcho struct {
	conn *net.UDPConn
	// Seen receives every datagram (dropped when 64 wait unread).
	Seen chan Received
	wg   sync.WaitGroup
}

// Received is a datagram an UDPEcho got.
type Received struct {
	From    netip.AddrPort
	Payload string
}

// NewUDPEcho serves on laddr ("127.0.0.1:0").
func NewUDPEcho(laddr string) (*UDPEcho, error) {
	ap, err := netip.ParseAddrPort(laddr)
	if err != nil {
		return nil, err
	}
	c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(ap))
	if err != nil {
		return nil, err
	}
	e := &UDPEcho{conn: c, Seen: make(chan Received, 64)}
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		b := make([]byte, 2048)
		for {
			n, from, err := c.ReadFromUDPAddrPort(b)
			if err != nil {
				return
			}
			select {
			case e.Seen <- Received{from, string(b[:n])}:
			default:
			}
			_, _ = c.WriteToUDPAddrPort(b[:n], from)
		}
	}()
	return e, nil
}

// Addr is the address the server listens on.
func (e *UDPEcho) Addr() netip.AddrPort { return e.conn.LocalAddr().(*net.UDPAddr).AddrPort() }

// Close stops the server and waits for it.
func (e *UDPEcho) Close() error {
	err := e.conn.Close()
	e.wg.Wait()
	return err
}

// PortUnreachable reports whether datagrams to addr, sent from a fresh socket on laddr, draw
// an ICMP port unreachable (no socket bound there) within the time given.
func PortUnreachable(laddr, addr netip.AddrPort, within time.Duration) (bool, error) {
	c, err := net.DialUDP("udp", net.UDPAddrFromAddrPort(laddr), net.UDPAddrFromAddrPort(addr))
	if err != nil {
		return false, err
	}
	defer c.Close()
	probe, err := Datagram("127.0.0.1:9", []byte("probe"))
	if err != nil {
		return false, err
	}
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		if _, err := c.Write(probe); errors.Is(err, syscall.ECONNREFUSED) {
			return true, nil
		}
		if err := c.SetReadDeadline(time.Now().Add(20 * time.Millisecond)); err != nil {
			return false, err
		}
		if _, err := c.Read(make([]byte, 64)); errors.Is(err, syscall.ECONNREFUSED) {
			return true, nil
		}
	}
	return false, nil
}
