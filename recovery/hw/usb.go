package hw

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/pppdial/pppdial/recovery"
)

// USBMode is how usb-reset cuts the modem off.
type USBMode int

// USB reset modes.
const (
	// USBAuthorize writes 0 and then 1 to the USB device's `authorized` file: the kernel unbinds
	// every driver of the device and binds them again, as on a replug. Works with any hub.
	USBAuthorize USBMode = iota
	// USBPortPower writes 1 and then 0 to the hub port's `disable` file, switching the port's
	// power off and on, where the hub supports per-port power switching.
	USBPortPower
)

// ErrNotUSB is returned for a port whose device is not on USB (a UART, a pty).
var ErrNotUSB = errors.New("hw: the port is not a USB device")

// USBReset is the usb-reset step for the modem behind TTY.
type USBReset struct {
	TTY   string  // the modem's port: /dev/ttyUSB2, /dev/ttyACM0, or a /dev/serial/by-id link
	Mode  USBMode // default USBAuthorize
	Off   time.Duration
	Sysfs string                      // sysfs root; "" means /sys (tests point it at a fake tree)
	After func(context.Context) error // waits for the modem back; nil: none
}

// Name implements recovery.Actuator.
func (u *USBReset) Name() recovery.Step { return recovery.StepUSBReset }

// Device returns the sysfs directory of the USB device (not interface) that TTY belongs to.
func (u *USBReset) Device() (string, error) {
	sys := u.Sysfs
	if sys == "" {
		sys = "/sys"
	}
	dev, err := filepath.EvalSymlinks(u.TTY)
	if err != nil {
		return "", fmt.Errorf("usb-reset: %w", err)
	}
	class := filepath.Join(sys, "class", "tty", filepath.Base(dev), "device")
	dir, err := filepath.EvalSymlinks(class)
	if err != nil {
		return "", fmt.Errorf("usb-reset: %s: %w: %w", u.TTY, ErrNotUSB, err)
	}
	sysAbs, err := filepath.EvalSymlinks(sys)
	if err != nil {
		return "", fmt.Errorf("usb-reset: %w", err)
	}
	for ; strings.HasPrefix(dir, sysAbs+string(filepath.Separator)); dir = filepath.Dir(dir) {
		if isFile(filepath.Join(dir, "idVendor")) && isFile(filepath.Join(dir, "authorized")) {
			return dir, nil
		}
	}
	return "", fmt.Errorf("usb-reset: %s: %w", u.TTY, ErrNotUSB)
}

func isFile(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}

// portDisable returns the `disable` file of the hub port the device at dev hangs on:
// <hub>/<hub>:1.0/<hub>-port<N>/disable, the root hub usbB's ports named usbB-port<N>.
func portDisable(dev string) (string, error) {
	name := filepath.Base(dev) // "1-1.3" on hub "1-1" port 3; "1-3" on root hub "usb1" port 3
	i := strings.LastIndexAny(name, ".-")
	if i < 0 {
		return "", fmt.Errorf("usb-reset: %s: not a USB device name", name)
	}
	port := name[i+1:]
	hub := filepath.Dir(dev)
	ifaces, _ := filepath.Glob(filepath.Join(hub, "*:1.0"))
	if len(ifaces) != 1 {
		return "", fmt.Errorf("usb-reset: hub %s: no single hub interface", hub)
	}
	p := filepath.Join(ifaces[0], filepath.Base(hub)+"-port"+port, "disable")
	if !isFile(p) {
		return "", fmt.Errorf("usb-reset: %s: the hub port has no power switch (%s)", name, p)
	}
	return p, nil
}

// Run cuts the device off for Off (default 1 s) and brings it back, then waits for After. Once
// cut off, the device is brought back even when ctx ends. Without the privilege to write sysfs
// it fails with an error wrapping fs.ErrPermission and touches nothing.
func (u *USBReset) Run(ctx context.Context) error {
	dev, err := u.Device()
	if err != nil {
		return err
	}
	file, off, on := filepath.Join(dev, "authorized"), "0", "1"
	if u.Mode == USBPortPower {
		if file, err = portDisable(dev); err != nil {
			return err
		}
		off, on = "1", "0"
	}
	f, err := os.OpenFile(file, os.O_WRONLY, 0)
	if err != nil {
		if errors.Is(err, fs.ErrPermission) {
			return fmt.Errorf("usb-reset: %w: cannot write %s: run as root or grant write access to it", err, file)
		}
		return fmt.Errorf("usb-reset: %w", err)
	}
	defer f.Close()
	if err := write(f, off); err != nil {
		return fmt.Errorf("usb-reset: %s: %w", file, err)
	}
	werr := sleep(ctx, orDefault(u.Off, time.Second))
	if err := write(f, on); err != nil {
		return fmt.Errorf("usb-reset: %s: device left off: %w", file, err)
	}
	if werr != nil {
		return fmt.Errorf("usb-reset: cancelled, device brought back: %w", werr)
	}
	if u.After != nil {
		return u.After(ctx)
	}
	return nil
}

// write puts v at the start of a sysfs attribute file.
func write(f *os.File, v string) error {
	_, err := f.WriteAt([]byte(v), 0)
	return err
}
