package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pppdial/pppdial/internal/socksclient"
	"github.com/pppdial/pppdial/modemsim"
	"github.com/pppdial/pppdial/modemsim/carrier"
)

// testSOCKSPassword is the password the tests look for in every output.
const testSOCKSPassword = "Tr0ub4dor&3-socks"

// TestSOCKSAuth: with --socks-user (password from the environment) clients without the
// password are refused as RFC 1928/1929 say, the right one reaches the link with CONNECT and
// UDP ASSOCIATE, the refusals are counted in the metrics, and the password appears nowhere: not
// on stdout, not in the -v debug log on stderr, not in the process's command line.
func TestSOCKSAuth(t *testing.T) {
	t.Parallel()
	network := carrier.New(carrier.Config{})
	path := modemPTY(t, modemsim.EC25(), network.DataFunc())
	p := startEnv(t, []string{socksPasswordEnv + "=" + testSOCKSPassword}, nil,
		"dial", "--port", path, "--json", "-v", "--guard", "100ms", "--socks", "127.0.0.1:0", "--socks-user", "alice",
		"--metrics", "127.0.0.1:0", "--control", "none")
	var stdout strings.Builder
	metricsAddr := p.waitEvent("metrics", 30*time.Second)["addr"].(string)
	_, ev := p.upAndSOCKS(30 * time.Second)
	fmt.Fprint(&stdout, ev)
	assert.Equal(t, "auth", ev["mode"])
	proxy := ev["addr"].(string)

	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", p.cmd.Process.Pid))
	if err == nil {
		assert.NotContains(t, string(cmdline), testSOCKSPassword, "ps shows no password")
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	target := carrier.DefaultHost + ":80"
	var refused *socksclient.RefusedError
	for _, assoc := range []bool{false, true} {
		do := func(auth socksclient.Auth) error {
			var c *socksclient.Conn
			var err error
			if assoc {
				c, err = socksclient.Associate(ctx, "tcp", proxy, auth, "0.0.0.0:0")
			} else {
				c, err = socksclient.Connect(ctx, "tcp", proxy, auth, target)
			}
			if err == nil {
				c.Close()
			}
			return err
		}
		require.ErrorAs(t, do(socksclient.Auth{}), &refused, "no authentication offered (associate %v)", assoc)
		assert.Equal(t, byte(0xff), refused.Code, "RFC 1928: no acceptable methods")
		require.ErrorAs(t, do(socksclient.Auth{User: "alice", Password: "wrong"}), &refused, "wrong password")
		assert.Equal(t, "auth", refused.Stage)
		assert.Equal(t, byte(1), refused.Code, "RFC 1929: failure")
	}
	page := scrape(t, metricsAddr)
	assert.Equal(t, 4.0, metricValue(page, `pppdial_socks_refused_total{reason="auth"}`), "no method and wrong password, CONNECT and ASSOCIATE")
	assert.Equal(t, 0.0, metricValue(page, `pppdial_socks_refused_total{reason="max_conns"}`))
	right := socksclient.Auth{User: "alice", Password: testSOCKSPassword}
	assert.Equal(t, carrier.DefaultPage, socksGet(t, proxy, right, "http://"+carrier.DefaultHost+"/"))
	dnsThroughRelay(t, proxy, right)

	stopAndCheckQuick(t, p)
	for e := range p.events { // the rest of stdout, up to the exit
		fmt.Fprint(&stdout, e)
	}
	assert.NotContains(t, stdout.String(), testSOCKSPassword)
	assert.NotContains(t, p.stderr.String(), testSOCKSPassword)
	assert.Contains(t, p.stderr.String(), "auth: username/password required, user alice")
	assert.Contains(t, p.stderr.String(), "authentication refused", "-v logs the refusals")
}

// TestSOCKSExposure: a listener beyond loopback without authentication is a usage error that
// says why, before the modem is touched; --socks-user or --socks-open lets it through (to the
// missing port's error).
func TestSOCKSExposure(t *testing.T) {
	t.Parallel()
	noPort := filepath.Join(t.TempDir(), "no-modem")
	code, stderr := runWithEnv(t, nil, "dial", "--port", noPort, "--socks", "0.0.0.0:0")
	assert.Equal(t, exitUsage, code, stderr)
	assert.Contains(t, stderr, "without authentication")
	assert.Contains(t, stderr, "--socks-user")
	assert.Contains(t, stderr, "--socks-open")
	assert.NotContains(t, stderr, noPort, "refused before the port is opened")

	code, stderr = runWithEnv(t, nil, "dial", "--port", noPort, "--socks", "0.0.0.0:0", "--socks-open")
	assert.Equal(t, exitModem, code, stderr)
	code, stderr = runWithEnv(t, []string{socksPasswordEnv + "=" + testSOCKSPassword},
		"dial", "--port", noPort, "--socks", "0.0.0.0:0", "--socks-user", "alice")
	assert.Equal(t, exitModem, code, stderr)
	assert.NotContains(t, stderr, testSOCKSPassword)

	// The limits come from the environment as every flag does.
	code, stderr = runWithEnv(t, []string{"PPPDIAL_SOCKS_MAX_CONNS=0"}, "dial", "--port", noPort, "--socks", "127.0.0.1:0")
	assert.Equal(t, exitUsage, code, stderr)
	assert.Contains(t, stderr, "--socks-max-conns")
	code, stderr = runWithEnv(t, []string{"PPPDIAL_SOCKS_UDP_IDLE=soon"}, "dial", "--port", noPort, "--socks", "127.0.0.1:0")
	assert.Equal(t, exitUsage, code, stderr)
	assert.Contains(t, stderr, "PPPDIAL_SOCKS_UDP_IDLE")

	code, stderr = runWithEnv(t, nil, "dial", "--port", noPort, "--socks-user", "alice")
	assert.Equal(t, exitUsage, code, stderr)
	assert.Contains(t, stderr, "need --socks")
}

// TestSOCKSPasswordFile: a password file others can read is refused with the fix; one only
// its owner reads is accepted.
func TestSOCKSPasswordFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	noPort := filepath.Join(dir, "no-modem")
	file := filepath.Join(dir, "socks.pw")
	require.NoError(t, os.WriteFile(file, []byte(testSOCKSPassword+"\n"), 0o644))
	require.NoError(t, os.Chmod(file, 0o644))
	code, stderr := runWithEnv(t, nil, "dial", "--port", noPort, "--socks", "127.0.0.1:0",
		"--socks-user", "alice", "--socks-password-file", file)
	assert.Equal(t, exitUsage, code, stderr)
	assert.Contains(t, stderr, "chmod 600 "+file)
	assert.NotContains(t, stderr, testSOCKSPassword)

	require.NoError(t, os.Chmod(file, 0o600))
	code, stderr = runWithEnv(t, nil, "dial", "--port", noPort, "--socks", "127.0.0.1:0",
		"--socks-user", "alice", "--socks-password-file", file)
	assert.Equal(t, exitModem, code, "accepted; the missing port fails next: %s", stderr)
	assert.NotContains(t, stderr, testSOCKSPassword)

	code, stderr = runWithEnv(t, nil, "dial", "--port", noPort, "--socks", "127.0.0.1:0", "--socks-user", "alice")
	assert.Equal(t, exitUsage, code, stderr)
	assert.Contains(t, stderr, socksPasswordEnv)
}

// TestSOCKSUnixSocket: --socks on a unix socket path serves CONNECT there (mode 0660) and
// refuses UDP ASSOCIATE; the socket file is gone after the exit.
func TestSOCKSUnixSocket(t *testing.T) {
	t.Parallel()
	network := carrier.New(carrier.Config{})
	path := modemPTY(t, modemsim.EC25(), network.DataFunc())
	sock := filepath.Join(t.TempDir(), "socks.sock")
	p := start(t, nil, "dial", "--port", path, "--json", "--guard", "100ms", "--socks", "unix:"+sock)
	_, ev := p.upAndSOCKS(30 * time.Second)
	assert.Equal(t, "unix-socket", ev["mode"])
	assert.Equal(t, sock, ev["addr"])
	fi, err := os.Stat(sock)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o660), fi.Mode().Perm())

	assert.Equal(t, carrier.DefaultPage, socksGet(t, "unix:"+sock, socksclient.Auth{}, "http://"+carrier.DefaultHost+"/"))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err = socksclient.Associate(ctx, "unix", sock, socksclient.Auth{}, "0.0.0.0:0")
	var refused *socksclient.RefusedError
	require.ErrorAs(t, err, &refused)
	assert.Equal(t, byte(7), refused.Code, "command not supported")

	stopAndCheckQuick(t, p)
	_, err = os.Stat(sock)
	assert.ErrorIs(t, err, os.ErrNotExist)
}
