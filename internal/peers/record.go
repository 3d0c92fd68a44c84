package peers

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pppdial/pppdial/pcap"
)

// EnvPcapDir names a directory where Record keeps its captures after the test (for Wireshark);
// by default they go to t.TempDir() and vanish with it.
const EnvPcapDir = "PPPDIAL_PCAP_DIR"

// Record creates a pcap file for the test's frames and returns its Writer and path. The file is
// named after the test and name; it lives in $PPPDIAL_PCAP_DIR when set (kept), else in
// t.TempDir(). The Writer is closed in t.Cleanup (closing it earlier is fine). Check the result
// with CheckPcap(t, path) after closing.
func Record(t testing.TB, name string) (*pcap.Writer, string) {
	t.Helper()
	dir := os.Getenv(EnvPcapDir)
	if dir == "" {
		dir = t.TempDir()
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("pcap dir: %v", err)
	}
	file := strings.NewReplacer("/", "_", " ", "_", ":", "_").Replace(t.Name() + "-" + name + ".pcap")
	path := filepath.Join(dir, file)
	w, err := pcap.Create(path)
	if err != nil {
		t.Fatalf("record: %v", err)
	}
	t.Cleanup(func() {
		if err := w.Close(); err != nil {
			t.Errorf("close %s: %v", path, err)
		}
		if t.Failed() {
			t.Logf("frames of this run: %s", path)
		}
	})
	return w, path
}
