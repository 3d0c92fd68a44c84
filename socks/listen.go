package socks

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// UnixSocketMode is the mode of a unix socket opened by Listen: its owner and group connect.
const UnixSocketMode = 0o660

// UnixPath returns the socket path addr names ("unix:/run/x.sock" or a path starting with
// "/"), or "" when addr is a TCP host:port.
func UnixPath(addr string) string {
	if p, ok := strings.CutPrefix(addr, "unix:"); ok {
		return p
	}
	if strings.HasPrefix(addr, "/") {
		return addr
	}
	return ""
}

// Listen opens a listener for a Server on addr: a TCP host:port, or a unix socket path (see
// UnixPath). A unix socket is created with UnixSocketMode under a temporary name and renamed
// into place, so it is never reachable with wider permissions; a stale socket at the path (no
// one answers on it) is replaced, a live one or any other kind of file is an error. The
// socket file is removed when the listener closes.
func Listen(ctx context.Context, addr string) (net.Listener, error) {
	path := UnixPath(addr)
	if path == "" {
		var lc net.ListenConfig
		return lc.Listen(ctx, "tcp", addr)
	}
	if err := clearStale(ctx, path); err != nil {
		return nil, err
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+"."+hex.EncodeToString(b[:]))
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "unix", tmp)
	if err != nil {
		return nil, err
	}
	ul := ln.(*net.UnixListener)
	ul.SetUnlinkOnClose(false) // the name it was created under is gone after the rename
	if err := os.Chmod(tmp, UnixSocketMode); err != nil {
		_ = ul.Close()
		_ = os.Remove(tmp)
		return nil, err
	}
	if err := os.Rename(tmp, path); err != nil {
		_ = ul.Close()
		_ = os.Remove(tmp)
		return nil, err
	}
	fi, err := os.Lstat(path)
	if err != nil {
		_ = ul.Close()
		return nil, err
	}
	return &unixListener{UnixListener: ul, path: path, file: fi}, nil
}

// clearStale removes a unix socket at path that no server answers on. Anything else there is
// left alone and reported.
func clearStale(ctx context.Context, path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if fi.Mode().Type() != fs.ModeSocket {
		return fmt.Errorf("socks: %s exists and is not a socket", path)
	}
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", path)
	if err == nil {
		_ = c.Close()
		return fmt.Errorf("socks: %s: %w (another server answers on it)", path, syscall.EADDRINUSE)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		return fmt.Errorf("socks: %s: cannot tell whether it is in use: %w", path, err)
	}
	return os.Remove(path)
}

// unixListener removes its socket file on Close, unless another socket replaced it since.
type unixListener struct {
	*net.UnixListener
	path string
	file fs.FileInfo
	once sync.Once
}

// Addr is the socket's path (not the temporary name it was created under).
func (l *unixListener) Addr() net.Addr { return &net.UnixAddr{Name: l.path, Net: "unix"} }

// Close closes the listener and removes the socket file.
func (l *unixListener) Close() error {
	err := l.UnixListener.Close()
	l.once.Do(func() {
		if fi, serr := os.Lstat(l.path); serr == nil && os.SameFile(fi, l.file) {
			_ = os.Remove(l.path)
		}
	})
	return err
}

// LocalOnly reports whether a listener on addr accepts connections only from this host: a
// unix socket, or TCP on a loopback address. Anything else reaches the link's paid traffic
// from the network and wants Credentials.
func LocalOnly(addr net.Addr) bool {
	switch a := addr.(type) {
	case *net.UnixAddr:
		return true
	case *net.TCPAddr:
		return a.IP.IsLoopback()
	}
	return false
}
