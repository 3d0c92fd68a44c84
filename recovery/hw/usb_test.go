package hw

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeUSB builds a sysfs tree like a Raspberry Pi's with a modem on hub 1-1, port 3, whose
// interface 1-1.3:1.2 is ttyUSB2, and a /dev with the tty and its by-id link.
func fakeUSB(t *testing.T) (sys, tty, byID, dev string) {
	root := t.TempDir()
	sys = filepath.Join(root, "sys")
	hub := filepath.Join(sys, "devices", "platform", "scb", "fd500000.pcie", "pci0000:00", "0000:01:00.0", "usb1", "1-1")
	dev = filepath.Join(hub, "1-1.3")
	iface := filepath.Join(dev, "1-1.3:1.2")
	files := map[string]string{
		filepath.Join(hub, "idVendor"):                            "2109\n",
		filepath.Join(hub, "authorized"):                          "1\n",
		filepath.Join(hub, "1-1:1.0", "1-1-port3", "disable"):     "0\n",
		filepath.Join(dev, "idVendor"):                            "2c7c\n",
		filepath.Join(dev, "authorized"):                          "1\n",
		filepath.Join(iface, "authorized"):                        "1\n", // interfaces have one too
		filepath.Join(iface, "ttyUSB2", "tty", "ttyUSB2", "dev"):  "188:2\n",
		filepath.Join(root, "dev", "ttyUSB2"):                     "",
		filepath.Join(sys, "devices", "platform", "serial0", "x"): "",
	}
	for p, c := range files {
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(c), 0o644))
	}
	require.NoError(t, os.MkdirAll(filepath.Join(sys, "class", "tty", "ttyUSB2"), 0o755))
	require.NoError(t, os.Symlink(filepath.Join(iface, "ttyUSB2"), filepath.Join(sys, "class", "tty", "ttyUSB2", "device")))
	tty = filepath.Join(root, "dev", "ttyUSB2")
	byID = filepath.Join(root, "dev", "serial", "by-id", "usb-Quectel_EG25-G-if02-port0")
	require.NoError(t, os.MkdirAll(filepath.Dir(byID), 0o755))
	require.NoError(t, os.Symlink("../../ttyUSB2", byID))
	return sys, tty, byID, dev
}

func read(t *testing.T, p string) string {
	b, err := os.ReadFile(p)
	require.NoError(t, err)
	return string(b[:1])
}

func TestUSBResetAuthorize(t *testing.T) {
	sys, _, byID, dev := fakeUSB(t)
	u := &USBReset{TTY: byID, Sysfs: sys, Off: 2 * time.Second}
	got, err := u.Device()
	require.NoError(t, err)
	assert.Equal(t, dev, got, "the USB device, not its interface")
	synctest.Test(t, func(t *testing.T) {
		done := make(chan error)
		go func() { done <- u.Run(context.Background()) }()
		synctest.Wait()
		assert.Equal(t, "0", read(t, filepath.Join(dev, "authorized")), "deauthorised while off")
		require.NoError(t, <-done)
		assert.Equal(t, "1", read(t, filepath.Join(dev, "authorized")))
		assert.Equal(t, "1", read(t, filepath.Join(dev, "1-1.3:1.2", "authorized")), "the interface is left alone")
	})
}

func TestUSBResetPortPower(t *testing.T) {
	sys, tty, _, dev := fakeUSB(t)
	disable := filepath.Join(filepath.Dir(dev), "1-1:1.0", "1-1-port3", "disable")
	synctest.Test(t, func(t *testing.T) {
		u := &USBReset{TTY: tty, Sysfs: sys, Mode: USBPortPower}
		done := make(chan error)
		go func() { done <- u.Run(context.Background()) }()
		synctest.Wait()
		assert.Equal(t, "1", read(t, disable), "port power off")
		require.NoError(t, <-done)
		assert.Equal(t, "0", read(t, disable))
		assert.Equal(t, "1", read(t, filepath.Join(dev, "authorized")))
	})
}

// Cancelled while the device is off, it is brought back before Run returns.
func TestUSBResetCancelled(t *testing.T) {
	sys, tty, _, dev := fakeUSB(t)
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		err := (&USBReset{TTY: tty, Sysfs: sys, Off: time.Hour}).Run(ctx)
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Equal(t, "1", read(t, filepath.Join(dev, "authorized")))
	})
}

func TestUSBResetNotUSB(t *testing.T) {
	sys, _, _, _ := fakeUSB(t)
	root := filepath.Dir(sys)
	// A UART: its class device points outside any USB device.
	require.NoError(t, os.MkdirAll(filepath.Join(sys, "class", "tty", "ttyAMA0"), 0o755))
	require.NoError(t, os.Symlink(filepath.Join(sys, "devices", "platform", "serial0"), filepath.Join(sys, "class", "tty", "ttyAMA0", "device")))
	require.NoError(t, os.WriteFile(filepath.Join(root, "dev", "ttyAMA0"), nil, 0o644))
	_, err := (&USBReset{TTY: filepath.Join(root, "dev", "ttyAMA0"), Sysfs: sys}).Device()
	assert.ErrorIs(t, err, ErrNotUSB)
	// A pty: no class device at all.
	require.NoError(t, os.WriteFile(filepath.Join(root, "dev", "pts3"), nil, 0o644))
	err = (&USBReset{TTY: filepath.Join(root, "dev", "pts3"), Sysfs: sys}).Run(context.Background())
	assert.ErrorIs(t, err, ErrNotUSB)
	// A port that is not there.
	_, err = (&USBReset{TTY: filepath.Join(root, "dev", "ttyUSB9"), Sysfs: sys}).Device()
	assert.ErrorIs(t, err, fs.ErrNotExist)
}

func TestUSBResetPortWithoutPowerSwitch(t *testing.T) {
	sys, tty, _, dev := fakeUSB(t)
	require.NoError(t, os.RemoveAll(filepath.Join(filepath.Dir(dev), "1-1:1.0")))
	err := (&USBReset{TTY: tty, Sysfs: sys, Mode: USBPortPower}).Run(context.Background())
	assert.ErrorContains(t, err, "hub interface")
}

// Without write access to sysfs the step refuses with a clear error and changes nothing.
func TestUSBResetWithoutPrivilege(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("running as root: root writes read-only files, so no refusal can be provoked here")
	}
	sys, tty, _, dev := fakeUSB(t)
	auth := filepath.Join(dev, "authorized")
	require.NoError(t, os.Chmod(auth, 0o444))
	err := (&USBReset{TTY: tty, Sysfs: sys}).Run(context.Background())
	assert.ErrorIs(t, err, fs.ErrPermission)
	assert.ErrorContains(t, err, "run as root")
	assert.Equal(t, "1", read(t, auth))
}
