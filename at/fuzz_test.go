package at

import (
	"bytes"
	"io"
	"strings"
	"testing"

	"github.com/pppdial/pppdial/at/transcript"
)

// FuzzClassify feeds arbitrary modem lines, with arbitrary pending commands, to the line
// classifier and the answer parsers: nothing may panic, and a line is never both the command's
// answer and unsolicited.
func FuzzClassify(f *testing.F) {
	for _, s := range [][2]string{
		{"+CREG: 0,1", "+CREG?"}, {"+CREG: 1", "+CREG?"}, {`+CEREG: 2,1,"A1B2","01A2B3C4",7`, "+CEREG?"},
		{"+CPIN: SIM PIN", "+CPIN?"}, {"+CME ERROR: incorrect password", `+CPIN="1234"`},
		{"+CSQ: 99,99", "+CSQ"}, {`+COPS: 0,0,"Telia S",7`, "+COPS?"}, {"CONNECT 150000000", "D*99#"},
		{"RDY", ""}, {`+QIND: "csq",24,99`, "+CSQ"}, {"NO CARRIER", "D*99***1#"}, {"+CREG: ,", "+CREG?"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, line, cmd string) {
		k := classify(line, cmd)
		if k == lineURC && isAnswer(strings.TrimSpace(line), cmd) {
			t.Fatalf("%q is both URC and answer to %q", line, cmd)
		}
		for _, v := range []string{line, strings.TrimPrefix(line, "+CSQ:")} {
			parseCSQ(v)
			parseReg(v, true)
			parseReg(v, false)
			parseCOPS(v)
			if e := parseCME(v); e.Code >= 0 && e.Text == "" && CMEText(e.Code) != "" {
				t.Fatalf("code %d lost its text", e.Code)
			}
		}
		if r := redactLine(line); redactLine(r) != r {
			t.Fatalf("redaction not idempotent: %q -> %q -> %q", line, r, redactLine(r))
		}
		sensitivePrefix(line)
	})
}

// bufferedPort is a Port whose buffer holds in and whose line has ended: no reader goroutine,
// so a test may drive the parsers directly.
func bufferedPort(in []byte) *Port {
	return &Port{changed: make(chan struct{}), buf: append([]byte(nil), in...)}
}

// FuzzDialAnswer feeds arbitrary bytes as the modem's answer to ATD to the command-mode line
// splitter, as the gate does while a dial waits. It must not panic; when it cuts a CONNECT line,
// the Port is in data mode and the data line yields exactly the input's tail after that line
// (possibly less one '\n' of a split CR LF), untouched.
func FuzzDialAnswer(f *testing.F) {
	f.Add([]byte("\r\nCONNECT 150000000\r\n~\xff}#\xc0!~"))
	f.Add([]byte("ATD*99***1#\r\r\nNO CARRIER\r\n"))
	f.Add([]byte("\r\n+CREG: 1\r\n\r\nCONNECT\r~"))
	f.Add([]byte("\r\nCONNECT 115200~\xff"))
	f.Add([]byte("\r\n+CME ERROR: 30\r\n"))
	f.Add([]byte("\r\nBUSY\r\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		p := bufferedPort(in)
		var connect string
		for i := 0; i <= len(in) && p.data == nil; i++ {
			line, ok := p.nextTextLocked(nil, true)
			if !ok {
				break
			}
			connect = line
		}
		if p.data == nil {
			return
		}
		if !strings.HasPrefix(connect, "CONNECT") {
			t.Fatalf("connected with %q", connect)
		}
		p.err = io.EOF // the line ends after the input
		var got []byte
		b := make([]byte, 64)
		for {
			n, err := p.data.Read(b)
			got = append(got, b[:n]...)
			if err != nil {
				break
			}
		}
		if !bytes.HasSuffix(in, got) {
			t.Fatalf("data %q is not the input's tail (%q)", got, in)
		}
		if head := in[:len(in)-len(got)]; !bytes.Contains(head, []byte("CONNECT")) && !bytes.Contains(head, []byte("1")) {
			t.Fatalf("connected without a CONNECT (or V0 \"1\") line before the data: %q", head)
		}
	})
}

// FuzzTextLines feeds arbitrary bytes to the command-phase line splitter (PPP frames skipped,
// overlong junk dropped): it must not panic, must consume, and lines never hold CR, LF or 0x7e.
func FuzzTextLines(f *testing.F) {
	f.Add([]byte("\r\nOK\r\n"))
	f.Add([]byte("~\xff}#\xc0!}!}!} }4~\r\nOK\r\n"))
	f.Add([]byte("AT\r\r\nOK\r\n+CSQ: 1"))
	f.Add(bytes.Repeat([]byte("x"), 2000))
	f.Fuzz(func(t *testing.T, in []byte) {
		p := bufferedPort(in)
		var saw bool
		for i := 0; i <= len(in); i++ {
			before := len(p.buf)
			line, ok := p.nextTextLocked(&saw, false)
			if !ok {
				break
			}
			if strings.ContainsAny(line, "\r\n\x7e") {
				t.Fatalf("line %q", line)
			}
			if len(p.buf) >= before {
				t.Fatal("no progress")
			}
		}
	})
}

// FuzzTranscript parses arbitrary transcript files; what parses must encode and parse back the
// same.
func FuzzTranscript(f *testing.F) {
	f.Add("# expect: ok\n> 0.000 \"AT\\r\\n\"\n< 0.010 \"\\r\\nOK\\r\\n\"\n")
	f.Add("# config: apn=\"a b\" pin=****\n< 1 \"\\x7e\\xff\"\n")
	f.Fuzz(func(t *testing.T, src string) {
		tr, err := transcript.Parse(strings.NewReader(src))
		if err != nil {
			return
		}
		for _, h := range tr.Headers {
			_, _ = transcript.ParseKV(h.Value)
		}
		var buf bytes.Buffer
		if err := tr.Encode(&buf); err != nil {
			t.Fatal(err)
		}
		again, err := transcript.Parse(&buf)
		if err != nil {
			t.Fatalf("re-parse: %v\n%s", err, buf.String())
		}
		if len(again.Events) != len(tr.Events) {
			t.Fatalf("%d events became %d", len(tr.Events), len(again.Events))
		}
		for i := range tr.Events {
			if !bytes.Equal(tr.Events[i].Data, again.Events[i].Data) || tr.Events[i].Dir != again.Events[i].Dir {
				t.Fatalf("event %d changed", i)
			}
		}
	})
}

// TestRedactInvalidUTF8 is the case strings.ToUpper would break: bytes that are not UTF-8 before
// the command.
func TestRedactInvalidUTF8(t *testing.T) {
	in := "\xff\xfe" + `AT+CPIN="1234"`
	if got := redactLine(in); got != "\xff\xfe"+`AT+CPIN="****"` {
		t.Fatalf("%q", got)
	}
}
