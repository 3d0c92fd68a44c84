package egress

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// t0 is the start of every scenario's virtual time: the Machine reads no clock, the tests pass
// explicit times.
var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// step is one call to a Machine in a scenario, at t0+At, and the change it must report.
type step struct {
	At      time.Duration
	Op      string // "up", "down" (Observe), "advance", "egress" (Reconfigure with Members)
	Name    string
	Reason  string
	Members []string
	// Want is the change expected ("" To and From with WantNone: none).
	Want     Change
	WantNone bool
	Active   string // the active member after the step
}

func run(t *testing.T, m *Machine, steps []step) {
	t.Helper()
	for i, s := range steps {
		now := t0.Add(s.At)
		var c Change
		var changed bool
		switch s.Op {
		case "up":
			c, changed = m.Observe(s.Name, true, s.Reason, now)
		case "down":
			c, changed = m.Observe(s.Name, false, s.Reason, now)
		case "advance":
			c, changed = m.Advance(now)
		case "egress":
			c, changed = m.Reconfigure(s.Members, m.RecoverAfter(), now)
		default:
			t.Fatalf("step %d: unknown op %q", i, s.Op)
		}
		if s.WantNone {
			assert.False(t, changed, "step %d (%s %s at %v): unexpected change %+v", i, s.Op, s.Name, s.At, c)
		} else {
			assert.True(t, changed, "step %d (%s %s at %v): no change, want %+v", i, s.Op, s.Name, s.At, s.Want)
			assert.Equal(t, s.Want, c, "step %d (%s %s at %v)", i, s.Op, s.Name, s.At)
		}
		assert.Equal(t, s.Active, m.Active(), "step %d (%s %s at %v): active", i, s.Op, s.Name, s.At)
	}
}

func TestMachineScenarios(t *testing.T) {
	const ra = 30 * time.Second
	sec := func(n int) time.Duration { return time.Duration(n) * time.Second }
	for _, tc := range []struct {
		name    string
		members []string
		ra      time.Duration
		steps   []step
	}{
		{
			name: "first choice, then the preferred member comes up for the first time", members: []string{"pp0", "pp1"}, ra: ra,
			steps: []step{
				{Op: "down", Name: "pp0", Reason: "dial failed", WantNone: true},
				{At: sec(1), Op: "up", Name: "pp1", Reason: "up", Want: Change{To: "pp1", Reason: "pp1 up"}, Active: "pp1"},
				// pp0 never carried traffic: its failed dials are no failure of a member.
				{At: sec(2), Op: "up", Name: "pp0", Reason: "up", Want: Change{From: "pp1", To: "pp0", Reason: "pp0 up, preferred"}, Active: "pp0"},
			},
		},
		{
			name: "failover and return after RecoverAfter", members: []string{"pp0", "pp1"}, ra: ra,
			steps: []step{
				{Op: "up", Name: "pp0", Reason: "up", Want: Change{To: "pp0", Reason: "pp0 up"}, Active: "pp0"},
				{Op: "up", Name: "pp1", Reason: "up", WantNone: true, Active: "pp0"},
				{At: sec(10), Op: "down", Name: "pp0", Reason: "down: link lost", Want: Change{From: "pp0", To: "pp1", Reason: "pp0 down: link lost"}, Active: "pp1"},
				{At: sec(12), Op: "up", Name: "pp0", Reason: "up", WantNone: true, Active: "pp1"},
				{At: sec(41), Op: "advance", WantNone: true, Active: "pp1"},
				{At: sec(42), Op: "advance", Want: Change{From: "pp1", To: "pp0", Reason: "pp0 healthy for 30s, preferred"}, Active: "pp0"},
				{At: sec(50), Op: "advance", WantNone: true, Active: "pp0"},
			},
		},
		{
			name: "a recovery is interrupted and starts again", members: []string{"pp0", "pp1"}, ra: ra,
			steps: []step{
				{Op: "up", Name: "pp0", Reason: "up", Want: Change{To: "pp0", Reason: "pp0 up"}, Active: "pp0"},
				{Op: "up", Name: "pp1", Reason: "up", WantNone: true, Active: "pp0"},
				{At: sec(1), Op: "down", Name: "pp0", Reason: "down: probe failed", Want: Change{From: "pp0", To: "pp1", Reason: "pp0 down: probe failed"}, Active: "pp1"},
				{At: sec(2), Op: "up", Name: "pp0", Reason: "up", WantNone: true, Active: "pp1"},
				{At: sec(20), Op: "down", Name: "pp0", Reason: "down: link lost", WantNone: true, Active: "pp1"},
				{At: sec(21), Op: "down", Name: "pp0", Reason: "down: dial failed", WantNone: true, Active: "pp1"},
				{At: sec(25), Op: "up", Name: "pp0", Reason: "up", WantNone: true, Active: "pp1"},
				// 30 s after the first recovery started, not after the second: still pp1.
				{At: sec(32), Op: "advance", WantNone: true, Active: "pp1"},
				{At: sec(55), Op: "advance", Want: Change{From: "pp1", To: "pp0", Reason: "pp0 healthy for 30s, preferred"}, Active: "pp0"},
			},
		},
		{
			name: "nothing healthy, then a recovering member carries traffic", members: []string{"pp0", "pp1"}, ra: ra,
			steps: []step{
				{Op: "up", Name: "pp0", Reason: "up", Want: Change{To: "pp0", Reason: "pp0 up"}, Active: "pp0"},
				{At: sec(1), Op: "down", Name: "pp0", Reason: "down: link lost", Want: Change{From: "pp0", Reason: "pp0 down: link lost"}},
				{At: sec(3), Op: "up", Name: "pp0", Reason: "up", Want: Change{To: "pp0", Reason: "pp0 up (recovering, but no member is eligible)"}, Active: "pp0"},
				// pp1 comes up for the first time: it is eligible, pp0 is not yet.
				{At: sec(4), Op: "up", Name: "pp1", Reason: "up", Want: Change{From: "pp0", To: "pp1", Reason: "pp1 up; pp0 still recovering"}, Active: "pp1"},
				{At: sec(33), Op: "advance", Want: Change{From: "pp1", To: "pp0", Reason: "pp0 healthy for 30s, preferred"}, Active: "pp0"},
			},
		},
		{
			name: "the recovering member in charge stays while another recovers", members: []string{"pp0", "pp1"}, ra: ra,
			steps: []step{
				{Op: "up", Name: "pp0", Reason: "up", Want: Change{To: "pp0", Reason: "pp0 up"}, Active: "pp0"},
				{Op: "up", Name: "pp1", Reason: "up", WantNone: true, Active: "pp0"},
				{At: sec(1), Op: "down", Name: "pp0", Reason: "down", Want: Change{From: "pp0", To: "pp1", Reason: "pp0 down"}, Active: "pp1"},
				{At: sec(2), Op: "down", Name: "pp1", Reason: "down", Want: Change{From: "pp1", Reason: "pp1 down"}},
				{At: sec(3), Op: "up", Name: "pp1", Reason: "up", Want: Change{To: "pp1", Reason: "pp1 up (recovering, but no member is eligible)"}, Active: "pp1"},
				// pp0, preferred, is back but recovering too: pp1 keeps the traffic.
				{At: sec(4), Op: "up", Name: "pp0", Reason: "up", WantNone: true, Active: "pp1"},
				{At: sec(33), Op: "advance", WantNone: true, Active: "pp1"}, // pp1 proved itself first
				{At: sec(34), Op: "advance", Want: Change{From: "pp1", To: "pp0", Reason: "pp0 healthy for 30s, preferred"}, Active: "pp0"},
			},
		},
		{
			name: "no hysteresis with RecoverAfter 0", members: []string{"pp0", "pp1"}, ra: 0,
			steps: []step{
				{Op: "up", Name: "pp0", Reason: "up", Want: Change{To: "pp0", Reason: "pp0 up"}, Active: "pp0"},
				{Op: "up", Name: "pp1", Reason: "up", WantNone: true, Active: "pp0"},
				{At: sec(1), Op: "down", Name: "pp0", Reason: "down", Want: Change{From: "pp0", To: "pp1", Reason: "pp0 down"}, Active: "pp1"},
				{At: sec(2), Op: "up", Name: "pp0", Reason: "up", Want: Change{From: "pp1", To: "pp0", Reason: "pp0 healthy for 0s, preferred"}, Active: "pp0"},
			},
		},
		{
			name: "observations of interfaces that are not members", members: []string{"pp0", "pp1"}, ra: ra,
			steps: []step{
				{Op: "up", Name: "wlan0", Reason: "up", WantNone: true},
				{Op: "up", Name: "pp1", Reason: "up", Want: Change{To: "pp1", Reason: "pp1 up"}, Active: "pp1"},
				// wlan0 joins: it was healthy all along and never failed.
				{At: sec(1), Op: "egress", Members: []string{"wlan0", "pp0", "pp1"}, Want: Change{From: "pp1", To: "wlan0", Reason: "egress changed"}, Active: "wlan0"},
				{At: sec(2), Op: "egress", Members: []string{"wlan0", "pp0", "pp1"}, WantNone: true, Active: "wlan0"},
				// The active member leaves the egress.
				{At: sec(3), Op: "egress", Members: []string{"pp1"}, Want: Change{From: "wlan0", To: "pp1", Reason: "egress changed"}, Active: "pp1"},
				{At: sec(4), Op: "egress", Members: nil, Want: Change{From: "pp1", Reason: "egress changed"}},
			},
		},
		{
			name: "repeated healthy observations keep the recovery's start", members: []string{"pp0", "pp1"}, ra: 10 * time.Second,
			steps: []step{
				{Op: "up", Name: "pp1", Reason: "up", Want: Change{To: "pp1", Reason: "pp1 up"}, Active: "pp1"},
				{Op: "up", Name: "pp0", Reason: "up", Want: Change{From: "pp1", To: "pp0", Reason: "pp0 up, preferred"}, Active: "pp0"},
				{At: sec(1), Op: "down", Name: "pp0", Reason: "down", Want: Change{From: "pp0", To: "pp1", Reason: "pp0 down"}, Active: "pp1"},
				{At: sec(2), Op: "up", Name: "pp0", Reason: "up", WantNone: true, Active: "pp1"},
				{At: sec(5), Op: "up", Name: "pp0", Reason: "probe ok", WantNone: true, Active: "pp1"},
				{At: sec(9), Op: "up", Name: "pp0", Reason: "probe ok", WantNone: true, Active: "pp1"},
				// Observe ends a recovery that is due as Advance does: the caller's timer may be late.
				{At: sec(12), Op: "up", Name: "pp0", Reason: "probe ok", Want: Change{From: "pp1", To: "pp0", Reason: "pp0 healthy for 10s, preferred"}, Active: "pp0"},
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			run(t, New(tc.members, tc.ra), tc.steps)
		})
	}
}

// A member that alternates between healthy and unhealthy faster than RecoverAfter never takes
// traffic back, however long it goes on.
func TestMachineNoFlapping(t *testing.T) {
	const ra = 30 * time.Second
	m := New([]string{"pp0", "pp1"}, ra)
	now := t0
	m.Observe("pp0", true, "up", now)
	m.Observe("pp1", true, "up", now)
	require.Equal(t, "pp0", m.Active())
	var changes []Change
	for i := range 1000 {
		now = now.Add(ra / 2)
		if c, ok := m.Observe("pp0", i%2 == 1, "flap", now); ok {
			changes = append(changes, c)
		}
		if d, ok := m.Deadline(); ok && !d.After(now.Add(ra/2)) {
			// A driver's timer would fire before the next observation.
			if c, ok := m.Advance(d); ok {
				changes = append(changes, c)
			}
		}
		assert.Equal(t, "pp1", m.Active(), "round %d", i)
	}
	assert.Equal(t, []Change{{From: "pp0", To: "pp1", Reason: "pp0 flap"}}, changes, "one move away, never back")

	// The last round left it healthy: once it stops flapping, it comes back RecoverAfter after
	// that last recovery started, however often it is seen healthy meanwhile.
	start := now
	m.Observe("pp0", true, "probe ok", start.Add(ra/2))
	d, ok := m.Deadline()
	require.True(t, ok)
	assert.Equal(t, start.Add(ra), d)
	c, ok := m.Advance(d)
	require.True(t, ok)
	assert.Equal(t, Change{From: "pp1", To: "pp0", Reason: "pp0 healthy for 30s, preferred"}, c)
}

func TestMachineDeadline(t *testing.T) {
	m := New([]string{"pp0", "pp1", "wlan0"}, 20*time.Second)
	_, ok := m.Deadline()
	assert.False(t, ok, "nothing observed")
	for _, n := range []string{"pp0", "pp1", "wlan0"} {
		m.Observe(n, true, "up", t0)
	}
	_, ok = m.Deadline()
	assert.False(t, ok, "nobody recovering")
	m.Observe("pp1", false, "down", t0.Add(time.Second))
	m.Observe("pp0", false, "down", t0.Add(2*time.Second))
	m.Observe("pp0", true, "up", t0.Add(3*time.Second))
	m.Observe("pp1", true, "up", t0.Add(5*time.Second))
	m.Observe("wlan0", false, "down", t0.Add(2*time.Second))
	m.Observe("wlan0", true, "up", t0.Add(4*time.Second))
	for _, want := range []time.Duration{23 * time.Second, 24 * time.Second, 25 * time.Second} {
		d, ok := m.Deadline()
		require.True(t, ok)
		assert.Equal(t, t0.Add(want), d, "the earliest of the pending recoveries")
		m.Advance(d)
	}
	_, ok = m.Deadline()
	assert.False(t, ok)
}

func TestMachineStatus(t *testing.T) {
	m := New([]string{"pp0", "pp1"}, 10*time.Second)
	assert.Equal(t, Status{}, m.Status("pp0"), "never observed")
	m.Observe("pp0", true, "up", t0)
	assert.Equal(t, Status{Healthy: true, Eligible: true, Since: t0, Reason: "up"}, m.Status("pp0"))
	assert.True(t, m.Eligible("pp0"))
	m.Observe("pp0", false, "down: link lost", t0.Add(time.Second))
	assert.Equal(t, Status{Reason: "down: link lost"}, m.Status("pp0"))
	m.Observe("pp0", true, "up", t0.Add(2*time.Second))
	assert.Equal(t, Status{Healthy: true, Recovering: true, Since: t0.Add(2 * time.Second), Reason: "up"}, m.Status("pp0"))
	assert.False(t, m.Eligible("pp0"))
	assert.False(t, m.Eligible("pp1"), "never observed")
	assert.Equal(t, []string{"pp0", "pp1"}, m.Members())
	assert.Equal(t, 10*time.Second, m.RecoverAfter())
}

func TestMachineReconfigureRecoverAfter(t *testing.T) {
	m := New([]string{"pp0", "pp1"}, time.Minute)
	m.Observe("pp0", true, "up", t0)
	m.Observe("pp1", true, "up", t0)
	m.Observe("pp0", false, "down", t0.Add(time.Second))
	m.Observe("pp0", true, "up", t0.Add(2*time.Second))
	require.Equal(t, "pp1", m.Active())
	// A reload shortens the recovery time below what pp0 has already done.
	c, ok := m.Reconfigure([]string{"pp0", "pp1"}, 5*time.Second, t0.Add(10*time.Second))
	require.True(t, ok)
	assert.Equal(t, Change{From: "pp1", To: "pp0", Reason: "egress changed"}, c)
	assert.Equal(t, 5*time.Second, m.RecoverAfter())
	// A negative time is none.
	m.Reconfigure([]string{"pp0"}, -time.Second, t0.Add(11*time.Second))
	assert.Zero(t, m.RecoverAfter())
	assert.Zero(t, New(nil, -time.Second).RecoverAfter())
}

// The members' list is the Machine's own copy.
func TestMachineCopiesMembers(t *testing.T) {
	members := []string{"pp0", "pp1"}
	m := New(members, 0)
	members[0] = "wlan0"
	assert.Equal(t, []string{"pp0", "pp1"}, m.Members())
	got := m.Members()
	got[1] = "eth0"
	assert.Equal(t, []string{"pp0", "pp1"}, m.Members())
}
