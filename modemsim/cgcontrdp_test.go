package modemsim_test

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pppdial/pppdial/at"
	"github.com/pppdial/pppdial/internal/serialline"
	"github.com/pppdial/pppdial/modemsim"
)

// readUntil reads r until what it read ends with end, within d.
func readUntil(t *testing.T, r io.Reader, end string, d time.Duration) string {
	t.Helper()
	got := make(chan []byte, 1)
	go func() {
		var all []byte
		b := make([]byte, 256)
		for !bytes.HasSuffix(all, []byte(end)) {
			n, err := r.Read(b)
			all = append(all, b[:n]...)
			if err != nil {
				break
			}
		}
		got <- all
	}()
	select {
	case b := <-got:
		return string(b)
	case <-time.After(d):
		t.Fatalf("no %q within %v", end, d)
		return ""
	}
}

// mtuSteps collects the finished "mtu" steps of a dial.
func mtuSteps(c *at.Config) *[]at.Event {
	var steps []at.Event
	c.OnEvent = func(p at.Event) {
		if p.Kind != at.EventProgress {
			return
		}
		if p.Step == at.StepMTU && p.Done {
			steps = append(steps, p)
		}
	}
	return &steps
}

// TestCGCONTRDPDuringTheCall: a context has its dynamic parameters while a call runs on it,
// the MTU among them when the profile reports one; before the call AT+CGCONTRDP=1 is refused,
// and the dial's MTU step says so without failing.
func TestCGCONTRDPDuringTheCall(t *testing.T) {
	p := fast(modemsim.EC25())
	p.ContextMTU = 1400
	r := newRig(t, p, greeter)
	c := cfg()
	c.QueryMTU = true
	steps := mtuSteps(&c)
	s, err := r.dial(t, c)
	require.NoError(t, err)
	require.Len(t, *steps, 1)
	assert.NoError(t, (*steps)[0].Err)
	assert.Equal(t, "not reported (AT+CGCONTRDP=1: +CME ERROR: 3 (operation not allowed))", (*steps)[0].Detail)
	assert.Zero(t, s.Info.MTU)

	readN(t, s.Data(), len(lcpConfReq), 2*time.Second)
	time.Sleep(2 * guard) // the escape's guard time: real time is what the modem measures
	_, err = s.Data().Write([]byte("+++"))
	require.NoError(t, err)
	assert.Equal(t, "\r\nOK\r\n", string(readN(t, s.Data(), 6, time.Second)))
	_, err = s.Data().Write([]byte("AT+CGCONTRDP=1\r"))
	require.NoError(t, err)
	answer := readUntil(t, s.Data(), "\r\nOK\r\n", time.Second)
	params, err := at.ParseCGCONTRDP(strings.Split(answer, "\r\n"))
	require.NoError(t, err)
	assert.Equal(t, []at.ContextParams{{CID: 1, BearerID: 5, APN: "internet.mnc001.mcc001.gprs", MTU: 1400}}, params)
	_, err = s.Data().Write([]byte("AT+CGCONTRDP=2\r"))
	require.NoError(t, err)
	assert.Equal(t, "\r\n+CME ERROR: operation not allowed\r\n", readUntil(t, s.Data(), "allowed\r\n", time.Second))
}

// TestCGCONTRDPDefaultBearer: an LTE modem whose attach activated context 1 answers before ATD:
// the dial reads the MTU into Info; one that leaves the field out says so.
func TestCGCONTRDPDefaultBearer(t *testing.T) {
	for _, tc := range []struct {
		mtu    int
		detail string
	}{
		{1358, "1358 (AT+CGCONTRDP=1)"},
		{0, "not reported (AT+CGCONTRDP=1: the modem reports no MTU for the context: the answer has no <IPv4_MTU>)"},
	} {
		p := fast(modemsim.SARAR5())
		p.DefaultBearer, p.ContextMTU = true, tc.mtu
		r := newRig(t, p, greeter)
		c := cfg()
		c.QueryMTU = true
		steps := mtuSteps(&c)
		s, err := r.dial(t, c)
		require.NoError(t, err)
		require.Len(t, *steps, 1)
		assert.Equal(t, tc.detail, (*steps)[0].Detail)
		assert.Equal(t, tc.mtu, s.Info.MTU)
		cmds := r.m.Commands()
		assert.Equal(t, []string{"AT+CGCONTRDP=1", "ATD*99***1#"}, cmds[len(cmds)-2:], "asked right before ATD")
	}
}

// TestStartBaud: a modem left at another speed answers only there.
func TestStartBaud(t *testing.T) {
	p := fast(modemsim.EC25())
	p.StartBaud = 921600
	host, dev := serialline.Pipe(serialline.Options{Baud: 115200})
	m := modemsim.New(p, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Serve(ctx, dev) }()
	port := at.NewPort(host)
	defer func() {
		cancel()
		<-done
		port.Close()
		dev.Close()
	}()
	require.Eventually(t, func() bool { return dev.Baud() == 921600 }, 5*time.Second, time.Millisecond,
		"Serve sets the speed as it starts")
	ectx, ecancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer ecancel()
	_, err := port.Exec(ectx, "", 300*time.Millisecond)
	require.ErrorIs(t, err, at.ErrCommandTimeout, "no answer at 115200")
	require.NoError(t, host.SetBaud(921600))
	// The banner reached the host garbled; its echo takes it along as a line of junk.
	_, err = port.Exec(ectx, "E0", time.Second)
	require.NoError(t, err)
	info, err := port.Exec(ectx, "+IPR?", time.Second)
	require.NoError(t, err)
	assert.Equal(t, []string{"+IPR: 921600"}, info)
}
