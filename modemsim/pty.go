//go:build linux

package modemsim

import (
	"github.com/pppdial/pppdial/internal/tty"
	"github.com/pppdial/pppdial/line"

	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// OpenPTY opens a pseudo-terminal pair with the slave in raw mode (see tty.OpenPTY).
func OpenPTY() (master, slave *os.File, err error) { return tty.OpenPTY() }

// PTY is a Modem served on a pseudo-terminal: open Path like a serial device (pppdial dial
// --port PATH).
type PTY struct {
	// Path is the slave device, e.g. /dev/pts/7.
	Path string

	master, slave *os.File
	cancel        context.CancelFunc
	done          chan struct{}
	err           error
}

// ServePTY serves m on a new pty until ctx is done or Close is called. The modem keeps its own
// descriptor of the slave open, so a client may open and close Path repeatedly.
func ServePTY(ctx context.Context, m *Modem) (*PTY, error) {
	return servePTY(ctx, m.Serve)
}

// ServeATPTY serves a further AT port of m (ServeAT) on a new pty: with ServePTY's, the two
// ports of a USB modem that has one for PPP and one for AT (pppdial dial --at-port PATH).
func ServeATPTY(ctx context.Context, m *Modem) (*PTY, error) {
	return servePTY(ctx, m.ServeAT)
}

func servePTY(ctx context.Context, serve func(context.Context, line.Line) error) (*PTY, error) {
	master, slave, err := OpenPTY()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	p := &PTY{Path: slave.Name(), master: master, slave: slave, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(p.done)
		err := serve(ctx, master)
		if errors.Is(err, context.Canceled) {
			err = nil
		}
		p.err = err
	}()
	return p, nil
}

// Close stops the modem and closes the pty; it returns Serve's error.
func (p *PTY) Close() error {
	p.cancel()
	<-p.done
	_ = p.master.Close()
	_ = p.slave.Close()
	return p.err
}

// Done is closed when the modem stopped serving.
func (p *PTY) Done() <-chan struct{} { return p.done }

// bridge copies between the call's data stream and a peer until ctx ends or either side
// closes; then it closes both and waits for its copiers.
func bridge(ctx context.Context, data line.Line, peer io.ReadWriteCloser) error {
	errc := make(chan error, 2)
	go func() {
		_, err := io.Copy(peer, data)
		errc <- err
	}()
	go func() {
		_, err := io.Copy(data, peer)
		errc <- err
	}()
	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
		errc <- err
	}
	_ = peer.Close()
	if c, ok := data.(io.Closer); ok {
		_ = c.Close()
	}
	<-errc
	<-errc
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if err == nil {
		return io.EOF // the peer hung up
	}
	return err
}

// BridgePTY is a DataFunc that connects the call to an existing pty, such as the serial port of
// the pppd VM (peers/pppd-vm start prints PTY=...). The device is opened per call, in raw mode.
func BridgePTY(path string) DataFunc {
	return func(ctx context.Context, data line.Line) error {
		fd, err := unix.Open(path, unix.O_RDWR|unix.O_NOCTTY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("modemsim: open %s: %w", path, err)
		}
		f := os.NewFile(uintptr(fd), path)
		if err := tty.MakeRawFile(f); err != nil {
			_ = f.Close()
			return fmt.Errorf("modemsim: raw mode on %s: %w", path, err)
		}
		return bridge(ctx, data, f)
	}
}

// BridgeCommand is a DataFunc that runs name with args on a fresh pty per call (stdin and stdout
// on the pty, stderr kept apart), e.g. BridgeCommand("slirp-fullbolt", "ppp"). HOME and the
// working directory are a fresh temporary directory, so a user's rc files do not apply. The
// process is sent SIGTERM, then SIGKILL, when the call ends.
func BridgeCommand(name string, args ...string) DataFunc {
	return func(ctx context.Context, data line.Line) error {
		bin, err := exec.LookPath(name)
		if err != nil {
			return fmt.Errorf("modemsim: %w", err)
		}
		dir, err := os.MkdirTemp("", "modemsim-")
		if err != nil {
			return fmt.Errorf("modemsim: %w", err)
		}
		defer os.RemoveAll(dir)
		master, slave, err := OpenPTY()
		if err != nil {
			return err
		}
		var stderr lockedBuffer
		cmd := exec.Command(bin, args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "HOME="+dir)
		cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, &stderr
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true}
		if err := cmd.Start(); err != nil {
			_ = master.Close()
			_ = slave.Close()
			return fmt.Errorf("modemsim: start %s: %w", name, err)
		}
		_ = slave.Close()
		waited := make(chan error, 1)
		go func() { waited <- cmd.Wait() }()
		berr := bridge(ctx, data, master)
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-waited:
		case <-time.After(3 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-waited
		}
		if berr != nil && ctx.Err() == nil {
			return fmt.Errorf("modemsim: %s: %w (stderr: %q)", name, berr, stderr.tail(200))
		}
		return berr
	}
}

// lockedBuffer collects a child's stderr.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write keeps the first 64 KiB.
func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.b.Len() < 64<<10 {
		l.b.Write(p)
	}
	return len(p), nil
}

func (l *lockedBuffer) tail(n int) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.b.String()
	if len(s) > n {
		s = s[len(s)-n:]
	}
	return s
}
