package at

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/pppdial/pppdial/at/transcript"
	"github.com/pppdial/pppdial/line"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestClassify(t *testing.T) {
	cases := []struct {
		line, cmd string
		want      lineKind
	}{
		{"", "+CSQ", lineEmpty},
		{"OK", "+CSQ", lineOK},
		{"ERROR", "+CSQ", lineError},
		{"+CME ERROR: 10", "+CPIN?", lineError},
		{"+CMS ERROR: 500", "+CMGS", lineError},
		{"AT+CSQ", "+CSQ", lineEcho},
		{"+CSQ: 20,99", "+CSQ", lineInfo},
		{"RDY", "", lineURC},
		{"SMS DONE", "+CSQ", lineURC},
		{"PB DONE", "+CSQ", lineURC},
		{"+QIND: SMS DONE", "+CSQ", lineURC},
		{"^SYSSTART", "", lineURC},
		{"+CPIN: READY", "+CSQ", lineURC},
		{"+CPIN: READY", "+CPIN?", lineInfo},
		{"+CPIN: READY", `+CPIN="1234"`, lineURC},
		// Same prefix as the command: told apart by shape.
		{"+CREG: 1", "+CREG?", lineURC},
		{"+CREG: 0,1", "+CREG?", lineInfo},
		{`+CREG: 1,"1A2B","01C3D4E5",7`, "+CREG?", lineURC},
		{`+CREG: 2,1,"1A2B","01C3D4E5",7`, "+CREG?", lineInfo},
		{"+CREG: 0,1", "+CREG=2", lineURC},
		{"+CEREG: 5", "+CEREG?", lineURC},
		{"+CGREG: 0,5", "+CGREG?", lineInfo},
		{"+CREG: 0,1", "+CSQ", lineURC},
		{"CONNECT 150000000", "D*99#", lineResult},
		{"NO CARRIER", "D*99#", lineResult},
		{"3", "D*99#", lineResult},
		{"NO CARRIER", "+CSQ", lineInfo},
		{"\x01\x02garbage", "", lineJunk},
		{"Telefónica", "+COPS?", lineInfo},
	}
	for _, c := range cases {
		assert.Equal(t, c.want.String(), classify(c.line, c.cmd).String(), "%q while %q", c.line, c.cmd)
	}
}

func TestParsers(t *testing.T) {
	s, ok := parseCSQ("20,99")
	require.True(t, ok)
	assert.Equal(t, Signal{RSSI: 20, BER: 99, DBm: -73, Known: true}, s)
	s, ok = parseCSQ("99,99")
	require.True(t, ok)
	assert.False(t, s.Known)
	s, _ = parseCSQ("0,0")
	assert.Equal(t, -113, s.DBm)
	s, _ = parseCSQ("31,0")
	assert.Equal(t, -51, s.DBm)
	_, ok = parseCSQ("x")
	assert.False(t, ok)

	r, ok := parseReg(`2,1,"1A2B","01C3D4E5",7`, false)
	require.True(t, ok)
	assert.Equal(t, regInfo{stat: RegHome, act: 7}, r)
	r, ok = parseReg("5", true)
	require.True(t, ok)
	assert.Equal(t, RegRoaming, r.stat)
	assert.True(t, r.stat.Registered())
	assert.False(t, RegDenied.Registered())
	_, ok = parseReg("1", false)
	assert.False(t, ok)

	oper, act, ok := parseCOPS(`0,0,"Vodafone.de",7`)
	require.True(t, ok)
	assert.Equal(t, "Vodafone.de", oper)
	assert.Equal(t, 7, act)
	oper, act, ok = parseCOPS(`0,0,"CHINA MOBILE"`)
	require.True(t, ok)
	assert.Equal(t, "CHINA MOBILE", oper)
	assert.Equal(t, -1, act)
	assert.Equal(t, []string{"0", "0", "a,b", "7"}, fields(`0, 0,"a,b",7`))
	assert.Equal(t, "NB-IoT", AccessTechName(9))
}

func TestCMEError(t *testing.T) {
	e := parseCME(" 10")
	assert.Equal(t, &CMEError{Code: CMESIMNotInserted, Text: "SIM not inserted"}, e)
	assert.ErrorIs(t, e, ErrSIMNotInserted)
	e = parseCME("SIM not inserted")
	assert.Equal(t, CMESIMNotInserted, e.Code)
	assert.ErrorIs(t, e, ErrSIMNotInserted)
	assert.ErrorIs(t, parseCME("SIM PUK required"), ErrPUKRequired)
	assert.ErrorIs(t, parseCME("11"), ErrSIMPINRequired)
	e = parseCME("vendor says no")
	assert.Equal(t, CMEUnknownText, e.Code)
	assert.Equal(t, "+CME ERROR: vendor says no", e.Error())
	assert.Equal(t, "+CME ERROR: 126 (missing or unknown APN)", parseCME("126").Error())
	var target *CMEError
	wrapped := &StepError{Step: StepSIM, Err: errors.Join(ErrWrongPIN, parseCME("16"))}
	require.ErrorAs(t, wrapped, &target)
	assert.Equal(t, CMEIncorrectPassword, target.Code)
	assert.Equal(t, "incorrect password", CMEText(CMEIncorrectPassword))
}

func TestCMECode(t *testing.T) {
	assert.Equal(t, "SIM busy", CMESIMBusy.String())
	assert.Equal(t, "SIM busy", fmt.Sprint(CMECode(14)), "the constants carry 27.007's numbers")
	assert.Equal(t, "999", CMECode(999).String(), "a code outside the table prints its number")
	assert.Equal(t, "+CME ERROR: 999", parseCME("999").Error())
	assert.Equal(t, "unknown text", CMEUnknownText.String())
	e := parseCME("-1")
	assert.Equal(t, CMEUnknownText, e.Code, "a negative number is no code")
	assert.Equal(t, "+CME ERROR: -1", e.Error(), "and keeps its text")
	assert.Equal(t, CMEIncorrectPassword, parseCME("wrong password").Code, "a vendor spelling maps to the code")
}

// TestCMETableNamesEveryCode: every CMECode constant has its text in cmeText and every entry of
// cmeText has a constant, so the names and the one table cannot drift apart.
func TestCMETableNamesEveryCode(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "errors.go", nil, 0)
	require.NoError(t, err)
	named := map[CMECode]string{}
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST {
			continue
		}
		for _, spec := range g.Specs {
			v := spec.(*ast.ValueSpec)
			if id, ok := v.Type.(*ast.Ident); !ok || id.Name != "CMECode" {
				continue
			}
			for i, name := range v.Names {
				if name.Name == "CMEUnknownText" {
					continue
				}
				lit, ok := v.Values[i].(*ast.BasicLit)
				require.True(t, ok, name.Name)
				n, err := strconv.Atoi(lit.Value)
				require.NoError(t, err, name.Name)
				named[CMECode(n)] = name.Name
			}
		}
	}
	for c, name := range named {
		assert.NotEmpty(t, CMEText(c), "%s (%d) has no text in cmeText", name, int(c))
	}
	for c := range cmeText {
		assert.Contains(t, named, c, "cmeText's %d (%s) has no constant", int(c), cmeText[c])
	}
	assert.Len(t, named, len(cmeText))
}

func TestRedact(t *testing.T) {
	cases := map[string]string{
		`AT+CPIN="1234"` + "\r\n":          `AT+CPIN="****"` + "\r\n",
		`AT+CPIN=1234`:                     `AT+CPIN=****`,
		`AT+CPIN="12345678","4321"`:        `AT+CPIN="****","****"`,
		`at+cpin="1234"`:                   `at+cpin="****"`,
		`AT+CLCK="SC",0,"1234"`:            `AT+CLCK="SC",0,"****"`,
		`AT+CGAUTH=1,1,"user","secret"`:    `AT+CGAUTH=1,1,"user","****"`,
		`AT+QICSGP=1,1,"apn","u","p",1`:    `AT+QICSGP=1,1,"apn","u","****",1`,
		`AT+CPIN?`:                         `AT+CPIN?`,
		`AT+CSQ;+CPIN="1"` + "\r":          `AT+CSQ;+CPIN="1"` + "\r",
		"AT+CPIN=\"1234\"\r\r\nOK\r\n":     "AT+CPIN=\"****\"\r\r\nOK\r\n",
		"AT\r\nAT+CPWD=\"SC\",\"1\",\"2\"": "AT\r\nAT+CPWD=\"****\",\"****\",\"****\"",
	}
	for in, want := range cases {
		assert.Equal(t, want, redactLine(in), "%q", in)
	}
	assert.True(t, sensitivePrefix("AT+CP"))
	assert.True(t, sensitivePrefix(`AT+CPIN="12`))
	assert.False(t, sensitivePrefix("AT+CSQ"))
}

// chunkedModem answers a scripted conversation on one end of a pipe: for each expected write,
// it writes the given chunks, each once the host has taken the one before (the test runs in a
// synctest bubble).
func chunkedModem(t *testing.T, conn net.Conn, script []struct {
	expect string
	reply  []string
}) <-chan error {
	done := make(chan error, 1)
	go func() {
		var got []byte
		buf := make([]byte, 256)
		for _, st := range script {
			for !bytes.Contains(got, []byte(st.expect)) {
				n, err := conn.Read(buf)
				if err != nil {
					done <- err
					return
				}
				got = append(got, buf[:n]...)
			}
			got = nil
			for _, r := range st.reply {
				if _, err := conn.Write([]byte(r)); err != nil {
					done <- err
					return
				}
				synctest.Wait() // the host has taken this chunk: the next one is a read of its own
			}
		}
		done <- nil
	}()
	return done
}

// testPort makes l a Port for the test's life.
func testPort(t testing.TB, l line.Line) *Port {
	p := NewPort(l)
	t.Cleanup(func() { _ = p.Close() })
	return p
}

// wait returns the scripted modem's result, failing the test if it is stuck.
func wait(t *testing.T, done <-chan error) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	case <-time.After(5 * time.Second):
		t.Fatal("the scripted modem is stuck")
		return nil
	}
}

func fastCfg() Config {
	return Config{
		Guard: 10 * time.Millisecond, PollInterval: 10 * time.Millisecond,
		Timeouts: Timeouts{Wake: time.Second, WakeRetry: 100 * time.Millisecond, Command: 500 * time.Millisecond,
			SIM: time.Second, Register: time.Second, Dial: time.Second},
	}
}

// okThenATD is okScript followed by the modem's answer chunks to ATD*99***1#.
func okThenATD(reply []string) []struct {
	expect string
	reply  []string
} {
	return append(slices.Clone(okScript), struct {
		expect string
		reply  []string
	}{"ATD*99***1#\r", reply})
}

var okScript = []struct {
	expect string
	reply  []string
}{
	{"AT\r\n", []string{"\r\nOK\r\n"}},
	{"ATE0\r\n", []string{"\r\nOK\r\n"}},
	{"AT+CMEE=2\r\n", []string{"\r\nOK\r\n"}},
	{"AT+CPIN?\r\n", []string{"\r\n+CPIN: READY\r\n\r\nOK\r\n"}},
	{"AT+CSQ\r\n", []string{"\r\n+CSQ: 10,99\r\n\r\nOK\r\n"}},
	{"AT+CREG?\r\n", []string{"\r\n+CREG: 0,1\r\n\r\nOK\r\n"}},
	{"AT+CGREG?\r\n", []string{"\r\n+CGREG: 0,1\r\n\r\nOK\r\n"}},
	{"AT+CEREG?\r\n", []string{"\r\n+CEREG: 0,1\r\n\r\nOK\r\n"}},
	{"AT+COPS?\r\n", []string{"\r\n+COPS: 0,0,\"X\",7\r\n\r\nOK\r\n"}},
}

// TestConnectHandover checks every way the CONNECT line and the first PPP bytes can be cut into
// reads: the data phase must start with exactly the bytes after the line.
func TestConnectHandover(t *testing.T) {
	ppp := "~\xff}#\xc0!}!}!} }4~"
	cases := map[string][]string{
		"one read":               {"\r\nCONNECT 150000000\r\n" + ppp},
		"own reads":              {"\r\nCONNECT 150000000\r\n", ppp},
		"split word":             {"\r\nCONN", "ECT 150000000\r\n" + ppp},
		"split CR LF":            {"\r\nCONNECT 150000000\r", "\n" + ppp},
		"CR only then ppp":       {"\r\nCONNECT\r", ppp},
		"no line end before ppp": {"\r\nCONNECT 115200" + ppp},
		"byte by byte":           strings.Split("\r\nCONNECT\r\n"+ppp, ""),
		"urc first":              {"\r\n+CREG: 1\r\n", "\r\nCONNECT\r\n" + ppp},
		"echo first":             {"ATD*99***1#\r", "\r\nCONNECT\r\n" + ppp},
	}
	for name, chunks := range cases {
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				host, modem := net.Pipe()
				defer host.Close()
				defer modem.Close()
				script := okThenATD(chunks)
				done := chunkedModem(t, modem, script)
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				s, err := Dial(ctx, testPort(t, host), fastCfg())
				require.NoError(t, err)
				got := make([]byte, len(ppp))
				_, err = io.ReadFull(s.Data(), got)
				require.NoError(t, err)
				require.NoError(t, wait(t, done))
				assert.Equal(t, ppp, string(got))
				assert.True(t, strings.HasPrefix(s.Info.Connect, "CONNECT"))
			})
		})
	}
}

func TestDialResults(t *testing.T) {
	cases := map[string]error{
		"NO CARRIER":                     ErrNoCarrier,
		"BUSY":                           ErrBusy,
		"NO DIALTONE":                    ErrNoDialtone,
		"NO ANSWER":                      ErrNoAnswer,
		"ERROR":                          ErrDialFailed,
		"+CME ERROR: 30":                 nil,
		"+CME ERROR: no network service": nil,
	}
	for line, want := range cases {
		t.Run(line, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				host, modem := net.Pipe()
				defer host.Close()
				defer modem.Close()
				script := okThenATD([]string{"\r\n" + line + "\r\n"})
				done := chunkedModem(t, modem, script)
				_, err := Dial(context.Background(), testPort(t, host), fastCfg())
				require.NoError(t, wait(t, done))
				var se *StepError
				require.ErrorAs(t, err, &se)
				assert.Equal(t, StepDial, se.Step)
				if want != nil {
					assert.ErrorIs(t, err, want)
					return
				}
				var cme *CMEError
				require.ErrorAs(t, err, &cme)
				assert.Equal(t, CMENoNetworkService, cme.Code)
			})
		})
	}
}

// TestDialContextCancel: cancelling the context ends Dial promptly and leaves no goroutine.
func TestDialContextCancel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		host, modem := net.Pipe()
		defer modem.Close()
		defer host.Close()
		go func() { _, _ = io.Copy(io.Discard, modem) }() // a modem that never answers
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(100*time.Millisecond, cancel)
		start := time.Now()
		c := fastCfg()
		c.Timeouts.Wake = 10 * time.Second
		_, err := Dial(ctx, testPort(t, host), c)
		require.ErrorIs(t, err, context.Canceled)
		assert.Less(t, time.Since(start), time.Second)
	})
}

// TestPortClosedMidDial: the line going away ends Dial with an error, not a hang.
func TestPortClosedMidDial(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		host, modem := net.Pipe()
		go func() {
			b := make([]byte, 64)
			_, _ = modem.Read(b)
			_, _ = modem.Write([]byte("\r\nOK\r\n"))
			_, _ = modem.Read(b)
			modem.Close()
		}()
		_, err := Dial(context.Background(), testPort(t, host), fastCfg())
		require.Error(t, err)
		host.Close()
	})
}

// TestRecorderRoundTrip records a dial against a scripted modem and replays the recording.
func TestRecorderRoundTrip(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		host, modem := net.Pipe()
		defer host.Close()
		defer modem.Close()
		script := []struct {
			expect string
			reply  []string
		}{
			{"AT\r\n", []string{"AT\r\n", "\r\nOK\r\n"}},
			{"ATE0\r\n", []string{"ATE0\r\n\r\nOK\r\n"}},
			{"AT+CMEE=2\r\n", []string{"\r\nOK\r\n"}},
			{"AT+CFUN=1\r\n", []string{"\r\nOK\r\n"}},
			{"AT+CGDCONT=1,\"IP\",\"init apn\"\r\n", []string{"\r\nOK\r\n"}},
			{"AT+CPIN?\r\n", []string{"\r\n+CPIN: SIM PIN\r\n\r\nOK\r\n"}},
			{"AT+CPIN=\"9876\"\r\n", []string{"\r\nOK\r\n"}},
			{"AT+CPIN?\r\n", []string{"\r\n+CPIN: READY\r\n\r\nOK\r\n"}},
		}
		script = append(script, okScript[4:]...)
		script = append(script, struct {
			expect string
			reply  []string
		}{"AT+CGDCONT=1,\"IP\",\"apn\"\r\n", []string{"\r\nOK\r\n"}}, struct {
			expect string
			reply  []string
		}{"ATD*99***1#\r", []string{"\r\nCONN", "ECT 150000000\r\n~\xff}#\xc0!", "}!}!} }4~"}})
		done := chunkedModem(t, modem, script)
		var out bytes.Buffer
		rec := NewRecorder(&out, RecorderOptions{Headers: []transcript.Header{{Key: "modem", Value: "scripted"}}})
		c := fastCfg()
		c.APN, c.PIN, c.Record = "apn", "9876", rec
		// Init commands change what the dialer writes: the recording must say so, or it does not
		// replay. One of them has quotes, commas and a space.
		c.Init = []string{"+CFUN=1", `AT+CGDCONT=1,"IP","init apn"`}
		s, err := Dial(context.Background(), testPort(t, host), c)
		require.NoError(t, err)
		got := make([]byte, 15)
		_, err = io.ReadFull(s.Data(), got)
		require.NoError(t, err)
		require.NoError(t, wait(t, done))

		text := out.String()
		assert.NotContains(t, text, "9876", "the PIN never reaches the recording")
		assert.Contains(t, text, `"AT+CPIN=\"****\"\r\n"`)
		tr, err := transcript.Parse(strings.NewReader(text))
		require.NoError(t, err)
		assert.Equal(t, "ok", tr.Get("expect"))
		assert.Equal(t, "scripted", tr.Get("modem"))
		assert.Contains(t, tr.Get("config"), `init=+CFUN=1 init="AT+CGDCONT=1,\"IP\",\"init apn\""`)
		rep, err := Replay(context.Background(), tr, ReplayOptions{})
		require.NoError(t, err, "the recording replays:\n%s", text)
		assert.Equal(t, "~\xff}#\xc0!}!}!} }4~", string(rep.Data))
	})
}

func TestTranscriptParse(t *testing.T) {
	src := "# pppdial transcript v1\n# config: apn=\"my apn\" pin=****\n# expect: error busy\n" +
		"# a comment without key\n> 0.001 \"AT\\r\\n\"\n\n< 0.100 \"\\r\\nOK\\r\\n\\x7e\"\n# later comment: ignored\n"
	tr, err := transcript.Parse(strings.NewReader(src))
	require.NoError(t, err)
	assert.Equal(t, "error busy", tr.Get("expect"))
	kv, err := transcript.ParseKV(tr.Get("config"))
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"apn": "my apn", "pin": "****"}, kv)
	require.Len(t, tr.Events, 2)
	assert.Equal(t, transcript.Modem, tr.Events[1].Dir)
	assert.Equal(t, "\r\nOK\r\n~", string(tr.Events[1].Data))
	assert.Equal(t, 100*time.Millisecond, tr.Events[1].At)
	var buf bytes.Buffer
	require.NoError(t, tr.Encode(&buf))
	again, err := transcript.Parse(&buf)
	require.NoError(t, err)
	assert.Equal(t, tr.Events[1].Data, again.Events[1].Data)

	for _, bad := range []string{"x 1 \"a\"", "> a \"b\"", "> 1 b", "> 1 \"\\q\""} {
		_, err := transcript.Parse(strings.NewReader(bad))
		assert.Error(t, err, bad)
	}
}

func TestOutcome(t *testing.T) {
	assert.Equal(t, "ok", Outcome(nil))
	assert.Equal(t, "error wrong-pin", Outcome(&StepError{Step: StepSIM, Err: ErrWrongPIN}))
	assert.Equal(t, "error cme:126", Outcome(parseCME("126")))
	assert.Equal(t, "error sim-not-inserted", Outcome(parseCME("10")))
	assert.True(t, outcomeMatches("error cme", parseCME("50")))
	assert.False(t, outcomeMatches("error busy", ErrNoCarrier))
}

// dtrPipe is a line with DTR control, for the hang-up fallback.
type dtrPipe struct {
	net.Conn
	mu      sync.Mutex
	dropped bool
}

// CarrierDetect: the pipe has DTR but no DCD wire.
func (d *dtrPipe) CarrierDetect() (bool, error) { return false, line.ErrNoModemControl }

func (d *dtrPipe) SetDTR(on bool) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !on {
		d.dropped = true
	}
	return nil
}

// TestHangupFallsBackToDTR: a modem that ignores "+++" (and takes ATH only once DTR dropped
// ended the call) is hung up through DTR, within the bound.
func TestHangupFallsBackToDTR(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		host, modem := net.Pipe()
		defer host.Close()
		defer modem.Close()
		line := &dtrPipe{Conn: host}
		go func() {
			b := make([]byte, 64)
			for {
				n, err := modem.Read(b)
				if err != nil {
					return
				}
				if bytes.Contains(b[:n], []byte("ATH")) {
					line.mu.Lock()
					dropped := line.dropped
					line.mu.Unlock()
					if dropped {
						_, _ = modem.Write([]byte("\r\nOK\r\n"))
					} else {
						_, _ = modem.Write([]byte("~\xff}#~")) // still in data mode: PPP, no OK
					}
				}
			}
		}()
		port := testPort(t, line)
		start := time.Now()
		err := Hangup(context.Background(), port, HangupOptions{Guard: 10 * time.Millisecond, Answer: 100 * time.Millisecond})
		require.NoError(t, err)
		assert.True(t, line.dropped)
		assert.Less(t, time.Since(start), time.Second)

		// Without DTR the same modem cannot be hung up: a typed error, still bounded.
		start = time.Now()
		line.dropped = false
		err = Hangup(context.Background(), port, HangupOptions{Guard: 10 * time.Millisecond, Answer: 100 * time.Millisecond, NoDTR: true})
		require.ErrorIs(t, err, ErrHangupFailed)
		assert.Less(t, time.Since(start), time.Second)
	})
}

// TestDialConnectLost: ATD is answered by PPP frames without a CONNECT before them (the line
// lost it). Dial ends at once with ErrConnectLost and hangs the call up (escape, ATH), instead
// of waiting the dial timeout (an hour here) for an answer that cannot come.
func TestDialConnectLost(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		host, modem := net.Pipe()
		defer host.Close()
		defer modem.Close()
		lcp := "~\xff}#\xc0!}!}!} }4~"
		script := append(append([]struct {
			expect string
			reply  []string
		}{}, okScript...), []struct {
			expect string
			reply  []string
		}{
			{"ATD*99***1#\r", []string{lcp, lcp}},
			{"+++", nil},
			{"ATH\r\n", []string{"\r\nOK\r\n"}},
		}...)
		done := chunkedModem(t, modem, script)
		cfg := fastCfg()
		cfg.Timeouts.Dial = time.Hour
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, err := Dial(ctx, testPort(t, host), cfg)
		require.ErrorIs(t, err, ErrConnectLost)
		assert.NoError(t, ctx.Err(), "ended by the frames, not by the test's deadline")
		var se *StepError
		require.ErrorAs(t, err, &se)
		assert.Equal(t, StepDial, se.Step)
		require.NoError(t, wait(t, done), "the call was hung up: +++ then ATH")
	})
}
