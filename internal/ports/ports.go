// Package ports lists the serial ports of a Linux host and says which look like a cellular
// modem's AT or PPP port.
//
// A USB LTE modem shows up as several ttyUSB/ttyACM ports at once (diagnostics, GPS, AT, modem),
// and which one takes ATD differs by vendor and firmware. The kernel's sysfs tree knows each
// port's USB vendor, product and interface number; a small table of well-known modems turns that
// into advice. sysfs is read directly (not through a serial library's enumerator) because the
// interface number is what matters and enumerators do not report it.
package ports

import (
	"cmp"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// Port describes one serial device.
type Port struct {
	Path      string   // /dev/ttyUSB2
	ByID      []string // /dev/serial/by-id links pointing at it
	Driver    string   // option, cdc_acm, qcserial, pl2011, ...
	USB       bool
	VID, PID  string // four hex digits each, lower case
	Interface int    // USB interface number; -1 when not USB
	Product   string // USB product string, or the modem family from the table
	Role      Role   // what this port is for, when known
}

// Role is what a modem port is for.
type Role string

// The roles a modem's port can have.
const (
	RoleUnknown Role = ""
	RoleAT      Role = "AT"     // takes AT commands (and often ATD)
	RolePPP     Role = "AT+PPP" // the port to dial PPP on
	RoleDiag    Role = "diag"   // vendor diagnostics: never send AT here
	RoleNMEA    Role = "NMEA"   // GPS sentences
	RoleUART    Role = "UART"   // a plain UART (a HAT on the Pi's GPIO pins): AT and PPP
)

// modem is a known modem's USB identity and what each interface number carries.
type modem struct {
	family string
	ifaces map[int]Role
}

// known maps "vid:pid" to a modem's layout, from the vendors' USB interface descriptions.
var known = map[string]modem{
	"2c7c:0125": {"Quectel EC25/EG25", map[int]Role{0: RoleDiag, 1: RoleNMEA, 2: RoleAT, 3: RolePPP}},
	"2c7c:0121": {"Quectel EC21", map[int]Role{0: RoleDiag, 1: RoleNMEA, 2: RoleAT, 3: RolePPP}},
	"2c7c:0296": {"Quectel BG96", map[int]Role{0: RoleDiag, 1: RoleNMEA, 2: RoleAT, 3: RolePPP}},
	"1e0e:9001": {"SIMCom SIM7600", map[int]Role{0: RoleDiag, 1: RoleNMEA, 2: RoleAT, 3: RolePPP}},
}

// List returns the serial ports under sysRoot ("/sys" on a live system; tests pass a fake tree)
// with /dev/serial/by-id links read from devRoot ("/dev"). Only real ports are listed: the
// dozens of virtual consoles a kernel registers are left out.
func List(sysRoot, devRoot string) ([]Port, error) {
	entries, err := os.ReadDir(filepath.Join(sysRoot, "class", "tty"))
	if err != nil {
		return nil, err
	}
	byID := byIDLinks(filepath.Join(devRoot, "serial", "by-id"))
	var out []Port
	for _, e := range entries {
		name := e.Name()
		dev := filepath.Join(sysRoot, "class", "tty", name, "device")
		real, err := filepath.EvalSymlinks(dev)
		if err != nil {
			continue // no device behind it: a virtual terminal
		}
		p := Port{Path: filepath.Join(devRoot, name), Interface: -1, ByID: byID[name]}
		p.Driver = filepath.Base(readLink(filepath.Join(real, "driver")))
		if p.Driver == "serial8250" && !strings.HasPrefix(name, "ttyS0") {
			continue // the kernel registers phantom 8250 ports; only ttyS0 is commonly wired
		}
		describeUSB(&p, real)
		if !p.USB && (strings.HasPrefix(name, "ttyAMA") || strings.HasPrefix(name, "ttyS")) {
			p.Role = RoleUART
		}
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b Port) int { return cmp.Compare(a.Path, b.Path) })
	return out, nil
}

// describeUSB fills in the USB identity of the port whose sysfs device directory is dev: the
// interface directory holds bInterfaceNumber, its parent the device's idVendor and idProduct.
func describeUSB(p *Port, dev string) {
	for dir := dev; dir != "/" && dir != "."; dir = filepath.Dir(dir) {
		num, ok := readFile(filepath.Join(dir, "bInterfaceNumber"))
		if !ok {
			continue
		}
		usbdev := filepath.Dir(dir)
		vid, ok1 := readFile(filepath.Join(usbdev, "idVendor"))
		pid, ok2 := readFile(filepath.Join(usbdev, "idProduct"))
		if !ok1 || !ok2 {
			return
		}
		n, _ := strconv.ParseInt(num, 16, 32)
		p.USB, p.VID, p.PID, p.Interface = true, vid, pid, int(n)
		p.Product, _ = readFile(filepath.Join(usbdev, "product"))
		if m, ok := known[vid+":"+pid]; ok {
			p.Role = m.ifaces[p.Interface]
			if p.Product == "" {
				p.Product = m.family
			}
		} else if class, _ := readFile(filepath.Join(dir, "bInterfaceClass")); class == "02" {
			// CDC-ACM communications interface: by definition a modem that takes AT commands.
			p.Role = RoleAT
		}
		return
	}
}

// byIDLinks maps a tty name to the /dev/serial/by-id links that point at it.
func byIDLinks(dir string) map[string][]string {
	out := map[string][]string{}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		target := readLink(filepath.Join(dir, e.Name()))
		if target != "" {
			name := filepath.Base(target)
			out[name] = append(out[name], filepath.Join(dir, e.Name()))
		}
	}
	return out
}

func readLink(path string) string {
	t, err := os.Readlink(path)
	if err != nil {
		return ""
	}
	return t
}

func readFile(path string) (string, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", false
	}
	return strings.TrimSpace(string(b)), true
}
