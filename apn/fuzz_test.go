package apn

import (
	"errors"
	"regexp"
	"strings"
	"testing"
)

var imsiRE = regexp.MustCompile(`^[0-9]{15}$`)

// FuzzLookup feeds Lookup whatever AT+CIMI might answer. Seeds: testdata/fuzz/FuzzLookup.
func FuzzLookup(f *testing.F) {
	f.Add("262071234567890")
	f.Add("001010123456789")
	f.Fuzz(func(t *testing.T, imsi string) {
		n, cands, err := Lookup(imsi)
		if !imsiRE.MatchString(imsi) {
			if !errors.Is(err, ErrInvalidIMSI) {
				t.Fatalf("Lookup(%q): %v, want ErrInvalidIMSI", imsi, err)
			}
			return
		}
		if errors.Is(err, ErrUnknownNetwork) {
			if cands != nil || n.MCC != imsi[:3] {
				t.Fatalf("Lookup(%q): unknown network with %v %v", imsi, n, cands)
			}
			return
		}
		if err != nil {
			t.Fatalf("Lookup(%q): %v", imsi, err)
		}
		if n.MCC != imsi[:3] || !strings.HasPrefix(imsi[3:], n.MNC) || len(n.MNC) < 2 || len(n.Providers) == 0 {
			t.Fatalf("Lookup(%q): network %v", imsi, n)
		}
		if len(cands) == 0 || !cands[len(cands)-1].Default {
			t.Fatalf("Lookup(%q): %v does not end with the network default", imsi, cands)
		}
		for _, c := range cands {
			if err := validCandidate(c); err != nil {
				t.Fatalf("Lookup(%q): %v: %v", imsi, c, err)
			}
		}
	})
}

// FuzzParseRecord feeds the remembered-APN file's parser what a damaged or foreign file might
// hold. Seeds: testdata/fuzz/FuzzParseRecord.
func FuzzParseRecord(f *testing.F) {
	const key = "00112233445566778899aabbccddeeff"
	f.Add([]byte(`{"version":1,"key":"` + key + `","db":"20230416-1","apn":"internet","username":"web","password":"web","auth":"pap","providers":["Vodafone"]}`))
	f.Add([]byte(`{"version":1,"key":"` + key + `","apn":"","default":true}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := parseRecord(data, key)
		if err != nil {
			if c != nil {
				t.Fatalf("candidate %v with error %v", c, err)
			}
			return
		}
		if verr := validCandidate(*c); verr != nil || !c.Remembered || c.Auth > AuthCHAP {
			t.Fatalf("parseRecord(%q) accepted %#v: %v", data, c, verr)
		}
	})
}
