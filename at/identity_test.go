package at

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// The ICCID answers of the families pppdial knows, in their own formats.
func TestParseICCID(t *testing.T) {
	for _, tc := range []struct {
		name string
		info []string
		want string
	}{
		{"u-blox/SIM800 +CCID", []string{"+CCID: 89001012345678901234"}, "89001012345678901234"},
		{"SIM800 bare", []string{"8944500102198304826F"}, "8944500102198304826"},
		{"Quectel +QCCID pad F", []string{"+QCCID: 8944500102198304826F"}, "8944500102198304826"},
		{"Telit quoted", []string{`+ICCID: "89390100001234567890"`}, "89390100001234567890"},
		{"Huawei ^ICCID", []string{"^ICCID: 98940012345678901234"}, "98940012345678901234"},
		{"lower-case pad", []string{"+CCID: 8944500102198304826f"}, "8944500102198304826"},
		{"too short", []string{"+CCID: 12345"}, ""},
		{"too long", []string{"+CCID: 12345678901234567890123"}, ""},
		{"letters", []string{"+CCID: 8944A00102198304826"}, ""},
		{"empty", nil, ""},
		{"the second line", []string{"", "+CCID: 89001012345678901234"}, "89001012345678901234"},
	} {
		t.Run(tc.name, func(t *testing.T) { assert.Equal(t, tc.want, ParseICCID(tc.info)) })
	}
}

func TestParseIMEI(t *testing.T) {
	assert.Equal(t, "356938035643809", ParseIMEI("356938035643809"))
	assert.Equal(t, "3569380356438091", ParseIMEI(`"3569380356438091"`), "IMEISV")
	assert.Equal(t, "", ParseIMEI("SN: 12AB"), "not an IMEI")
	assert.Equal(t, "", ParseIMEI("35693803564380"), "14 digits")
}

func TestIdentityText(t *testing.T) {
	assert.Equal(t, "EC25EFAR06A06M4G", identityText([]string{"Revision: EC25EFAR06A06M4G"}, "+CGMR"))
	assert.Equal(t, "SIMCOM INCORPORATED", identityText([]string{"+CGMI: SIMCOM INCORPORATED"}, "+CGMI"))
	assert.Equal(t, "u-blox", identityText([]string{`"u-blox"`}, "+CGMI"))
	assert.Equal(t, "AB", identityText([]string{"A\x00\x1bB\xff"}, "+CGMM"), "control and 8-bit bytes dropped")
	assert.Len(t, identityText([]string{strings.Repeat("x", 500)}, "+CGMM"), maxIdentityText)
	assert.Equal(t, "", identityText([]string{"", "  "}, "+CGMM"))
}

// FuzzIdentity feeds arbitrary answers to the identity parsers: no panic, and what they return
// is what they promise (digits of the right length; printable ASCII within the bound).
func FuzzIdentity(f *testing.F) {
	for _, s := range []string{"+CCID: 89001012345678901234", "+QCCID: 8944500102198304826F",
		`+ICCID: "89390100001234567890"`, "Revision: EC25EFAR06A06M4G", "356938035643809", "+CGMI: \xff\x00", ":", "+"} {
		f.Add(s, "+CGMR")
	}
	f.Fuzz(func(t *testing.T, line, cmd string) {
		if id := ParseICCID([]string{line}); id != "" && (len(id) < 18 || len(id) > 22 || !allDigits(id)) {
			t.Fatalf("ICCID %q from %q", id, line)
		}
		if imei := ParseIMEI(line); imei != "" && !allDigits(imei) {
			t.Fatalf("IMEI %q from %q", imei, line)
		}
		s := identityText([]string{line}, cmd)
		if len(s) > maxIdentityText {
			t.Fatalf("%d bytes", len(s))
		}
		for i := 0; i < len(s); i++ {
			if s[i] < 0x20 || s[i] >= 0x7f {
				t.Fatalf("byte %#x in %q", s[i], s)
			}
		}
	})
}
