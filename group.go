package pppdial

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/pppdial/pppdial/bind"
	"github.com/pppdial/pppdial/netif"
)

// EventRoute: the member of the egress that carries new connections changed (Group only). Ifname
// is the member that carries them now ("" when none is healthy), From the one that carried them
// before ("" at the first choice), Detail why ("pp0 down: link lost", "pp0 healthy for 30s").
const EventRoute EventKind = "route"

// GroupConfig describes several links in one process and the choice between them.
type GroupConfig struct {
	// Links are the sessions to run, each with its own IfName (required, unique) and port.
	// Each is dialed, recovers and fails on its own: one whose modem is absent does not keep the
	// others from coming up. Their Registry is the group's; their OnEvent is not called (their
	// events come in the group's one stream, with Ifname set).
	Links []Config
	// Egress lists the interfaces that may carry new connections, in preference order: links'
	// IfNames and host interfaces ("wlan0", used through SO_BINDTODEVICE). New connections go
	// to the first healthy member (Router, and the registry's default interface). Empty: the
	// links in order.
	Egress []string
	// Probes check members' data paths beside their link state: a member is unhealthy once its
	// probe failed Probe.Failures times in a row, healthy again at its next success. A link's
	// own Config.Probe serves it (its results arrive as EventProbe); a host interface takes one
	// here, keyed by name. A member without a probe is as healthy as its interface is up.
	Probes map[string]Probe
	// RecoverAfter is how long a member that failed must stay healthy before new connections
	// move back to it (default 30 s), so that a flapping link does not take traffic back and
	// forth. A member that never failed is eligible as soon as it is healthy.
	RecoverAfter time.Duration
	// Registry holds every link's pp<N> and the host interfaces (default netif.DefaultRegistry).
	Registry *netif.Registry
	// OnEvent receives every link's events (Event.Ifname says whose) and the group's own
	// (EventRoute), in order per link, never blocking a link (see Config.OnEvent).
	OnEvent func(Event)
	// Logger receives the group's logs (each link's too, unless its Config has its own).
	Logger *slog.Logger
}

// ErrUnknownLink: a Group method named an interface that is not one of its links.
var ErrUnknownLink = errors.New("no such link in the group")

// Group runs several links side by side and chooses, per new connection, the healthiest
// preferred one. Existing connections stay on their link until it goes down, when they fail
// with ENETDOWN.
type Group struct {
	_ struct{}
}

// StartGroup checks cfg, registers every link's interface, and starts dialing them all. It
// returns at once: links come up in the background, reported as EventUp on OnEvent. Errors are
// for the configuration alone (ErrUsage: a missing or duplicate IfName, an unknown egress
// member's probe).
func StartGroup(ctx context.Context, cfg GroupConfig) (*Group, error) {
	panic("group: not yet implemented")
}

// Links returns the links' interface names, in the order they were added.
func (g *Group) Links() []string { panic("group: not yet implemented") }

// Session returns the link's session once it has come up; nil while it is still being dialed
// for the first time, after it ended for good, or for a name that is not a link.
func (g *Group) Session(ifname string) *Session { panic("group: not yet implemented") }

// Router returns the router that picks each new connection's interface: the first healthy
// egress member (after RecoverAfter for one that failed). The SOCKS server dials through it.
func (g *Group) Router() *bind.Router { panic("group: not yet implemented") }

// Active returns the member that carries new connections now; "" when none is healthy.
func (g *Group) Active() string { panic("group: not yet implemented") }

// Add starts one more link (a configuration reload that found a new [[link]]).
func (g *Group) Add(ctx context.Context, link Config) error { panic("group: not yet implemented") }

// Remove hangs the link up (within ctx) and forgets it: its interface is removed, connections
// on it fail with ENETDOWN. ErrUnknownLink if there is no such link.
func (g *Group) Remove(ctx context.Context, ifname string) error {
	panic("group: not yet implemented")
}

// SetEgress replaces the egress list, its probes and RecoverAfter (a reload); the route is
// chosen again at once.
func (g *Group) SetEgress(egress []string, probes map[string]Probe, recoverAfter time.Duration) error {
	panic("group: not yet implemented")
}

// Done is closed when every link has ended for good (or Close finished).
func (g *Group) Done() <-chan struct{} { panic("group: not yet implemented") }

// Close hangs every link up in parallel within ctx's deadline and stops the probes.
func (g *Group) Close(ctx context.Context) error { panic("group: not yet implemented") }
