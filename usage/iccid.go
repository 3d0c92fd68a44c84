package usage

import (
	"errors"
	"fmt"
	"strings"
)

// ErrICCID is returned for a string that is not an ICCID.
var ErrICCID = errors.New("usage: not an ICCID")

// NormalizeICCID returns the ICCID in the form the meter uses for its file
// name and its reports: surrounding space trimmed and the trailing F some
// modems pad a 19-digit ICCID with removed. What remains must be 18 to 22
// decimal digits (ITU-T E.118 allows up to 19 plus a check digit; some
// issuers go beyond). The check digit is not verified: SIMs in the field do
// not all carry a valid one, and a wrong ICCID here only names a file.
func NormalizeICCID(s string) (string, error) {
	id := strings.TrimSpace(s)
	if n := len(id); n > 0 && (id[n-1] == 'F' || id[n-1] == 'f') {
		id = id[:n-1]
	}
	if len(id) < 18 || len(id) > 22 {
		return "", fmt.Errorf("%w: %q has %d digits, want 18 to 22", ErrICCID, s, len(id))
	}
	for i := 0; i < len(id); i++ {
		if id[i] < '0' || id[i] > '9' {
			return "", fmt.Errorf("%w: %q holds a non-digit", ErrICCID, s)
		}
	}
	return id, nil
}

// FileName is the name of the state file for an ICCID in the state
// directory. The ICCID is used as is (not hashed): it is not a secret (it
// is printed on the card and exported as a metric label), and an operator
// looking at the directory can tell which SIM a file belongs to.
func FileName(iccid string) (string, error) {
	id, err := NormalizeICCID(iccid)
	if err != nil {
		return "", err
	}
	return fileName(id), nil
}

func fileName(id string) string { return "usage-" + id + ".json" }
