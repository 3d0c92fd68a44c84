package modemsim_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pppdial/pppdial/at"
	"github.com/pppdial/pppdial/internal/serialline"
	"github.com/pppdial/pppdial/line"
	"github.com/pppdial/pppdial/modemsim"
)

// term is the host's end of a line to the modem, spoken byte by byte as a terminal would:
// every read is bounded by a read deadline, so nothing here needs a goroutine of its own.
type term struct {
	t    *testing.T
	l    line.Line
	rest string // read past what the last expect wanted
}

// serveRaw serves m on one end of a pipe with serve (m.Serve or m.ServeAT) and returns a
// terminal on the other; the test's end stops it.
func serveRaw(t *testing.T, m *modemsim.Modem, serve func(context.Context, line.Line) error) *term {
	t.Helper()
	host, dev := serialline.Pipe(serialline.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serve(ctx, dev) }()
	t.Cleanup(func() {
		cancel()
		err := <-done
		assert.True(t, err == nil || errors.Is(err, context.Canceled), "serve: %v", err)
		host.Close()
		dev.Close()
	})
	return &term{t: t, l: host}
}

// expect reads until what arrived contains want, within d, and returns what arrived up to and
// including it.
func (r *term) expect(want string, d time.Duration) string {
	r.t.Helper()
	require.NoError(r.t, r.l.SetReadDeadline(time.Now().Add(d)))
	defer func() { _ = r.l.SetReadDeadline(time.Time{}) }()
	b := make([]byte, 256)
	for !strings.Contains(r.rest, want) {
		n, err := r.l.Read(b)
		r.rest += string(b[:n])
		if err != nil && !strings.Contains(r.rest, want) {
			r.t.Fatalf("no %q within %v (%v); got %q", want, d, err, r.rest)
		}
	}
	i := strings.Index(r.rest, want) + len(want)
	got := r.rest[:i]
	r.rest = r.rest[i:]
	return got
}

// quiet returns what arrives within d (the wait is what is under test: virtual time).
func (r *term) quiet(d time.Duration) string {
	r.t.Helper()
	require.NoError(r.t, r.l.SetReadDeadline(time.Now().Add(d)))
	defer func() { _ = r.l.SetReadDeadline(time.Time{}) }()
	b := make([]byte, 256)
	for {
		n, err := r.l.Read(b)
		r.rest += string(b[:n])
		if err != nil {
			require.ErrorIs(r.t, err, os.ErrDeadlineExceeded)
			got := r.rest
			r.rest = ""
			return got
		}
	}
}

// send writes a command line.
func (r *term) send(cmd string) {
	r.t.Helper()
	_, err := r.l.Write([]byte(cmd + "\r"))
	require.NoError(r.t, err)
}

// cmd sends a command and returns its answer up to and including the final OK.
func (r *term) cmd(cmd string) string {
	r.t.Helper()
	r.send(cmd)
	return r.expect("\r\nOK\r\n", time.Second)
}

// booted waits for the end of the EC25's banner.
func (r *term) booted(d time.Duration) string {
	r.t.Helper()
	return r.expect("+QIND: SMS DONE\r\n", d)
}

// TestRadioOffAndOn: AT+CFUN=0 deregisters the modem (every registration query says so, a dial
// gets NO CARRIER); AT+CFUN=1 makes it search, then register again.
func TestRadioOffAndOn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := fast(modemsim.EC25())
		m := modemsim.New(p, greeter)
		r := serveRaw(t, m, m.Serve)
		r.booted(time.Second)
		assert.Contains(t, r.cmd("AT+CREG?"), "+CREG: 0,1\r\n")
		assert.Contains(t, r.cmd("AT+CFUN?"), "+CFUN: 1\r\n")

		r.cmd("AT+CFUN=0")
		assert.Contains(t, r.cmd("AT+CFUN?"), "+CFUN: 0\r\n")
		assert.Contains(t, r.cmd("AT+CREG?"), "+CREG: 0,0\r\n", "not registered, not searching")
		assert.Contains(t, r.cmd("AT+CEREG?"), "+CEREG: 0,0\r\n")
		assert.Contains(t, r.cmd("AT+CGATT?"), "+CGATT: 0\r\n")
		assert.Contains(t, r.cmd("AT+COPS?"), "+COPS: 0\r\n", "no operator")
		r.send("ATD*99#")
		assert.Contains(t, r.expect("NO CARRIER\r\n", time.Second), "ATD*99#", "a dial with the radio off fails")
		assert.Equal(t, 0, m.Stats().Connects)

		// The radio on again: the modem searches for the profile's registration delay, then is home.
		r.cmd("AT+CFUN=1")
		assert.Equal(t, 1, m.Stats().RadioCycles)
		assert.Contains(t, r.cmd("AT+CFUN?"), "+CFUN: 1\r\n")
		assert.Contains(t, r.cmd("AT+CREG?"), "+CREG: 0,1\r\n")
		r.cmd("AT+CFUN=1")
		assert.Equal(t, 1, m.Stats().RadioCycles, "AT+CFUN=1 with the radio on is no cycle")

		// A dial through the dialer connects once the radio is back.
		host := r.l
		r.cmd("AT+CFUN=4")
		assert.Contains(t, r.cmd("AT+CREG?"), "+CREG: 0,0\r\n", "4 is radio off too")
		r.cmd("AT+CFUN=1")
		port := at.NewPort(host)
		defer port.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		s, err := at.Dial(ctx, port, cfg())
		require.NoError(t, err)
		assert.Equal(t, at.RegHome, s.Info.Registration)
		assert.Equal(t, 2, m.Stats().RadioCycles)
	})
}

// TestRadioOnRegistersAfterTheDelay: after AT+CFUN=1 the modem searches (stat 2) for its
// registration delay before it is registered, as after power-on.
func TestRadioOnRegistersAfterTheDelay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := fast(modemsim.EC25())
		p.RegistrationDelay = time.Second
		m := modemsim.New(p, nil)
		r := serveRaw(t, m, m.Serve)
		r.booted(time.Second)
		r.cmd("AT+CREG=1")
		assert.Equal(t, "\r\n+CREG: 1\r\n", r.expect("+CREG: 1\r\n", 2*time.Second), "registered after boot")
		r.cmd("AT+CFUN=0")
		r.cmd("AT+CFUN=1")
		assert.Contains(t, r.cmd("AT+CREG?"), "+CREG: 1,2\r\n", "searching again")
		assert.Equal(t, "\r\n+CREG: 1\r\n", r.expect("+CREG: 1\r\n", 2*time.Second), "the URC says it registered")
		assert.Contains(t, r.cmd("AT+CREG?"), "+CREG: 1,1\r\n")
		assert.Contains(t, r.cmd("AT+CFUN=?"), "+CFUN: (0,1,4),(0-1)")
		r.send("AT+CFUN=7")
		assert.Contains(t, r.expect("ERROR\r\n", time.Second), "AT+CFUN=7")
	})
}

// TestRebootCFUN11: AT+CFUN=1,1 answers OK, then the modem reboots: deaf for its boot time
// (commands sent then are lost), its banner, and it answers again with the radio on.
func TestRebootCFUN11(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := fast(modemsim.EC25())
		p.BootDelay = 800 * time.Millisecond
		m := modemsim.New(p, nil)
		var reboots atomic.Int32
		m.OnReboot = func() { reboots.Add(1) }
		r := serveRaw(t, m, m.Serve)
		r.booted(2 * time.Second)
		r.cmd("AT+CFUN=0")
		r.cmd("ATE0") // echo off: the reboot must turn it back on
		assert.Equal(t, "\r\nOK\r\n", r.cmd("AT"))

		assert.Equal(t, "\r\nOK\r\n", r.cmd("AT+CFUN=1,1"))
		assert.Equal(t, 1, m.Stats().Reboots)
		time.Sleep(50 * time.Millisecond) // the modem goes down a moment after its OK
		r.send("AT")
		assert.Empty(t, r.quiet(700*time.Millisecond), "deaf while it boots")
		banner := r.booted(time.Second)
		assert.True(t, strings.HasPrefix(banner, "\r\nRDY\r\n"), "boot URCs: %q", banner)
		assert.Contains(t, banner, "+CPIN: READY")
		assert.Empty(t, r.quiet(200*time.Millisecond), "the AT sent while deaf is never answered")
		assert.Equal(t, int32(1), reboots.Load())

		assert.Equal(t, "AT\r\r\nOK\r\n", r.cmd("AT"), "echo is back on after the reboot")
		assert.Contains(t, r.cmd("AT+CFUN?"), "+CFUN: 1\r\n", "the reboot turned the radio on")
		assert.Contains(t, r.cmd("AT+CREG?"), "+CREG: 0,1\r\n")
	})
}

// TestResetDuringACall: a pulse on the reset line ends the call without a word and reboots the
// modem (at least 500 ms deaf, then its banner); it is back in command mode and dials again.
func TestResetDuringACall(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := fast(modemsim.EC25())
		m := modemsim.New(p, greeter)
		r := serveRaw(t, m, m.Serve)
		r.booted(time.Second)
		r.send("ATD*99#")
		r.expect(p.ConnectText+"\r\n", time.Second)
		r.expect(string(lcpConfReq), time.Second)

		m.Reset()
		assert.Equal(t, 1, m.Stats().Resets)
		r.send("AT") // data while the call was up would be echoed; now nothing answers
		assert.Empty(t, r.quiet(450*time.Millisecond), "no NO CARRIER, no echo, no answer: deaf")
		banner := r.booted(time.Second)
		assert.True(t, strings.HasPrefix(banner, "\r\nRDY\r\n"), "boot URCs: %q", banner)
		assert.Zero(t, m.Stats().CarrierDrops, "a reset is no carrier drop")
		r.send("ATD*99#")
		r.expect(p.ConnectText+"\r\n", time.Second)
		assert.Equal(t, 2, m.Stats().Connects)
	})
}

// TestSetRegistrationURCs: the network moving the modem reaches each line with its +CREG/+CEREG
// URCs on: n=2 with location (lac, ci, AcT) while registered, none while searching; n=1 the state
// alone; SetRegistration(-1) gives the profile's state back.
func TestSetRegistrationURCs(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := modemsim.New(fast(modemsim.EC25()), nil)
		r := serveRaw(t, m, m.Serve)
		r.booted(time.Second)
		r.cmd("AT+CREG=2")
		r.cmd("AT+CEREG=2")
		assert.Contains(t, r.cmd("AT+CREG?"), "+CREG: 2,1,\"1A2B\",\"01C3D4E5\",7\r\n")

		m.SetRegistration(5)
		got := r.expect("+CEREG: 5,\"1A2B\",\"01C3D4E5\",7\r\n", time.Second)
		assert.Contains(t, got, "+CREG: 5,\"1A2B\",\"01C3D4E5\",7\r\n")
		assert.NotContains(t, got, "+CGREG", "its URCs are off")
		assert.Contains(t, r.cmd("AT+CEREG?"), "+CEREG: 2,5,\"1A2B\",\"01C3D4E5\",7\r\n")
		assert.Contains(t, r.cmd("AT+COPS?"), `+COPS: 0,0,"Telekom.de",7`, "roaming is registered")

		m.SetRegistration(2)
		got = r.expect("+CEREG: 2\r\n", time.Second)
		assert.Contains(t, got, "+CREG: 2\r\n", "searching: no location")
		r.send("ATD*99#")
		r.expect("NO CARRIER\r\n", time.Second)

		r.cmd("AT+CREG=1")
		r.cmd("AT+CEREG=0")
		m.SetRegistration(-1)
		assert.Equal(t, "\r\n+CREG: 1\r\n", r.expect("+CREG: 1\r\n", time.Second), "the profile's state, n=1: no location")
		assert.Empty(t, r.quiet(100*time.Millisecond), "+CEREG URCs are off")
	})
}

// TestRegLocationWithoutAcT: a GSM modem (SIM800) reports lac and ci but no AcT.
func TestRegLocationWithoutAcT(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := modemsim.New(fast(modemsim.SIM800()), nil)
		r := serveRaw(t, m, m.Serve)
		r.expect("SMS Ready\r\n", time.Second)
		r.cmd("AT+CREG=2")
		assert.Contains(t, r.cmd("AT+CREG?"), "+CREG: 2,1,\"1A2B\",\"01C3D4E5\"\r\n")
		m.SetRegistration(1)
		assert.Equal(t, "\r\n+CREG: 1,\"1A2B\",\"01C3D4E5\"\r\n", r.expect("E5\"\r\n", time.Second))
	})
}

// TestDropCarrier: the network losing the call is NO CARRIER on the line; the modem is back in
// command mode and the next dial connects.
func TestDropCarrier(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, fast(modemsim.SIM7600()), greeter)
		s, err := r.dial(t, cfg())
		require.NoError(t, err)
		assert.Equal(t, lcpConfReq, readN(t, s.Data(), len(lcpConfReq), 2*time.Second))
		r.m.DropCarrier()
		assert.Equal(t, []byte("\r\nNO CARRIER\r\n"), readN(t, s.Data(), 14, 2*time.Second))
		assert.Equal(t, 1, r.m.Stats().CarrierDrops)
		s2, err := r.dial(t, cfg())
		require.NoError(t, err, "back in command mode: ATD works")
		assert.Equal(t, lcpConfReq, readN(t, s2.Data(), len(lcpConfReq), 2*time.Second))
		assert.Equal(t, 2, r.m.Stats().Connects)
	})
}

// TestServeATBesideTheCall: a second AT port of the same modem answers at once (up, SIM ready,
// registered) while the first carries the call; the network's URCs reach the AT port and not the
// call, and a carrier drop there reaches the first.
func TestServeATBesideTheCall(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, fast(modemsim.EC25()), greeter)
		s, err := r.dial(t, cfg())
		require.NoError(t, err)
		assert.Equal(t, lcpConfReq, readN(t, s.Data(), len(lcpConfReq), 2*time.Second))

		a := serveRaw(t, r.m, r.m.ServeAT)
		assert.Equal(t, "AT\r\r\nOK\r\n", a.cmd("AT"), "no boot: it answers at once, with the profile's echo")
		assert.Contains(t, a.cmd("AT+CPIN?"), "+CPIN: READY")
		assert.Contains(t, a.cmd("AT+CSQ"), "+CSQ: 24,99")
		a.cmd("ATE0")
		a.cmd("AT+CEREG=1")
		r.m.SetRegistration(5)
		assert.Equal(t, "\r\n+CEREG: 5\r\n", a.expect("+CEREG: 5\r\n", time.Second))

		// The call runs on: the data line carries the peer's bytes, no URC among them.
		_, err = s.Data().Write([]byte("ping"))
		require.NoError(t, err)
		assert.Equal(t, []byte("ping"), readN(t, s.Data(), 4, time.Second))

		r.m.DropCarrier()
		assert.Equal(t, []byte("\r\nNO CARRIER\r\n"), readN(t, s.Data(), 14, 2*time.Second))
		assert.Empty(t, a.quiet(100*time.Millisecond), "no call on the AT port: nothing to drop")
		assert.Contains(t, a.cmd("AT+CEREG?"), "+CEREG: 1,5\r\n", "still roaming")
	})
}

// TestLateStart: the host's bytes sent before the PPP server started are lost; after it they
// reach it.
func TestLateStart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, fast(modemsim.EC25()), modemsim.LateStart(300*time.Millisecond, modemsim.Loopback))
		s, err := r.dial(t, cfg())
		require.NoError(t, err)
		_, err = s.Data().Write([]byte("lost"))
		require.NoError(t, err)
		time.Sleep(400 * time.Millisecond) // the server's start is what is under test (virtual time)
		_, err = s.Data().Write([]byte("kept"))
		require.NoError(t, err)
		assert.Equal(t, []byte("kept"), readN(t, s.Data(), 4, time.Second))
	})
}

// TestProfileDefaults: New fills in what a profile leaves out, and Profile says so.
func TestProfileDefaults(t *testing.T) {
	p := modemsim.New(modemsim.Profile{Name: "bare"}, nil).Profile()
	assert.Equal(t, "bare", p.Name)
	assert.Equal(t, time.Second, p.GuardTime)
	assert.Equal(t, 3, p.PINAttempts)
	assert.Equal(t, "CONNECT", p.ConnectText)
	want := modemsim.EC25()
	want.PINAttempts = 3 // the one default a family profile leaves to New
	assert.Equal(t, want, modemsim.New(modemsim.EC25(), nil).Profile(), "a family's profile is kept as is")
}
