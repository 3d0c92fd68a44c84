package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/vishvananda/netlink"
	"golang.zx2c4.com/wireguard/tun"

	"github.com/pppdial/pppdial"
	"github.com/pppdial/pppdial/netif"
)

// tunOffset leaves room before each packet for the virtio-net header the Linux TUN driver may
// use (wireguard's tun package writes it in front of the packet when offloads are on).
const tunOffset = 16

// tunAttachment hands the link to the host kernel: a TUN interface carries the packets, and
// the negotiated addresses, a point-to-point peer and optionally the default route are set on
// it through netlink, so every program (and `curl --interface pp0`) can use the link.
type tunAttachment struct {
	dev          tun.Device
	name         string
	defaultRoute bool
	// standby: another egress member carries new connections (pppdial up), so this device
	// holds no default route until setDefault(true). Dial's lone link is never on standby.
	standby atomic.Bool
	// mtu is the link's MTU in force (0 before the first up): the TUN device gets it, and the
	// MSS of TCP SYNs crossing in either direction is clamped to it (clampMSS).
	mtu atomic.Int32

	mu     sync.Mutex // serialises writes into the TUN (one buffer)
	wbuf   []byte
	bufs   [][]byte
	done   chan struct{}
	closed bool

	cancelV6 context.CancelFunc // ends the wait for the kernel's IPv6 address (under mu)
	wg       sync.WaitGroup     // that wait
}

func newTunAttachment(name string, defaultRoute, ipv6 bool) (*tunAttachment, error) {
	if name == "" {
		name = "pp0"
	}
	dev, err := tun.CreateTUN(name, 1500)
	if err != nil {
		if errors.Is(err, os.ErrPermission) || errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.EACCES) {
			return nil, fmt.Errorf("--tun needs root or CAP_NET_ADMIN (e.g. sudo setcap cap_net_admin+ep $(which pppdial)): %w", err)
		}
		return nil, fmt.Errorf("--tun: create %s: %w", name, err)
	}
	if ipv6 {
		if err := tunSysctls(name, defaultRoute); err != nil {
			_ = dev.Close()
			return nil, err
		}
	}
	return &tunAttachment{dev: dev, name: name, defaultRoute: defaultRoute,
		wbuf: make([]byte, tunOffset+65535), bufs: make([][]byte, 1), done: make(chan struct{})}, nil
}

// Attach connects the link's packets to the TUN device in both directions.
func (t *tunAttachment) Attach(dev netif.Device) error {
	dev.SetPacketHandler(func(pkt []byte) {
		t.mu.Lock()
		defer t.mu.Unlock()
		if t.closed || len(pkt) > len(t.wbuf)-tunOffset {
			return
		}
		n := copy(t.wbuf[tunOffset:], pkt)
		if mtu := int(t.mtu.Load()); mtu > 0 {
			clampMSS(t.wbuf[tunOffset:tunOffset+n], mtu) // the far end's SYN-ACK, for forwarded connections
		}
		t.bufs[0] = t.wbuf[:tunOffset+n]
		_, _ = t.dev.Write(t.bufs, tunOffset)
	})
	go t.readLoop(dev)
	return nil
}

// readLoop moves packets the kernel routes into the TUN onto the link.
func (t *tunAttachment) readLoop(dev netif.Device) {
	defer close(t.done)
	batch := t.dev.BatchSize()
	bufs := make([][]byte, batch)
	for i := range bufs {
		bufs[i] = make([]byte, tunOffset+65535)
	}
	sizes := make([]int, batch)
	for {
		n, err := t.dev.Read(bufs, sizes, tunOffset)
		mtu := int(t.mtu.Load())
		for i := 0; i < n; i++ {
			pkt := bufs[i][tunOffset : tunOffset+sizes[i]]
			if mtu > 0 {
				clampMSS(pkt, mtu) // SYNs the kernel forwards from hosts with a larger MTU
			}
			_ = dev.WritePacket(pkt)
		}
		if err != nil {
			if errors.Is(err, tun.ErrTooManySegments) {
				continue
			}
			return
		}
	}
}

// Event configures the kernel interface from the session's events.
func (t *tunAttachment) Event(e pppdial.Event) {
	switch e.Kind {
	case pppdial.EventUp:
		if err := t.configure(e.Status.Local, e.Status.Peer, e.Status.MTU); err != nil {
			fmt.Fprintf(os.Stderr, "pppdial: --tun: %v\n", err)
		}
	case pppdial.EventDown:
		if link, err := netlink.LinkByName(t.name); err == nil {
			addrs, _ := netlink.AddrList(link, netlink.FAMILY_V4)
			for _, a := range addrs {
				_ = netlink.AddrDel(link, &a)
			}
			t.downIPv6(link)
		}
	case pppdial.EventProgress:
		if e.Step == pppdial.StepIPv6 { // IPv6 refused: IPv4 only
			if link, err := netlink.LinkByName(t.name); err == nil {
				t.downIPv6(link)
			}
		}
	}
}

func (t *tunAttachment) configure(local, peer netip.Addr, mtu int) error {
	link, err := netlink.LinkByName(t.name)
	if err != nil {
		return err
	}
	if mtu > 0 {
		// The kernel derives the MSS of its own connections from the device's MTU.
		if err := netlink.LinkSetMTU(link, mtu); err != nil {
			return fmt.Errorf("mtu: %w", err)
		}
		t.mtu.Store(int32(mtu))
	}
	addrs, _ := netlink.AddrList(link, netlink.FAMILY_V4)
	for _, a := range addrs {
		_ = netlink.AddrDel(link, &a)
	}
	addr := &netlink.Addr{IPNet: &net.IPNet{IP: local.AsSlice(), Mask: net.CIDRMask(32, 32)}}
	if peer.IsValid() {
		addr.Peer = &net.IPNet{IP: peer.AsSlice(), Mask: net.CIDRMask(32, 32)}
	}
	if err := netlink.AddrAdd(link, addr); err != nil {
		return fmt.Errorf("address: %w", err)
	}
	if err := netlink.LinkSetUp(link); err != nil {
		return fmt.Errorf("up: %w", err)
	}
	if t.defaultRoute && !t.standby.Load() {
		if err := netlink.RouteReplace(defaultRouteVia(link)); err != nil {
			return fmt.Errorf("default route: %w", err)
		}
	}
	return nil
}

func defaultRouteVia(link netlink.Link) *netlink.Route {
	return &netlink.Route{LinkIndex: link.Attrs().Index, Scope: netlink.SCOPE_LINK,
		Dst: &net.IPNet{IP: net.IPv4zero, Mask: net.CIDRMask(0, 32)}}
}

// setDefault gives the device the IPv4 default route (with --defaultroute) when its member
// becomes the one carrying new connections, and takes it away when another does: the default
// route follows the group's choice. A device without an address yet gets it at its up.
func (t *tunAttachment) setDefault(on bool) {
	t.standby.Store(!on)
	if !t.defaultRoute {
		return
	}
	link, err := netlink.LinkByName(t.name)
	if err != nil {
		return
	}
	if !on {
		_ = netlink.RouteDel(defaultRouteVia(link))
		return
	}
	if addrs, _ := netlink.AddrList(link, netlink.FAMILY_V4); len(addrs) > 0 {
		if err := netlink.RouteReplace(defaultRouteVia(link)); err != nil {
			fmt.Fprintf(os.Stderr, "pppdial: --tun %s: default route: %v\n", t.name, err)
		}
	}
}

// Close removes the TUN interface (and with it its addresses and routes).
func (t *tunAttachment) Close() error {
	t.mu.Lock()
	t.closed = true
	if t.cancelV6 != nil {
		t.cancelV6()
	}
	t.mu.Unlock()
	t.wg.Wait()
	err := t.dev.Close()
	<-t.done
	return err
}
