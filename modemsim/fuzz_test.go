package modemsim

import (
	"context"
	"log/slog"
	"testing"
)

// FuzzCommandLine feeds arbitrary host bytes to the command interpreter in every SIM state:
// it must not panic.
func FuzzCommandLine(f *testing.F) {
	for _, s := range []string{
		"AT\r", "ATE0\r\n", "AT+CPIN=\"1234\"\r", "AT+CPIN=\"12345678\",\"1\"\r", "AT+CREG=2;+CREG?\r",
		"AT+CGDCONT=1,\"IP\",\"internet\"\r", "ATD*99***1#\r", "AT+CMEE=2\r", "ATS0=0;S7?\r", "\xffAT\xfe+C\r",
		"at+cops?\r", "ATZ&F&D2\r", "AT+CGDCONT=\r", "AT+\"\r", "ATI\r", "ATH\r", "ATO\r", "AT+IPR=921600\r", "AT+IPR?;+CIMI\r",
		"AT+CGCONTRDP=1\r", "AT+CGDCONT=1,\"IP\",\"a\";+CGCONTRDP\r", "AT+CGCONTRDP=?\r", "AT+CGCONTRDP=99\r",
	} {
		f.Add([]byte(s), uint8(0))
	}
	f.Fuzz(func(t *testing.T, in []byte, mode uint8) {
		p := SIM7600()
		p.PIN = "1234"
		p.NoSIM = mode&1 != 0
		p.NoCEREG = mode&2 != 0
		if mode&8 != 0 {
			p.DefaultBearer, p.ContextMTU = true, 1400
		}
		m := New(p, nil)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		s := &session{
			m: m, p: m.prof, ctx: ctx, log: slog.New(slog.DiscardHandler),
			out: make(chan chunk, 2*len(in)+16), fire: make(chan func()), stop: make(chan struct{}),
			echo: true, booted: true, regMode: map[string]int{}, pdp: map[int]string{}, apn: map[int]string{},
			locked: mode&4 != 0, attempts: 3,
		}
		defer close(s.stop)
		defer func() {
			s.tmu.Lock()
			for _, tm := range s.timers {
				tm.Stop()
			}
			s.tmu.Unlock()
		}()
		s.onCommandBytes(in)
	})
}
