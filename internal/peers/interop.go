package peers

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"testing"
)

// EnvInterop is the environment variable that turns a missing peer from a skip into a failure
// (CI sets PPP_INTEROP=1 after installing the peers).
const EnvInterop = "PPP_INTEROP"

// ErrPeerMissing is wrapped by the errors of StartSlirp, StartPPPDVM and LookTool when a peer or
// a tool it needs is not installed on this machine, as opposed to a peer that is installed but
// misbehaves. Tests turn the first into a skip (or a failure under PPP_INTEROP=1), the second
// always into a failure.
var ErrPeerMissing = errors.New("peers: not installed")

// OptModem, as the first option of PPPDVM or StartPPPDVM, puts an AT modem in front of pppd:
// the port answers AT, ATD runs pppd, and AT+CMUX hands the line to the kernel's n_gsm.
const OptModem = "--modem"

// Required reports whether interop peers are required (PPP_INTEROP=1 in the environment).
func Required() bool { return os.Getenv(EnvInterop) == "1" }

// Interop applies the project's rule for a missing interop peer or tool: it skips t with the
// formatted reason, or fails it (t.Fatal) when PPP_INTEROP=1. It never returns.
func Interop(t testing.TB, format string, args ...any) {
	t.Helper()
	reason := fmt.Sprintf(format, args...)
	if Required() {
		t.Fatalf("%s (required: %s=1)", reason, EnvInterop)
	}
	t.Skipf("%s (set %s=1 to make this a failure)", reason, EnvInterop)
}

// LookTool finds an executable in PATH; the error wraps ErrPeerMissing when it is not there.
func LookTool(name string) (string, error) {
	p, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Errorf("%w: %s not in PATH: %w", ErrPeerMissing, name, err)
	}
	return p, nil
}

// Tool returns the path of an executable the test needs (tshark, slirp-fullbolt, ...), or skips
// or fails t by the Interop rule when it is not installed.
func Tool(t testing.TB, name string) string {
	t.Helper()
	p, err := LookTool(name)
	if err != nil {
		Interop(t, "%v", err)
	}
	return p
}

// startFailed reports err from a Start function the testing way: Interop when the peer is
// missing, t.Fatal when it is installed but did not start.
func startFailed(t testing.TB, what string, err error) {
	t.Helper()
	if errors.Is(err, ErrPeerMissing) {
		Interop(t, "%s: %v", what, err)
	}
	t.Fatalf("%s: %v", what, err)
}
