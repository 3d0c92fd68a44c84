package at

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Real answers to AT+CGCONTRDP, as modems print them (from vendor manuals and the bug trackers
// and sources of ModemManager, Zephyr/nRF Connect, Pycom and mbed OS). They are the seed corpus
// of FuzzCGCONTRDP too.
var (
	// Sequans Monarch (Pycom GPy) on Vodafone NB-IoT: every field up to <IPv4_MTU>, the flags
	// left empty.
	cgcontrdpSequans = []string{`+CGCONTRDP: 1,5,"spe.inetd.vodafone.nbiot.mnc028.mcc901.gprs","10.175.213.177.255.255.255.255","","10.105.16.254","10.105.144.254","","",,,1430`}
	// Nordic nRF91: no bearer id, the MTU after four empty fields.
	cgcontrdpNRF91 = []string{`+CGCONTRDP: 0,,"internet","","","10.0.0.1","10.0.0.2",,,,,1028`}
	// nRF91 with an IPv4V6 context: the IPv4 line, then the IPv6 one.
	cgcontrdpNRF91Dual = []string{
		`+CGCONTRDP: 0,,"example.com","","","198.176.154.230","12.34.56.78",,,,,1464`,
		`+CGCONTRDP: 0,,"example.com","","","1111:2222:3:FFF::55","1111:2222:3:FFF::55",,,,,1464`,
	}
	// Quectel RM520N-GL: quoted, no field after the DNS servers.
	cgcontrdpRM520N = []string{`+CGCONTRDP: 1,5,"SMARTLTE","10.148.167.210",,"10.151.151.44","10.151.151.48"`}
	// Quectel RG501Q-EU (SDX55 firmware): the same, unquoted.
	cgcontrdpRG501Q = []string{`+CGCONTRDP: 1,5,SMARTLTE,10.167.105.28,,10.151.151.44,10.151.151.48`}
	// A Huawei/Telecom Italia line from ModemManager: address and mask in one field, up to the
	// IM CN flag.
	cgcontrdpTIM = []string{`+CGCONTRDP: 4,5,"ibox.tim.it.mnc001.mcc222.gprs","2.197.17.49.255.255.255.255","2.197.17.49","10.207.43.46","10.206.56.132","0.0.0.0","0.0.0.0",0`}
	// A SIMCom answer: empty strings for what it lacks, up to <LIPA_indication>.
	cgcontrdpSIMCom = []string{`+CGCONTRDP: 1,5,"test.MNC002.MCC255.GPRS","10.36.130.148","","10.97.52.68","10.97.52.76","","",0,0`}
	// WNC M14A2A (AT&T): unquoted, address and mask together, trailing empty P-CSCFs.
	cgcontrdpWNC = []string{`+CGCONTRDP: 1,5,"m2m.com.attz.mnc170.mcc310.gprs",10.192.234.63.255.255.255.128,10.192.234.1,8.8.8.8,8.8.4.4,,,`}
	// The pre-v9.4.0 layout: the subnet mask a field of its own, so the MTU one further.
	cgcontrdpLegacy = []string{`+CGCONTRDP: 1,5,"internet","10.1.2.3","255.255.255.0","10.1.2.1","8.8.8.8","8.8.4.4","","",0,0,1400`}
	// A u-blox-style answer with every field of 27.007 Rel-14, an MTU of 1358.
	cgcontrdpFull = []string{`+CGCONTRDP: 1,5,"iot.example","100.64.1.2.255.255.255.255","","100.64.0.1","100.64.0.2","","",0,0,1358,0,0,0,0,0,0`}
	// An MTU field that is not a number, and one below any IPv4 link's (68).
	cgcontrdpBadMTU = []string{`+CGCONTRDP: 1,5,"a","10.0.0.1","","","","","",0,0,x`, `+CGCONTRDP: 2,6,"b","10.0.0.2","","","","","",0,0,40`}
)

func TestParseCGCONTRDP(t *testing.T) {
	for _, tc := range []struct {
		name  string
		lines []string
		want  []ContextParams
	}{
		{"sequans", cgcontrdpSequans, []ContextParams{{CID: 1, BearerID: 5, APN: "spe.inetd.vodafone.nbiot.mnc028.mcc901.gprs", MTU: 1430}}},
		{"nrf91", cgcontrdpNRF91, []ContextParams{{CID: 0, BearerID: -1, APN: "internet", MTU: 1028}}},
		{"nrf91 ipv4v6", cgcontrdpNRF91Dual, []ContextParams{
			{CID: 0, BearerID: -1, APN: "example.com", MTU: 1464}, {CID: 0, BearerID: -1, APN: "example.com", MTU: 1464}}},
		{"rm520n", cgcontrdpRM520N, []ContextParams{{CID: 1, BearerID: 5, APN: "SMARTLTE"}}},
		{"rg501q unquoted", cgcontrdpRG501Q, []ContextParams{{CID: 1, BearerID: 5, APN: "SMARTLTE"}}},
		{"tim", cgcontrdpTIM, []ContextParams{{CID: 4, BearerID: 5, APN: "ibox.tim.it.mnc001.mcc222.gprs"}}},
		{"simcom", cgcontrdpSIMCom, []ContextParams{{CID: 1, BearerID: 5, APN: "test.MNC002.MCC255.GPRS"}}},
		{"wnc", cgcontrdpWNC, []ContextParams{{CID: 1, BearerID: 5, APN: "m2m.com.attz.mnc170.mcc310.gprs"}}},
		{"legacy mask", cgcontrdpLegacy, []ContextParams{{CID: 1, BearerID: 5, APN: "internet", MTU: 1400, LegacyMask: true}}},
		{"rel-14", cgcontrdpFull, []ContextParams{{CID: 1, BearerID: 5, APN: "iot.example", MTU: 1358}}},
		{"bad mtu", cgcontrdpBadMTU, []ContextParams{{CID: 1, BearerID: 5, APN: "a"}, {CID: 2, BearerID: 6, APN: "b"}}},
		{"no context", nil, nil},
		{"urc in between", []string{`+CEREG: 1`, cgcontrdpNRF91[0]}, []ContextParams{{CID: 0, BearerID: -1, APN: "internet", MTU: 1028}}},
		{"minimal", []string{`+CGCONTRDP: 3,5,""`}, []ContextParams{{CID: 3, BearerID: 5}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseCGCONTRDP(tc.lines)
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
	for _, bad := range [][]string{
		{`+CGCONTRDP: 1,5`}, {`+CGCONTRDP: x,5,"a"`}, {`+CGCONTRDP: -1,5,"a"`}, {`+CGCONTRDP:`},
		{cgcontrdpNRF91[0], `+CGCONTRDP: 1`},
	} {
		got, err := ParseCGCONTRDP(bad)
		assert.ErrorIs(t, err, ErrMalformed, "%q", bad)
		assert.Nil(t, got)
	}
}

func TestContextMTU(t *testing.T) {
	for _, tc := range []struct {
		name  string
		lines []string
		cid   int
		apn   string
		want  int
		why   string // the error's text, when no MTU
	}{
		{"reported", cgcontrdpSequans, 1, "", 1430, ""},
		{"operator suffix", cgcontrdpSequans, 1, "SPE.inetd.vodafone.nbiot", 1430, ""},
		{"other apn", cgcontrdpSequans, 1, "internet", 0, `active with APN "spe.inetd.vodafone.nbiot.mnc028.mcc901.gprs", not "internet"`},
		{"other cid", cgcontrdpSequans, 2, "", 0, "context 2 is not active"},
		{"field left out", cgcontrdpRM520N, 1, "SMARTLTE", 0, "no <IPv4_MTU>"},
		{"no answer line", nil, 1, "", 0, "context 1 is not active"},
		{"ipv4v6", []string{
			`+CGCONTRDP: 1,5,"a","10.0.0.1","","","","","",0,0,1500`,
			`+CGCONTRDP: 1,5,"a","254.128.0.0.0.0.0.0.0.0.0.0.0.0.0.1","","","","","",0,0,1400`,
		}, 1, "a", 1400, ""},
		{"malformed", []string{`+CGCONTRDP: 1`}, 1, "", 0, "malformed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := contextMTU(tc.lines, tc.cid, tc.apn)
			assert.Equal(t, tc.want, got)
			if tc.why == "" {
				assert.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, ErrNoContextMTU)
			assert.Contains(t, err.Error(), tc.why)
		})
	}
}

func TestNetmask(t *testing.T) {
	for s, want := range map[string]bool{
		"255.255.255.0": true, "255.255.255.255": true, "255.0.0.0": true, "255.255.0.255": false,
		"10.1.2.1": false, "0.0.0.0": false, "255.255.255": false, "255.255.255.256": false,
		"255.255.255.255.255.255.255.255.0.0.0.0.0.0.0.0": true, "255.255.255.+0": false,
	} {
		assert.Equal(t, want, netmask(s), s)
	}
}

// FuzzCGCONTRDP feeds arbitrary answers to the parser and the MTU pick: no panic; an error
// wraps ErrMalformed (ErrNoContextMTU for the pick) and comes with nothing; every MTU is one an
// IPv4 link can have; the pick is the smallest MTU of the context's lines.
func FuzzCGCONTRDP(f *testing.F) {
	for _, s := range [][]string{cgcontrdpSequans, cgcontrdpNRF91, cgcontrdpNRF91Dual, cgcontrdpRM520N,
		cgcontrdpRG501Q, cgcontrdpTIM, cgcontrdpSIMCom, cgcontrdpWNC, cgcontrdpLegacy, cgcontrdpFull, cgcontrdpBadMTU} {
		f.Add(strings.Join(s, "\n"), 1, "internet")
	}
	f.Fuzz(func(t *testing.T, in string, cid int, apn string) {
		lines := strings.Split(in, "\n")
		params, err := ParseCGCONTRDP(lines)
		if err != nil {
			if !errors.Is(err, ErrMalformed) || params != nil {
				t.Fatalf("error %v with %+v", err, params)
			}
		}
		smallest := 0
		for _, p := range params {
			if p.CID < 0 || p.BearerID < -1 || (p.MTU != 0 && (p.MTU < 68 || p.MTU > 65535)) {
				t.Fatalf("%+v", p)
			}
			if p.CID == cid && p.MTU > 0 && (smallest == 0 || p.MTU < smallest) {
				smallest = p.MTU
			}
		}
		mtu, err := contextMTU(lines, cid, apn)
		switch {
		case err != nil && (!errors.Is(err, ErrNoContextMTU) || mtu != 0):
			t.Fatalf("error %v with MTU %d", err, mtu)
		case err == nil && mtu != smallest:
			t.Fatalf("MTU %d, the context's smallest is %d", mtu, smallest)
		}
	})
}
