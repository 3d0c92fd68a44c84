package cell

import (
	"context"
	"errors"
	"fmt"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeModem answers from a table; a missing command is rejected, as a modem answers ERROR.
type fakeModem struct {
	answers map[string][]string
	errs    map[string]error
	sent    []string
}

func (m *fakeModem) exec(ctx context.Context, cmd string) ([]string, error) {
	m.sent = append(m.sent, cmd)
	if err := m.errs[cmd]; err != nil {
		return nil, err
	}
	a, ok := m.answers[cmd]
	if !ok {
		return nil, fmt.Errorf("modem: %s: +CME ERROR: 4: %w", cmd, ErrRejected)
	}
	return a, nil
}

// The pppd-vm modem answers +CSQ, +COPS? and +CREG?/+CEREG? and ERROR to everything else: the
// poll gives the acceptance values and drops the rest for good.
func TestPollerVMModem(t *testing.T) {
	m := &fakeModem{answers: map[string][]string{
		"AT+CSQ":    {"+CSQ: 20,99"},
		"AT+COPS?":  copsVM,
		"AT+CREG?":  {"+CREG: 0,1"},
		"AT+CEREG?": {"+CEREG: 0,1"},
	}}
	p := NewPoller(m.exec, Plan(FamilyEC25), nil)
	pic, err := p.Poll(context.Background())
	require.NoError(t, err)
	assert.Equal(t, Picture{RSSIdBm: f64(-73), Operator: str("pppd-vm"), Tech: tech(TechLTE)}, pic)
	assert.Equal(t, []string{"AT+CESQ", `AT+QENG="servingcell"`}, p.Stats().Dropped)

	m.sent = nil
	pic2, err := p.Poll(context.Background())
	require.NoError(t, err)
	assert.Equal(t, pic, pic2)
	assert.Equal(t, []string{"AT+CSQ", "AT+COPS?", "AT+CREG?", "AT+CEREG?"}, m.sent, "dropped commands are not sent again")
	assert.Equal(t, 2, p.Stats().Polls)

	p.Reset()
	m.sent = nil
	_, err = p.Poll(context.Background())
	require.NoError(t, err)
	assert.Len(t, m.sent, 6, "Reset puts the dropped commands back")
}

// Every family's plan against a modem of that family, answering in its own format.
func TestPollerFamilies(t *testing.T) {
	base := map[string][]string{"AT+CSQ": {"+CSQ: 20,99"}, "AT+COPS?": copsNumeric, "AT+CREG?": {"+CREG: 0,1"}}
	with := func(extra map[string][]string) map[string][]string {
		out := map[string][]string{}
		for k, v := range base {
			out[k] = v
		}
		for k, v := range extra {
			out[k] = v
		}
		return out
	}
	cases := []struct {
		family  Family
		answers map[string][]string
		check   func(t *testing.T, p Picture)
	}{
		{FamilySIM7600, with(map[string][]string{"AT+CPSI?": cpsiLTE, "AT+CESQ": cesqLTE}), func(t *testing.T, p Picture) {
			assert.Equal(t, -66.1, *p.RSSIdBm)
			assert.Equal(t, -90.0, *p.RSRPdBm, "CPSI, polled after CESQ, wins")
			assert.Equal(t, "B7", *p.Band)
		}},
		{FamilyEC25, with(map[string][]string{`AT+QENG="servingcell"`: qengEC2x, "AT+CEREG?": {ceregEC2x}}), func(t *testing.T, p Picture) {
			assert.Equal(t, uint64(0x8F381C5), *p.Cell)
			assert.Equal(t, -3.0, *p.SINRdB)
		}},
		{FamilyBG96, with(map[string][]string{`AT+QENG="servingcell"`: qengBG96CatM}), func(t *testing.T, p Picture) {
			assert.Equal(t, TechCatM, *p.Tech, "QENG's CAT-M wins over +COPS's LTE")
		}},
		{FamilySARAR4, with(map[string][]string{"AT+UCGED=5": nil, "AT+UCGED?": ucgedR4}), func(t *testing.T, p Picture) {
			assert.Equal(t, -75.0, *p.RSRPdBm)
		}},
		{FamilySARAR5, with(map[string][]string{"AT+UCGED=2": nil, "AT+UCGED?": ucgedR5}), func(t *testing.T, p Picture) {
			assert.Equal(t, 13.75, *p.SINRdB)
			assert.Equal(t, "001", *p.MCC, "UCGED's MCC, polled after +COPS, wins")
		}},
		{FamilySIM800, with(map[string][]string{"AT+CGREG?": {`+CGREG: 2,1,"1A2B","3C4D"`}}), func(t *testing.T, p Picture) {
			assert.Equal(t, uint32(0x1A2B), *p.LAC)
		}},
		{"unknown-family", base, func(t *testing.T, p Picture) {
			assert.Equal(t, "460", *p.MCC)
		}},
	}
	for _, c := range cases {
		t.Run(string(c.family), func(t *testing.T) {
			m := &fakeModem{answers: c.answers}
			p := NewPoller(m.exec, Plan(c.family), nil)
			pic, err := p.Poll(context.Background())
			require.NoError(t, err)
			c.check(t, pic)
			assert.Zero(t, p.Stats().Malformed)
		})
	}
}

func TestPollerSetupRejectedDropsItsQuery(t *testing.T) {
	m := &fakeModem{answers: map[string][]string{"AT+CSQ": {"+CSQ: 20,99"}, "AT+UCGED?": ucgedR4}}
	p := NewPoller(m.exec, Plan(FamilySARAR4), nil)
	pic, err := p.Poll(context.Background())
	require.NoError(t, err)
	assert.Nil(t, pic.RSRPdBm, "AT+UCGED? is not sent when its setup was refused")
	assert.Contains(t, p.Stats().Dropped, "AT+UCGED?")
	assert.NotContains(t, m.sent, "AT+UCGED?")
}

func TestPollerSetupSentOnce(t *testing.T) {
	m := &fakeModem{answers: map[string][]string{"AT+UCGED=2": nil, "AT+UCGED?": ucgedR5}}
	p := NewPoller(m.exec, []Query{{Cmd: "AT+UCGED?", Setup: "AT+UCGED=2", Parse: ParseUCGED}}, nil)
	for range 3 {
		_, err := p.Poll(context.Background())
		require.NoError(t, err)
	}
	assert.Equal(t, []string{"AT+UCGED=2", "AT+UCGED?", "AT+UCGED?", "AT+UCGED?"}, m.sent)
}

// A timeout is not a rejection: the poll stops, keeps what it had, keeps the command, and says why.
func TestPollerOtherErrorStops(t *testing.T) {
	timeout := fmt.Errorf("at: command timed out: %w", os.ErrDeadlineExceeded)
	m := &fakeModem{answers: map[string][]string{"AT+CSQ": {"+CSQ: 20,99"}},
		errs: map[string]error{"AT+CESQ": timeout}}
	p := NewPoller(m.exec, Plan(FamilyGeneric), nil)
	pic, err := p.Poll(context.Background())
	require.ErrorIs(t, err, os.ErrDeadlineExceeded)
	assert.Contains(t, err.Error(), "AT+CESQ")
	assert.Equal(t, -73.0, *pic.RSSIdBm)
	assert.Empty(t, p.Stats().Dropped)
	assert.Equal(t, []string{"AT+CSQ", "AT+CESQ"}, m.sent)
}

func TestPollerMalformedCounted(t *testing.T) {
	m := &fakeModem{answers: map[string][]string{"AT+CSQ": {"+CSQ: garbage"}, "AT+COPS?": copsVM}}
	p := NewPoller(m.exec, []Query{{Cmd: "AT+CSQ", Parse: ParseCSQ}, {Cmd: "AT+COPS?", Parse: ParseCOPS}}, nil)
	pic, err := p.Poll(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "pppd-vm", *pic.Operator)
	assert.Equal(t, 1, p.Stats().Malformed)
	assert.Empty(t, p.Stats().Dropped, "a garbled answer does not drop the command")
}

func TestPollerRejectedPredicate(t *testing.T) {
	engineErr := errors.New("engine: ERROR")
	m := &fakeModem{answers: map[string][]string{"AT+CSQ": {"+CSQ: 20,99"}}, errs: map[string]error{"AT+CESQ": engineErr}}
	p := NewPoller(m.exec, []Query{{Cmd: "AT+CESQ", Parse: ParseCESQ}, {Cmd: "AT+CSQ", Parse: ParseCSQ}},
		func(err error) bool { return errors.Is(err, engineErr) })
	_, err := p.Poll(context.Background())
	require.NoError(t, err)
	assert.Equal(t, []string{"AT+CESQ"}, p.Stats().Dropped)
}

func TestPollerContextEnded(t *testing.T) {
	m := &fakeModem{answers: map[string][]string{"AT+CSQ": {"+CSQ: 20,99"}}}
	p := NewPoller(m.exec, Plan(FamilyGeneric), nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := p.Poll(ctx)
	require.ErrorIs(t, err, context.Canceled)
	assert.Empty(t, m.sent)
}
