package at

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const transcriptDir = "../testdata/transcripts"

// TestReplayTranscripts replays every transcript in testdata/transcripts.
func TestReplayTranscripts(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(transcriptDir, "*.txt"))
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(files), 12, "the issue asks for at least 12 transcripts")
	families := map[string]bool{}
	for _, f := range files {
		families[strings.SplitN(filepath.Base(f), "-", 2)[0]] = true
		t.Run(filepath.Base(f), func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			rep, err := ReplayFile(ctx, f, ReplayOptions{})
			require.NoError(t, err)
			assert.Equal(t, rep.Expect, rep.Outcome, "outcome")
			assert.Positive(t, rep.Events)
		})
	}
	assert.GreaterOrEqual(t, len(families), 5, "families: %v", families)
}

// TestReplayCatchesWrongWrites makes sure the harness is not a rubber stamp: a transcript that
// expects a different command fails.
func TestReplayCatchesWrongWrites(t *testing.T) {
	src, err := os.ReadFile(filepath.Join(transcriptDir, "sim7600-wrong-pin.txt"))
	require.NoError(t, err)
	bad := strings.Replace(string(src), `> 0.036 "AT+CMEE=2\r\n"`, `> 0.036 "AT+CMEE=1\r\n"`, 1)
	require.NotEqual(t, string(src), bad)
	path := filepath.Join(t.TempDir(), "bad.txt")
	require.NoError(t, os.WriteFile(path, []byte(bad), 0o644))
	_, err = ReplayFile(context.Background(), path, ReplayOptions{EventTimeout: time.Second})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "AT+CMEE=2")
}
