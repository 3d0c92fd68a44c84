//go:build !linux

package peers

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"runtime"
	"testing"
	"time"
)

// This file keeps the package's API on systems other than Linux, where the peers (a Debian
// package and a Linux VM driven through Linux pty ioctls) do not run: every start reports
// ErrPeerMissing, so interop tests skip (or fail under PPP_INTEROP=1).

var errNotLinux = fmt.Errorf("%w: the PPP peers need Linux (GOOS=%s)", ErrPeerMissing, runtime.GOOS)

// Environment variables the pppd VM harness reads (see the Linux build).
const (
	// EnvPeersDir overrides where the peers scripts live (default: <repo>/../shared/peers).
	EnvPeersDir = "PPPDIAL_PEERS_DIR"
	// EnvVMHome is the pppd-vm script's image directory (default /tmp/pppd-vm).
	EnvVMHome = "PPPD_VM_HOME"
	// EnvMaxVMs caps how many VMs run at once on this machine (default 2).
	EnvMaxVMs = "PPPDIAL_MAX_VMS"
)

// SlirpBinary is the slirp executable used on Linux.
const SlirpBinary = "slirp-fullbolt"

// Port is our end of a peer's pty; on this system there is never one.
type Port struct{}

// Read fails: there is no peer on this system.
func (p *Port) Read([]byte) (int, error) { return 0, errNotLinux }

// Write fails: there is no peer on this system.
func (p *Port) Write([]byte) (int, error) { return 0, errNotLinux }

// Close does nothing.
func (p *Port) Close() error { return nil }

// SetReadDeadline does nothing.
func (p *Port) SetReadDeadline(time.Time) error { return nil }

// SetWriteDeadline does nothing.
func (p *Port) SetWriteDeadline(time.Time) error { return nil }

// SetDeadline does nothing.
func (p *Port) SetDeadline(time.Time) error { return nil }

// Name returns "".
func (p *Port) Name() string { return "" }

// SlirpProcess is a running slirp; on this system there is never one.
type SlirpProcess struct {
	// Port is our end of slirp's terminal.
	Port *Port
}

// Slirp skips t (fails it under PPP_INTEROP=1): slirp runs on Linux only here.
func Slirp(t testing.TB, args ...string) *Port {
	t.Helper()
	Interop(t, "slirp: %v", errNotLinux)
	return nil
}

// StartSlirp returns an error wrapping ErrPeerMissing.
func StartSlirp(ctx context.Context, args ...string) (*SlirpProcess, error) {
	return nil, errNotLinux
}

// Stderr returns "".
func (s *SlirpProcess) Stderr() string { return "" }

// Stop does nothing.
func (s *SlirpProcess) Stop() error { return nil }

// VM is a running pppd VM; on this system there is never one.
type VM struct {
	// Port is our end of the VM's serial port.
	Port *Port
	// Dir is the run directory.
	Dir string
	// PTY is the pty device.
	PTY string
	// PID is qemu's process id.
	PID int
	// Options are the pppd options appended to the defaults.
	Options []string
}

// PPPDVM skips t (fails it under PPP_INTEROP=1): the VM runs on Linux only.
func PPPDVM(t testing.TB, opts ...string) *VM {
	t.Helper()
	Interop(t, "pppd-vm: %v", errNotLinux)
	return nil
}

// StartPPPDVM returns an error wrapping ErrPeerMissing.
func StartPPPDVM(ctx context.Context, opts ...string) (*VM, func() error, error) {
	return nil, nil, errNotLinux
}

// Stop does nothing.
func (vm *VM) Stop() error { return nil }

// Unplug does nothing.
func (vm *VM) Unplug() error { return nil }

// ConsoleLog returns "".
func (vm *VM) ConsoleLog() string { return "" }

// WaitConsole fails.
func (vm *VM) WaitConsole(ctx context.Context, substr string) error { return errNotLinux }

// WaitConsoleCount fails.
func (vm *VM) WaitConsoleCount(ctx context.Context, substr string, n int) error { return errNotLinux }

// WaitConsoleMatch fails.
func (vm *VM) WaitConsoleMatch(ctx context.Context, re *regexp.Regexp) ([]string, error) {
	return nil, errNotLinux
}

// BigSHA256 fails.
func (vm *VM) BigSHA256() (string, error) { return "", errors.New("peers: no VM on this system") }

// PPPDVMScript fails with ErrPeerMissing.
func PPPDVMScript() (string, error) { return "", errNotLinux }

// PPPDVMs skips t (fails it under PPP_INTEROP=1): the VM runs on Linux only.
func PPPDVMs(t testing.TB, opts ...[]string) []*VM {
	t.Helper()
	Interop(t, "pppd-vm: %v", errNotLinux)
	return nil
}

// Restart skips t (fails it under PPP_INTEROP=1): the VM runs on Linux only.
func Restart(t testing.TB, vm *VM) *VM {
	t.Helper()
	Interop(t, "pppd-vm: %v", errNotLinux)
	return nil
}
