package hw

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

const gpioSim = "/sys/kernel/config/gpio-sim"

// TestResetGPIOOnGPIOSim pulses a line of a kernel gpio-sim chip through the real character
// device and reads the level the kernel saw back from the simulator's sysfs, mid-pulse and after.
// It needs configfs with gpio-sim and root; these machines lack configfs, so it skips with that
// reason even under PPP_INTEROP=1 (the issue allows it).
func TestResetGPIOOnGPIOSim(t *testing.T) {
	if _, err := os.Stat(gpioSim); err != nil {
		t.Skipf("gpio-sim not available (%v): the kernel lacks configfs or the gpio-sim module; "+
			"allowed to skip even under PPP_INTEROP=1", err)
	}
	if os.Geteuid() != 0 {
		t.Skip("gpio-sim needs root to create a simulated chip")
	}
	dir := filepath.Join(gpioSim, "pppdial-test")
	bank := filepath.Join(dir, "gpio-bank0")
	require.NoError(t, os.MkdirAll(bank, 0o755))
	t.Cleanup(func() {
		_ = os.WriteFile(filepath.Join(dir, "live"), []byte("0"), 0o644)
		_ = os.Remove(bank)
		_ = os.Remove(dir)
	})
	require.NoError(t, os.WriteFile(filepath.Join(bank, "num_lines"), []byte("8"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "live"), []byte("1"), 0o644))
	chip := strings.TrimSpace(readFile(t, filepath.Join(bank, "chip_name")))
	devName := strings.TrimSpace(readFile(t, filepath.Join(dir, "dev_name")))
	level := func() string {
		return strings.TrimSpace(readFile(t, filepath.Join("/sys/devices/platform", devName, chip, "sim_gpio3", "value")))
	}

	var seen []string
	cdev := CdevOpener("pppdial-test")
	open := func(p Pin) (Line, error) {
		l, err := cdev(p)
		if err != nil {
			return nil, err
		}
		return recordingLine{Line: l, after: func() { seen = append(seen, level()) }}, nil
	}
	r := &ResetGPIO{Pin: Pin{Chip: chip, Offset: 3, ActiveLow: true}, Width: 50 * time.Millisecond, Open: open}
	require.NoError(t, r.Run(context.Background()))
	assert.Equal(t, []string{"0", "1"}, seen, "active low: driven low while asserted, high when released")
}

// recordingLine calls after once each value is set.
type recordingLine struct {
	Line
	after func()
}

func (l recordingLine) SetValue(v int) error {
	err := l.Line.SetValue(v)
	l.after()
	return err
}

func readFile(t *testing.T, p string) string {
	b, err := os.ReadFile(p)
	require.NoError(t, err)
	return string(b)
}
