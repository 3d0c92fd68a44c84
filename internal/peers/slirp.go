//go:build linux

package peers

import (
	"github.com/pppdial/pppdial/internal/tty"

	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
)

// SlirpBinary is the slirp executable used. The plain `slirp` binary exits at once on current
// kernels; the "full bolt" build works.
const SlirpBinary = "slirp-fullbolt"

// slirpReady is the end of slirp's banner; PPP starts after it.
const slirpReady = "SLiRP Ready"

// slirpStartTimeout bounds the wait for the banner.
const slirpStartTimeout = 10 * time.Second

// Slirp runs `slirp-fullbolt ppp args...` on a pty and returns our end of it. The process is
// stopped and reaped in t.Cleanup. When slirp is not installed the test is skipped, or fails
// under PPP_INTEROP=1.
//
// The stream carries PPP only: slirp's banner goes to its stderr, which is kept apart (and logged
// with t.Log if the test fails), and Slirp returns once the banner's "SLiRP Ready" line is out.
// slirp is passive: it sends nothing until it receives an LCP Configure-Request.
//
// Useful args (each one argument): "mtu 1500", "dns 127.0.0.1" when a test runs its own DNS
// server on 127.0.0.1:53. (This build rejects "baudrate N" and keeps its default, which is fast
// enough.) Never send DNS through slirp without "dns 127.0.0.1": the DNS address it hands out
// in IPCP (10.0.2.3, or the host's resolver) reaches the real resolver.
// slirp reaches the host as 10.0.2.2 (connections go to 127.0.0.1) and assigns 10.0.2.15.
func Slirp(t testing.TB, args ...string) *Port {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), slirpStartTimeout)
	defer cancel()
	s, err := StartSlirp(ctx, args...)
	if err != nil {
		startFailed(t, "slirp", err)
	}
	t.Cleanup(func() {
		if err := s.Stop(); err != nil {
			t.Errorf("stop slirp: %v", err)
		}
		if t.Failed() {
			t.Logf("slirp stderr:\n%s", s.Stderr())
		}
	})
	return s.Port
}

// SlirpProcess is a running slirp started by StartSlirp.
type SlirpProcess struct {
	// Port is our end of slirp's terminal, carrying PPP.
	Port *Port

	cmd     *exec.Cmd
	dir     string
	errPath string

	stopOnce sync.Once
	stopErr  error

	mu     sync.Mutex
	stderr []byte // what slirp wrote to stderr, kept once Stop removed the file
}

// StartSlirp starts `slirp-fullbolt ppp args...` on a fresh pty and waits (bounded by ctx) for
// its banner. The caller must call Stop. Errors wrap ErrPeerMissing when slirp is not installed.
// HOME is a fresh temporary directory, so a user's ~/.slirprc cannot change its behaviour.
func StartSlirp(ctx context.Context, args ...string) (_ *SlirpProcess, err error) {
	bin, err := LookTool(SlirpBinary)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "pppdial-slirp-")
	if err != nil {
		return nil, fmt.Errorf("peers: slirp temp dir: %w", err)
	}
	defer func() {
		if err != nil {
			_ = os.RemoveAll(dir)
		}
	}()
	errPath := filepath.Join(dir, "stderr")
	errFile, err := os.Create(errPath)
	if err != nil {
		return nil, fmt.Errorf("peers: slirp stderr file: %w", err)
	}
	defer errFile.Close() // the child has its own copy

	master, slave, err := pty.Open()
	if err != nil {
		return nil, fmt.Errorf("peers: open pty: %w", err)
	}
	defer slave.Close() // the child has its own copy
	// pty.Open's master was made blocking by (*os.File).Fd: take a non-blocking duplicate so
	// deadlines work and Close unblocks Read, and drop the original.
	mfd, err := unix.FcntlInt(master.Fd(), unix.F_DUPFD_CLOEXEC, 0)
	name := master.Name()
	_ = master.Close()
	if err != nil {
		return nil, fmt.Errorf("peers: dup pty master: %w", err)
	}
	if err := tty.MakeRaw(int(slave.Fd())); err != nil {
		_ = unix.Close(mfd)
		return nil, fmt.Errorf("peers: raw mode on %s: %w", slave.Name(), err)
	}
	port, err := newPort(mfd, name)
	if err != nil {
		return nil, err
	}

	cmd := exec.Command(bin, append([]string{"ppp"}, args...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "HOME="+dir)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, errFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true}
	if err := cmd.Start(); err != nil {
		_ = port.Close()
		return nil, fmt.Errorf("peers: start %s: %w", bin, err)
	}
	s := &SlirpProcess{Port: port, cmd: cmd, dir: dir, errPath: errPath}
	if err := s.waitReady(ctx); err != nil {
		_ = s.Stop()
		return nil, err
	}
	return s, nil
}

// waitReady polls slirp's stderr for the end of its banner; it fails early if slirp exits. The
// context is looked at first: once it has ended, StartSlirp fails whether or not the banner is
// out, so a cancelled start fails the same way however fast slirp is.
func (s *SlirpProcess) waitReady(ctx context.Context) error {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("peers: slirp did not print %q: %w; stderr: %s", slirpReady, err, s.Stderr())
		}
		if bytes.Contains([]byte(s.Stderr()), []byte(slirpReady)) {
			return nil
		}
		if exited(s.cmd.Process.Pid) {
			return fmt.Errorf("peers: slirp exited before %q: %s", slirpReady, s.Stderr())
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("peers: slirp did not print %q: %w; stderr: %s", slirpReady, ctx.Err(), s.Stderr())
		case <-tick.C:
		}
	}
}

// Stderr returns what slirp wrote to its stderr so far (its banner and diagnostics).
func (s *SlirpProcess) Stderr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stderr != nil {
		return string(s.stderr)
	}
	b, _ := os.ReadFile(s.errPath)
	return string(b)
}

// Stop closes the port, terminates slirp (SIGTERM, then SIGKILL after 3 s), reaps it and removes
// its temporary directory. It is idempotent and bounded; the returned error is only about
// stopping, never about how slirp exited.
func (s *SlirpProcess) Stop() error {
	s.stopOnce.Do(func() {
		_ = s.Port.Close()
		var errs []error
		if err := stopChild(s.cmd, 3*time.Second); err != nil {
			errs = append(errs, err)
		}
		// Keep the stderr text readable for a failing test's log after the file is gone.
		b, _ := os.ReadFile(s.errPath)
		s.mu.Lock()
		s.stderr = append([]byte{}, b...)
		s.mu.Unlock()
		if err := os.RemoveAll(s.dir); err != nil {
			errs = append(errs, err)
		}
		s.stopErr = errors.Join(errs...)
	})
	return s.stopErr
}

// stopChild sends SIGTERM to the child's process group, waits up to grace, then SIGKILLs it, and
// reaps it. The goroutine it starts ends before it returns.
func stopChild(cmd *exec.Cmd, grace time.Duration) error {
	pid := cmd.Process.Pid
	_ = syscall.Kill(-pid, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait() // exit status is not interesting: we killed it
		close(done)
	}()
	timer := time.NewTimer(grace)
	defer timer.Stop()
	select {
	case <-done:
		return nil
	case <-timer.C:
	}
	_ = syscall.Kill(-pid, syscall.SIGKILL)
	select {
	case <-done:
		return nil
	case <-time.After(5 * time.Second):
		return fmt.Errorf("peers: pid %d survived SIGKILL", pid)
	}
}

// exited reports whether the child pid has terminated (a zombie not yet reaped counts) without
// reaping it, so exec.Cmd.Wait still works later.
func exited(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	// Format: pid (comm) S ...; comm may hold spaces or parentheses, so find the last ')'.
	i := bytes.LastIndexByte(b, ')')
	return i < 0 || i+2 >= len(b) || b[i+2] == 'Z' || b[i+2] == 'X'
}
