package peers

import (
	"bytes"
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// badPacketMarks are what tshark -V prints for a frame it could not decode cleanly.
var badPacketMarks = []string{"Malformed", "[Expert Info (Error", "Dissector bug", "Unknown"}

// Tshark runs `tshark args...` (bounded to 60 s) and returns its stdout. A missing tshark is
// handled by the Interop rule; a failing run fails t. tshark's stderr (it complains about running
// as root) is only shown on failure.
func Tshark(t testing.TB, args ...string) string {
	t.Helper()
	bin := Tool(t, "tshark")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("tshark %v: %v: %s", args, err, stderr.String())
	}
	return string(out)
}

// CheckPcap decodes the capture at path with `tshark -r path -V`, fails t (without stopping it)
// for every frame tshark reports as malformed, undecodable or in error, and returns the decoded
// text for further checks.
func CheckPcap(t testing.TB, path string) string {
	t.Helper()
	verbose := Tshark(t, "-r", path, "-V")
	if bad := BadPackets(verbose); bad != "" {
		t.Errorf("tshark finds bad packets in %s:\n%s", path, bad)
	}
	return verbose
}

// BadPackets returns the frames of tshark -V output that hold a mark of a bad packet
// ("Malformed", an error-level expert info, a dissector bug, an unknown code), each in full; ""
// when there are none.
func BadPackets(verbose string) string {
	var bad []string
	for _, frame := range strings.Split(verbose, "\nFrame ") {
		for _, m := range badPacketMarks {
			if strings.Contains(frame, m) {
				bad = append(bad, "Frame "+strings.TrimPrefix(frame, "Frame "))
				break
			}
		}
	}
	return strings.Join(bad, "\n")
}
