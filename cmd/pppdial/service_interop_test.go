//go:build linux

package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pppdial/pppdial/control"
	"github.com/pppdial/pppdial/internal/peers"
	"github.com/pppdial/pppdial/usage"
)

// vmICCID is what pppd-vm's modem answers to AT+CCID.
const vmICCID = "89001012345678901234"

// notification is one datagram a service sent to its NOTIFY_SOCKET, and when it arrived.
type notification struct {
	at   time.Time
	text string
}

// notifySocket is a test's stand-in for systemd's notify socket: a unix datagram socket that
// records everything the service sends.
type notifySocket struct {
	path string
	mu   sync.Mutex
	got  []notification
}

func newNotifySocket(t *testing.T) *notifySocket {
	t.Helper()
	// A short path: sun_path holds 108 bytes, and t.TempDir's can be long.
	dir, err := os.MkdirTemp("", "ntf")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(dir) })
	ns := &notifySocket{path: filepath.Join(dir, "notify")}
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: ns.path, Net: "unixgram"})
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				return
			}
			ns.mu.Lock()
			ns.got = append(ns.got, notification{time.Now(), string(buf[:n])})
			ns.mu.Unlock()
		}
	}()
	return ns
}

// env is the environment systemd gives a Type=notify service with WatchdogSec=4s.
func (ns *notifySocket) env() []string {
	return []string{"NOTIFY_SOCKET=" + ns.path, "WATCHDOG_USEC=2000000"}
}

// all returns what arrived so far.
func (ns *notifySocket) all() []notification {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	return append([]notification(nil), ns.got...)
}

// matching returns the notifications holding line (one of their newline-separated
// assignments), between from and to.
func (ns *notifySocket) matching(prefix string, from, to time.Time) []notification {
	var out []notification
	for _, n := range ns.all() {
		if n.at.Before(from) || n.at.After(to) {
			continue
		}
		for _, l := range strings.Split(n.text, "\n") {
			if strings.HasPrefix(l, prefix) {
				out = append(out, notification{n.at, l})
			}
		}
	}
	return out
}

// waitFor polls ns until a notification starting with prefix arrives.
func (ns *notifySocket) waitFor(t *testing.T, prefix string, within time.Duration) notification {
	t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		if m := ns.matching(prefix, time.Time{}, time.Now()); len(m) > 0 {
			return m[0]
		}
		time.Sleep(50 * time.Millisecond) // real time: the service's datagrams
	}
	t.Fatalf("no %q notification within %v; got %v", prefix, within, ns.all())
	return notification{}
}

// scrape fetches the metrics page.
func scrape(t *testing.T, addr string) string {
	t.Helper()
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get("http://" + addr + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return string(b)
}

// metricValue is the value of series (name{labels} as the exposition writes it, labels sorted),
// or -1 when the page has no such series.
func metricValue(page, series string) float64 {
	sc := bufio.NewScanner(strings.NewReader(page))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), series+" "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				return -1
			}
			return f
		}
	}
	return -1
}

// status runs `pppdial status --json` against the socket.
func statusJSON(t *testing.T, sock string) control.Status {
	t.Helper()
	code, stdout, stderr := runToEnd(t, 20*time.Second, "status", "--control", sock, "--json")
	require.Equal(t, exitOK, code, stderr)
	var st control.Status
	require.NoError(t, json.Unmarshal([]byte(stdout), &st), stdout)
	return st
}

// savedUsage reads the SIM's state file as the next run would.
func savedUsage(t *testing.T, dir string) usage.Snapshot {
	t.Helper()
	m, err := usage.Open(dir, vmICCID, usage.Options{})
	require.NoError(t, err)
	require.NoError(t, m.LoadWarning())
	return m.Snapshot()
}

// TestStatusWithoutDaemon: no daemon on the socket is one line on stderr and exit 7, for status
// and redial alike.
func TestStatusWithoutDaemon(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "pp0.sock")
	for _, cmd := range []string{"status", "redial"} {
		code, stdout, stderr := runToEnd(t, 20*time.Second, cmd, "--control", sock)
		assert.Equal(t, exitNoDaemon, code, cmd)
		assert.Empty(t, stdout, cmd)
		assert.Equal(t, fmt.Sprintf("pppdial %s: no daemon running on %s\n", cmd, sock), stderr)
	}
}

// TestCLIInteropService is issue 12's acceptance against pppd-vm's modem (ICCID 89001012345678901234),
// in the order a gateway lives it, on one VM:
//  1. a run under a test's notify socket with WATCHDOG_USEC=2 s: READY=1 once up, STATUS= lines,
//     WATCHDOG=1 about every second; metrics show the link up, an echo RTT histogram, bytes
//     growing by 1 MiB with big.bin, promtool accepts the page; status --json shows it up with
//     its addresses and the SIM; the port is refused to a second process (root included), and
//     AT needs the daemon's AT channel; redial through the socket comes up again.
//  2. a second run (with CMUX: AT through the daemon) fetching big.bin: one state file holds
//     both runs' bytes.
//  3. a run killed with SIGKILL mid-transfer: the state file lost at most one --usage-interval.
//  4. the state file truncated: the next run sets it aside with a warning and counts from zero.
//  5. the VM frozen (SIGSTOP): the watchdog pings go on within --watchdog-grace after the link
//     went down, and stop after it.
func TestCLIInteropService(t *testing.T) {
	peers.Tool(t, "curl")
	// pppd's own keepalive ends its call once a killed run stops answering, as a network
	// would: the modem is back in command mode for the next run (it has no escape of its own).
	vm := peers.PPPDVM(t, peers.OptModem, "lcp-echo-interval", "1", "lcp-echo-failure", "4")
	_ = vm.Port.Close() // the binary opens the modem itself
	t.Cleanup(func() {
		_ = syscall.Kill(vm.PID, syscall.SIGCONT) // never leave a frozen VM behind
		if t.Failed() {
			t.Logf("console.log tail:\n%s", lastLines(vm.ConsoleLog(), 60))
		}
	})
	state := t.TempDir()
	sockDir := t.TempDir()
	sock := filepath.Join(sockDir, "pp0.sock")
	base := []string{"dial", "--port", vm.PTY, "--json", "--guard", "100ms", "--socks", "127.0.0.1:0",
		"--state-dir", state, "--usage-interval", "1s", "--control", sock, "--lcp-echo-interval", "1s", "--lcp-echo-failure", "10"}

	var run1Rx float64
	t.Run("notify, metrics, status, redial", func(t *testing.T) {
		ns := newNotifySocket(t)
		begin := time.Now()
		p := startEnv(t, ns.env(), nil, append(base, "--metrics", "127.0.0.1:0", "--persist", "--holdoff", "1s")...)
		maddr := p.waitEvent("metrics", 10*time.Second)["addr"].(string)
		require.Empty(t, ns.matching("READY=1", begin, time.Now()), "not ready before the link is up")
		up := p.waitEvent("up", 90*time.Second)
		upTime, err := time.Parse(time.RFC3339Nano, up["time"].(string))
		require.NoError(t, err)
		socks := p.waitEvent("socks", 5*time.Second)["addr"].(string)

		ready := ns.waitFor(t, "READY=1", 5*time.Second)
		assert.False(t, ready.at.Before(upTime), "READY=1 (%v) after the up event (%v)", ready.at, upTime)
		statuses := ns.matching("STATUS=", begin, time.Now())
		var lines []string
		for _, s := range statuses {
			lines = append(lines, s.text)
		}
		assert.Contains(t, lines, "STATUS=up: pp0 10.0.0.2 peer 10.0.0.1", "STATUS= lines: %q", lines)
		assert.Contains(t, strings.Join(lines, "\n"), "STATUS=dialing (attempt 1)", "STATUS= while dialing")
		// The registration wait extends systemd's start timeout by --register-timeout (90 s)
		// and half a minute, before READY=1.
		extend := ns.matching("EXTEND_TIMEOUT_USEC=", begin, ready.at)
		require.NotEmpty(t, extend, "EXTEND_TIMEOUT_USEC while registering")
		assert.Equal(t, "EXTEND_TIMEOUT_USEC=120000000", extend[0].text)

		// The watchdog: about one ping a second (half of WATCHDOG_USEC) while up.
		from := time.Now()
		time.Sleep(5 * time.Second) // real time: the pings are real-time datagrams
		pings := ns.matching("WATCHDOG=1", from, time.Now())
		assert.GreaterOrEqual(t, len(pings), 4, "pings in 5 s: %v", pings)
		assert.LessOrEqual(t, len(pings), 6, "pings in 5 s: %v", pings)
		for i := 1; i < len(pings); i++ {
			gap := pings[i].at.Sub(pings[i-1].at)
			assert.InDelta(t, float64(time.Second), float64(gap), float64(400*time.Millisecond), "gap %d: %v", i, gap)
		}

		page := scrape(t, maddr)
		assert.Equal(t, 1.0, metricValue(page, `pppdial_link_up{ifname="pp0"}`), "link up")
		assert.Equal(t, 1.0, metricValue(page, `pppdial_link_state{ifname="pp0",phase="up"}`))
		assert.Equal(t, 1.0, metricValue(page, `pppdial_registered{ifname="pp0"}`))
		assert.Equal(t, 1.0, metricValue(page, `pppdial_modem_info{iccid="89001012345678901234",ifname="pp0",imei="356938035643809",model="n_gsm-modem",operator="pppd-vm",revision="1.0",tech="LTE"}`),
			"modem_info:\n%s", grepLines(page, "pppdial_modem_info"))
		assert.Equal(t, -73.0, metricValue(page, `pppdial_signal_rssi_dbm{ifname="pp0"}`))
		assert.Equal(t, 0.0, metricValue(page, `pppdial_recovery_steps_total{ifname="pp0",result="ok",step="redial"}`),
			"the recovery counter exists at zero")
		assert.Greater(t, metricValue(page, `pppdial_lcp_echo_rtt_seconds_count{ifname="pp0"}`), 2.0,
			"echo RTT observations (one a second):\n%s", grepLines(page, "echo_rtt"))
		rx0 := metricValue(page, `pppdial_bytes_total{direction="rx",ifname="pp0"}`)
		require.GreaterOrEqual(t, rx0, 0.0)

		want, err := vm.BigSHA256()
		require.NoError(t, err)
		body := curl(t, nil, 3*time.Minute, "--socks5", socks, "http://10.0.0.1/big.bin")
		require.Equal(t, want, sha256Hex(body), "big.bin arrives intact")
		page = scrape(t, maddr)
		rx1 := metricValue(page, `pppdial_bytes_total{direction="rx",ifname="pp0"}`)
		assert.GreaterOrEqual(t, rx1-rx0, float64(1<<20), "rx bytes grew by big.bin")
		assert.Greater(t, metricValue(page, `pppdial_packets_total{direction="rx",ifname="pp0"}`), 700.0)
		// The meter takes the link's counters once a second: it catches up within one.
		usageRx := func(page string) float64 {
			return metricValue(page, `pppdial_usage_bytes{direction="rx",iccid="89001012345678901234",period="current"}`)
		}
		for deadline := time.Now().Add(3 * time.Second); usageRx(page) < 1<<20 && time.Now().Before(deadline); {
			time.Sleep(200 * time.Millisecond) // real time: the meter's one-second tick
			page = scrape(t, maddr)
		}
		assert.GreaterOrEqual(t, usageRx(page), float64(1<<20), "usage:\n%s", grepLines(page, "usage"))
		t.Run("promtool", func(t *testing.T) {
			promtool := peers.Tool(t, "promtool")
			cmd := exec.Command(promtool, "check", "metrics")
			cmd.Stdin = strings.NewReader(page)
			out, err := cmd.CombinedOutput()
			assert.NoError(t, err, "promtool check metrics:\n%s", out)
		})

		st := statusJSON(t, sock)
		assert.Equal(t, "up", st.State)
		assert.True(t, st.Up)
		assert.Equal(t, "10.0.0.2", st.Addresses.Local.String())
		assert.Equal(t, "10.0.0.1", st.Addresses.Peer.String())
		assert.Equal(t, "10.0.0.1", fmt.Sprint(st.Addresses.DNS[0]))
		assert.Equal(t, vmICCID, st.Modem.ICCID)
		assert.Equal(t, vm.PTY, st.Port)
		assert.GreaterOrEqual(t, st.Counters.RxBytes, uint64(1<<20))
		require.NotNil(t, st.Usage)
		assert.Equal(t, vmICCID, st.Usage.ICCID)
		assert.Positive(t, time.Duration(st.Uptime))
		code, human, stderr := runToEnd(t, 20*time.Second, "status", "--control", sock)
		require.Equal(t, exitOK, code, stderr)
		assert.Contains(t, human, "pp0: up for ")
		assert.Contains(t, human, "local 10.0.0.2 peer 10.0.0.1 dns 10.0.0.1")

		// The port is this daemon's alone: another dial, and AT on the port, are refused (this
		// test runs as root on CI: TIOCEXCL alone would not stop it).
		code, _, stderr = runToEnd(t, 30*time.Second, "dial", "--port", vm.PTY, "--control", "none")
		assert.Equal(t, exitModem, code, stderr)
		assert.Contains(t, stderr, "port in use by another process")
		code, _, stderr = runToEnd(t, 30*time.Second, "at", "--port", vm.PTY, "ATI")
		assert.Equal(t, exitModem, code, stderr)
		assert.Contains(t, stderr, "in use by another process")
		code, _, stderr = runToEnd(t, 30*time.Second, "at", "--control", sock, "AT+CSQ")
		assert.Equal(t, exitModem, code)
		assert.Contains(t, stderr, "has no AT channel while its link is up (run it with --cmux)")

		// Redial through the socket: the link drops (code "requested") and comes up again.
		code, out, stderr := runToEnd(t, 20*time.Second, "redial", "--control", sock)
		require.Equal(t, exitOK, code, stderr)
		assert.Equal(t, "redialing\n", out)
		down := p.waitEvent("down", 20*time.Second)
		assert.Equal(t, "requested", down["code"])
		p.waitEvent("up", 90*time.Second)
		page = scrape(t, maddr)
		assert.Equal(t, 1.0, metricValue(page, `pppdial_redials_total{ifname="pp0",reason="requested"}`))
		assert.GreaterOrEqual(t, metricValue(page, `pppdial_bytes_total{direction="rx",ifname="pp0"}`), rx1,
			"the byte counters stay monotonic across the redial")
		run1Rx = metricValue(page, `pppdial_bytes_total{direction="rx",ifname="pp0"}`)

		stopping := time.Now()
		stopAndCheck(t, p)
		assert.NotEmpty(t, ns.matching("STOPPING=1", stopping, time.Now()), "STOPPING=1 at shutdown")
		_, err = os.Stat(sock)
		assert.ErrorIs(t, err, os.ErrNotExist, "the socket is removed at exit")
	})
	if t.Failed() {
		return
	}
	saved := savedUsage(t, state)
	assert.GreaterOrEqual(t, float64(saved.Current.RxBytes), run1Rx, "the final flush holds the whole run")
	assert.Less(t, float64(saved.Current.RxBytes), run1Rx+64<<10, "and nothing it did not count")

	t.Run("second run: usage adds up; AT through the daemon", func(t *testing.T) {
		before := savedUsage(t, state)
		// --ifname pp7: its default socket in /run/pppdial, where `pppdial at --port` looks.
		args := []string{"dial", "--port", vm.PTY, "--json", "--guard", "100ms", "--socks", "127.0.0.1:0",
			"--state-dir", state, "--usage-interval", "1s", "--cmux", "--ifname", "pp7"}
		p := start(t, nil, args...)
		ctl := p.waitEvent("control", 10*time.Second)
		p.waitEvent("up", 90*time.Second)
		socks := p.waitEvent("socks", 5*time.Second)["addr"].(string)
		body := curl(t, nil, 3*time.Minute, "--socks5", socks, "http://10.0.0.1/big.bin")
		require.Len(t, body, 1<<20)

		require.NotNil(t, ctl["addr"], "the default control socket: %v", ctl["error"])
		{
			sock := ctl["addr"].(string)
			code, out, stderr := runToEnd(t, 30*time.Second, "at", "--control", sock, "AT+CSQ")
			require.Equal(t, exitOK, code, stderr)
			assert.Equal(t, "> AT+CSQ\n+CSQ: 20,99\nOK\n", out)
			code, out, stderr = runToEnd(t, 30*time.Second, "at", "--port", vm.PTY, "+CGSN")
			require.Equal(t, exitOK, code, stderr)
			assert.Equal(t, "> AT+CGSN\n356938035643809\nOK\n", out, "found the daemon holding the port")
		}
		st := statusJSON(t, ctl["addr"].(string))
		stopAndCheck(t, p)

		after := savedUsage(t, state)
		entries, err := os.ReadDir(state)
		require.NoError(t, err)
		name, err := usage.FileName(vmICCID)
		require.NoError(t, err)
		require.Len(t, entries, 1, "one state file for the SIM")
		assert.Equal(t, name, entries[0].Name())
		assert.GreaterOrEqual(t, after.Current.RxBytes, before.Current.RxBytes+st.Counters.RxBytes,
			"both runs' bytes")
		assert.GreaterOrEqual(t, after.Current.RxBytes, uint64(2<<20), "two big.bin")
	})
	if t.Failed() {
		return
	}

	t.Run("SIGKILL mid-transfer loses at most one interval", func(t *testing.T) {
		const interval = time.Second
		p := start(t, nil, base...)
		p.waitEvent("up", 90*time.Second)
		socks := p.waitEvent("socks", 5*time.Second)["addr"].(string)
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		curlDone := make(chan struct{})
		go func() {
			defer close(curlDone)
			_ = exec.CommandContext(ctx, "curl", "-sS", "-o", "/dev/null", "--socks5", socks,
				"http://10.0.0.1/big.bin", "http://10.0.0.1/big.bin").Run()
		}()
		type reading struct {
			at    time.Time
			total uint64
		}
		var readings []reading
		var start uint64
		for {
			st := statusJSON(t, sock)
			require.NotNil(t, st.Usage)
			total := st.Usage.Current.RxBytes + st.Usage.Current.TxBytes
			if start == 0 {
				start = total
			}
			readings = append(readings, reading{time.Now(), total})
			if total > start+512<<10 {
				break
			}
			select {
			case <-curlDone:
				t.Fatal("the transfer ended before the kill")
			default:
			}
			time.Sleep(200 * time.Millisecond) // real time: the transfer's pace
		}
		killed := time.Now()
		require.NoError(t, p.cmd.Process.Signal(syscall.SIGKILL))
		<-p.done
		cancel()
		<-curlDone

		s := savedUsage(t, state)
		saved := s.Current.RxBytes + s.Current.TxBytes
		// What the daemon had counted one interval (and a scheduling margin) before the kill
		// is in the file; nothing beyond what it had counted at the kill.
		var due reading
		for _, r := range readings {
			if r.at.Before(killed.Add(-interval - 500*time.Millisecond)) {
				due = r
			}
		}
		last := readings[len(readings)-1]
		t.Logf("killed at +%d bytes; file %d, due %d, last %d", last.total-start, saved, due.total, last.total)
		assert.GreaterOrEqual(t, saved, due.total, "at most one interval lost")
		assert.LessOrEqual(t, saved, last.total+256<<10, "no bytes invented")
		assert.Greater(t, saved, start, "the bytes of this run before the kill are kept")
	})
	if t.Failed() {
		return
	}

	t.Run("a truncated state file is set aside", func(t *testing.T) {
		name, err := usage.FileName(vmICCID)
		require.NoError(t, err)
		path := filepath.Join(state, name)
		fi, err := os.Stat(path)
		require.NoError(t, err)
		require.NoError(t, os.Truncate(path, fi.Size()/2))

		// --persist: the modem may still be in the killed run's call, with pppd sending (it has
		// no keepalive): the first wake may not get through.
		p := start(t, nil, append(base, "--persist", "--holdoff", "1s")...)
		p.waitEvent("up", 120*time.Second)
		ev := p.waitEvent("usage", 10*time.Second)
		assert.Contains(t, ev["error"], "corrupt")
		assert.Contains(t, p.waitEvent("usage", 5*time.Second)["detail"], "SIM "+vmICCID, "then counting")
		aside, err := filepath.Glob(path + ".corrupt-*")
		require.NoError(t, err)
		assert.Len(t, aside, 1, "the truncated file is kept aside")
		st := statusJSON(t, sock)
		require.NotNil(t, st.Usage)
		assert.Less(t, st.Usage.Current.RxBytes, uint64(1<<20), "counting from zero")
		stopAndCheck(t, p)
		// stderr is read by its own goroutine, complete only once the process has exited: the
		// JSON event on stdout can arrive before the warning line is in the buffer.
		assert.Contains(t, p.stderr.String(), "usage: warning:")
	})
	if t.Failed() {
		return
	}

	t.Run("watchdog after SIGSTOP", func(t *testing.T) {
		const grace = 8 * time.Second
		ns := newNotifySocket(t)
		p := startEnv(t, ns.env(), nil, append(base, "--persist", "--holdoff", "1s",
			"--lcp-echo-failure", "2", "--watchdog-grace", grace.String())...)
		p.waitEvent("up", 90*time.Second)
		ns.waitFor(t, "WATCHDOG=1", 5*time.Second)

		require.NoError(t, syscall.Kill(vm.PID, syscall.SIGSTOP))
		frozen := time.Now()
		p.waitEvent("down", 20*time.Second)
		down := time.Now()
		t.Logf("link down %v after the freeze", down.Sub(frozen).Round(time.Millisecond))
		time.Sleep(grace + 4*time.Second) // real time: the watchdog's grace is what is tested
		within := ns.matching("WATCHDOG=1", down, down.Add(grace-time.Second))
		after := ns.matching("WATCHDOG=1", down.Add(grace+1500*time.Millisecond), time.Now())
		assert.GreaterOrEqual(t, len(within), int(grace/time.Second)-3, "pings go on within the grace: %v", within)
		assert.Empty(t, after, "no ping once the grace is over")
		statuses := ns.matching("STATUS=", down, time.Now())
		assert.NotEmpty(t, statuses, "STATUS= says the link is down")

		require.NoError(t, syscall.Kill(vm.PID, syscall.SIGCONT))
		stopAndCheck(t, p)
	})
}

// grepLines returns the lines of s holding sub, for failure messages.
func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
