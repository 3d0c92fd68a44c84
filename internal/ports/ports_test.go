package ports

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeTree builds the parts of sysfs and /dev that List reads: an EC25 with four interfaces,
// a CDC-ACM modem of unknown make, the Pi's UART and a virtual console.
func fakeTree(t *testing.T) (sys, dev string) {
	root := t.TempDir()
	sys, dev = filepath.Join(root, "sys"), filepath.Join(root, "dev")
	write := func(path, content string) {
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, []byte(content+"\n"), 0o644))
	}
	link := func(target, name string) {
		require.NoError(t, os.MkdirAll(filepath.Dir(name), 0o755))
		require.NoError(t, os.Symlink(target, name))
	}
	usb := filepath.Join(sys, "devices/pci0000:00/usb1/1-1")
	write(filepath.Join(usb, "idVendor"), "2c7c")
	write(filepath.Join(usb, "idProduct"), "0125")
	write(filepath.Join(usb, "product"), "EC25-AF")
	drivers := filepath.Join(sys, "bus/usb-serial/drivers/option1")
	require.NoError(t, os.MkdirAll(drivers, 0o755))
	for i := 0; i < 4; i++ {
		iface := filepath.Join(usb, "1-1:1."+string(rune('0'+i)))
		write(filepath.Join(iface, "bInterfaceNumber"), "0"+string(rune('0'+i)))
		tty := filepath.Join(iface, "ttyUSB"+string(rune('0'+i)))
		require.NoError(t, os.MkdirAll(tty, 0o755))
		link(drivers, filepath.Join(tty, "driver"))
		link(tty, filepath.Join(sys, "class/tty/ttyUSB"+string(rune('0'+i)), "device"))
	}
	acm := filepath.Join(sys, "devices/pci0000:00/usb1/1-2")
	write(filepath.Join(acm, "idVendor"), "abcd")
	write(filepath.Join(acm, "idProduct"), "1234")
	write(filepath.Join(acm, "1-2:1.0/bInterfaceNumber"), "00")
	write(filepath.Join(acm, "1-2:1.0/bInterfaceClass"), "02")
	link(filepath.Join(acm, "1-2:1.0"), filepath.Join(sys, "class/tty/ttyACM0/device"))

	uart := filepath.Join(sys, "devices/platform/soc/fe201000.serial")
	require.NoError(t, os.MkdirAll(uart, 0o755))
	link(uart, filepath.Join(sys, "class/tty/ttyAMA0/device"))
	require.NoError(t, os.MkdirAll(filepath.Join(sys, "class/tty/tty1"), 0o755))

	link("../../ttyUSB3", filepath.Join(dev, "serial/by-id/usb-Quectel_EC25-if03-port0"))
	return sys, dev
}

func TestListClassifiesModemPorts(t *testing.T) {
	sys, dev := fakeTree(t)
	got, err := List(sys, dev)
	require.NoError(t, err)
	byPath := map[string]Port{}
	for _, p := range got {
		byPath[filepath.Base(p.Path)] = p
	}
	require.Len(t, got, 6, "ttyUSB0-3, ttyACM0, ttyAMA0; not the virtual console: %+v", got)
	assert.NotContains(t, byPath, "tty1")

	ppp := byPath["ttyUSB3"]
	assert.True(t, ppp.USB)
	assert.Equal(t, "2c7c", ppp.VID)
	assert.Equal(t, "0125", ppp.PID)
	assert.Equal(t, 3, ppp.Interface)
	assert.Equal(t, "EC25-AF", ppp.Product)
	assert.Equal(t, RolePPP, ppp.Role)
	assert.Equal(t, "option1", ppp.Driver)
	assert.Equal(t, []string{filepath.Join(dev, "serial/by-id/usb-Quectel_EC25-if03-port0")}, ppp.ByID)

	assert.Equal(t, RoleAT, byPath["ttyUSB2"].Role)
	assert.Equal(t, RoleDiag, byPath["ttyUSB0"].Role)
	assert.Equal(t, RoleNMEA, byPath["ttyUSB1"].Role)
	assert.Equal(t, RoleAT, byPath["ttyACM0"].Role, "CDC-ACM class 02 is a modem")
	assert.Equal(t, RoleUART, byPath["ttyAMA0"].Role)
	assert.Equal(t, -1, byPath["ttyAMA0"].Interface)
}

func TestListMissingSysfs(t *testing.T) {
	_, err := List(filepath.Join(t.TempDir(), "nope"), "/dev")
	assert.Error(t, err)
}
