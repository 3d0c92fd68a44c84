package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pppdial/pppdial/internal/socksclient"
	"github.com/pppdial/pppdial/modemsim"
	"github.com/pppdial/pppdial/modemsim/carrier"
	"github.com/pppdial/pppdial/ppp"
	"github.com/pppdial/pppdial/socks"
)

// bin is the pppdial binary the tests drive, as a user would.
var bin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "pppdial-cli")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bin = filepath.Join(dir, "pppdial")
	// Every run the tests start keeps its state (the SIM's data usage, the APN found) here, not
	// in the machine's /var/lib/pppdial, unless a test gives --state-dir.
	if err := os.Setenv("PPPDIAL_STATE_DIR", filepath.Join(dir, "state")); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "go build: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// modemPTY serves an emulated modem with profile p on a pty and returns its path.
func modemPTY(t *testing.T, p modemsim.Profile, data modemsim.DataFunc) string {
	t.Helper()
	p.GuardTime = 100 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	pty, err := modemsim.ServePTY(ctx, modemsim.New(p, data))
	require.NoError(t, err)
	t.Cleanup(func() {
		cancel()
		_ = pty.Close()
	})
	return pty.Path
}

// proc is a running pppdial with its JSON events.
type proc struct {
	t      *testing.T
	cmd    *exec.Cmd
	events chan map[string]any
	stderr *syncBuffer
	done   chan struct{}
	err    error
}

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// start runs pppdial with args (prefix is a command to run it under, e.g. ip netns exec).
func start(t *testing.T, prefix []string, args ...string) *proc {
	t.Helper()
	return startEnv(t, nil, prefix, args...)
}

// startEnv is start with env added to the environment.
func startEnv(t *testing.T, env, prefix []string, args ...string) *proc {
	t.Helper()
	argv := append(append(prefix, bin), args...)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), env...)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	p := &proc{t: t, cmd: cmd, events: make(chan map[string]any, 256), stderr: &syncBuffer{}, done: make(chan struct{})}
	cmd.Stderr = p.stderr
	require.NoError(t, cmd.Start())
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			var e map[string]any
			if json.Unmarshal(sc.Bytes(), &e) == nil {
				p.events <- e
			}
		}
		p.err = cmd.Wait()
		close(p.events)
		close(p.done)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-p.done
		if t.Failed() {
			t.Logf("pppdial stderr:\n%s", p.stderr.String())
		}
	})
	return p
}

// waitEvent returns the first event named name, failing on timeout or exit.
func (p *proc) waitEvent(name string, within time.Duration) map[string]any {
	p.t.Helper()
	events := p.eventsUntil(name, within)
	return events[len(events)-1]
}

// upAndSOCKS waits for the up event and the socks event the command reports once Dial has
// returned and its SOCKS server listens: one bound for the whole start-up, which on a loaded
// machine may be spent anywhere in it.
func (p *proc) upAndSOCKS(within time.Duration) (up, socks map[string]any) {
	p.t.Helper()
	events := p.eventsUntil("socks", within)
	for _, e := range events {
		if e["event"] == "up" {
			return e, events[len(events)-1]
		}
	}
	p.t.Fatalf("socks reported before the link was up: %v", events)
	return nil, nil
}

// eventsUntil returns the events up to and including the first named one.
func (p *proc) eventsUntil(name string, within time.Duration) []map[string]any {
	p.t.Helper()
	var out []map[string]any
	deadline := time.After(within)
	for {
		select {
		case e, ok := <-p.events:
			if !ok {
				p.t.Fatalf("pppdial exited (%v) before a %q event; stderr:\n%s", p.err, name, p.stderr.String())
			}
			out = append(out, e)
			if e["event"] == name {
				return out
			}
		case <-deadline:
			p.t.Fatalf("no %q event within %v; stderr:\n%s", name, within, p.stderr.String())
		}
	}
}

// interrupt sends SIGINT and returns the exit code and how long the exit took.
func (p *proc) interrupt() (int, time.Duration) {
	p.t.Helper()
	start := time.Now()
	require.NoError(p.t, p.cmd.Process.Signal(os.Interrupt))
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		p.t.Fatalf("pppdial did not exit within 10 s of SIGINT")
	}
	return exitStatus(p.err), time.Since(start)
}

func exitStatus(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}

// runToEnd runs pppdial to completion and returns its exit code, stdout and stderr.
func runToEnd(t *testing.T, timeout time.Duration, args ...string) (int, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	require.NoError(t, ctx.Err(), "pppdial %v did not finish in %v; stderr:\n%s", args, timeout, stderr.String())
	return exitStatus(err), stdout.String(), stderr.String()
}

func TestDemoExitsZeroAndShowsTheFetch(t *testing.T) {
	// Its own process and pty modem: it runs beside the other tests that need no peer.
	t.Parallel()
	code, stdout, stderr := runToEnd(t, 60*time.Second, "demo")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stdout, "fetched http://demo.pppdial.test/ over pp0: 39 bytes")
	assert.Contains(t, stdout, "local 10.64.64.2, peer 10.64.64.1")
	assert.Contains(t, stdout, "IPCP up")
	assert.Regexp(t, `(?m)^echo off +(\d+ms|0s)  ATE0: OK$`, stdout, "the echo-off step says what the modem answered")
	fetched, down := strings.Index(stdout, "fetched "), strings.Index(stdout, "link down: link closed")
	require.GreaterOrEqual(t, down, 0, "the demo hangs up:\n%s", stdout)
	assert.Less(t, fetched, down, "the fetch's summary comes while the link is up, before it goes down:\n%s", stdout)
	assertREADMEShowsDemo(t, stdout)

	code, stdout, _ = runToEnd(t, 60*time.Second, "demo", "--json")
	require.Equal(t, 0, code)
	var events []string
	var result map[string]any
	for _, line := range strings.Split(strings.TrimSpace(stdout), "\n") {
		var e map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &e), "every stdout line is JSON: %q", line)
		require.Contains(t, e, "time")
		require.Contains(t, e, "event")
		events = append(events, e["event"].(string))
		if e["event"] == "demo" {
			result = e
		}
	}
	require.NotNil(t, result, "the demo record: %v", events)
	assert.Equal(t, float64(39), result["bytes"])
	assert.Equal(t, "10.64.64.2", result["local"])
	require.Contains(t, events, "down")
	assert.Less(t, slices.Index(events, "demo"), slices.Index(events, "down"), "the result comes before the link goes down: %v", events)
	assert.Equal(t, "down", events[len(events)-1], "the link going down is the last thing the demo does")
}

// assertREADMEShowsDemo checks that the README's sample of the step lines ("as in the demo
// (whose output this is)") is what the demo prints, durations aside, so that the two cannot
// drift apart.
func assertREADMEShowsDemo(t *testing.T, stdout string) {
	t.Helper()
	readme, err := os.ReadFile("../../README.md")
	require.NoError(t, err)
	_, block, ok := strings.Cut(string(readme), "as in the demo (whose output this is):\n\n```\n")
	require.True(t, ok, "the README's demo sample is gone")
	block, _, ok = strings.Cut(block, "```")
	require.True(t, ok)
	durations := regexp.MustCompile(`\b(\d+ms|0s)\b`) // a step under half a millisecond prints 0s
	norm := func(s string) []string {
		var out []string
		for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
			out = append(out, strings.Join(strings.Fields(durations.ReplaceAllString(l, "Nms")), " "))
		}
		return out
	}
	want := norm(block)
	got := norm(stdout)
	start := slices.Index(got, want[0])
	require.GreaterOrEqual(t, start, 0, "the demo prints no %q", want[0])
	require.LessOrEqual(t, start+len(want), len(got))
	assert.Equal(t, want, got[start:start+len(want)], "README.md's demo sample differs from the demo's output")
}

func TestUsageAndVersion(t *testing.T) {
	t.Parallel()
	code, _, stderr := runToEnd(t, 10*time.Second, "dial")
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr, "--port is required")
	code, _, _ = runToEnd(t, 10*time.Second, "frobnicate")
	assert.Equal(t, exitUsage, code)
	code, stdout, _ := runToEnd(t, 10*time.Second, "help")
	assert.Equal(t, 0, code)
	assert.Contains(t, stdout, "Exit codes:")
	code, stdout, _ = runToEnd(t, 10*time.Second, "version")
	assert.Equal(t, 0, code)
	assert.True(t, strings.HasPrefix(stdout, "pppdial "))
}

func TestDialServesSOCKSAndStopsOnSIGINT(t *testing.T) {
	t.Parallel()
	network := carrier.New(carrier.Config{})
	path := modemPTY(t, modemsim.EC25(), network.DataFunc())
	resolv := filepath.Join(t.TempDir(), "resolv.conf")
	p := start(t, nil, "dial", "--port", path, "--apn", "internet", "--json", "--guard", "100ms",
		"--socks", "127.0.0.1:0", "--resolv-conf", resolv, "--stats-interval", "200ms", "--lcp-echo-interval", "100ms")
	up, socksEv := p.upAndSOCKS(30 * time.Second)
	assert.Equal(t, "pp0", up["ifname"])
	assert.Equal(t, "10.64.64.2", up["local"])
	assert.Equal(t, "10.64.64.1", up["peer"])
	assert.Equal(t, []any{"10.64.64.1"}, up["dns"])
	socks := socksEv["addr"].(string)

	// A name resolved by the link's DNS, through SOCKS5, over the link.
	body := socksGet(t, socks, socksclient.Auth{}, "http://"+carrier.DefaultHost+"/")
	assert.Equal(t, carrier.DefaultPage, body)

	conf, err := os.ReadFile(resolv)
	require.NoError(t, err)
	assert.Contains(t, string(conf), "nameserver 10.64.64.1\n")

	// Periodic stats: traffic counted, keepalive answered with its round-trip time.
	var stats map[string]any
	for deadline := time.Now().Add(30 * time.Second); stats == nil || stats["echo_replies"].(float64) == 0; {
		stats = p.waitEvent("stats", time.Until(deadline))["stats"].(map[string]any)
	}
	assert.Positive(t, stats["bytes_in"].(float64))
	assert.Positive(t, stats["packets_out"].(float64))
	assert.NotEmpty(t, stats["echo_rtt"])

	code, took := p.interrupt()
	assert.Equal(t, 0, code)
	assert.Less(t, took, 5*time.Second)
	assert.Contains(t, p.stderr.String(), "hung up")
}

// socksGet fetches url through the SOCKS5 proxy with curl, as a user would, or with a Go
// SOCKS5 client when curl is not installed or a password is needed (it stays off curl's
// command line).
func socksGet(t *testing.T, proxy string, auth socksclient.Auth, url string) []byte {
	t.Helper()
	if curl, err := exec.LookPath("curl"); err == nil && auth.User == "" && socks.UnixPath(proxy) == "" {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		out, err := exec.CommandContext(ctx, curl, "-sS", "--fail", "--socks5-hostname", proxy, url).Output()
		require.NoError(t, err, "curl via %s", proxy)
		return out
	}
	network := "tcp"
	if socks.UnixPath(proxy) != "" {
		network, proxy = "unix", socks.UnixPath(proxy)
	}
	tr := &http.Transport{DialContext: func(ctx context.Context, _, addr string) (net.Conn, error) {
		return socksclient.Connect(ctx, network, proxy, auth, addr)
	}}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr, Timeout: 60 * time.Second}).Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return b
}

func TestDialFailuresExitWithTheirCode(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		tweak func(*modemsim.Profile)
		args  []string
		code  int
		cause string
	}{
		{"no SIM", func(p *modemsim.Profile) { p.NoSIM = true }, nil, exitModem, "insert a SIM"},
		{"wrong PIN", func(p *modemsim.Profile) { p.PIN = "1234" }, []string{"--pin", "9999"}, exitModem, "rejected the PIN"},
		{"PIN needed", func(p *modemsim.Profile) { p.PIN = "1234" }, nil, exitModem, "--pin"},
		{"denied", func(p *modemsim.Profile) { p.Denied = true }, nil, exitRegistration, "registration"},
		{"no carrier", func(p *modemsim.Profile) { p.NoCarrierDials = 5 }, nil, exitModem, "--apn"},
		{"busy", func(p *modemsim.Profile) { p.BusyDials = 5 }, nil, exitModem, "busy"},
		{"auth rejected", nil, []string{"--user", "user", "--password", "wrong"}, exitPPP, "authentication"},
		{"link lost", func(p *modemsim.Profile) { p.CarrierDropAfter = time.Second }, nil, exitLinkLost, "--persist"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := modemsim.SIM7600()
			if tc.tweak != nil {
				tc.tweak(&p)
			}
			network := carrier.New(carrier.Config{PPP: ppp.Config{RequireAuth: ppp.AuthPAP, Username: "user", Password: "secret"}})
			path := modemPTY(t, p, network.DataFunc())
			args := append([]string{"dial", "--port", path, "--apn", "internet", "--guard", "100ms",
				"--user", "user", "--password", "secret", "--lcp-echo-interval", "0"}, tc.args...)
			code, _, stderr := runToEnd(t, 60*time.Second, args...)
			assert.Equal(t, tc.code, code, stderr)
			last := lastLine(stderr)
			assert.True(t, strings.HasPrefix(last, "pppdial: "), "the last line names the cause: %q", last)
			assert.Contains(t, strings.ToLower(last), strings.ToLower(tc.cause))
			assert.NotContains(t, stderr, "secret", "the password never appears")
			assert.NotContains(t, stderr, "9999", "the PIN never appears")
		})
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return lines[len(lines)-1]
}

func TestDialPersistRedialsAfterCarrierDrop(t *testing.T) {
	t.Parallel()
	p := modemsim.EC25()
	p.CarrierDropAfter = 1500 * time.Millisecond
	network := carrier.New(carrier.Config{})
	path := modemPTY(t, p, network.DataFunc())
	proc := start(t, nil, "dial", "--port", path, "--json", "--guard", "100ms", "--persist", "--holdoff", "100ms")
	proc.waitEvent("up", 30*time.Second)
	down := proc.waitEvent("down", 10*time.Second)
	assert.Contains(t, down["reason"], "NO CARRIER")
	assert.Equal(t, "link-lost", down["code"])
	proc.waitEvent("redial", 5*time.Second)
	proc.waitEvent("up", 30*time.Second)
	code, _ := proc.interrupt()
	assert.Equal(t, 0, code)
}

func TestPcapAndRecord(t *testing.T) {
	t.Parallel()
	network := carrier.New(carrier.Config{})
	// Registered at once: the BG96's search (polled every 2 s by default) is not under test.
	profile := modemsim.BG96()
	profile.RegistrationDelay = 0
	path := modemPTY(t, profile, network.DataFunc())
	dir := t.TempDir()
	pcapFile, record := filepath.Join(dir, "link.pcap"), filepath.Join(dir, "dial.txt")
	p := start(t, nil, "dial", "--port", path, "--json", "--guard", "100ms",
		"--pcap", pcapFile, "--record", record)
	p.waitEvent("up", 60*time.Second)
	code, _ := p.interrupt()
	require.Equal(t, 0, code)

	st, err := os.Stat(pcapFile)
	require.NoError(t, err)
	assert.Greater(t, st.Size(), int64(24+16*4), "the pcap holds the negotiation")
	if tshark, err := exec.LookPath("tshark"); err == nil {
		out, err := exec.Command(tshark, "-r", pcapFile).CombinedOutput()
		require.NoError(t, err, "%s", out)
		assert.Contains(t, string(out), "LCP")
		assert.Contains(t, string(out), "IPCP")
		assert.NotContains(t, string(out), "Malformed")
	}
	transcript, err := os.ReadFile(record)
	require.NoError(t, err)
	assert.Contains(t, string(transcript), "ATD*99***1#")
	// The recorded transcript replays against the dialer.
	code, stdout, stderr := runToEnd(t, 60*time.Second, "replay", record)
	assert.Equal(t, 0, code, "%s\n%s\ntranscript:\n%s", stdout, stderr, transcript)
}

// sha256Hex returns the hex sha256 of b.
func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// serveBig serves 1 MiB of random bytes on 127.0.0.1 and returns the port and the sha256.
func serveBig(t *testing.T) (int, string) {
	big := make([]byte, 1<<20)
	_, _ = rand.Read(big)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(big) })}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().(*net.TCPAddr).Port, sha256Hex(big)
}

func TestATCommandPrintsAnswers(t *testing.T) {
	t.Parallel()
	path := modemPTY(t, modemsim.EC25(), nil)
	code, stdout, stderr := runToEnd(t, 30*time.Second, "at", "--port", path, "ATE0", "+CSQ", "AT+COPS?", "+NOPE")
	assert.Equal(t, exitModem, code, "the unknown command fails: %s", stderr)
	assert.Contains(t, stdout, "> AT+CSQ\n+CSQ: 24,99\nOK\n")
	assert.Contains(t, stdout, `+COPS: 0,0,"Telekom.de",7`)
	assert.Contains(t, stdout, "> AT+NOPE\n")
}

func TestSOCKSUDPAssociate(t *testing.T) {
	t.Parallel()
	network := carrier.New(carrier.Config{})
	path := modemPTY(t, modemsim.EC25(), network.DataFunc())
	p := start(t, nil, "dial", "--port", path, "--json", "--guard", "100ms", "--socks", "127.0.0.1:0")
	_, socks := p.upAndSOCKS(30 * time.Second)
	assert.Equal(t, "loopback-only", socks["mode"])
	dnsThroughRelay(t, socks["addr"].(string), socksclient.Auth{})
	stopAndCheckQuick(t, p)
}

// dnsThroughRelay asks the carrier's DNS server (behind the link) for demo.pppdial.test
// through a UDP association (RFC 1928 section 7) on proxy.
func dnsThroughRelay(t *testing.T, proxy string, auth socksclient.Auth) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ctl, err := socksclient.Associate(ctx, "tcp", proxy, auth, "0.0.0.0:0")
	require.NoError(t, err)
	defer ctl.Close()
	assert.Equal(t, "127.0.0.1", ctl.Bound.Addr().String(), "the relay is on the address the client connected to")

	udp, err := net.Dial("udp", ctl.Bound.String())
	require.NoError(t, err)
	defer udp.Close()
	query := []byte{0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 4, 'd', 'e', 'm', 'o', 7, 'p', 'p', 'p', 'd', 'i', 'a', 'l', 4, 't', 'e', 's', 't', 0, 0, 1, 0, 1}
	datagram, err := socksclient.Datagram("10.64.64.1:53", query)
	require.NoError(t, err)
	var answer []byte
	var from string
	for attempt := 0; attempt < 5 && answer == nil; attempt++ {
		_, err = udp.Write(datagram)
		require.NoError(t, err)
		require.NoError(t, udp.SetReadDeadline(time.Now().Add(2*time.Second)))
		b := make([]byte, 512)
		n, err := udp.Read(b)
		if err == nil {
			from, answer, err = socksclient.ParseDatagram(b[:n])
			require.NoError(t, err)
		}
	}
	require.NotNil(t, answer, "no answer relayed")
	assert.Equal(t, "10.64.64.1:53", from, "the reply comes from the DNS server behind the link")
	require.Greater(t, len(answer), 12)
	assert.Equal(t, []byte{0x12, 0x34}, answer[:2])
	assert.Equal(t, []byte{10, 64, 64, 1}, answer[len(answer)-4:], "A record for demo.pppdial.test")
}

func stopAndCheckQuick(t *testing.T, p *proc) {
	t.Helper()
	code, took := p.interrupt()
	assert.Equal(t, 0, code)
	assert.Less(t, took, 5*time.Second)
}

func TestFlagsFromEnvironment(t *testing.T) {
	t.Parallel()
	run := func(env ...string) (int, string) { return runWithEnv(t, env, "dial") }
	// The port comes from PPPDIAL_PORT: not a usage error, but a port that does not exist.
	code, stderr := run("PPPDIAL_PORT=/nonexistent/ttyUSB9")
	assert.Equal(t, exitModem, code, stderr)
	assert.Contains(t, stderr, "/nonexistent/ttyUSB9")
	// A bad value is named with its variable.
	code, stderr = run("PPPDIAL_PORT=/dev/null", "PPPDIAL_BAUD=fast")
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr, "PPPDIAL_BAUD")
	// The command line wins over the environment.
	code, stderr = runWithEnv(t, []string{"PPPDIAL_PORT=/nonexistent/a"}, "dial", "--port", "/nonexistent/b")
	assert.Equal(t, exitModem, code)
	assert.Contains(t, stderr, "/nonexistent/b")
	assert.NotContains(t, stderr, "/nonexistent/a")
}

func runWithEnv(t *testing.T, env []string, args ...string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), env...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	err := cmd.Run()
	return exitStatus(err), stderr.String()
}

// --mtu asks for that MRU and the up event reports the MTU in force; a value no link can use
// is a usage error before the modem is touched.
func TestDialMTU(t *testing.T) {
	t.Parallel()
	network := carrier.New(carrier.Config{})
	path := modemPTY(t, modemsim.EC25(), network.DataFunc())
	p := start(t, nil, "dial", "--port", path, "--json", "--guard", "100ms", "--mtu", "1280", "--lcp-echo-interval", "0")
	up := p.waitEvent("up", 30*time.Second)
	assert.Equal(t, float64(1280), up["mtu"], "the MTU in force: what we asked for, below the network's 1500")
	code, _ := p.interrupt()
	assert.Equal(t, 0, code)
	assert.Contains(t, p.stderr.String(), "mtu 1280")

	code, _, stderr := runToEnd(t, 30*time.Second, "dial", "--port", path, "--mtu", "64")
	assert.Equal(t, exitUsage, code, stderr)
	assert.Contains(t, lastLine(stderr), "MTU 64")
}
