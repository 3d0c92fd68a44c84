package main

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pppdial/pppdial"
	"github.com/pppdial/pppdial/ppp"
)

func TestReportIPv6(t *testing.T) {
	t.Parallel()
	var out, errOut bytes.Buffer
	r := newReporter(&out, &errOut, true)
	r.event(pppdial.Event{Kind: pppdial.EventIPv6Up, Ifname: "pp0",
		Status:   ppp.Status{LocalV6: netip.MustParseAddr("fe80::1:2:3:4"), PeerV6: netip.MustParseAddr("fe80::9")},
		GlobalV6: []netip.Prefix{netip.MustParsePrefix("2001:db8:1:0:1:2:3:4/64")},
		DNSV6:    []netip.Addr{netip.MustParseAddr("fe80::9")}})
	var j map[string]any
	require.NoError(t, json.Unmarshal(out.Bytes(), &j))
	assert.Equal(t, "ipv6-up", j["event"])
	assert.Equal(t, "fe80::1:2:3:4", j["local"])
	assert.Equal(t, []any{"2001:db8:1:0:1:2:3:4/64"}, j["global"])
	assert.Equal(t, []any{"fe80::9"}, j["dns"])
	assert.Contains(t, errOut.String(), "global 2001:db8:1:0:1:2:3:4/64 dns fe80::9")

	out.Reset()
	errOut.Reset()
	r.event(pppdial.Event{Kind: pppdial.EventIPv6Up, Ifname: "pp0", Detail: "no Router Advertisement: link-local only",
		Status: ppp.Status{LocalV6: netip.MustParseAddr("fe80::1:2:3:4")}})
	assert.Contains(t, errOut.String(), "global no Router Advertisement: link-local only")
	require.NoError(t, json.Unmarshal(out.Bytes(), &j))
	assert.Equal(t, "no Router Advertisement: link-local only", j["detail"])

	errOut.Reset()
	r.event(pppdial.Event{Kind: pppdial.EventProgress, Step: pppdial.StepIPv6, Done: true,
		Detail: "IPv6 refused by the network (IPV6CP finished); IPv4 only"})
	assert.Contains(t, errOut.String(), "IPv6")
	assert.Contains(t, errOut.String(), "IPv6 refused by the network (IPV6CP finished); IPv4 only")
}
