package control

import (
	"context"
	"testing"
)

// BenchmarkParseRequest is the server's parse of one at request line.
func BenchmarkParseRequest(b *testing.B) {
	line := []byte(`{"op":"at","ifname":"pp0","cmds":["AT+CSQ","AT+COPS?","AT+CREG?"]}`)
	b.SetBytes(int64(len(line)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseRequest(line); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkStatusRoundTrip is one `pppdial status` request on an open connection over the real
// unix socket: encode, write, parse, answer, decode.
func BenchmarkStatusRoundTrip(b *testing.B) {
	s := NewServer(Options{})
	link := &fakeLink{status: Status{State: "up", Up: true}}
	if err := s.Add("pp0", link.handlers()); err != nil {
		b.Fatal(err)
	}
	path := b.TempDir() + "/pp0.sock"
	ln, err := Listen(path)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	defer func() { cancel(); <-done }()
	c, err := Dial(ctx, path)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Status(ctx, ""); err != nil {
			b.Fatal(err)
		}
	}
}
