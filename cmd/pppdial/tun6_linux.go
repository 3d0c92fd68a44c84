package main

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/pppdial/pppdial"
	"github.com/pppdial/pppdial/netif"
)

// IPv6 on the TUN device. The kernel does the autoconfiguration itself, as it does for pppd's
// ppp0: pppdial only puts the link-local address built from the IPV6CP interface identifier on
// pp<N>; the kernel then sends Router Solicitations, forms its global address in the advertised
// prefix from that same identifier (with addr_gen_mode "none" it inherits the link-local
// address's identifier instead of inventing one), installs the prefix route and, when asked,
// the default route, and expires them with the advertised lifetimes. Doing SLAAC in userspace
// and writing addresses with netlink would duplicate all of that, lifetimes included.

// tunSysctls prepares the kernel's IPv6 settings of the new TUN device, before it is up.
func tunSysctls(name string, defaultRoute bool) error {
	defrtr := "0"
	if defaultRoute {
		defrtr = "1"
	}
	dir := filepath.Join("/proc/sys/net/ipv6/conf", name)
	for _, kv := range [][2]string{
		{"disable_ipv6", "0"},
		// No address of the kernel's invention: the identifier is IPV6CP's (RFC 5072).
		{"addr_gen_mode", "1"},
		// Accept Router Advertisements even on a host that forwards (a gateway routing a LAN).
		{"accept_ra", "2"},
		{"autoconf", "1"},
		// A default route over the link only with --defaultroute, as for IPv4.
		{"accept_ra_defrtr", defrtr},
	} {
		if err := os.WriteFile(filepath.Join(dir, kv[0]), []byte(kv[1]), 0); err != nil {
			return fmt.Errorf("--tun: IPv6 setting %s: %w", kv[0], err)
		}
	}
	return nil
}

// configureIPv6 puts the IPV6CP link-local address on the device; the kernel solicits a Router
// Advertisement as soon as it is there.
func (t *tunAttachment) configureIPv6(local netip.Addr) error {
	link, err := netlink.LinkByName(t.name)
	if err != nil {
		return err
	}
	addr := &netlink.Addr{IPNet: &net.IPNet{IP: local.AsSlice(), Mask: net.CIDRMask(64, 128)}, Flags: unix.IFA_F_NODAD}
	if err := netlink.AddrReplace(link, addr); err != nil {
		return fmt.Errorf("IPv6 link-local address: %w", err)
	}
	return nil
}

// ipv6Up configures the device for IPv6 and reports e (ipv6-up) through report once the
// kernel has formed its global address from the Router Advertisement, or when the
// solicitation window is over (then without one), or never if the link goes down first.
func (t *tunAttachment) ipv6Up(e pppdial.Event, report func(pppdial.Event)) {
	if err := t.configureIPv6(e.Status.LocalV6); err != nil {
		fmt.Fprintf(os.Stderr, "pppdial: --tun: %v\n", err)
		report(e)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), netif.RouterSolicitationWindow)
	t.mu.Lock()
	if t.cancelV6 != nil {
		t.cancelV6()
	}
	t.cancelV6 = cancel
	t.mu.Unlock()
	t.wg.Add(1)
	go func() {
		defer t.wg.Done()
		defer cancel()
		e.GlobalV6 = t.waitGlobal(ctx)
		if ctx.Err() == context.Canceled {
			return // the link went down
		}
		if len(e.GlobalV6) == 0 {
			e.Detail = "no Router Advertisement: link-local only"
		}
		report(e)
	}()
}

// waitGlobal returns the device's global IPv6 addresses once it has one, or none when ctx ends.
func (t *tunAttachment) waitGlobal(ctx context.Context) []netip.Prefix {
	link, err := netlink.LinkByName(t.name)
	if err != nil {
		return nil
	}
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		if global := globalV6(link); len(global) > 0 {
			return global
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

func globalV6(link netlink.Link) []netip.Prefix {
	addrs, err := netlink.AddrList(link, netlink.FAMILY_V6)
	if err != nil {
		return nil
	}
	var out []netip.Prefix
	for _, a := range addrs {
		ip, ok := netip.AddrFromSlice(a.IP)
		if !ok || a.Scope != unix.RT_SCOPE_UNIVERSE || ip.IsLinkLocalUnicast() {
			continue
		}
		ones, _ := a.Mask.Size()
		out = append(out, netip.PrefixFrom(ip, ones))
	}
	return out
}

// downIPv6 stops waiting for the kernel's address and removes the IPv6 addresses and routes
// (those the kernel learnt from the advertisement too: they belonged to the old link).
func (t *tunAttachment) downIPv6(link netlink.Link) {
	t.mu.Lock()
	if t.cancelV6 != nil {
		t.cancelV6()
		t.cancelV6 = nil
	}
	t.mu.Unlock()
	addrs, _ := netlink.AddrList(link, netlink.FAMILY_V6)
	for _, a := range addrs {
		_ = netlink.AddrDel(link, &a)
	}
	routes, _ := netlink.RouteList(link, netlink.FAMILY_V6)
	for _, r := range routes {
		_ = netlink.RouteDel(&r)
	}
}
