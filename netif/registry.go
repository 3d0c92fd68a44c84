package netif

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"sync"
	"syscall"

	"github.com/pppdial/pppdial/internal/eventq"
)

// MaxInterfaces bounds a registry, as lwIP bounds netif numbers to 0..254.
const MaxInterfaces = 255

// EventKind says what an Event reports.
type EventKind int

const (
	// EventAdded: the interface was registered.
	EventAdded EventKind = iota + 1
	// EventRemoved: the interface was removed from the registry.
	EventRemoved
	// EventUp: SetUp succeeded (also on a reconfiguration); the status
	// callback of lwIP.
	EventUp
	// EventDown: the interface went down; Event.Reason says why.
	EventDown
	// EventLinkUp: the link under the interface came up; lwIP's link callback.
	EventLinkUp
	// EventLinkDown: the link went down; Event.Reason says why.
	EventLinkDown
	// EventDefault: the interface became the default one (Netif nil: no
	// default any more).
	EventDefault
	// EventAutoconf: a pp<N> interface that is up learnt or lost IPv6 addresses or DNS
	// servers from the network's Router Advertisements (Netif.Config has them).
	EventAutoconf
)

// String names the kind ("up", "link-down", ...).
func (k EventKind) String() string {
	switch k {
	case EventAdded:
		return "added"
	case EventRemoved:
		return "removed"
	case EventUp:
		return "up"
	case EventDown:
		return "down"
	case EventLinkUp:
		return "link-up"
	case EventLinkDown:
		return "link-down"
	case EventDefault:
		return "default"
	case EventAutoconf:
		return "autoconf"
	}
	return "EventKind(" + strconv.Itoa(int(k)) + ")"
}

// Event is something that happened to an interface of a Registry: Subscribe's observers
// receive them.
type Event struct {
	Netif  *Netif
	Kind   EventKind
	Reason error // for EventDown / EventLinkDown
	// Missed is how many events were dropped right before this one because the observer fell
	// too far behind (more than a thousand events); 0 when none were.
	Missed uint64
}

// Registry holds the interfaces of a process: pp<N> interfaces it creates
// and host interfaces registered by name. A Registry is safe for concurrent
// use. Most programs use DefaultRegistry.
type Registry struct {
	mu        sync.Mutex
	byName    map[string]*Netif
	byIndex   map[int]*Netif
	order     []*Netif
	def       *Netif
	lastIndex int
	subs      map[*Subscription]struct{}
}

// DefaultRegistry is the process-wide registry package bind uses when no
// other one is given.
var DefaultRegistry = NewRegistry()

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	return &Registry{byName: map[string]*Netif{}, byIndex: map[int]*Netif{}, subs: map[*Subscription]struct{}{}}
}

// AddPPP creates a pp<N> interface on dev, named "pp" plus the lowest free
// number, with its own gVisor stack, and registers it. The interface starts
// down; the session layer calls SetUp when IPCP opens. AddPPP installs the
// Device's packet handler.
func (r *Registry) AddPPP(dev Device, opts Options) (*Netif, error) {
	r.mu.Lock()
	name, idx, err := r.allocLocked(opts.Name)
	if err != nil {
		r.mu.Unlock()
		return nil, err
	}
	// Reserve the name and index while the stack is built outside mu.
	r.byName[name] = nil
	r.byIndex[idx] = nil
	r.mu.Unlock()

	n, err := newPPP(name, dev, opts)
	r.mu.Lock()
	if err != nil {
		delete(r.byName, name)
		delete(r.byIndex, idx)
		r.mu.Unlock()
		return nil, err
	}
	r.insertLocked(n, idx)
	evs := []Event{{Netif: n, Kind: EventAdded}}
	if opts.Default {
		r.def = n
		evs = append(evs, Event{Netif: n, Kind: EventDefault})
	}
	r.mu.Unlock()
	r.deliver(evs...)
	return n, nil
}

// AddHost registers the host kernel's interface name (wlan0, eth0) so that
// bind finds it like a pp<N> one. dns, if given, are the name servers its
// Resolver uses (otherwise the host's /etc/resolv.conf ones). It fails with
// an error matching syscall.ENODEV if the kernel has no such interface.
func (r *Registry) AddHost(name string, dns ...netip.Addr) (*Netif, error) {
	n, err := LookupHost(name)
	if err != nil {
		return nil, err
	}
	n.hostDNS = slices.Clone(dns)
	r.mu.Lock()
	if _, ok := r.byName[name]; ok {
		r.mu.Unlock()
		return nil, fmt.Errorf("netif %s: %w", name, ErrExists)
	}
	idx, err := r.allocIndexLocked()
	if err != nil {
		r.mu.Unlock()
		return nil, err
	}
	r.insertLocked(n, idx)
	r.mu.Unlock()
	r.deliver(Event{Netif: n, Kind: EventAdded})
	return n, nil
}

// allocLocked picks want, or "pp" + the lowest free number when want is empty, and a free index.
func (r *Registry) allocLocked(want string) (string, int, error) {
	if want != "" {
		if _, used := r.byName[want]; used {
			return "", 0, fmt.Errorf("netif %s: %w", want, ErrExists)
		}
		idx, err := r.allocIndexLocked()
		return want, idx, err
	}
	var name string
	for i := 0; i < MaxInterfaces; i++ {
		s := "pp" + strconv.Itoa(i)
		if _, used := r.byName[s]; !used {
			name = s
			break
		}
	}
	if name == "" {
		return "", 0, ErrFull
	}
	idx, err := r.allocIndexLocked()
	return name, idx, err
}

// allocIndexLocked hands out indexes 1..MaxInterfaces round-robin, skipping
// used ones, as lwIP's netif_add does, so that an index is not reused right
// after its interface is removed (stale references then miss instead of
// hitting a different interface).
func (r *Registry) allocIndexLocked() (int, error) {
	for range MaxInterfaces {
		r.lastIndex = r.lastIndex%MaxInterfaces + 1
		if _, used := r.byIndex[r.lastIndex]; !used {
			return r.lastIndex, nil
		}
	}
	return 0, ErrFull
}

func (r *Registry) insertLocked(n *Netif, idx int) {
	n.index = idx
	n.reg = r
	r.byName[n.name] = n
	r.byIndex[idx] = n
	r.order = append(r.order, n)
}

// Remove takes n down (aborting its sockets), destroys its stack, and
// unregisters it; its name and index become free. If n was the default
// interface there is no default afterwards (as in lwIP).
func (r *Registry) Remove(n *Netif) error {
	r.mu.Lock()
	if n == nil || r.byName[n.name] != n {
		r.mu.Unlock()
		return &Error{Name: nameOf(n), Err: syscall.ENODEV}
	}
	delete(r.byName, n.name)
	delete(r.byIndex, n.index)
	r.order = slices.DeleteFunc(r.order, func(x *Netif) bool { return x == n })
	wasDefault := r.def == n
	if wasDefault {
		r.def = nil
	}
	r.mu.Unlock()

	n.remove()
	evs := []Event{{Netif: n, Kind: EventRemoved}}
	if wasDefault {
		evs = append(evs, Event{Kind: EventDefault})
	}
	r.deliver(evs...)
	return nil
}

func nameOf(n *Netif) string {
	if n == nil {
		return "<nil>"
	}
	return n.name
}

// ByName finds a registered interface. An unknown name fails with an
// *Error matching syscall.ENODEV (as SO_BINDTODEVICE does).
func (r *Registry) ByName(name string) (*Netif, error) {
	r.mu.Lock()
	n := r.byName[name]
	r.mu.Unlock()
	if n == nil {
		return nil, &Error{Name: name, Err: syscall.ENODEV}
	}
	return n, nil
}

// ByIndex finds a registered interface by index (ENODEV if none).
func (r *Registry) ByIndex(index int) (*Netif, error) {
	r.mu.Lock()
	n := r.byIndex[index]
	r.mu.Unlock()
	if n == nil {
		return nil, &Error{Name: "#" + strconv.Itoa(index), Err: syscall.ENODEV}
	}
	return n, nil
}

// Lookup finds name in the registry and, failing that, in the host kernel
// (an unregistered host interface, Index 0). This is how bind resolves
// SO_BINDTODEVICE names: registered pp<N> interfaces first, then any
// interface the kernel knows. Unknown everywhere: ENODEV.
func (r *Registry) Lookup(name string) (*Netif, error) {
	if n, err := r.ByName(name); err == nil {
		return n, nil
	}
	return LookupHost(name)
}

// Netifs returns the registered interfaces in the order they were added.
func (r *Registry) Netifs() []*Netif {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.order)
}

// Default returns the default interface, nil if there is none.
func (r *Registry) Default() *Netif {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.def
}

// SetDefault makes n the default interface (lwIP netif_set_default); nil
// clears it. n must be registered (ENODEV otherwise).
func (r *Registry) SetDefault(n *Netif) error {
	r.mu.Lock()
	if n != nil && r.byName[n.name] != n {
		r.mu.Unlock()
		return &Error{Name: n.name, Err: syscall.ENODEV}
	}
	changed := r.def != n
	r.def = n
	r.mu.Unlock()
	if changed {
		r.deliver(Event{Netif: n, Kind: EventDefault})
	}
	return nil
}

// Subscription is one observer of a Registry's events, from Subscribe.
type Subscription struct {
	r *Registry
	q *eventq.Queue[Event]
}

// Subscribe registers onEvent for every event of every interface of r (lwIP's status, link and
// remove callbacks in one). Each subscriber has a queue of its own: it receives the events in
// the order the registry produced them, on a goroutine of its own, so that a slow subscriber
// holds up neither the registry nor the others; one that falls far behind is told how many it
// missed (Event.Missed). onEvent may call back into the registry and the interfaces.
func (r *Registry) Subscribe(onEvent func(Event)) *Subscription {
	s := &Subscription{r: r, q: eventq.New(onEvent, func(e *Event, n uint64) { e.Missed = n }, 0)}
	r.mu.Lock()
	r.subs[s] = struct{}{}
	r.mu.Unlock()
	return s
}

// Flush waits, bounded by ctx, until the subscriber has taken every event the registry
// produced before the call.
func (s *Subscription) Flush(ctx context.Context) error { return s.q.Flush(ctx) }

// Close unregisters the subscriber and waits, bounded by ctx, until it has taken the events
// produced before; none come after. Closing twice is fine.
func (s *Subscription) Close(ctx context.Context) error {
	s.r.mu.Lock()
	delete(s.r.subs, s)
	s.r.mu.Unlock()
	return s.q.Close(ctx)
}

// deliver queues evs for every subscriber. Under mu, so that every subscriber sees the events
// of concurrent callers in one order; posting never blocks.
func (r *Registry) deliver(evs ...Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, ev := range evs {
		for s := range r.subs {
			s.q.Post(ev)
		}
	}
}
