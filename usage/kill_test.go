package usage

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pppdial/pppdial/internal/atomicfile"
)

// The child's traffic: chunk bytes per observation, a flush every
// perInterval observations. One interval's bytes are chunk*perInterval.
const (
	killChildEnv = "USAGE_KILL_CHILD_DIR"
	chunk        = 1500
	perInterval  = 10
)

// killClock is a fixed time shared by parent and child, so no rollover can
// happen during the test whatever the wall clock says.
func killClock() time.Time { return date(2026, 5, 10, 12) }

// TestSIGKILLLosesAtMostOneInterval runs the meter in a child process that
// counts traffic and flushes every interval, kills it with SIGKILL at a
// varying moment (often in the middle of a write), and reopens the state
// file: it is intact, holds every completed flush, and lacks at most one
// interval's bytes. Each round continues from what the last one left,
// as a daemon restarted by systemd would.
func TestSIGKILLLosesAtMostOneInterval(t *testing.T) {
	if dir := os.Getenv(killChildEnv); dir != "" {
		killChild(dir)
		return
	}
	dir := t.TempDir()
	var saved uint64
	midWrite := 0
	const rounds = 20
	for round := range rounds {
		cmd := exec.Command(os.Args[0], "-test.run=^TestSIGKILLLosesAtMostOneInterval$")
		cmd.Env = append(os.Environ(), killChildEnv+"="+dir)
		out, err := cmd.StdoutPipe()
		require.NoError(t, err)
		cmd.Stderr = os.Stderr
		require.NoError(t, cmd.Start())

		lines := bufio.NewScanner(out)
		var start, lastObs, lastFlushed uint64
		flushes, killAfter := 0, 1+round%7
		for lines.Scan() {
			kind, n := parseChildLine(t, lines.Text())
			switch kind {
			case "start":
				start = n
			case "observed":
				lastObs = n
			case "flushed":
				lastFlushed = n
				if flushes++; flushes == killAfter {
					require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
				}
			}
		}
		err = cmd.Wait()
		var exit *exec.ExitError
		require.ErrorAs(t, err, &exit)
		require.Equal(t, syscall.SIGKILL, exit.Sys().(syscall.WaitStatus).Signal(), "the child died of SIGKILL")
		require.Equal(t, saved, start, "round %d started from what the last one saved", round)

		left, _ := filepath.Glob(filepath.Join(dir, "*"+atomicfile.TempInfix+"*"))
		midWrite += len(left)
		m, err := Open(dir, testICCID, Options{Clock: killClock})
		require.NoError(t, err)
		require.NoError(t, m.LoadWarning(), "the state file is intact after SIGKILL")
		saved = m.Snapshot().Current.RxBytes
		require.GreaterOrEqual(t, saved, lastFlushed, "a completed flush is never lost")
		require.LessOrEqual(t, saved, lastObs, "nothing counted that was not observed")
		require.LessOrEqual(t, lastObs-saved, uint64(chunk*perInterval), "at most one interval lost")
		t.Logf("round %d: observed %d, saved %d, lost %d", round, lastObs, saved, lastObs-saved)
	}
	t.Logf("%d of %d kills left a temporary file behind (killed mid-write)", midWrite, rounds)
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Len(t, entries, 1, "one state file, nothing set aside, no temporary file")
}

func parseChildLine(t *testing.T, line string) (string, uint64) {
	kind, num, ok := strings.Cut(line, " ")
	require.True(t, ok, "child said %q", line)
	n, err := strconv.ParseUint(num, 10, 64)
	require.NoError(t, err, "child said %q", line)
	return kind, n
}

// killChild meters traffic until it is killed, reporting on stdout what it
// observed and what it flushed.
func killChild(dir string) {
	m, err := Open(dir, testICCID, Options{Clock: killClock})
	if err == nil {
		err = m.LoadWarning()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		os.Exit(2)
	}
	base := m.Snapshot().Current.RxBytes
	fmt.Printf("start %d\n", base)
	l := m.NewLink()
	var rx uint64
	for i := 1; ; i++ {
		rx += chunk
		l.Observe(rx, 0)
		fmt.Printf("observed %d\n", base+rx)
		if i%perInterval == 0 {
			if err := m.Flush(context.Background()); err != nil {
				fmt.Fprintln(os.Stderr, "child:", err)
				os.Exit(2)
			}
			fmt.Printf("flushed %d\n", base+rx)
		}
	}
}
