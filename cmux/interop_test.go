package cmux_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pppdial/pppdial/cmux"
	"github.com/pppdial/pppdial/internal/peers"
	"github.com/pppdial/pppdial/line"
	"github.com/pppdial/pppdial/ppp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// chat sends cmd (with CR) on l and reads until one of want appears, or timeout. It returns
// what was read. A tiny inline exchange: the AT engine lives in package at.
func chat(l line.Line, cmd string, timeout time.Duration, want ...string) (string, error) {
	if cmd != "" {
		// Drop what an earlier, timed-out exchange left (a late OK would pass for ours).
		drain := make([]byte, 256)
		for {
			_ = l.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
			if _, err := l.Read(drain); err != nil {
				break
			}
		}
		if _, err := l.Write([]byte(cmd + "\r")); err != nil {
			return "", err
		}
	}
	deadline := time.Now().Add(timeout)
	var got []byte
	buf := make([]byte, 512)
	defer l.SetReadDeadline(time.Time{})
	for {
		for _, w := range want {
			if bytes.Contains(got, []byte(w)) {
				return string(got), nil
			}
		}
		if err := l.SetReadDeadline(deadline); err != nil {
			return string(got), err
		}
		n, err := l.Read(buf)
		got = append(got, buf[:n]...)
		if err != nil {
			return string(got), fmt.Errorf("%q: waiting for %q: %w", cmd, want, err)
		}
	}
}

// atUntilOK sends AT until the modem answers OK: the first command after the line changed
// hands (a fresh DLC, the end of CMUX) may be lost.
func atUntilOK(t *testing.T, l line.Line, what string) {
	t.Helper()
	for range 20 {
		if _, err := chat(l, "AT", 2*time.Second, "OK\r\n"); err == nil {
			return
		} else if !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("%s: AT: %v", what, err)
		}
	}
	t.Fatalf("%s: no OK to AT after 20 tries", what)
}

func mustChat(t *testing.T, l line.Line, cmd string, timeout time.Duration, want ...string) string {
	t.Helper()
	got, err := chat(l, cmd, timeout, want...)
	require.NoError(t, err, "got %q", got)
	return got
}

// TestInteropNGSM runs the host side against the Linux kernel's n_gsm as the modem
// (pppd-vm --modem): at N1 31, 127 and 1500 in turn on one VM, our PPP client (ppp.Conn) to
// IPCP up with pppd on DLC 2 while AT on DLC 1 keeps answering, Ping, and Close back to AT mode; then a multiplexer left open by a "crashed"
// host is found and closed with the recovery sequence.
func TestInteropNGSM(t *testing.T) {
	if testing.Short() {
		t.Skip("boots a VM")
	}
	vm := peers.PPPDVM(t, peers.OptModem)
	port := vm.Port
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	atUntilOK(t, port, "plain line")
	mustChat(t, port, "ATE0", 3*time.Second, "OK\r\n")

	for i, n1 := range []int{31, 127, 1500} {
		t.Run(fmt.Sprintf("N1=%d", n1), func(t *testing.T) {
			cmd, err := cmux.Command(115200, n1, cmux.Quirks{})
			require.NoError(t, err)
			mustChat(t, port, cmd, 5*time.Second, "OK\r\n")
			// Generous timers: the VM is emulated (TCG) on a shared machine, and gsmmux takes
			// the line a moment after its OK.
			mux := cmux.New(port, cmux.Config{N1: n1, T1: time.Second, T2: 2 * time.Second, N2: 5})
			defer func() { _ = mux.Close(ctx) }()
			require.NoError(t, mux.Open(ctx))
			_, err = vm.WaitConsoleMatch(ctx, regexp.MustCompile(fmt.Sprintf("CMUX-START n1=%d ", n1)))
			require.NoError(t, err)

			at, err := mux.OpenChannel(ctx, 1)
			require.NoError(t, err)
			data, err := mux.OpenChannel(ctx, 2)
			require.NoError(t, err)

			atUntilOK(t, at, "DLC 1")
			// A command longer than N1 (31: split across frames; 1500: one frame with a
			// two-octet length, 300 = 0x12C) reaches the modem whole, and its echo (a fresh
			// DLC echoes) comes back from n_gsm in frames of up to N1: it answers ERROR.
			long := "AT+X" + strings.Repeat("Y", 296)
			echo := mustChat(t, at, long, 10*time.Second, "ERROR\r\n")
			assert.Contains(t, echo, long, "the modem's echo")
			mustChat(t, at, "ATE0", 5*time.Second, "OK\r\n")
			assert.Contains(t, mustChat(t, at, "AT+CSQ", 5*time.Second, "OK\r\n"), "+CSQ: 20,99")

			atUntilOK(t, data, "DLC 2")
			got := mustChat(t, data, "ATD*99#", 10*time.Second, "CONNECT")
			t.Logf("DLC 2: %q", got)
			// pppd now speaks on DLC 2: run our PPP client there, unchanged, to IPCP up.
			conn := ppp.NewConn(data, ppp.Config{Role: ppp.Client})
			conn.Start(ctx)
			upCtx, cancelUp := context.WithTimeout(ctx, time.Minute)
			st, err := conn.WaitUp(upCtx)
			cancelUp()
			require.NoError(t, err, "PPP on DLC 2: Conn.Err=%v", conn.Err())
			assert.Equal(t, "10.0.0.2", st.Local.String())
			_, err = vm.WaitConsoleMatch(ctx, regexp.MustCompile(`local\s+IP address 10\.0\.0\.1`))
			require.NoError(t, err)

			// With PPP up on DLC 2, DLC 1 still answers.
			before := strings.Count(vm.ConsoleLog(), "<- AT+CSQ")
			assert.Contains(t, mustChat(t, at, "AT+CSQ", 5*time.Second, "OK\r\n"), "+CSQ: 20,99")
			assert.Greater(t, strings.Count(vm.ConsoleLog(), "<- AT+CSQ"), before)
			assert.Regexp(t, `(?s)local\s+IP address 10\.0\.0\.1.*MODEM\[dlc /dev/gsmtty1\] <- AT\+CSQ`, vm.ConsoleLog())
			assert.True(t, conn.Status().IPv4, "the link is still up")

			// LCP Terminate on DLC 2: pppd ends, the DLC's modem says NO CARRIER.
			pppCtx, cancelPPP := context.WithTimeout(ctx, 10*time.Second)
			require.NoError(t, conn.Close(pppCtx))
			cancelPPP()
			mustChat(t, data, "", 10*time.Second, "NO CARRIER")

			rtt, err := mux.Ping(ctx)
			require.NoError(t, err)
			t.Logf("N1=%d: ping %v", n1, rtt)

			s := mux.Stats()
			t.Logf("N1=%d: stats %+v", n1, s)
			assert.Zero(t, s.Decoder.BadFCS)
			assert.Zero(t, s.Decoder.Oversize)
			assert.Zero(t, s.Dropped)

			closeCtx, cancelClose := context.WithTimeout(ctx, 10*time.Second)
			defer cancelClose()
			// n_gsm leaves CMUX on CLD without answering it (see closeDown): unconfirmed is fine.
			begin := time.Now()
			err = mux.Close(closeCtx)
			t.Logf("N1=%d: Close: %v in %v", n1, err, time.Since(begin).Round(time.Millisecond))
			if err != nil {
				require.ErrorIs(t, err, cmux.ErrCloseUnconfirmed)
			}
			require.NoError(t, vm.WaitConsoleCount(ctx, "CMUX-END", i+1))
			_, err = at.Read(make([]byte, 1))
			assert.ErrorIs(t, err, os.ErrClosed)

			atUntilOK(t, port, "after CMUX")
		})
	}

	t.Run("left open", func(t *testing.T) {
		// A host that dies with the multiplexer open: SABM on DLC 0 and DLC 1, then nothing.
		mustChat(t, port, "AT+CMUX=0,0,5,127", 5*time.Second, "OK\r\n")
		var raw []byte
		dec := cmux.NewDecoder(127)
		for _, dlci := range []uint8{0, 1} {
			sabm, err := cmux.AppendFrame(nil, cmux.Frame{DLCI: dlci, CR: true, Type: cmux.SABM, PF: true})
			require.NoError(t, err)
			ua := false
			for try := 0; try < 10 && !ua; try++ {
				_, err := port.Write(sabm)
				require.NoError(t, err)
				require.NoError(t, port.SetReadDeadline(time.Now().Add(500*time.Millisecond)))
				b := make([]byte, 64)
				for !ua {
					n, err := port.Read(b)
					raw = append(raw, b[:n]...)
					dec.Feed(b[:n])
					for f, ok := dec.Next(); ok; f, ok = dec.Next() {
						ua = ua || (f.Type == cmux.UA && f.DLCI == dlci)
					}
					if err != nil {
						break
					}
				}
			}
			require.True(t, ua, "no UA from n_gsm to SABM on DLC %d: %x", dlci, raw)
		}
		assert.True(t, cmux.LooksLikeCMUX(raw), "n_gsm's answers: %x", raw)
		require.NoError(t, port.SetReadDeadline(time.Time{}))
		_, err := vm.WaitConsoleMatch(ctx, regexp.MustCompile(`gsmmux: /dev/gsmtty1 open`))
		require.NoError(t, err)
		assert.False(t, cmux.LooksLikeCMUX([]byte("\r\nOK\r\n")))

		// The next run finds the modem deaf to AT and sends the close sequence.
		got, err := chat(port, "AT", time.Second, "OK\r\n")
		require.ErrorIs(t, err, os.ErrDeadlineExceeded, "a modem in CMUX does not answer plain AT: %q", got)
		require.NoError(t, cmux.SendCloseSequence(ctx, port))
		require.NoError(t, vm.WaitConsoleCount(ctx, "CMUX-END", 4))
		atUntilOK(t, port, "after recovery")
	})
}
