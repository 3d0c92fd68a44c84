package netif

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// LookupHost returns an unregistered Netif (Index 0) for the host kernel's
// interface name, or an *Error matching syscall.ENODEV if there is none.
// Its flags, addresses and counters are read from the kernel on demand.
func LookupHost(name string) (*Netif, error) {
	ifi, err := net.InterfaceByName(name)
	if err != nil {
		return nil, &Error{Name: name, Err: syscall.ENODEV}
	}
	return &Netif{name: name, kind: KindHost, kernelIndex: ifi.Index}, nil
}

// hostFlags reads the kernel's flags. A vanished interface reads as ENODEV.
func (n *Netif) hostFlags() (Flags, error) {
	ifi, err := net.InterfaceByName(n.name)
	if err != nil {
		return 0, &Error{Name: n.name, Err: syscall.ENODEV}
	}
	var f Flags
	if ifi.Flags&net.FlagUp != 0 {
		f |= FlagUp
	}
	if ifi.Flags&net.FlagRunning != 0 {
		f |= FlagLinkUp
	}
	if ifi.Flags&net.FlagPointToPoint != 0 {
		f |= FlagPointToPoint
	}
	if ifi.Flags&net.FlagLoopback != 0 {
		f |= FlagLoopback
	}
	return f, nil
}

func (n *Netif) hostConfig() Config {
	cfg := Config{DNS: append([]netip.Addr(nil), n.hostDNS...)}
	ifi, err := net.InterfaceByName(n.name)
	if err != nil {
		return cfg
	}
	cfg.MTU = ifi.MTU
	addrs, _ := ifi.Addrs()
	for _, a := range addrs {
		ipn, ok := a.(*net.IPNet)
		if !ok {
			continue
		}
		ip, ok := netip.AddrFromSlice(ipn.IP)
		if !ok {
			continue
		}
		ip = ip.Unmap()
		ones, _ := ipn.Mask.Size()
		switch {
		case ip.Is4() && !cfg.Local.IsValid():
			cfg.Local = ip
		case ip.Is6() && ip.IsLinkLocalUnicast() && !cfg.LocalV6.IsValid():
			cfg.LocalV6 = ip
		case ip.Is6() && !ip.IsLinkLocalUnicast():
			cfg.ExtraV6 = append(cfg.ExtraV6, netip.PrefixFrom(ip, ones))
		}
	}
	return cfg
}

// hostCounters reads /sys/class/net/<name>/statistics (zero where missing).
func (n *Netif) hostCounters() Counters {
	dir := filepath.Join("/sys/class/net", n.name, "statistics")
	rd := func(f string) uint64 {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			return 0
		}
		v, _ := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
		return v
	}
	return Counters{
		PacketsIn: rd("rx_packets"), BytesIn: rd("rx_bytes"),
		PacketsOut: rd("tx_packets"), BytesOut: rd("tx_bytes"),
		DropsIn: rd("rx_dropped"), DropsOut: rd("tx_dropped"),
		ErrorsIn: rd("rx_errors"), ErrorsOut: rd("tx_errors"),
	}
}

// IsNoDevice reports whether err says an interface does not exist.
func IsNoDevice(err error) bool { return errors.Is(err, syscall.ENODEV) }
