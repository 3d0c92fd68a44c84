// Package netif turns an opened PPP link into a network interface.
//
// A [Netif] moves IP packets between a [Device] (a ppp.Conn, or anything
// else that reads and writes raw IPv4/IPv6 packets) and an attachment: for
// pp<N> interfaces that attachment is a gVisor userspace TCP/IP stack
// (gvisor.dev/gvisor/pkg/tcpip), one stack per interface, so that programs
// can open sockets on the cellular link beside the host's own kernel stack.
// The link endpoint is raw IP: no link header and no neighbour resolution,
// because PPP is point-to-point.
//
// A [Registry] names and numbers interfaces the way lwIP does: a PPP
// interface is "pp" followed by the lowest free number, every registered
// interface has a unique index, one interface may be the default, and
// events report additions, removals and up/down changes. Host interfaces
// (wlan0, eth0) can be registered too, so that package bind looks every
// interface up the same way; their state comes from the kernel.
//
// The session layer drives a pp<N> interface from PPP events:
// [Netif.SetUp] when IPCP (and IPV6CP) reach Opened, with the negotiated
// addresses, DNS servers and MTU, and [Netif.SetDown] when the link goes
// away. SetDown aborts every socket of the interface's stack, so readers and
// writers fail promptly instead of hanging on a link that no longer exists;
// a later SetUp (a redial) installs the new addresses. Once IPV6CP has given
// the interface its link-local address, the interface solicits a Router
// Advertisement and configures itself from it (SLAAC with the IPV6CP
// interface identifier, RDNSS); [EventAutoconf] reports it.
//
// # Events
//
// A Registry's events are observed one way: [Registry.Subscribe] takes an
// OnEvent func for every [Event] of every interface. Each subscriber has a
// queue and a goroutine of its own, so events reach it in order and a slow
// one holds up neither the registry nor the other subscribers; one that
// falls far behind is told how many events it missed (Event.Missed).
// [Subscription.Flush] waits until it has taken what came before.
//
// The per-packet data path does not allocate in steady state: inbound
// packets are copied into pooled gVisor buffers, outbound packets are
// flattened into pooled byte slices handed to [Device.WritePacket].
package netif
