package cell

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// fuzzParser checks what every parser promises on any input: no panic; an error wraps
// ErrMalformed and comes with an empty picture; the values a picture carries lie in their
// physical ranges; the picture encodes as JSON.
func fuzzParser(f *testing.F, parse func([]string) (Picture, error), seeds ...[]string) {
	for _, s := range seeds {
		f.Add(strings.Join(s, "\n"))
	}
	f.Fuzz(func(t *testing.T, in string) {
		p, err := parse(strings.Split(in, "\n"))
		if err != nil {
			if !errors.Is(err, ErrMalformed) || !p.IsZero() {
				t.Fatalf("error %v with picture %+v", err, p)
			}
			return
		}
		checkRange(t, "rssi_dbm", p.RSSIdBm, -130, 0)
		checkRange(t, "rsrp_dbm", p.RSRPdBm, -156, -30)
		checkRange(t, "rsrq_db", p.RSRQdB, -35, 3)
		checkRange(t, "sinr_db", p.SINRdB, -20, 40)
		if p.BER != nil && (*p.BER < 0 || *p.BER > 7) {
			t.Fatalf("ber %d", *p.BER)
		}
		if p.MCC != nil && !digits(*p.MCC, 3) || p.MNC != nil && !digits(*p.MNC, 3) {
			t.Fatalf("mcc/mnc %v/%v", p.MCC, p.MNC)
		}
		if _, err := json.Marshal(p); err != nil {
			t.Fatal(err)
		}
	})
}

func checkRange(t *testing.T, name string, v *float64, lo, hi float64) {
	if v != nil && (*v < lo || *v > hi) {
		t.Fatalf("%s %v outside [%v, %v]", name, *v, lo, hi)
	}
}

func FuzzCSQ(f *testing.F) {
	fuzzParser(f, ParseCSQ, []string{"+CSQ: 20,99"}, []string{"+CSQ: 31,7"}, []string{"+CSQ: 99,99"})
}

func FuzzCESQ(f *testing.F) {
	fuzzParser(f, ParseCESQ, cesqLTE, cesqLTE2, cesqNR, cesqNone, cesqGSM)
}

func FuzzCOPS(f *testing.F) {
	fuzzParser(f, ParseCOPS, copsVM, copsNumeric, copsEDGE, copsNone)
}

func FuzzQENG(f *testing.F) {
	fuzzParser(f, ParseQENG, qengEC2x, qengMikroTik, qengSearch, qengGSMIdle, qengBG96GSM, qengBG96CatM, qengWCDMA, qengENDC)
}

func FuzzCPSI(f *testing.F) {
	fuzzParser(f, ParseCPSI, cpsiManual, cpsiLTE, cpsiWCDMA, cpsiGSM, cpsiNone)
}

func FuzzUCGED(f *testing.F) {
	fuzzParser(f, ParseUCGED, ucgedR4, ucgedR5, ucgedR5Off, ucgedR5Nil, ucgedR422)
}

// FuzzRegistration feeds single lines, solicited or not, to ParseRegistration, and the same as
// an answer to ParseRegistrationAnswer.
func FuzzRegistration(f *testing.F) {
	for _, s := range []string{ceregEC2x, "+CREG: 0,5", "+CREG: 5", `+CEREG: 1,"3193","08F381C5",7`,
		`+CGREG: 2,1,"1A2B","3C4D"`, `+CEREG: 1,"FFFF","FFFFFFFF",7`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		r, err := ParseRegistration(line)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatal(err)
			}
		} else {
			if r.Stat < 0 || r.State == "" || (r.Solicited != (r.N >= 0)) {
				t.Fatalf("%+v", r)
			}
			if r.Registered() && r.State != RegHome && r.State != RegRoaming {
				t.Fatalf("%+v", r)
			}
		}
		p, err := ParseRegistrationAnswer([]string{line})
		if err != nil && !p.IsZero() {
			t.Fatalf("error %v with picture %+v", err, p)
		}
	})
}
