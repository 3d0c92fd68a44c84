package bind

import (
	"errors"
	"io"
	"net"
	"os"
	"syscall"

	"gvisor.dev/gvisor/pkg/tcpip"

	"github.com/pppdial/pppdial/netif"
)

// errnoOf maps a gVisor error to the errno a kernel socket would report,
// so that callers see the same errors on pp<N> and on host interfaces.
func errnoOf(err tcpip.Error) syscall.Errno {
	switch err.(type) {
	case *tcpip.ErrConnectionRefused:
		return syscall.ECONNREFUSED
	case *tcpip.ErrConnectionReset:
		return syscall.ECONNRESET
	case *tcpip.ErrConnectionAborted, *tcpip.ErrAborted:
		return syscall.ECONNABORTED
	case *tcpip.ErrTimeout:
		return syscall.ETIMEDOUT
	case *tcpip.ErrHostUnreachable:
		return syscall.EHOSTUNREACH
	case *tcpip.ErrHostDown:
		return syscall.EHOSTDOWN
	case *tcpip.ErrNetworkUnreachable, *tcpip.ErrNoNet:
		return syscall.ENETUNREACH
	case *tcpip.ErrPortInUse, *tcpip.ErrNoPortAvailable:
		return syscall.EADDRINUSE
	case *tcpip.ErrBadLocalAddress:
		return syscall.EADDRNOTAVAIL
	case *tcpip.ErrClosedForSend:
		return syscall.EPIPE
	case *tcpip.ErrNotConnected:
		return syscall.ENOTCONN
	case *tcpip.ErrAlreadyConnected:
		return syscall.EISCONN
	case *tcpip.ErrAlreadyConnecting:
		return syscall.EALREADY
	case *tcpip.ErrAlreadyBound, *tcpip.ErrInvalidEndpointState, *tcpip.ErrInvalidOptionValue:
		return syscall.EINVAL
	case *tcpip.ErrMessageTooLong:
		return syscall.EMSGSIZE
	case *tcpip.ErrNoBufferSpace:
		return syscall.ENOBUFS
	case *tcpip.ErrWouldBlock:
		return syscall.EAGAIN
	case *tcpip.ErrAddressFamilyNotSupported:
		return syscall.EAFNOSUPPORT
	case *tcpip.ErrDestinationRequired:
		return syscall.EDESTADDRREQ
	case *tcpip.ErrNotPermitted:
		return syscall.EPERM
	case *tcpip.ErrBroadcastDisabled:
		return syscall.EACCES
	case *tcpip.ErrNotSupported, *tcpip.ErrQueueSizeNotSupported, *tcpip.ErrUnknownProtocolOption:
		return syscall.EOPNOTSUPP
	case *tcpip.ErrUnknownDevice, *tcpip.ErrUnknownNICID:
		return syscall.ENODEV
	case *tcpip.ErrBadAddress:
		return syscall.EFAULT
	}
	return syscall.EIO
}

// errnoByText recovers the errno from gonet's errors, which carry only the
// gVisor error's text. The table is built from the gVisor types themselves.
var errnoByText = func() map[string]syscall.Errno {
	m := map[string]syscall.Errno{}
	for _, e := range []tcpip.Error{
		&tcpip.ErrConnectionRefused{}, &tcpip.ErrConnectionReset{}, &tcpip.ErrConnectionAborted{},
		&tcpip.ErrAborted{}, &tcpip.ErrTimeout{}, &tcpip.ErrHostUnreachable{}, &tcpip.ErrHostDown{},
		&tcpip.ErrNetworkUnreachable{}, &tcpip.ErrNoNet{}, &tcpip.ErrPortInUse{}, &tcpip.ErrNoPortAvailable{},
		&tcpip.ErrBadLocalAddress{}, &tcpip.ErrClosedForSend{}, &tcpip.ErrNotConnected{},
		&tcpip.ErrAlreadyConnected{}, &tcpip.ErrAlreadyBound{}, &tcpip.ErrInvalidEndpointState{},
		&tcpip.ErrMessageTooLong{}, &tcpip.ErrNoBufferSpace{}, &tcpip.ErrWouldBlock{},
		&tcpip.ErrDestinationRequired{}, &tcpip.ErrInvalidOptionValue{}, &tcpip.ErrBroadcastDisabled{},
	} {
		m[e.String()] = errnoOf(e)
	}
	return m
}()

// stackErr converts a gVisor error into a *os.SyscallError carrying the
// errno; when the interface is down it also matches syscall.ENETDOWN and
// the down reason.
func stackErr(n *netif.Netif, call string, err tcpip.Error) error {
	return withLink(n, os.NewSyscallError(call, errnoOf(err)))
}

// withLink adds the interface's down state to err, if it is down: an
// aborted connection on a dead link then says why.
func withLink(n *netif.Netif, err error) error {
	if n == nil || err == nil {
		return err
	}
	if lerr := n.CheckUp(); lerr != nil && !errors.Is(err, syscall.ENETDOWN) {
		return &linkErr{err: err, link: lerr}
	}
	return err
}

// linkErr is an I/O error on an interface that has gone down.
type linkErr struct {
	err  error // the socket error (e.g. ECONNABORTED)
	link error // *netif.Error: ENETDOWN + reason
}

// Error says what failed and that the link is down.
func (e *linkErr) Error() string { return e.err.Error() + " (" + e.link.Error() + ")" }

// Unwrap returns the socket error and the link error, for errors.Is.
func (e *linkErr) Unwrap() []error { return []error{e.err, e.link} }

// Timeout reports whether the socket error was a timeout.
func (e *linkErr) Timeout() bool {
	var t interface{ Timeout() bool }
	return errors.As(e.err, &t) && t.Timeout()
}

// fixGonet rewrites an error from a gonet adapter into the shape the
// kernel socket path produces: *net.OpError around *os.SyscallError with
// an errno, or os.ErrDeadlineExceeded for deadlines.
func fixGonet(n *netif.Netif, err error) error {
	if err == nil || err == io.EOF {
		return err
	}
	var op *net.OpError
	if !errors.As(err, &op) {
		return withLink(n, err)
	}
	inner := op.Err
	var ne net.Error
	switch {
	case errors.As(inner, &ne) && ne.Timeout():
		inner = os.ErrDeadlineExceeded
	case errnoByText[inner.Error()] != 0:
		inner = withLink(n, os.NewSyscallError(op.Op, errnoByText[inner.Error()]))
	case inner.Error() == (&tcpip.ErrClosedForReceive{}).String():
		// The endpoint was aborted or closed under a reader.
		inner = withLink(n, os.NewSyscallError(op.Op, syscall.ECONNABORTED))
	default:
		inner = withLink(n, inner)
	}
	cp := *op
	cp.Err = inner
	return &cp
}

func opError(op, network string, src, addr net.Addr, err error) error {
	var oe *net.OpError
	if errors.As(err, &oe) {
		return err
	}
	return &net.OpError{Op: op, Net: network, Source: src, Addr: addr, Err: err}
}
