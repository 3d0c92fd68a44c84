// Package socksclient is a small SOCKS5 client (RFC 1928, RFC 1929) for tests: CONNECT and
// UDP ASSOCIATE with or without a password, and the UDP request header. It is built from
// go-socks5's message types, as the server is, but drives them from the other side.
package socksclient

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/things-go/go-socks5/statute"
)

// Auth is the RFC 1929 user name and password to offer; the zero value offers only "no
// authentication".
type Auth struct{ User, Password string }

// RefusedError is a refusal by the server: at method selection (Method 0xFF), at
// authentication (Status != 0) or in the reply to the request (Reply != 0).
type RefusedError struct {
	Stage string // "method", "auth" or "request"
	Code  byte
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("socks: refused at %s: code %#x", e.Stage, e.Code)
}

// Conn is a control connection after a successful request.
type Conn struct {
	net.Conn
	r *bufio.Reader
	// Bound is BND.ADDR:BND.PORT from the reply (for UDP ASSOCIATE: the relay).
	Bound netip.AddrPort
}

// Read reads from the connection (after anything the handshake buffered).
func (c *Conn) Read(b []byte) (int, error) { return c.r.Read(b) }

// Connect asks proxy to CONNECT to addr (host:port; a name is sent as a name).
func Connect(ctx context.Context, network, proxy string, auth Auth, addr string) (*Conn, error) {
	return request(ctx, network, proxy, auth, statute.CommandConnect, addr)
}

// Associate asks proxy for a UDP association; from is the address the client will send from
// ("0.0.0.0:0" when unknown, as most clients send).
func Associate(ctx context.Context, network, proxy string, auth Auth, from string) (*Conn, error) {
	return request(ctx, network, proxy, auth, statute.CommandAssociate, from)
}

func request(ctx context.Context, network, proxy string, auth Auth, cmd byte, addr string) (*Conn, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, network, proxy)
	if err != nil {
		return nil, err
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = c.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { _ = c.Close() })
	defer stop()
	cc, err := handshake(c, auth, cmd, addr)
	if err != nil {
		_ = c.Close()
		return nil, err
	}
	_ = c.SetDeadline(time.Time{})
	return cc, nil
}

func handshake(c net.Conn, auth Auth, cmd byte, addr string) (*Conn, error) {
	r := bufio.NewReader(c)
	method := statute.MethodNoAuth
	if auth.User != "" {
		method = statute.MethodUserPassAuth
	}
	if _, err := c.Write(statute.NewMethodRequest(statute.VersionSocks5, []byte{method}).Bytes()); err != nil {
		return nil, err
	}
	mr, err := statute.ParseMethodReply(r)
	if err != nil {
		return nil, err
	}
	if mr.Method != method {
		return nil, &RefusedError{Stage: "method", Code: mr.Method}
	}
	if method == statute.MethodUserPassAuth {
		up := statute.NewUserPassRequest(statute.UserPassAuthVersion, []byte(auth.User), []byte(auth.Password))
		if _, err := c.Write(up.Bytes()); err != nil {
			return nil, err
		}
		rep, err := statute.ParseUserPassReply(r)
		if err != nil {
			return nil, err
		}
		if rep.Status != statute.AuthSuccess {
			return nil, &RefusedError{Stage: "auth", Code: rep.Status}
		}
	}
	spec, err := statute.ParseAddrSpec(addr)
	if err != nil {
		return nil, err
	}
	req := statute.Request{Version: statute.VersionSocks5, Command: cmd, DstAddr: spec}
	if _, err := c.Write(req.Bytes()); err != nil {
		return nil, err
	}
	rep, err := statute.ParseReply(r)
	if err != nil {
		return nil, err
	}
	if rep.Response != statute.RepSuccess {
		return nil, &RefusedError{Stage: "request", Code: rep.Response}
	}
	ip, ok := netip.AddrFromSlice(rep.BndAddr.IP)
	if !ok {
		return nil, errors.New("socks: reply without an IP address")
	}
	return &Conn{Conn: c, r: r, Bound: netip.AddrPortFrom(ip.Unmap(), uint16(rep.BndAddr.Port))}, nil
}

// Datagram wraps payload for the relay, to dst (host:port).
func Datagram(dst string, payload []byte) ([]byte, error) {
	d, err := statute.NewDatagram(dst, payload)
	if err != nil {
		return nil, err
	}
	return d.Bytes(), nil
}

// ParseDatagram splits a datagram from the relay into its source (host:port) and payload.
func ParseDatagram(b []byte) (string, []byte, error) {
	d, err := statute.ParseDatagram(b)
	if err != nil {
		return "", nil, err
	}
	return d.DstAddr.String(), d.Data, nil
}
