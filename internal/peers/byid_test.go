package peers_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pppdial/pppdial/internal/peers"
)

// TestByID: the stable name is absent until pointed, follows each Point, and is gone after
// Remove.
func TestByID(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	a, b := filepath.Join(dir, "ttyA"), filepath.Join(dir, "ttyB")
	require.NoError(t, os.WriteFile(a, []byte("A"), 0o600))
	require.NoError(t, os.WriteFile(b, []byte("B"), 0o600))

	l := peers.NewByID(t, "usb-pppd-vm-if00")
	assert.Equal(t, "by-id", filepath.Base(filepath.Dir(l.Path)))
	_, err := os.ReadFile(l.Path)
	assert.ErrorIs(t, err, os.ErrNotExist, "a modem not plugged in")

	require.NoError(t, l.Point(a))
	got, err := os.ReadFile(l.Path)
	require.NoError(t, err)
	assert.Equal(t, "A", string(got))
	require.NoError(t, l.Point(b))
	got, err = os.ReadFile(l.Path)
	require.NoError(t, err)
	assert.Equal(t, "B", string(got), "repointed")
	_, err = os.Lstat(l.Path + ".new")
	assert.ErrorIs(t, err, os.ErrNotExist, "no temporary name left behind")

	require.NoError(t, l.Remove())
	_, err = os.Lstat(l.Path)
	assert.ErrorIs(t, err, os.ErrNotExist)
	require.NoError(t, l.Remove(), "removing an absent name is not an error")
}
