package apn

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// brief renders candidates as "apn user (providers)" lines, "default" for the network default.
func brief(cands []Candidate) []string {
	var out []string
	for _, c := range cands {
		s := c.APN
		if c.Default {
			s = "default"
		}
		if c.Username != "" {
			s += " " + c.Username
		}
		if len(c.Providers) > 0 {
			s += " (" + strings.Join(c.Providers, ", ") + ")"
		}
		out = append(out, s)
	}
	return out
}

func TestLookupRealNetworks(t *testing.T) {
	tests := []struct {
		name, imsi string
		network    string // Network.String()
		want       []string
	}{
		{
			// 16 providers: the APN five of them list comes first; "splns357", also listed by
			// five, follows because Amaysim ("internet") comes before Apex Telecom in the database.
			name: "AU Optus, most common APN first", imsi: "505021234567890",
			network: "505/02 (au: Amaysim, Apex Telecom, Beagle, BLiNK, Dodo, Escape Net, Exetel, Highway1, iiNet, Internode, iPrimus, Optus, TPG Mobile, Smelly Black Dog, Virgin Mobile, Westnet)",
			want: []string{
				"internet (Amaysim, Exetel, Optus, TPG Mobile, Westnet)",
				"splns357 (Apex Telecom, Beagle, Escape Net, Highway1, Smelly Black Dog)",
				"YesINTERNET (Exetel, Optus, TPG Mobile, Westnet)",
				"connect (BLiNK, Optus)",
				"splns888a1 (BLiNK)", "WirelessBroadband (Dodo)", "DODOLNS1 (Dodo)", "exetel1 (Exetel)",
				"iinet (iiNet)", "internode (Internode)", "splns333a1 (Internode)", "primuslns1 (iPrimus)",
				"connectcap (Optus)", "preconnect (Optus)", "VirginInternet guest (Virgin Mobile)",
				"VirginBroadband (Virgin Mobile)", "default",
			},
		},
		{
			// Orange, Prixtel and TeleCoop list the same APN and credentials: one candidate.
			name: "FR Orange, shared APN deduplicated", imsi: "208011234567890",
			network: "208/01 (fr: Orange, Prixtel, TEN, TeleCoop, AIF)",
			want: []string{
				"orange orange (Orange, Prixtel, TeleCoop)", "orange.fr (Orange)", "internet-entreprise (Orange)",
				"orange-mib mportail (Orange)", "orange.ie (Orange)", "sl2sfr (Prixtel)", "ao.fr orange (TEN)",
				"ofnew.fr orange (TEN)", "DATAPRO (AIF)", "default",
			},
		},
		{
			// The same APN with other credentials is another candidate (FONIC's user).
			name: "DE O2, same APN other user kept apart", imsi: "262071234567890",
			network: "262/07 (de: O2, Tchibo-Mobil, FONIC, Alice, Netzclub)",
			want: []string{
				"pinternet.interkom.de (O2, Netzclub)", "internet (O2)", "surfo2 (O2)", "webmobil1 (Tchibo-Mobil)",
				"pinternet.interkom.de fonic (FONIC)", "internet.partner1 (Alice)", "default",
			},
		},
		{
			// E-Plus is the primary (wholesale) provider: first among equals, though fourth in
			// the database.
			name: "DE E-Plus, primary provider first", imsi: "262031234567890",
			network: "262/03 (de: E-Plus, AldiTalk/MedionMobile, blau.de, simyo Internet)",
			want: []string{
				"internet.eplus.de eplus (E-Plus, AldiTalk/MedionMobile)", "internet.eplus.de blau (blau.de)",
				"tagesflat.eplus.de blau (blau.de)", "internet.eplus.de simyo (simyo Internet)", "default",
			},
		},
		{
			name: "UK O2, one APN per provider, database order", imsi: "234101234567890",
			network: "234/10 (gb: O2, giffgaff, Tesco Mobile)",
			want: []string{
				"mobile.o2.co.uk o2web (O2)", "mobile.o2.co.uk faster (O2)", "payandgo.o2.co.uk payandgo (O2)",
				"idata.o2.co.uk vertigo (O2)", "m-bb.o2.co.uk o2bb (O2)", "giffgaff.com giffgaff (giffgaff)",
				"prepay.tesco-mobile.com tescowap (Tesco Mobile)", "default",
			},
		},
		{
			// A 3-digit MNC; AT&T's APNs have the combined usage "mms-internet-hipri".
			name: "US AT&T, 3-digit MNC", imsi: "310410123456789",
			network: "310/410 (us: AT&T, AweSIM, Straight Talk)",
			want: []string{
				"NXTGENPHONE (AT&T, AweSIM)", "ENHANCEDPHONE (AT&T)", "NRPHONE (AT&T)", "broadband (AT&T)",
				"RESELLER (AT&T)", "att.mvno (Straight Talk)", "tfdata (Straight Talk)", "default",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, cands, err := Lookup(tt.imsi)
			require.NoError(t, err)
			assert.Equal(t, tt.network, n.String())
			assert.Equal(t, tt.want, brief(cands))
			last := cands[len(cands)-1]
			assert.True(t, last.Default, "the network default comes last")
			assert.Empty(t, last.APN)
		})
	}
}

// The IMSI does not say how long its MNC is: 3 digits are tried first, then 2.
func TestLookupMNCLength(t *testing.T) {
	tests := []struct {
		imsi, mcc, mnc, provider string
	}{
		{"722341234567890", "722", "341", "Personal"}, // AR: 722/341 listed
		{"722340123456789", "722", "340", "Arnet"},    // AR: 722/340 listed, another provider than 722/34
		{"722349123456789", "722", "34", "Personal"},  // AR: 722/349 not listed, 722/34 is
		{"405800123456789", "405", "800", "AIRCEL"},   // IN: 3-digit MNCs beside 2-digit ones
		{"405511234567890", "405", "51", "Airtel"},    // IN: 405/511 not listed, 405/51 is
		{"208011234567890", "208", "01", "Orange"},    // FR: 2-digit country, 208/011 not listed
		{"208260123456789", "208", "260", "Simplus"},  // FR: the database lists both 208/26 and 208/260
	}
	for _, tt := range tests {
		t.Run(tt.imsi[:6], func(t *testing.T) {
			n, _, err := Lookup(tt.imsi)
			require.NoError(t, err)
			assert.Equal(t, tt.mcc, n.MCC)
			assert.Equal(t, tt.mnc, n.MNC)
			assert.Equal(t, tt.provider, n.Providers[0])
		})
	}
}

func TestLookupUnknownNetwork(t *testing.T) {
	n, cands, err := Lookup("001010123456789") // the test network, as pppd-vm --modem answers
	require.Error(t, err)
	assert.True(t, errors.Is(err, ErrUnknownNetwork))
	var une *UnknownNetworkError
	require.True(t, errors.As(err, &une))
	assert.Equal(t, UnknownNetworkError{MCC: "001", MNC2: "01", MNC3: "010"}, *une)
	assert.Equal(t, "apn: network 001/01 (or 001/010) is not in mobile-broadband-provider-info 20230416-1: "+
		"the modem's stored context will be used", err.Error())
	assert.Nil(t, cands, "no candidate: not even the network default, the stored context is used")
	assert.Equal(t, "001", n.MCC)
}

func TestLookupInvalidIMSI(t *testing.T) {
	tests := []struct{ imsi, msg string }{
		{"", "apn: invalid IMSI: 0 characters, want 15 digits"},
		{"23410123456789", "apn: invalid IMSI: 14 characters, want 15 digits"},
		{"2341012345678901", "apn: invalid IMSI: 16 characters, want 15 digits"},
		{"23410123456789x", "apn: invalid IMSI: character 15 is 'x', want a digit"},
		{"+CME ERROR: 10\r", "apn: invalid IMSI: character 1 is '+', want a digit"},
		{" 34101234567890", "apn: invalid IMSI: character 1 is ' ', want a digit"},
	}
	for _, tt := range tests {
		_, cands, err := Lookup(tt.imsi)
		require.ErrorIs(t, err, ErrInvalidIMSI, "%q", tt.imsi)
		assert.EqualError(t, err, tt.msg)
		assert.Nil(t, cands)
		assert.False(t, errors.Is(err, ErrUnknownNetwork))
	}
}

// Every network of the table gives candidates a dialer can write: APNs without quotes or
// control bytes, at most 100 bytes, no duplicates, the default last.
func TestLookupEveryNetwork(t *testing.T) {
	require.NotEmpty(t, networks)
	for i, n := range networks {
		if i > 0 {
			require.Less(t, networks[i-1].key, n.key, "networks sorted, keys unique")
		}
		mnc := n.key % 1000
		digits := int(n.key / 1_000_000)
		imsi := fmt.Sprintf("%03d%0*d", n.key/1000%1000, digits, mnc)
		imsi += strings.Repeat("0", 15-len(imsi))
		net, cands, err := Lookup(imsi)
		require.NoError(t, err, imsi)
		if digits == 2 {
			// The 3-digit reading wins where the table lists it (208/260 over 208/26).
			if _, ok := findNetwork(imsi[:3], imsi[3:6]); ok {
				continue
			}
		}
		assert.Equal(t, imsi[3:3+digits], net.MNC, imsi)
		assert.NotEmpty(t, net.Providers, imsi)
		assert.True(t, cands[len(cands)-1].Default, imsi)
		for j, c := range cands {
			require.NoError(t, validCandidate(c), "%s: %v", imsi, c)
			for _, d := range cands[:j] {
				assert.False(t, c.same(d), "%s: %v twice", imsi, c)
			}
		}
	}
}

func BenchmarkLookup(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := Lookup("505021234567890"); err != nil {
			b.Fatal(err)
		}
	}
}
