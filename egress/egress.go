// Package egress chooses which member of an ordered list of interfaces ("pp0", "pp1", "wlan0")
// carries new connections, from what is observed of each member's health.
//
// The choice has hysteresis: a member that lost its health must then stay healthy without a
// break for RecoverAfter before it is eligible again, while a member that never failed is
// eligible as soon as it is healthy. Without it, a link that flaps — a modem at the edge of
// coverage that drops and redials every few seconds, a probe that fails one time in two — would
// pull new connections back onto itself at each short recovery, and every connection opened in
// that window would die with it at the next drop. With it, traffic moves away at the first
// failure and comes back only once the preferred member has proven itself for RecoverAfter; a
// member that alternates faster than that never takes traffic back.
//
// The active member is the first eligible one in preference order. When none is eligible but
// some are healthy (every working member is still proving itself), the active member stays where
// it is if that one is healthy, or else is the first healthy one: hysteresis decides between
// members that work, it never leaves connections without a route while one works.
//
// A Machine does no I/O and reads no clock: the caller passes the time with every call and asks
// Deadline when the next pending recovery will change anything, so that it needs one timer (and
// tests need none).
package egress

import (
	"fmt"
	"slices"
	"time"
)

// Change is a change of the active member.
type Change struct {
	From   string // the member that was active ("" if none)
	To     string // the member that is active now ("" if none)
	Reason string // why, naming the member whose state decided it: "pp0 down: link lost"
}

// Machine follows the health of interfaces and chooses the active member. It is not safe for
// concurrent use: its owner serialises the calls.
type Machine struct {
	members      []string
	recoverAfter time.Duration
	states       map[string]*state
	names        []string // the keys of states in the order first observed: the loops are deterministic
	active       string
}

// state is what is known of one interface (members and others: an interface observed before it
// becomes a member keeps its history).
type state struct {
	healthy bool
	// failed: the interface lost its health and has not yet been healthy for RecoverAfter
	// since; not eligible while set.
	failed bool
	since  time.Time // healthy since (the start of the recovery while failed)
	reason string    // the last observation's reason
	gain   string    // how it last became eligible ("up", "healthy for 30s")
}

// Status is what a Machine knows of one interface, for a status display.
type Status struct {
	Healthy    bool
	Eligible   bool      // healthy, and not in its recovery time
	Recovering bool      // healthy after a failure, not yet for RecoverAfter
	Since      time.Time // healthy since (zero when it is not)
	Reason     string    // the last observation's reason
}

// New returns a Machine for members in preference order. A member that lost its health is
// eligible again after recoverAfter of continuous health (0: at once, no hysteresis). Nothing is
// healthy until observed.
func New(members []string, recoverAfter time.Duration) *Machine {
	return &Machine{members: slices.Clone(members), recoverAfter: max(recoverAfter, 0), states: map[string]*state{}}
}

// Members returns the members in preference order.
func (m *Machine) Members() []string { return slices.Clone(m.members) }

// RecoverAfter returns the recovery time in force.
func (m *Machine) RecoverAfter() time.Duration { return m.recoverAfter }

// Active returns the member that carries new connections, "" if none.
func (m *Machine) Active() string { return m.active }

// Eligible reports whether name is healthy and past any recovery time, as of the last call.
func (m *Machine) Eligible(name string) bool {
	s := m.states[name]
	return s != nil && s.eligible()
}

// Status returns what is known of name.
func (m *Machine) Status(name string) Status {
	s := m.states[name]
	if s == nil {
		return Status{}
	}
	st := Status{Healthy: s.healthy, Eligible: s.eligible(), Recovering: s.healthy && s.failed, Reason: s.reason}
	if s.healthy {
		st.Since = s.since
	}
	return st
}

func (s *state) eligible() bool { return s.healthy && !s.failed }

// Observe records that name (a member or not) is healthy or not at now, reason saying what
// was seen ("up", "down: link lost", "probe failed 3 times"). Losing health starts the member's
// hysteresis; an unhealthy observation of a member that was never healthy does not (it never
// carried traffic: a link still dialing). It returns the change of the active member, if any.
func (m *Machine) Observe(name string, healthy bool, reason string, now time.Time) (Change, bool) {
	s := m.states[name]
	if s == nil {
		s = &state{}
		m.states[name] = s
		m.names = append(m.names, name)
	}
	switch {
	case healthy && !s.healthy:
		s.healthy, s.since, s.reason = true, now, reason
		if !s.failed {
			s.gain = reason
		}
	case !healthy && s.healthy:
		s.healthy, s.failed, s.reason = false, true, reason
	case !healthy:
		s.reason = reason // still down; the latest reason is the one to report
	}
	return m.evaluate(now, "")
}

// Advance brings the Machine to now: members whose recovery time has passed become eligible.
// The caller calls it at Deadline (calling it at any time is harmless).
func (m *Machine) Advance(now time.Time) (Change, bool) { return m.evaluate(now, "") }

// Deadline returns when the next pending recovery ends (when Advance may change something); ok
// is false when no recovery is pending.
func (m *Machine) Deadline() (t time.Time, ok bool) {
	for _, name := range m.names {
		if s := m.states[name]; s.healthy && s.failed {
			d := s.since.Add(m.recoverAfter)
			if !ok || d.Before(t) {
				t, ok = d, true
			}
		}
	}
	return t, ok
}

// Reconfigure replaces the members and the recovery time (a reload); what is known of each
// interface is kept. It returns the change of the active member, if any.
func (m *Machine) Reconfigure(members []string, recoverAfter time.Duration, now time.Time) (Change, bool) {
	m.members = slices.Clone(members)
	m.recoverAfter = max(recoverAfter, 0)
	return m.evaluate(now, "egress changed")
}

// evaluate ends the recoveries due at now and chooses the active member again; reason, if set,
// is the change's reason whatever the members' states say.
func (m *Machine) evaluate(now time.Time, reason string) (Change, bool) {
	for _, name := range m.names {
		if s := m.states[name]; s.healthy && s.failed && !now.Before(s.since.Add(m.recoverAfter)) {
			s.failed = false
			s.gain = fmt.Sprintf("healthy for %v", m.recoverAfter)
		}
	}
	next := ""
	for _, name := range m.members {
		if m.Eligible(name) {
			next = name
			break
		}
	}
	fallback := false
	if next == "" {
		// Nobody has proven itself: keep the active member while it works, or take the first
		// that works.
		if m.healthyMember(m.active) {
			next = m.active
		} else {
			for _, name := range m.members {
				if m.healthyMember(name) {
					next = name
					break
				}
			}
		}
		fallback = next != ""
	}
	if next == m.active {
		return Change{}, false
	}
	c := Change{From: m.active, To: next, Reason: reason}
	m.active = next
	if c.Reason == "" {
		c.Reason = m.why(c.From, c.To, fallback)
	}
	return c, true
}

// healthyMember reports a member that is healthy, eligible or not.
func (m *Machine) healthyMember(name string) bool {
	s := m.states[name]
	return s != nil && s.healthy && slices.Contains(m.members, name)
}

// why explains a change from one member to another: the old one lost its health, or the new
// one became eligible (and is preferred), or the new one is the only one that works.
func (m *Machine) why(from, to string, fallback bool) string {
	if from != "" && !m.healthyMember(from) {
		return from + " " + m.states[from].reason
	}
	s := m.states[to]
	switch {
	case fallback:
		return fmt.Sprintf("%s %s (recovering, but no member is eligible)", to, s.reason)
	case from == "":
		return to + " " + s.gain
	case slices.Index(m.members, to) < slices.Index(m.members, from):
		return to + " " + s.gain + ", preferred"
	default:
		return fmt.Sprintf("%s %s; %s still recovering", to, s.gain, from)
	}
}
