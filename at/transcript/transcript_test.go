package transcript

import (
	"bytes"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestDialConfigRoundTrip: what String writes, ParseDialConfig reads back the same, including
// Init commands with quotes, commas and spaces, which a comma-separated list could not carry.
func TestDialConfigRoundTrip(t *testing.T) {
	for _, c := range []DialConfig{
		{},
		{APN: "internet"},
		{APN: "my apn", PIN: "****", PDP: "IPV4V6", CID: 3, Dial: "*99#",
			Init: []string{"+CFUN=1", `+CGDCONT=1,"IP","a b"`, "&D2"}, Reg: []string{"+CEREG", "+CGREG"},
			QueryMTU: true, Poll: 50 * time.Millisecond, Guard: 20 * time.Millisecond, Wake: 600 * time.Millisecond,
			WakeRetry: 100 * time.Millisecond, Command: time.Second, SIM: 3 * time.Second,
			Register: 300 * time.Millisecond, DialTimeout: 2 * time.Second},
		{APN: "internet", Identity: true},
	} {
		s := c.String()
		got, err := ParseDialConfig(s)
		require.NoError(t, err, s)
		assert.Equal(t, c, got, s)
	}
	assert.Equal(t, `apn=internet init=+CFUN=1 init="+CGDCONT=1,\"IP\",\"x\""`,
		DialConfig{APN: "internet", Init: []string{"+CFUN=1", `+CGDCONT=1,"IP","x"`}}.String())

	assert.Equal(t, "apn=x query-mtu=on", DialConfig{APN: "x", QueryMTU: true}.String())
	off, err := ParseDialConfig("query-mtu=off")
	require.NoError(t, err)
	assert.False(t, off.QueryMTU)

	for _, bad := range []string{"apn", "colour=blue", "cid=x", "guard=1", `apn="open`, "query-mtu=yes", "identity=yes"} {
		_, err := ParseDialConfig(bad)
		assert.Error(t, err, bad)
	}
}

// TestWriterRoundTrip: a transcript written event by event parses back as written.
func TestWriterRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf)
	require.NoError(t, w.Header(Header{Key: "config", Value: DialConfig{APN: "x", Init: []string{"E1 V1"}}.String()}))
	require.NoError(t, w.Header(Header{Key: "expect", Value: "ok"}))
	evs := []Event{
		{Dir: Host, At: 0, Data: []byte("AT\r\n")},
		{Dir: Modem, At: 12 * time.Millisecond, Data: []byte("\r\nOK\r\n\x7e\x00\xff\"\\")},
	}
	for _, ev := range evs {
		require.NoError(t, w.Event(ev))
	}
	assert.True(t, bytes.HasPrefix(buf.Bytes(), []byte(Magic+"\n")))
	tr, err := Parse(&buf)
	require.NoError(t, err)
	assert.Equal(t, "ok", tr.Get("expect"))
	c, err := ParseDialConfig(tr.Get("config"))
	require.NoError(t, err)
	assert.Equal(t, []string{"E1 V1"}, c.Init)
	require.Len(t, tr.Events, 2)
	for i := range evs {
		assert.Equal(t, evs[i].Dir, tr.Events[i].Dir)
		assert.Equal(t, evs[i].Data, tr.Events[i].Data)
		assert.Equal(t, evs[i].At, tr.Events[i].At)
	}
}
