package peers_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/pppdial/pppdial/internal/peers"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// magic 0x12345678: the LCP options we send in the harness tests.
var magicOpt = []byte{5, 6, 0x12, 0x34, 0x56, 0x78}

func TestSlirpSpeaksPPP(t *testing.T) {
	start := time.Now()
	port := peers.Slirp(t)
	t.Logf("slirp ready after %v", time.Since(start))

	// Passive: nothing arrives until we speak.
	quiet := readUntil(port, 300*time.Millisecond, func(b []byte) bool { return len(b) > 0 })
	assert.Empty(t, quiet, "slirp wrote before our first frame (banner leaked into the stream?)")

	_, err := port.Write(encodeFrame(0xc021, lcpConfReq(1, magicOpt...)))
	require.NoError(t, err)
	stream := readUntil(port, 5*time.Second, func(b []byte) bool {
		return hasLCP(b, 2, 1) && hasLCP(b, 1, -1)
	})
	assert.True(t, hasLCP(stream, 2, 1), "no LCP Configure-Ack id 1 in % x", stream)
	assert.True(t, hasLCP(stream, 1, -1), "no LCP Configure-Request in % x", stream)
	t.Logf("answered after %v", time.Since(start))
}

func TestPPPDVMSpeaksPPP(t *testing.T) {
	t.Parallel() // PPPDVM caps the VMs running at once
	vm := peers.PPPDVM(t)
	assert.FileExists(t, filepath.Join(vm.Dir, "console.log"))
	assert.Regexp(t, `^/dev/pts/\d+$`, vm.PTY)
	sum, err := vm.BigSHA256()
	require.NoError(t, err)
	assert.Regexp(t, `^[0-9a-f]{64}$`, sum)

	_, err = vm.Port.Write(encodeFrame(0xc021, lcpConfReq(1, magicOpt...)))
	require.NoError(t, err)
	stream := readUntil(vm.Port, 10*time.Second, func(b []byte) bool {
		return hasLCP(b, 2, 1) && hasLCP(b, 1, -1)
	})
	assert.True(t, hasLCP(stream, 2, 1), "no LCP Configure-Ack id 1 in % x", stream)
	assert.True(t, hasLCP(stream, 1, -1), "no LCP Configure-Request in % x", stream)

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.NoError(t, vm.WaitConsole(ctx, "rcvd [LCP ConfReq id=0x1 <magic 0x12345678>]"))
	assert.Contains(t, vm.ConsoleLog(), "sent [LCP ConfAck id=0x1 <magic 0x12345678>]")
	m, err := vm.WaitConsoleMatch(ctx, regexp.MustCompile(`sent \[LCP ConfReq id=0x1 .*<magic (0x[0-9a-f]+)>`))
	require.NoError(t, err)
	assert.Len(t, m, 2)
}

// TestPPPDVMOptions checks that options reach pppd, each given as one argument or two.
func TestPPPDVMOptions(t *testing.T) {
	if testing.Short() {
		t.Skip("boots a VM")
	}
	t.Parallel()
	vm := peers.PPPDVM(t, "mru 576", "lcp-echo-interval", "1")
	assert.Contains(t, vm.ConsoleLog(), "PPPD-START mru 576 lcp-echo-interval 1")
	_, err := vm.Port.Write(encodeFrame(0xc021, lcpConfReq(1, magicOpt...)))
	require.NoError(t, err)
	stream := readUntil(vm.Port, 10*time.Second, func(b []byte) bool { return hasLCP(b, 1, -1) })
	var mru []byte
	for _, f := range decodeFrames(stream) {
		if f.protocol == 0xc021 && len(f.info) > 4 && f.info[0] == 1 {
			mru = f.info[4:]
		}
	}
	assert.Contains(t, string(mru), string([]byte{1, 4, 0x02, 0x40}), "pppd's ConfReq lacks MRU 576: % x", mru)
}

// TestStopReapsEverything: after the cleanup-equivalent Stop no process is left behind.
func TestStopReapsEverything(t *testing.T) {
	t.Run("slirp", func(t *testing.T) {
		peers.Tool(t, peers.SlirpBinary)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		s, err := peers.StartSlirp(ctx)
		require.NoError(t, err)
		require.NoError(t, s.Stop())
		require.NoError(t, s.Stop(), "Stop is idempotent")
		assert.Contains(t, s.Stderr(), "SLiRP Ready", "banner kept after Stop")
		_, err = s.Port.Write([]byte{0x7e})
		assert.ErrorIs(t, err, os.ErrClosed)
	})
	t.Run("pppd-vm", func(t *testing.T) {
		if testing.Short() {
			t.Skip("boots a VM")
		}
		vm := peers.PPPDVM(t)
		pid := vm.PID
		require.NoError(t, vm.Stop())
		_, err := os.Stat(filepath.Join("/proc", strconv.Itoa(pid), "environ"))
		if err == nil {
			// The pid may have been reused already; it must not be a qemu any more.
			b, _ := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "cmdline"))
			assert.NotContains(t, string(b), "qemu", "qemu %d still running", pid)
		}
	})
}

// fakeSlirp puts a slirp-fullbolt in PATH that never prints its banner: it opens the FIFO it
// returns for writing (which blocks until the test opens it to read: the process runs) and then
// sleeps until it is stopped.
func fakeSlirp(t *testing.T) (fifo string) {
	dir := t.TempDir()
	fifo = filepath.Join(dir, "started")
	require.NoError(t, syscall.Mkfifo(fifo, 0o600))
	script := "#!/bin/sh\necho started > \"$FAKE_SLIRP_FIFO\"\nexec sleep 60\n"
	require.NoError(t, os.WriteFile(filepath.Join(dir, peers.SlirpBinary), []byte(script), 0o755))
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	t.Setenv("FAKE_SLIRP_FIFO", fifo)
	return fifo
}

// TestStartSlirpCancelled: StartSlirp fails with the context's error when the context ended
// before it was called, and when it ends while slirp has not printed its banner yet; the
// process is stopped either way. A slirp that never gets ready stands in for the real one, so
// both cases are what they say on every run.
func TestStartSlirpCancelled(t *testing.T) {
	fifo := fakeSlirp(t)
	started := make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		defer cancel()
		f, err := os.Open(fifo) // returns once the fake slirp runs
		if err == nil {
			_, _ = f.Read(make([]byte, 16))
			_ = f.Close()
		}
		close(started)
	}()
	_, err := peers.StartSlirp(ctx)
	<-started
	assert.ErrorIs(t, err, context.Canceled, "cancelled while waiting for the banner")
	assert.NotErrorIs(t, err, peers.ErrPeerMissing)

	// The FIFO held open for reading lets this fake slirp run on, if it gets that far.
	f, err := os.OpenFile(fifo, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	require.NoError(t, err)
	defer f.Close()
	done, cancelDone := context.WithCancel(context.Background())
	cancelDone()
	_, err = peers.StartSlirp(done)
	assert.ErrorIs(t, err, context.Canceled, "cancelled before the start")
}

func TestMissingPeer(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	_, err := peers.StartSlirp(context.Background())
	require.ErrorIs(t, err, peers.ErrPeerMissing)

	t.Setenv(peers.EnvPeersDir, t.TempDir())
	_, _, err = peers.StartPPPDVM(context.Background())
	require.ErrorIs(t, err, peers.ErrPeerMissing)
	if runtime.GOOS == "linux" {
		assert.Contains(t, err.Error(), peers.EnvPeersDir)
	}
}

func TestPPPDVMScriptFoundBesideRepo(t *testing.T) {
	t.Setenv(peers.EnvPeersDir, "")
	p, err := peers.PPPDVMScript()
	if errors.Is(err, peers.ErrPeerMissing) {
		peers.Interop(t, "%v", err)
	}
	require.NoError(t, err)
	assert.True(t, strings.HasSuffix(p, filepath.Join("shared", "peers", "pppd-vm")), p)
}

// fakeTB records Skip and Fatal; both end the calling goroutine like the real ones.
type fakeTB struct {
	testing.TB
	mu      sync.Mutex
	skipped string
	fatal   string
}

func (f *fakeTB) Helper() {}
func (f *fakeTB) Skipf(format string, args ...any) {
	f.mu.Lock()
	f.skipped = fmt.Sprintf(format, args...)
	f.mu.Unlock()
	runtime.Goexit()
}
func (f *fakeTB) Fatalf(format string, args ...any) {
	f.mu.Lock()
	f.fatal = fmt.Sprintf(format, args...)
	f.mu.Unlock()
	runtime.Goexit()
}

func runTB(fn func(testing.TB)) *fakeTB {
	f := &fakeTB{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn(f)
	}()
	<-done
	return f
}

func TestInteropRule(t *testing.T) {
	t.Setenv(peers.EnvInterop, "")
	f := runTB(func(tb testing.TB) { peers.Interop(tb, "no %s here", "slirp") })
	assert.Empty(t, f.fatal)
	assert.Contains(t, f.skipped, "no slirp here")
	assert.Contains(t, f.skipped, "PPP_INTEROP=1")

	t.Setenv(peers.EnvInterop, "1")
	require.True(t, peers.Required())
	f = runTB(func(tb testing.TB) { peers.Interop(tb, "no %s here", "slirp") })
	assert.Empty(t, f.skipped)
	assert.Contains(t, f.fatal, "no slirp here")

	t.Setenv("PATH", t.TempDir())
	f = runTB(func(tb testing.TB) { peers.Tool(tb, "tshark") })
	assert.Regexp(t, regexp.MustCompile(`tshark not in PATH`), f.fatal)
}

// TestPPPDVMsAndRestart: two VMs boot at once, each with its own options and pty; one is
// unplugged and Restart boots its replacement, with the same options, while the other runs on;
// a running VM is restarted as well.
func TestPPPDVMsAndRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("boots four VMs")
	}
	vms := peers.PPPDVMs(t, nil, []string{"10.0.0.1:10.0.0.3"})
	require.Len(t, vms, 2)
	a, b := vms[0], vms[1]
	assert.NotEqual(t, a.PTY, b.PTY)
	assert.Contains(t, b.ConsoleLog(), "PPPD-START 10.0.0.1:10.0.0.3")
	lcpAnswered := func(vm *peers.VM) {
		t.Helper()
		_, err := vm.Port.Write(encodeFrame(0xc021, lcpConfReq(1, magicOpt...)))
		require.NoError(t, err)
		stream := readUntil(vm.Port, 10*time.Second, func(b []byte) bool { return hasLCP(b, 2, 1) })
		assert.True(t, hasLCP(stream, 2, 1), "%s: no LCP Configure-Ack id 1 in % x", vm.PTY, stream)
	}
	lcpAnswered(a)
	lcpAnswered(b)

	// Unplugged: the port is closed and qemu gone; Restart boots the replacement in its slot
	// (with both slots held by this test, it could not have waited for another).
	require.NoError(t, a.Unplug())
	_, err := a.Port.Write([]byte{0x7e})
	assert.ErrorIs(t, err, os.ErrClosed, "the old VM's port is closed")
	b2, _ := os.ReadFile(filepath.Join("/proc", strconv.Itoa(a.PID), "cmdline"))
	assert.NotContains(t, string(b2), "qemu", "qemu %d still running", a.PID)
	a2 := peers.Restart(t, a)
	assert.Equal(t, a.Options, a2.Options)
	assert.NotEqual(t, a.PID, a2.PID)
	lcpAnswered(a2)
	lcpAnswered(b)

	// A running VM restarted at once, in its own slot too.
	b3 := peers.Restart(t, b)
	lcpAnswered(b3)
}
