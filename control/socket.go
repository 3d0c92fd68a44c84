package control

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
	"sync"
	"syscall"
	"time"
)

// DefaultDir holds the daemons' sockets (systemd's RuntimeDirectory=pppdial).
const DefaultDir = "/run/pppdial"

// SocketMode is the socket's permission: the daemon's user and group may connect.
const SocketMode fs.FileMode = 0o660

// DefaultPath is the socket of the daemon running ifname: /run/pppdial/<ifname>.sock.
func DefaultPath(ifname string) string { return filepath.Join(DefaultDir, ifname+".sock") }

var (
	// ErrInUse: a live daemon answers on the socket's path.
	ErrInUse = errors.New("control: socket in use by a running daemon")
	// ErrUnsafe: the path or its directory is not safe to create a socket in.
	ErrUnsafe = errors.New("control: unsafe socket path")
)

// probeTimeout bounds the connect that tells a live socket from a stale one.
const probeTimeout = 2 * time.Second

// Listen creates the control socket at path with mode SocketMode and returns its listener.
// path's directory is created (mode 0750) when missing; it must be owned by this user or root
// and, when others may write to it, have the sticky bit. Whatever is at path already: a stale
// socket (connect refused) is replaced; a live one fails with ErrInUse; a symlink or anything
// but a socket fails with ErrUnsafe and is left alone. Closing the listener removes the socket,
// unless something else has taken its path meanwhile.
func Listen(path string) (net.Listener, error) {
	path = filepath.Clean(path)
	dir, base := filepath.Split(path)
	if base == "" || base == "." || base == ".." {
		return nil, fmt.Errorf("%w: %q names no file", ErrUnsafe, path)
	}
	if err := checkDir(filepath.Clean(dir)); err != nil {
		return nil, err
	}
	var rnd [8]byte
	rand.Read(rnd[:])
	tmp := filepath.Join(dir, "."+base+"."+hex.EncodeToString(rnd[:])+".tmp")
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: tmp, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("control: listen: %w", err)
	}
	ln.SetUnlinkOnClose(false)
	fail := func(err error) (net.Listener, error) {
		ln.Close()
		os.Remove(tmp)
		return nil, err
	}
	// The temporary name is random and in a directory others cannot swap entries of (checked
	// above), so chmod by name reaches our socket.
	if err := os.Chmod(tmp, SocketMode); err != nil {
		return fail(fmt.Errorf("control: chmod socket: %w", err))
	}
	// Daemons starting together must not both find the same stale socket, one replace it and
	// the other then remove the first one's live socket: the check and the link run under the
	// directory's lock.
	unlock, err := lockDir(dir)
	if err != nil {
		return fail(err)
	}
	err = clearPath(path)
	if err == nil {
		// link(2) never replaces and never follows: the socket appears at path with its mode,
		// or the path was taken by someone not taking the lock.
		if err = os.Link(tmp, path); err != nil {
			err = fmt.Errorf("control: create socket %s: %w", path, err)
		}
	}
	unlock()
	if err != nil {
		return fail(err)
	}
	os.Remove(tmp)
	fi, err := os.Lstat(path)
	if err != nil {
		return fail(fmt.Errorf("control: socket %s: %w", path, err))
	}
	return &listener{UnixListener: ln, path: path, fi: fi}, nil
}

// checkDir makes dir if missing and refuses one others could swap entries of.
func checkDir(dir string) error {
	if err := os.Mkdir(dir, 0o750); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("control: socket directory: %w", err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("control: socket directory: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("%w: %s is not a directory", ErrUnsafe, dir)
	}
	if fi.Mode().Perm()&0o002 != 0 && fi.Mode()&fs.ModeSticky == 0 {
		return fmt.Errorf("%w: %s is world-writable without the sticky bit", ErrUnsafe, dir)
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && st.Uid != 0 && int(st.Uid) != os.Geteuid() {
		return fmt.Errorf("%w: %s is owned by uid %d", ErrUnsafe, dir, st.Uid)
	}
	return nil
}

// lockTimeout bounds the wait for another daemon creating its socket in the same directory.
const lockTimeout = 5 * time.Second

// lockDir takes an exclusive flock(2) on dir, polling for at most lockTimeout.
func lockDir(dir string) (unlock func(), err error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, fmt.Errorf("control: lock socket directory: %w", err)
	}
	deadline := time.Now().Add(lockTimeout)
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() { f.Close() }, nil // closing the last descriptor releases the lock
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) || time.Now().After(deadline) {
			f.Close()
			return nil, fmt.Errorf("control: lock socket directory %s: %w", dir, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// clearPath leaves path free: nothing there, or a stale socket removed.
func clearPath(path string) error {
	fi, err := os.Lstat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("control: socket path: %w", err)
	case fi.Mode()&fs.ModeSymlink != 0:
		return fmt.Errorf("%w: %s is a symlink", ErrUnsafe, path)
	case fi.Mode().Type() != fs.ModeSocket:
		return fmt.Errorf("%w: %s exists and is not a socket (%v)", ErrUnsafe, path, fi.Mode().Type())
	}
	ctx, cancel := context.WithTimeout(context.Background(), probeTimeout)
	defer cancel()
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", path)
	if err == nil {
		c.Close()
		return fmt.Errorf("%w: %s", ErrInUse, path)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		return fmt.Errorf("control: probe %s: %w", path, err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("control: remove stale socket: %w", err)
	}
	return nil
}

// listener removes its socket on Close, if the path still holds it.
type listener struct {
	*net.UnixListener
	path string
	fi   fs.FileInfo
	once sync.Once
}

func (l *listener) Close() error {
	err := l.UnixListener.Close()
	l.once.Do(func() {
		if fi, serr := os.Lstat(l.path); serr == nil && os.SameFile(fi, l.fi) {
			os.Remove(l.path)
		}
	})
	return err
}
