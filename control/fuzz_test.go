package control

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"testing"
)

// FuzzParseRequest feeds request lines from a client to the parser and to the server's handling
// of a line: any input gets a Response that encodes as one JSON line; an accepted request keeps
// to the limits and survives a round trip through its own encoding.
func FuzzParseRequest(f *testing.F) {
	for _, s := range []string{
		`{"op":"status"}`, `{"op":"status","ifname":"pp0"}`, `{"op":"list"}`, `{"op":"redial","ifname":"pp1"}`,
		`{"op":"at","ifname":"pp0","cmds":["AT+CSQ","ATI"]}`, `{"op":"at","cmds":["AT\r\nATH"]}`,
		`{"op":"at","cmds":[]}`, `{"op":"status","ifname":".."}`, `{"op":"status"} x`, `not json`, ``,
		`{"op":"status","cmds":null,"extra":{"a":[1,2,3]}}`, `{"op":"at","cmds":["\u00e9"]}`,
	} {
		f.Add([]byte(s))
	}
	s := NewServer(Options{})
	at := func(context.Context, string) ([]string, error) { return []string{"OK?"}, nil }
	if err := s.Add("pp0", Handlers{Status: func(context.Context) Status { return Status{State: "up"} }, AT: at,
		Redial: func(context.Context) error { return errors.New("busy dialing") }}); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		// The line reader under a small limit: lines come out whole, without their newline,
		// or the reader stops with ErrTooLarge or the end of input.
		r := bufio.NewReaderSize(bytes.NewReader(line), 16)
		for {
			l, err := readLine(r, 64)
			if err != nil {
				if !errors.Is(err, ErrTooLarge) && !errors.Is(err, io.EOF) {
					t.Fatalf("readLine: %v", err)
				}
				break
			}
			if len(l) >= 64 || bytes.IndexByte(l, '\n') >= 0 {
				t.Fatalf("readLine gave %q", l)
			}
		}

		req, err := ParseRequest(line)
		resp := s.handle(context.Background(), line)
		b, merr := json.Marshal(resp)
		if merr != nil {
			t.Fatalf("response does not encode: %v", merr)
		}
		for _, c := range b {
			if c == '\n' {
				t.Fatalf("response spans lines: %q", b)
			}
		}
		if err != nil {
			if !errors.Is(err, ErrBadRequest) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("error %v is neither bad request nor too large", err)
			}
			if resp.OK || resp.Code == "" {
				t.Fatalf("refused request answered %+v", resp)
			}
			return
		}
		if len(req.Cmds) > MaxATCommands || CheckIfname(req.Ifname, true) != nil {
			t.Fatalf("accepted beyond the limits: %+v", req)
		}
		for _, c := range req.Cmds {
			for i := 0; i < len(c); i++ {
				if c[i] < 0x20 || c[i] > 0x7e {
					t.Fatalf("accepted a control byte in %q", c)
				}
			}
		}
		again, err := json.Marshal(req)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ParseRequest(again); err != nil {
			t.Fatalf("re-encoded request %s refused: %v", again, err)
		}
	})
}
