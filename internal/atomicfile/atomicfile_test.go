package atomicfile

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestWriteReplacesWholeAndPrivate(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state.json")
	require.NoError(t, Write(path, []byte("first, and longer")))
	require.NoError(t, Write(path, []byte("second")))

	got, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, "second", string(got), "the new content, nothing of the old")
	st, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), st.Mode().Perm())
	left, err := filepath.Glob(filepath.Join(dir, "*"+TempInfix+"*"))
	require.NoError(t, err)
	assert.Empty(t, left, "no temporary file left after a write")
}

func TestWriteFailureLeavesTheOldFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state.json")
	require.NoError(t, Write(path, []byte("old")))
	// A directory in the way of the rename: the write fails, the old file stays whole.
	require.Error(t, Write(dir, []byte("new")))
	got, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, "old", string(got))
	left, err := filepath.Glob(filepath.Join(filepath.Dir(dir), "*"+TempInfix+"*"))
	require.NoError(t, err)
	assert.Empty(t, left, "the temporary file of a failed write is removed")
}
