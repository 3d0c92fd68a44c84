// Package bind opens sockets on the interface the caller chooses: a
// cellular pp<N> interface (package netif, userspace gVisor stack) or a
// host interface such as wlan0 or eth0 (kernel sockets bound with
// SO_BINDTODEVICE). The API and the errors are the same for both:
//
//   - an interface nobody knows fails with an error matching syscall.ENODEV;
//   - a known interface that is down fails with syscall.ENETDOWN (and, for
//     pp<N>, the reason the link went down);
//   - connection errors match the usual errnos (ECONNREFUSED, ECONNRESET,
//     ETIMEDOUT, ...), deadlines match os.ErrDeadlineExceeded.
//
// Names are resolved by a per-interface [Resolver] through that
// interface's own DNS servers, over that interface, so a lookup for a
// cellular connection never leaks to the WLAN's resolver and vice versa.
//
// [Dial], [Listen], [ListenPacket] and [Ping] take the interface name; a
// [Dialer] plugs into http.Transport; a [Router] picks the interface per
// destination prefix, by explicit name (see [WithInterface]) or by an
// ordered preference with failover; [Netdev] is a BSD-socket facade shaped
// like TinyGo's netdev, with integer descriptors and SO_BINDTODEVICE.
//
// Interfaces are looked up in a netif.Registry (netif.DefaultRegistry
// unless one is given): registered interfaces first, then any interface
// the host kernel has.
package bind
