package cell

import "strings"

// familyPrefixes map AT+CGMM model names to families, longest prefix first where two overlap.
// SIMCom answers with its vendor name in front ("SIMCOM_SIM7600E-H"), stripped before matching.
var familyPrefixes = []struct {
	prefix string
	family Family
}{
	{"SIM7500", FamilySIM7600}, {"SIM7600", FamilySIM7600}, {"SIM7000", FamilySIM7600},
	{"SIM800", FamilySIM800}, {"SIM900", FamilySIM800},
	{"EC25", FamilyEC25}, {"EC21", FamilyEC25}, {"EG25", FamilyEC25}, {"EG91", FamilyEC25}, {"EG95", FamilyEC25},
	{"BG96", FamilyBG96}, {"BG95", FamilyBG96}, {"BG77", FamilyBG96},
	{"SARA-R4", FamilySARAR4}, {"SARA-R5", FamilySARAR5},
}

// FamilyOf picks the poll plan's family from a modem's model name as AT+CGMM (or ATI) gives it:
// "SIMCOM_SIM7600E-H", "EC25", "EG25-G", "BG96", "SARA-R410M-02B", "SIMCOM_SIM800L". A model it
// does not know is FamilyGeneric: the 27.007 commands only, no vendor command sent blind.
func FamilyOf(model string) Family {
	m := strings.ToUpper(strings.TrimSpace(model))
	m = strings.TrimPrefix(m, "SIMCOM_")
	for _, e := range familyPrefixes {
		if strings.HasPrefix(m, e.prefix) {
			return e.family
		}
	}
	return FamilyGeneric
}
