package at_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pppdial/pppdial/apn"
	"github.com/pppdial/pppdial/at"
	"github.com/pppdial/pppdial/internal/serialline"
	"github.com/pppdial/pppdial/modemsim"
)

// simModem runs a modem with profile p on an in-memory line (paced at baud when set) and
// returns the host's Port; both stop when the test ends.
func simModem(t *testing.T, p modemsim.Profile, baud int) (*at.Port, *modemsim.Modem, *serialline.Port) {
	t.Helper()
	host, modemEnd := serialline.Pipe(serialline.Options{Baud: baud})
	port := at.NewPort(host)
	ctx, cancel := context.WithCancel(context.Background())
	p.GuardTime = 50 * time.Millisecond
	m := modemsim.New(p, modemsim.Discard)
	done := make(chan struct{})
	go func() { defer close(done); _ = m.Serve(ctx, modemEnd) }()
	t.Cleanup(func() {
		_ = port.Close()
		cancel()
		<-done
	})
	return port, m, host
}

// apnEvents collects the details of the finished "apn" steps.
type apnEvents struct{ details []string }

// Dial returns once its events were delivered, so the details are read after it without a lock.
func (e *apnEvents) progress(p at.Event) {
	if p.Kind == at.EventProgress && p.Step == at.StepAPN && p.Done {
		e.details = append(e.details, p.Detail)
	}
}

// cgdconts returns the APNs the modem was given, in order.
func cgdconts(m *modemsim.Modem) []string {
	var out []string
	for _, c := range m.Commands() {
		if v, ok := strings.CutPrefix(c, `AT+CGDCONT=1,"IP",`); ok {
			out = append(out, strings.Trim(v, `"`))
		}
	}
	return out
}

// TestDialAPNAutoFindsRemembersAndTriesFirst: O2 Germany (262/07) lists "pinternet.interkom.de"
// first (most providers share it); the network here takes only "internet". The dialer tries
// the first, is refused (NO CARRIER), takes the second; remembered, the next dial tries
// "internet" first.
func TestDialAPNAutoFindsRemembersAndTriesFirst(t *testing.T) {
	const imsi = "262071234567890"
	_, cands, err := apn.Lookup(imsi)
	require.NoError(t, err)
	require.Greater(t, len(cands), 2)
	require.Equal(t, "pinternet.interkom.de", cands[0].APN, "the database's first candidate is not the one the network takes")
	require.Equal(t, "internet", cands[1].APN)

	p := modemsim.EC25()
	p.IMSI, p.AcceptAPN = imsi, "internet"
	port, m, _ := simModem(t, p, 0)
	state := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	var ev apnEvents
	cfg := at.Config{APN: at.APNAuto, StateDir: state, Guard: 50 * time.Millisecond, OnEvent: ev.progress}
	sess, err := at.Dial(ctx, port, cfg)
	require.NoError(t, err)
	require.NotNil(t, sess.Info.APN)
	assert.Equal(t, "internet", sess.Info.APN.APN)
	assert.Equal(t, []string{"pinternet.interkom.de", "internet"}, cgdconts(m))
	require.Len(t, ev.details, 3, "lookup, then one event per APN tried: %q", ev.details)
	assert.Contains(t, ev.details[0], "network 262/07 (de: O2")
	assert.Contains(t, ev.details[1], `"pinternet.interkom.de"`)
	assert.Contains(t, ev.details[1], "O2", "the detail names the providers")
	assert.Contains(t, ev.details[2], `"internet"`)
	assert.Equal(t, 2, m.Stats().Dials, "ATD refused once, then connected")

	require.NoError(t, sess.RememberAPN())
	require.NoError(t, sess.Hangup(ctx))

	ev = apnEvents{}
	before := len(cgdconts(m))
	sess, err = at.Dial(ctx, port, cfg)
	require.NoError(t, err)
	assert.Equal(t, []string{"internet"}, cgdconts(m)[before:], "the remembered APN is tried first, and works")
	assert.True(t, sess.Info.APN.Remembered)
	require.Len(t, ev.details, 2)
	assert.Contains(t, ev.details[1], "[remembered]")
	require.NoError(t, sess.Hangup(ctx))
}

// TestDialAPNAutoUnknownNetwork: the test network 001/01 is in no database: the dialer says so
// and dials the modem's stored context, writing none.
func TestDialAPNAutoUnknownNetwork(t *testing.T) {
	p := modemsim.SIM7600() // IMSI 001010123456789
	port, m, _ := simModem(t, p, 0)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var ev apnEvents
	sess, err := at.Dial(ctx, port, at.Config{APN: at.APNAuto, StateDir: t.TempDir(), Guard: 50 * time.Millisecond, OnEvent: ev.progress})
	require.NoError(t, err)
	assert.Nil(t, sess.Info.APN)
	assert.Empty(t, cgdconts(m), "the stored context is left alone")
	require.Len(t, ev.details, 1)
	assert.Contains(t, ev.details[0], "001/01")
	assert.Contains(t, ev.details[0], "not in mobile-broadband-provider-info")
	assert.Contains(t, ev.details[0], "stored context will be used")
	assert.NoError(t, sess.RememberAPN(), "nothing to remember")
	require.NoError(t, sess.Hangup(ctx))
}

// TestDialAPNAutoNoneWorks: a network that takes none of the candidates ends in ErrNoAPNWorked
// after the network default (an empty APN written) was tried last.
func TestDialAPNAutoNoneWorks(t *testing.T) {
	p := modemsim.EC25()
	p.IMSI, p.AcceptAPN = "262071234567890", "private.corp"
	port, m, _ := simModem(t, p, 0)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, err := at.Dial(ctx, port, at.Config{APN: at.APNAuto, Guard: 50 * time.Millisecond})
	require.ErrorIs(t, err, at.ErrNoAPNWorked)
	assert.ErrorIs(t, err, at.ErrNoCarrier)
	got := cgdconts(m)
	_, cands, _ := apn.Lookup("262071234567890")
	require.Len(t, got, len(cands))
	assert.Equal(t, "", got[len(got)-1], "the network default comes last, as an empty APN")
}

// TestDialReadsIdentity: with Config.Identity the dial reads the modem's identity and the SIM's
// ICCID after the SIM is ready; a modem that refuses the ICCID commands still dials.
func TestDialReadsIdentity(t *testing.T) {
	p := modemsim.EC25()
	p.ICCID = "89001012345678901234"
	port, _, _ := simModem(t, p, 0)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var steps []at.Step
	sess, err := at.Dial(ctx, port, at.Config{Identity: true, OnEvent: func(e at.Event) {
		if e.Kind == at.EventProgress && e.Done {
			steps = append(steps, e.Step)
		}
	}})
	require.NoError(t, err)
	id := sess.Info.Identity
	assert.Equal(t, at.Identity{Manufacturer: "Quectel", Model: "EC25", Revision: "EC25EFAR06A06M4G",
		IMEI: "867698040123456", ICCID: "89001012345678901234"}, id)
	i := slices.Index(steps, at.StepIdentity)
	require.GreaterOrEqual(t, i, 1, "steps: %v", steps)
	assert.Equal(t, at.StepSIM, steps[i-1], "read once the SIM is ready")

	// Without Config.Identity nothing is asked.
	port2, _, _ := simModem(t, p, 0)
	sess2, err := at.Dial(ctx, port2, at.Config{})
	require.NoError(t, err)
	assert.Zero(t, sess2.Info.Identity)
}
