package control

import (
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// staleSocket leaves a socket file at path that nobody listens on: a daemon killed with -9.
func staleSocket(t *testing.T, path string) {
	t.Helper()
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	require.NoError(t, err)
	ln.SetUnlinkOnClose(false)
	require.NoError(t, ln.Close())
	fi, err := os.Lstat(path)
	require.NoError(t, err)
	require.Equal(t, fs.ModeSocket, fi.Mode().Type())
}

// onlyEntries asserts dir holds exactly names: no temporary socket left behind.
func onlyEntries(t *testing.T, dir string, names ...string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	require.NoError(t, err)
	var got []string
	for _, e := range ents {
		got = append(got, e.Name())
	}
	assert.ElementsMatch(t, names, got)
}

func TestListenCreatesSocketWithMode(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "pp0.sock")
	ln, err := Listen(path)
	require.NoError(t, err)
	fi, err := os.Lstat(path)
	require.NoError(t, err)
	assert.Equal(t, fs.ModeSocket, fi.Mode().Type())
	assert.Equal(t, SocketMode, fi.Mode().Perm())
	onlyEntries(t, dir, "pp0.sock")

	c, err := net.Dial("unix", path)
	require.NoError(t, err)
	c.Close()

	require.NoError(t, ln.Close())
	_, err = os.Lstat(path)
	assert.ErrorIs(t, err, fs.ErrNotExist, "Close leaves no socket behind")
}

func TestListenCreatesMissingDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "pppdial")
	ln, err := Listen(filepath.Join(dir, "pp0.sock"))
	require.NoError(t, err)
	defer ln.Close()
	fi, err := os.Stat(dir)
	require.NoError(t, err)
	assert.Equal(t, fs.FileMode(0o750), fi.Mode().Perm())
}

func TestListenReplacesStaleSocket(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "pp0.sock")
	staleSocket(t, path)
	before, _ := os.Lstat(path)
	ln, err := Listen(path)
	require.NoError(t, err)
	defer ln.Close()
	after, err := os.Lstat(path)
	require.NoError(t, err)
	assert.False(t, os.SameFile(before, after), "the stale socket was replaced")
	c, err := net.Dial("unix", path)
	require.NoError(t, err)
	c.Close()
	onlyEntries(t, dir, "pp0.sock")
}

func TestListenRefusesLiveSocket(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "pp0.sock")
	first, err := Listen(path)
	require.NoError(t, err)
	defer first.Close()
	before, _ := os.Lstat(path)

	_, err = Listen(path)
	require.ErrorIs(t, err, ErrInUse)
	assert.Contains(t, err.Error(), path)
	after, err := os.Lstat(path)
	require.NoError(t, err)
	assert.True(t, os.SameFile(before, after), "the live socket is untouched")
	onlyEntries(t, dir, "pp0.sock")

	// The first daemon still answers.
	go func() {
		if c, err := first.Accept(); err == nil {
			c.Close()
		}
	}()
	c, err := net.Dial("unix", path)
	require.NoError(t, err)
	c.Close()
}

func TestListenRefusesSymlink(t *testing.T) {
	for _, target := range []string{"file", "stale.sock", "missing"} {
		t.Run(target, func(t *testing.T) {
			dir := t.TempDir()
			other := t.TempDir() // where an attacker points the link
			tpath := filepath.Join(other, target)
			switch target {
			case "file":
				require.NoError(t, os.WriteFile(tpath, []byte("precious"), 0o600))
			case "stale.sock":
				staleSocket(t, tpath)
			}
			path := filepath.Join(dir, "pp0.sock")
			require.NoError(t, os.Symlink(tpath, path))

			_, err := Listen(path)
			require.ErrorIs(t, err, ErrUnsafe)
			assert.Contains(t, err.Error(), "symlink")
			l, err := os.Readlink(path)
			require.NoError(t, err, "the symlink is left alone")
			assert.Equal(t, tpath, l)
			switch target {
			case "file":
				b, _ := os.ReadFile(tpath)
				assert.Equal(t, "precious", string(b))
			case "stale.sock":
				_, err := os.Lstat(tpath)
				assert.NoError(t, err, "the target is not removed")
			case "missing":
				_, err := os.Lstat(tpath)
				assert.ErrorIs(t, err, fs.ErrNotExist, "nothing created through the link")
			}
			onlyEntries(t, dir, "pp0.sock")
		})
	}
}

func TestListenRefusesNonSocket(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "pp0.sock")
	require.NoError(t, os.WriteFile(path, []byte("not a socket"), 0o600))
	_, err := Listen(path)
	require.ErrorIs(t, err, ErrUnsafe)
	b, _ := os.ReadFile(path)
	assert.Equal(t, "not a socket", string(b))

	require.NoError(t, os.Remove(path))
	require.NoError(t, os.Mkdir(path, 0o700))
	_, err = Listen(path)
	require.ErrorIs(t, err, ErrUnsafe)
	onlyEntries(t, dir, "pp0.sock")
}

func TestListenDirectoryChecks(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.Chmod(dir, 0o777))
	_, err := Listen(filepath.Join(dir, "pp0.sock"))
	require.ErrorIs(t, err, ErrUnsafe)
	assert.Contains(t, err.Error(), "world-writable")
	onlyEntries(t, dir)

	// /tmp-like: world-writable with the sticky bit is fine.
	require.NoError(t, os.Chmod(dir, 0o777|fs.ModeSticky))
	ln, err := Listen(filepath.Join(dir, "pp0.sock"))
	require.NoError(t, err)
	ln.Close()

	_, err = Listen(filepath.Join(dir, "."))
	require.ErrorIs(t, err, ErrUnsafe)

	if os.Geteuid() != 0 {
		t.Skip("the other-owner case needs root to chown")
	}
	owned := t.TempDir()
	require.NoError(t, os.Chown(owned, 65534, 65534))
	_, err = Listen(filepath.Join(owned, "pp0.sock"))
	require.ErrorIs(t, err, ErrUnsafe)
	assert.Contains(t, err.Error(), "owned by uid 65534")
}

// Daemons starting at once on one path: exactly one gets it, the others are told it is in use.
func TestListenRace(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "pp0.sock")
	staleSocket(t, path) // and a dead one's socket to replace
	const n = 8
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		won  []net.Listener
		errs []error
	)
	for range n {
		wg.Go(func() {
			ln, err := Listen(path)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
				return
			}
			won = append(won, ln)
		})
	}
	wg.Wait()
	require.Len(t, won, 1, "errors: %v", errs)
	for _, err := range errs {
		assert.ErrorIs(t, err, ErrInUse)
	}
	onlyEntries(t, dir, "pp0.sock")
	won[0].Close()
	onlyEntries(t, dir)
}

// A daemon closing late does not remove the socket of the daemon that took the path over.
func TestCloseLeavesASuccessorsSocket(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pp0.sock")
	old, err := Listen(path)
	require.NoError(t, err)
	require.NoError(t, os.Remove(path)) // an operator cleaned up by hand
	next, err := Listen(path)
	require.NoError(t, err)
	defer next.Close()
	require.NoError(t, old.Close())
	_, err = os.Lstat(path)
	assert.NoError(t, err, "the successor's socket is still there")
}

func TestDefaultPath(t *testing.T) {
	assert.Equal(t, "/run/pppdial/pp0.sock", DefaultPath("pp0"))
}
