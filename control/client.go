package control

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"sync"
	"syscall"
	"time"
)

// ErrNoDaemon is matched (errors.Is) by Dial's error when no daemon listens on the path: the
// socket does not exist, or connecting to it is refused (a daemon that died). The error also
// wraps the dial error itself.
var ErrNoDaemon = errors.New("control: no daemon running")

// DefaultCallTimeout bounds a Client call whose context has no deadline; DefaultATTimeout an AT
// call, which outlasts the server's default request timeout so the daemon's answer arrives.
const (
	DefaultCallTimeout = 30 * time.Second
	DefaultATTimeout   = 2*time.Minute + 30*time.Second
)

// maxResponseBytes bounds one response line: a busy multi-link status or a long AT listing fits.
const maxResponseBytes = 1 << 20

// Client speaks to a daemon's control socket. Its calls are serialised: safe for concurrent use,
// one at a time on the connection.
type Client struct {
	mu   sync.Mutex
	conn net.Conn
	r    *bufio.Reader
}

// Dial connects to the control socket at path.
func Dial(ctx context.Context, path string) (*Client, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ECONNREFUSED) {
			return nil, &noDaemonError{path: path, err: err}
		}
		return nil, fmt.Errorf("control: dial %s: %w", path, err)
	}
	return &Client{conn: c, r: bufio.NewReaderSize(c, 4096)}, nil
}

type noDaemonError struct {
	path string
	err  error
}

func (e *noDaemonError) Error() string {
	return fmt.Sprintf("no pppdial daemon is running on %s", e.path)
}

func (e *noDaemonError) Unwrap() []error { return []error{ErrNoDaemon, e.err} }

// Close closes the connection.
func (c *Client) Close() error { return c.conn.Close() }

// Status returns link ifname's status ("" for the only or first link).
func (c *Client) Status(ctx context.Context, ifname string) (Status, error) {
	resp, err := c.call(ctx, Request{Op: OpStatus, Ifname: ifname})
	if err != nil {
		return Status{}, err
	}
	if resp.Status == nil {
		return Status{}, fmt.Errorf("control: status response without a status")
	}
	return *resp.Status, nil
}

// List returns the status of every link the daemon runs.
func (c *Client) List(ctx context.Context) ([]Status, error) {
	resp, err := c.call(ctx, Request{Op: OpList})
	if err != nil {
		return nil, err
	}
	return resp.Links, nil
}

// Redial asks link ifname to drop the link and dial again now.
func (c *Client) Redial(ctx context.Context, ifname string) error {
	_, err := c.call(ctx, Request{Op: OpRedial, Ifname: ifname})
	return err
}

// AT runs cmds on link ifname's AT channel, in order, and returns their answers. When a command
// fails the error is a *RemoteError whose AT field holds the results up to the failed one.
func (c *Client) AT(ctx context.Context, ifname string, cmds ...string) ([]ATResult, error) {
	resp, err := c.call(ctx, Request{Op: OpAT, Ifname: ifname, Cmds: cmds})
	if err != nil {
		return nil, err
	}
	return resp.AT, nil
}

// call sends req and reads its response within ctx (the default timeouts without a deadline).
// A failed Response is a *RemoteError. After a transport error the Client is closed.
func (c *Client) call(ctx context.Context, req Request) (Response, error) {
	b, err := json.Marshal(req)
	if err != nil {
		return Response{}, fmt.Errorf("control: encode request: %w", err)
	}
	if _, err := ParseRequest(b); err != nil { // the server would refuse it: say so here
		return Response{}, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	deadline, ok := ctx.Deadline()
	if !ok {
		d := DefaultCallTimeout
		if req.Op == OpAT {
			d = DefaultATTimeout
		}
		deadline = time.Now().Add(d)
	}
	c.conn.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { c.conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	resp, err := c.exchange(append(b, '\n'))
	if err != nil {
		c.conn.Close()
		switch {
		case ctx.Err() != nil:
			err = context.Cause(ctx)
		case ok && errors.Is(err, os.ErrDeadlineExceeded):
			err = context.DeadlineExceeded // the connection's deadline is ctx's, met first
		}
		return Response{}, fmt.Errorf("control: %s: %w", req.Op, err)
	}
	if !resp.OK {
		return resp, &RemoteError{Code: resp.Code, Message: resp.Error, AT: resp.AT}
	}
	return resp, nil
}

func (c *Client) exchange(req []byte) (Response, error) {
	_, werr := c.conn.Write(req)
	// Even when the write failed, the server may have answered before hanging up (busy).
	line, err := readLine(c.r, maxResponseBytes)
	if werr != nil && err != nil {
		return Response{}, werr
	}
	if err != nil {
		return Response{}, err
	}
	var resp Response
	if err := json.Unmarshal(line, &resp); err != nil {
		return Response{}, fmt.Errorf("bad response: %w", err)
	}
	return resp, nil
}
