package peers

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// ByID is a stable name for a port whose device node changes, as /dev/serial/by-id/usb-...
// stands for whichever /dev/ttyUSBn a modem got at its last plug-in: a configuration names it,
// and a restarted peer (a new PTY) is reached through it once it is pointed there again.
type ByID struct {
	// Path is the stable name, in a directory of the test's own.
	Path string
}

// NewByID returns a stable name in t's temporary directory (…/serial/by-id/NAME). It points
// nowhere yet, as for a modem not plugged in: opening it fails with ENOENT until Point.
func NewByID(t testing.TB, name string) *ByID {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "serial", "by-id")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("peers: %v", err)
	}
	return &ByID{Path: filepath.Join(dir, name)}
}

// Point makes the stable name a symlink to target, replacing what it pointed to in one rename
// (as udev does), so that an opener never sees the name missing in between.
func (l *ByID) Point(target string) error {
	tmp := l.Path + ".new"
	_ = os.Remove(tmp)
	if err := os.Symlink(target, tmp); err != nil {
		return fmt.Errorf("peers: by-id link: %w", err)
	}
	if err := os.Rename(tmp, l.Path); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("peers: by-id link: %w", err)
	}
	return nil
}

// Remove takes the stable name away, as udev does when the modem is unplugged.
func (l *ByID) Remove() error {
	if err := os.Remove(l.Path); err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("peers: by-id link: %w", err)
	}
	return nil
}
