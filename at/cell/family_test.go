package cell

import "testing"

func TestFamilyOf(t *testing.T) {
	for model, want := range map[string]Family{
		"SIMCOM_SIM7600E-H": FamilySIM7600, // modemsim's and the real module's AT+CGMM
		"SIMCOM_SIM7000E":   FamilySIM7600,
		"SIMCOM_SIM800L":    FamilySIM800,
		"EC25":              FamilyEC25,
		"EG25-G":            FamilyEC25,
		" eg91 ":            FamilyEC25,
		"BG96":              FamilyBG96,
		"SARA-R410M-02B":    FamilySARAR4,
		"SARA-R510S":        FamilySARAR5,
		"n_gsm-modem":       FamilyGeneric, // pppd-vm's modem
		"":                  FamilyGeneric,
	} {
		if got := FamilyOf(model); got != want {
			t.Errorf("FamilyOf(%q) = %q, want %q", model, got, want)
		}
	}
}
