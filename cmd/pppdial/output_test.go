package main

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pppdial/pppdial"
)

// TestReportMissedEvents: an event after a gap says, in JSON and on stderr, how many events the
// output lost; the others carry no "missed" field (their lines do not change).
func TestReportMissedEvents(t *testing.T) {
	var out, errOut bytes.Buffer
	r := newReporter(&out, &errOut, true)
	r.event(pppdial.Event{Kind: pppdial.EventRedial, Ifname: "pp0", Attempt: 2, Delay: time.Second})
	assert.NotContains(t, out.String(), "missed")
	assert.NotContains(t, errOut.String(), "not shown")

	out.Reset()
	r.event(pppdial.Event{Kind: pppdial.EventRedial, Ifname: "pp0", Attempt: 3, Delay: time.Second, Missed: 7})
	var j map[string]any
	require.NoError(t, json.Unmarshal(out.Bytes(), &j))
	assert.Equal(t, "redial", j["event"])
	assert.Equal(t, float64(7), j["missed"])
	assert.Contains(t, errOut.String(), "(7 events not shown: the output fell behind)")
}
