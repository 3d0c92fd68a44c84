package at

import (
	"bufio"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pppdial/pppdial/internal/serialline"
)

// TestRawHandsTheLineOverAndBack: after AT+CMUX's OK the multiplexer's bytes reach the raw line
// untouched (a NO CARRIER among them is payload, not a hang-up), and closing the raw line gives
// the Port back to the AT engine.
func TestRawHandsTheLineOverAndBack(t *testing.T) {
	host, modem := serialline.Pipe(serialline.Options{})
	defer modem.Close()
	p := NewPort(host)
	defer p.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	// The modem: answers each command with OK; AT+CMUX's OK comes with the multiplexer's first
	// bytes right behind it.
	cmds := make(chan string, 8)
	go func() {
		r := bufio.NewReader(modem)
		for {
			s, err := r.ReadString('\r')
			if err != nil {
				return
			}
			cmd := strings.TrimSpace(s)
			cmds <- cmd
			ok := "\r\nOK\r\n"
			if cmd == "AT+CMUX=0" {
				// At once, in the same write as the OK: it must not be taken for text.
				ok += "\xf9\x03\x73\x01\r\nNO CARRIER\r\n\xf9"
			}
			if _, err := modem.Write([]byte(ok)); err != nil {
				return
			}
		}
	}()

	_, err := p.Exec(ctx, "+CMUX=0", time.Second)
	require.NoError(t, err)
	assert.Equal(t, "AT+CMUX=0", <-cmds)
	raw, err := p.Raw(ctx)
	require.NoError(t, err)
	again, err := p.Raw(ctx)
	require.NoError(t, err)
	assert.Same(t, raw, again, "one raw line at a time")

	want := "\xf9\x03\x73\x01\r\nNO CARRIER\r\n\xf9"
	got := make([]byte, 0, len(want))
	buf := make([]byte, 64)
	require.NoError(t, raw.SetReadDeadline(time.Now().Add(5*time.Second)))
	for !strings.HasSuffix(string(got), want) && len(got) < 2*len(want) {
		n, err := raw.Read(buf)
		require.NoError(t, err, "a NO CARRIER inside the multiplexer's stream does not end a raw line")
		got = append(got, buf[:n]...)
	}
	// What is left of the OK line's end may come first; nothing else.
	assert.Equal(t, want, strings.TrimLeft(string(got), "\r\n"))

	require.NoError(t, raw.Close())
	_, err = raw.Read(buf)
	assert.Error(t, err, "a closed raw line reads nothing")
	_, err = p.Exec(ctx, "", time.Second)
	require.NoError(t, err, "the AT engine has the line again")
	assert.Equal(t, "AT", <-cmds)
}
