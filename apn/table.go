package apn

// The generated table (table_gen.go) is a string blob and records of 16-bit indices into it, so
// the whole database costs a few tens of kilobytes and no initialisation at start.

// provider is one GSM provider: its name and country (string indices), its APNs
// (apns[apn:apn+napn]) and whether the database marks it as its networks' wholesale provider.
type provider struct {
	name, country uint16
	apn           uint16
	napn          uint8
	primary       bool
}

// apnRec is one internet APN: value, username and password (string indices) and authentication.
type apnRec struct {
	value, user, pass uint16
	auth              Auth
}

// network is one MCC/MNC with its providers (netProviders[prov:prov+nprov]). key is the MNC's
// digit count, the MCC and the MNC in decimal: "234"/"10" is 2_234_010.
type network struct {
	key   uint32
	prov  uint16
	nprov uint8
}

// str returns string i of the table.
func str(i uint16) string { return strs[strOff[i]:strOff[i+1]] }

// DBVersion is the version of the mobile-broadband-provider-info database compiled into the
// package (Debian's package version).
func DBVersion() string { return dbVersion }

// findNetwork returns the table's network for an MCC and an MNC of 2 or 3 digits, all digits.
func findNetwork(mcc, mnc string) (*network, bool) {
	key := uint32(len(mnc)) * 1_000_000
	key += uint32(atoi(mcc)) * 1000
	key += uint32(atoi(mnc))
	lo, hi := 0, len(networks)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if networks[m].key < key {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo < len(networks) && networks[lo].key == key {
		return &networks[lo], true
	}
	return nil, false
}

// atoi reads a string already checked to be decimal digits.
func atoi(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		n = n*10 + int(s[i]-'0')
	}
	return n
}
