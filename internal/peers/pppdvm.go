//go:build linux

package peers

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// Environment variables the pppd VM harness reads.
const (
	// EnvPeersDir overrides where the peers scripts live (default: <repo>/../shared/peers).
	EnvPeersDir = "PPPDIAL_PEERS_DIR"
	// EnvVMHome is the pppd-vm script's image directory (default /tmp/pppd-vm).
	EnvVMHome = "PPPD_VM_HOME"
	// EnvMaxVMs caps how many VMs run at once on this machine, across test processes (default 2).
	EnvMaxVMs = "PPPDIAL_MAX_VMS"
)

// envToken is set in the pppd-vm script's environment, and so in its qemu's: it identifies the
// qemu process this harness started, even when the script failed before printing its PID.
const envToken = "PPPDIAL_VM_TOKEN"

// consoleReady is pppd's first log line once it has opened its serial port: from then on a
// Configure-Request we send is heard.
const consoleReady = "Connect: ppp0"

// consoleModemReady is the line the VM's AT modem (`--modem`) logs once it reads its serial
// port: from then on AT commands are answered (pppd starts only on ATD).
const consoleModemReady = "MODEM[main /dev/ttyS1] ready"

// Timeouts of the testing wrapper. The VM runs under TCG on a shared 2-core machine; the wait
// for a free VM slot (other tests' VMs) is bounded apart from the boot itself.
const (
	vmSlotTimeout  = 5 * time.Minute
	vmStartTimeout = 120 * time.Second
	vmBuildTimeout = 5 * time.Minute
)

// VM is a running pppd-vm: pppd 2.4.9 at 10.0.0.1 on the kernel's ppp_async, handing 10.0.0.2
// and DNS 10.0.0.1 to the client, with HTTP on :80, DNS on :53 (peer.test -> 10.0.0.1) and echo
// on :7. Credentials for require-pap / require-chap: user "user", secret "secret".
type VM struct {
	// Port is our end of the VM's second serial port, where pppd listens (passive).
	Port *Port
	// Dir is the run directory: console.log (pppd's debug log of every packet), qemu.pid, ...
	Dir string
	// PTY is the pty device qemu created for the serial port.
	PTY string
	// PID is qemu's process id.
	PID int
	// Options are the pppd options appended to the defaults.
	Options []string

	home     string
	token    string
	slot     *os.File
	slotWait time.Duration

	haltOnce sync.Once
	haltErr  error
	slotMu   sync.Mutex // guards slot: Stop releases it, Restart hands it on
}

// PPPDVM boots a pppd VM with the given extra pppd options (e.g. "require-chap", "mru 576",
// "lcp-echo-interval 1", "+ipv6"; an option with a value may be one argument or two) and returns
// once pppd has opened its serial port. With OptModem first, the port is the VM's AT modem
// (see ../shared/peers/README.md) and PPPDVM returns once it answers AT. The VM is always stopped in t.Cleanup; if the test failed
// the tail of pppd's log is logged and the run directory kept, else it is removed.
//
// When qemu, the script or its built image is missing the test is skipped (PPP_INTEROP=1: it
// fails, and a missing image is built by the script first, which takes about a minute).
// At most PPPDIAL_MAX_VMS (default 2) VMs run at once on the machine; PPPDVM waits for a slot.
func PPPDVM(t testing.TB, opts ...string) *VM {
	t.Helper()
	return PPPDVMs(t, opts)[0]
}

// PPPDVMs boots one VM per options list, all at once (two modems for the two links of one
// process boot in the time of one on an idle machine), and returns them in the order given.
// Each is as PPPDVM's: stopped in t.Cleanup, its log kept if the test failed. If one does not
// start, those that did are stopped and t fails (or skips, by the Interop rule). The VMs boot
// once all the slots they need are held (see acquireSlots); asking for more VMs than
// PPPDIAL_MAX_VMS allows at once is skipped the same way: they could never all run.
func PPPDVMs(t testing.TB, opts ...[]string) []*VM {
	t.Helper()
	if n := maxVMs(); len(opts) > n {
		Interop(t, "pppd-vm: %d VMs at once, but %s allows %d", len(opts), EnvMaxVMs, n)
	}
	_, home, err := pppdvmReady()
	if err != nil {
		startFailed(t, "pppd-vm", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), vmSlotTimeout)
	defer cancel()
	begin := time.Now()
	slots, err := acquireSlots(ctx, home, len(opts))
	if err != nil {
		startFailed(t, "pppd-vm", err)
	}
	return bootVMs(t, slots, time.Since(begin), opts)
}

// bootVMs boots one VM per options list at once, each in its slot (which it owns from then on),
// and registers their stops in t.Cleanup; slotWait is for the log.
func bootVMs(t testing.TB, slots []*os.File, slotWait time.Duration, opts [][]string) []*VM {
	t.Helper()
	timeout := vmStartTimeout
	if !imageBuilt(vmHome()) {
		timeout = vmBuildTimeout
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	type started struct {
		vm   *VM
		stop func() error
		err  error
		took time.Duration
	}
	res := make([]started, len(opts))
	var wg sync.WaitGroup
	for i, o := range opts {
		wg.Go(func() {
			begin := time.Now()
			vm, stop, err := startPPPDVM(ctx, timeout, slots[i], o...)
			res[i] = started{vm, stop, err, time.Since(begin)}
		})
	}
	wg.Wait()
	var errs []error
	for _, r := range res {
		if r.err != nil {
			errs = append(errs, r.err)
		}
	}
	if len(errs) > 0 {
		for _, r := range res {
			if r.err == nil {
				_ = r.stop()
				_ = os.RemoveAll(r.vm.Dir)
			}
		}
		startFailed(t, "pppd-vm", errors.Join(errs...))
	}
	vms := make([]*VM, len(res))
	for i, r := range res {
		vm, stop := r.vm, r.stop
		vms[i] = vm
		t.Logf("pppd-vm %v: pty %s, run dir %s; waited %v for a slot, booted in %v",
			vm.Options, vm.PTY, vm.Dir, slotWait.Round(time.Millisecond), r.took.Round(time.Millisecond))
		t.Cleanup(func() {
			if err := stop(); err != nil {
				t.Errorf("stop pppd-vm: %v", err)
			}
			if t.Failed() {
				t.Logf("pppd-vm %v kept in %s; console.log tail:\n%s", vm.Options, vm.Dir, tail(vm.ConsoleLog(), 60))
				return
			}
			_ = os.RemoveAll(vm.Dir)
		})
	}
	return vms
}

// Restart stops vm if it still runs (see Unplug) and boots a VM with the same options in its
// place (see PPPDVM), as a modem plugged in again: the new one has a new PTY, often under another
// name (a ByID link stands for it, as /dev/serial/by-id does for a modem's new ttyUSBn), a fresh
// console log and the same services. The old VM's run directory is kept or removed by its own
// cleanup. The new VM boots in the old one's slot, without waiting for one (unless the old one
// was stopped with Stop, which released it). It is stopped in t's cleanup: restart it on the
// test that outlives its use, not on a subtest that ends before (its pty number would be freed
// for another test's peer while a link still points there).
func Restart(t testing.TB, vm *VM) *VM {
	t.Helper()
	// The new VM takes the old one's slot: a test that holds another VM and waited for a free
	// slot here could wait for ever on a test gathering two (acquireSlots).
	err := vm.halt()
	slot := vm.takeSlot()
	if err != nil {
		if slot != nil {
			_ = slot.Close()
		}
		t.Fatalf("stop pppd-vm: %v", err)
	}
	if slot == nil {
		return PPPDVM(t, vm.Options...) // stopped before: its slot is gone
	}
	return bootVMs(t, []*os.File{slot}, 0, [][]string{vm.Options})[0]
}

// StartPPPDVM boots a pppd VM (see PPPDVM) without a testing.TB, for a CLI test or a bridge that
// exposes the VM behind an emulated modem. ctx bounds the start only. The caller must call stop
// (idempotent, bounded), which stops qemu but keeps vm.Dir; remove it when done with the logs.
// Errors wrap ErrPeerMissing when the VM cannot run on this machine.
func StartPPPDVM(ctx context.Context, opts ...string) (vm *VM, stop func() error, err error) {
	return startPPPDVM(ctx, 0, nil, opts...)
}

// pppdvmReady checks that a VM can run here: the script, qemu, and the built image (or, under
// PPP_INTEROP=1, the script will build it). It returns the script and the image directory.
func pppdvmReady() (script, home string, err error) {
	script, err = PPPDVMScript()
	if err != nil {
		return "", "", err
	}
	if _, err := LookTool("qemu-system-x86_64"); err != nil {
		return "", "", err
	}
	home = vmHome()
	if !imageBuilt(home) && !Required() {
		return "", "", fmt.Errorf("%w: pppd-vm image not built in %s (run %s build)", ErrPeerMissing, home, script)
	}
	if err := os.MkdirAll(home, 0o755); err != nil {
		return "", "", fmt.Errorf("peers: %s: %w", home, err)
	}
	return script, home, nil
}

// startPPPDVM is StartPPPDVM with an extra bound on the boot, counted once a slot is held
// (0: ctx only). slot is a VM slot the caller already holds (acquireSlots), or nil to take
// one; either way it is the VM's from then on (closed by Stop, or here on an error).
func startPPPDVM(ctx context.Context, bootTimeout time.Duration, slot *os.File, opts ...string) (vm *VM, stop func() error, err error) {
	defer func() {
		if err != nil && slot != nil {
			_ = slot.Close()
		}
	}()
	script, home, err := pppdvmReady()
	if err != nil {
		return nil, nil, err
	}
	slotStart := time.Now()
	if slot == nil {
		slots, err := acquireSlots(ctx, home, 1)
		if err != nil {
			return nil, nil, err
		}
		slot = slots[0]
	}
	slotWait := time.Since(slotStart)
	if bootTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, bootTimeout)
		defer cancel()
	}

	token, err := newToken()
	if err != nil {
		return nil, nil, err
	}
	// The script gives the VM 30 s to boot; on a loaded machine (TCG, other tests' VMs and
	// builds) that is sometimes not enough, so a boot that timed out is tried once more.
	var stdout bytes.Buffer
	for attempt := 1; ; attempt++ {
		var stderr bytes.Buffer
		stdout.Reset()
		cmd := exec.CommandContext(ctx, script, append([]string{"start"}, opts...)...)
		cmd.Env = append(os.Environ(), envToken+"="+token)
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
		cmd.WaitDelay = 5 * time.Second
		err := cmd.Run()
		if err == nil {
			break
		}
		// qemu daemonizes into its own session: the process group kill does not reach it.
		killByToken(token)
		err = fmt.Errorf("peers: pppd-vm start %v (attempt %d): %w; stderr: %s", opts, attempt, err, strings.TrimSpace(stderr.String()))
		if attempt == 2 || ctx.Err() != nil || !strings.Contains(stderr.String(), "did not start") {
			return nil, nil, err
		}
		slog.Warn("pppd-vm: retrying a boot that timed out", "err", err)
	}
	vm = &VM{Options: opts, home: home, token: token, slot: slot, slotWait: slotWait}
	for _, f := range strings.Fields(stdout.String()) {
		k, v, _ := strings.Cut(f, "=")
		switch k {
		case "PTY":
			vm.PTY = v
		case "PID":
			vm.PID, _ = strconv.Atoi(v)
		case "DIR":
			vm.Dir = v
		}
	}
	if vm.PTY == "" || vm.PID == 0 || vm.Dir == "" {
		killByToken(token)
		return nil, nil, fmt.Errorf("peers: pppd-vm start printed %q, want PTY= PID= DIR=", stdout.String())
	}
	vm.Port, err = openPTY(vm.PTY)
	if err != nil {
		killByToken(token)
		return nil, nil, err
	}
	ready := consoleReady
	if len(opts) > 0 && opts[0] == OptModem {
		ready = consoleModemReady
	}
	if err := vm.WaitConsole(ctx, ready); err != nil {
		_ = vm.Stop()
		return nil, nil, fmt.Errorf("peers: pppd in the VM did not open its port: %w", err)
	}
	return vm, vm.Stop, nil
}

// Stop closes the port and stops qemu (SIGTERM, SIGKILL after 5 s), waiting until it is gone,
// and releases the VM's slot. It is idempotent and bounded; it keeps Dir.
func (vm *VM) Stop() error {
	err := vm.halt()
	if slot := vm.takeSlot(); slot != nil {
		_ = slot.Close() // releases the flock
	}
	return err
}

// Unplug stops the VM as a modem pulled out: its port closes, qemu ends, its pty goes away; the
// VM's slot stays held for Restart, which boots the replacement in it without waiting (a test
// that holds one VM must never wait for a slot: it could wait on a test gathering two). Stop, or
// t's cleanup, releases the slot if Restart never comes.
func (vm *VM) Unplug() error { return vm.halt() }

// halt closes the port and stops qemu, once.
func (vm *VM) halt() error {
	vm.haltOnce.Do(func() {
		var errs []error
		if vm.Port != nil {
			_ = vm.Port.Close()
		}
		if err := killVM(vm.PID, vm.token); err != nil {
			errs = append(errs, err)
		}
		killByToken(vm.token) // anything else the start left behind
		vm.haltErr = errors.Join(errs...)
	})
	return vm.haltErr
}

// takeSlot returns the VM's slot and forgets it (nil once Stop or Restart took it).
func (vm *VM) takeSlot() *os.File {
	vm.slotMu.Lock()
	defer vm.slotMu.Unlock()
	slot := vm.slot
	vm.slot = nil
	return slot
}

// ConsoleLog returns pppd's debug log so far: every packet it sent and received, decoded
// ("rcvd [LCP ConfReq id=0x1 <magic 0x...>]"), its phase messages ("local  IP address
// 10.0.0.1"), and the VM's boot lines. "" if it cannot be read.
func (vm *VM) ConsoleLog() string {
	b, _ := os.ReadFile(filepath.Join(vm.Dir, "console.log"))
	return string(b)
}

// WaitConsole polls the console log until it contains substr, or ctx ends.
// pppd pads some of its messages ("local  IP address" has two spaces): match what it prints.
func (vm *VM) WaitConsole(ctx context.Context, substr string) error {
	return vm.WaitConsoleCount(ctx, substr, 1)
}

// WaitConsoleCount polls the console log until substr is in it n times (the n-th CMUX-END of
// a VM that several runs used), or ctx ends.
func (vm *VM) WaitConsoleCount(ctx context.Context, substr string, n int) error {
	return vm.waitConsole(ctx, fmt.Sprintf("%d x %q", n, substr), func(log string) bool {
		return strings.Count(log, substr) >= n
	})
}

// WaitConsoleMatch polls the console log until re matches it, or ctx ends, and returns the
// first match with its submatches. Useful because pppd pads some messages ("local  IP address").
func (vm *VM) WaitConsoleMatch(ctx context.Context, re *regexp.Regexp) ([]string, error) {
	var m []string
	err := vm.waitConsole(ctx, "/"+re.String()+"/", func(log string) bool {
		m = re.FindStringSubmatch(log)
		return m != nil
	})
	return m, err
}

// waitConsole polls the console log until found says yes, the VM exits or ctx ends.
func (vm *VM) waitConsole(ctx context.Context, what string, found func(log string) bool) error {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		if found(vm.ConsoleLog()) {
			return nil
		}
		if !alive(vm.PID, vm.token) {
			return fmt.Errorf("peers: VM %d exited while waiting for %s", vm.PID, what)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("peers: %s not in %s/console.log: %w", what, vm.Dir, ctx.Err())
		case <-tick.C:
		}
	}
}

// BigSHA256 returns the hex sha256 of the VM's http://10.0.0.1/big.bin (1 MiB), from
// $PPPD_VM_HOME/big.bin.sha256.
func (vm *VM) BigSHA256() (string, error) {
	b, err := os.ReadFile(filepath.Join(vm.home, "big.bin.sha256"))
	if err != nil {
		return "", fmt.Errorf("peers: big.bin checksum: %w", err)
	}
	sum := strings.TrimSpace(string(b))
	if len(sum) != 64 {
		return "", fmt.Errorf("peers: big.bin checksum %q is not a sha256", sum)
	}
	return sum, nil
}

// PPPDVMScript locates the pppd-vm script: $PPPDIAL_PEERS_DIR/pppd-vm, else
// <repo>/../shared/peers/pppd-vm where <repo> is found by walking up from the working directory
// (go test runs in the package directory) or from this source file to go.mod. The error wraps
// ErrPeerMissing.
func PPPDVMScript() (string, error) {
	var tried []string
	try := func(dir string) (string, bool) {
		p := filepath.Join(dir, "pppd-vm")
		tried = append(tried, p)
		st, err := os.Stat(p)
		return p, err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0
	}
	if d := os.Getenv(EnvPeersDir); d != "" {
		if p, ok := try(d); ok {
			return p, nil
		}
		return "", fmt.Errorf("%w: %s=%s has no executable pppd-vm", ErrPeerMissing, EnvPeersDir, d)
	}
	var starts []string
	if wd, err := os.Getwd(); err == nil {
		starts = append(starts, wd)
	}
	if _, file, _, ok := runtime.Caller(0); ok && filepath.IsAbs(file) {
		starts = append(starts, filepath.Dir(file))
	}
	for _, s := range starts {
		if repo, ok := findRepo(s); ok {
			if p, ok := try(filepath.Join(repo, "..", "shared", "peers")); ok {
				return filepath.Clean(p), nil
			}
		}
	}
	return "", fmt.Errorf("%w: pppd-vm script not found (tried %v; set %s)", ErrPeerMissing, tried, EnvPeersDir)
}

// findRepo walks up from dir to the directory whose go.mod declares this module.
func findRepo(dir string) (string, bool) {
	for {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && bytes.Contains(b, []byte("module github.com/pppdial/pppdial\n")) {
			return dir, true
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", false
		}
		dir = parent
	}
}

func vmHome() string {
	if h := os.Getenv(EnvVMHome); h != "" {
		return h
	}
	return "/tmp/pppd-vm"
}

func imageBuilt(home string) bool {
	_, err := os.Stat(filepath.Join(home, "initrd.cpio.gz"))
	return err == nil
}

func newToken() (string, error) {
	var b [12]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("peers: token: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

// acquireSlots takes k of the machine-wide VM slots: exclusive flocks on $home/slot.N.lock,
// each held until its file is closed. The VMs are emulated (TCG) and the machine has few cores:
// more VMs at once only make every one of them time out.
//
// A request for several slots keeps those it finds free while it waits for the rest (else tests
// that want one VM, polling as often, would take every slot that frees first), and only one such
// request gathers at a time, holding $home/multi.lock: two tests that each want two VMs never
// hold one each while waiting for the other's.
func acquireSlots(ctx context.Context, home string, k int) ([]*os.File, error) {
	n := maxVMs()
	if k > n {
		return nil, fmt.Errorf("peers: %d VMs at once, but %s allows %d", k, EnvMaxVMs, n)
	}
	if k > 1 {
		gather, err := lockFile(ctx, filepath.Join(home, "multi.lock"), "the right to gather several VM slots")
		if err != nil {
			return nil, err
		}
		defer gather.Close()
	}
	var held []*os.File
	taken := map[int]bool{}
	release := func() {
		for _, h := range held {
			_ = h.Close()
		}
	}
	for {
		for i := 0; i < n && len(held) < k; i++ {
			if taken[i] {
				continue
			}
			f, ok, err := tryLock(filepath.Join(home, fmt.Sprintf("slot.%d.lock", i)))
			if err != nil {
				release()
				return nil, fmt.Errorf("peers: VM slot: %w", err)
			}
			if ok {
				held = append(held, f)
				taken[i] = true
			}
		}
		if len(held) == k {
			return held, nil
		}
		select {
		case <-ctx.Done():
			release()
			return nil, fmt.Errorf("peers: waiting for %d of %d VM slots (%s): %w", k, n, EnvMaxVMs, ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// tryLock takes an exclusive flock on path without waiting: the open file holds it (ok), or
// another holder has it (not ok, nothing kept open).
func tryLock(path string) (f *os.File, ok bool, err error) {
	f, err = os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, false, err
	}
	// A fresh open file description per attempt: flock is per description, so two goroutines
	// of one process exclude each other too.
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		_ = f.Close()
		return nil, false, nil
	}
	return f, true, nil
}

// lockFile waits for an exclusive flock on path (what names it in the error) until ctx ends.
func lockFile(ctx context.Context, path, what string) (*os.File, error) {
	for {
		f, ok, err := tryLock(path)
		if err != nil {
			return nil, fmt.Errorf("peers: %s: %w", what, err)
		}
		if ok {
			return f, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("peers: waiting for %s: %w", what, ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// maxVMs is how many VMs may run at once on the machine: PPPDIAL_MAX_VMS, default 2.
func maxVMs() int {
	if v, err := strconv.Atoi(os.Getenv(EnvMaxVMs)); err == nil && v > 0 {
		return v
	}
	return 2
}

// alive reports whether pid is a live process carrying our token in its environment (so a
// recycled pid is never mistaken for our qemu).
func alive(pid int, token string) bool {
	if pid <= 0 {
		return false
	}
	if exited(pid) {
		return false
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
	if err != nil {
		return false
	}
	return bytes.Contains(b, []byte(envToken+"="+token+"\x00"))
}

// killVM terminates our qemu and waits until it is gone (it is not our child: the init process
// reaps it).
func killVM(pid int, token string) error {
	if !alive(pid, token) {
		return nil
	}
	_ = syscall.Kill(pid, syscall.SIGTERM)
	if waitGone(pid, token, 5*time.Second) {
		return nil
	}
	_ = syscall.Kill(pid, syscall.SIGKILL)
	if waitGone(pid, token, 5*time.Second) {
		return nil
	}
	return fmt.Errorf("peers: qemu pid %d survived SIGKILL", pid)
}

func waitGone(pid int, token string, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if !alive(pid, token) {
			return true
		}
		time.Sleep(20 * time.Millisecond)
	}
	return !alive(pid, token)
}

// killByToken SIGKILLs every process whose environment holds our token: the qemu of a start that
// failed half-way, whose pid the script never printed.
func killByToken(token string) {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return
	}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		if alive(pid, token) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
			waitGone(pid, token, 5*time.Second)
		}
	}
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	var lines []string
	sc := bufio.NewScanner(strings.NewReader(s))
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if len(lines) > n {
			lines = lines[1:]
		}
	}
	return strings.Join(lines, "\n")
}
