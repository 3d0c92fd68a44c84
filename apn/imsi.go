package apn

import (
	"errors"
	"fmt"
)

// ErrInvalidIMSI is wrapped by the error for an IMSI that is not 15 decimal digits.
var ErrInvalidIMSI = errors.New("apn: invalid IMSI")

// imsiLen is the IMSI's length: 3 digits MCC, 2 or 3 MNC, the rest MSIN (3GPP TS 23.003 2.2).
const imsiLen = 15

// checkIMSI checks what AT+CIMI answered. The error tells what is wrong without repeating the
// IMSI, which identifies the subscriber.
func checkIMSI(imsi string) error {
	if len(imsi) != imsiLen {
		return fmt.Errorf("%w: %d characters, want %d digits", ErrInvalidIMSI, len(imsi), imsiLen)
	}
	for i := 0; i < len(imsi); i++ {
		if c := imsi[i]; c < '0' || c > '9' {
			return fmt.Errorf("%w: character %d is %q, want a digit", ErrInvalidIMSI, i+1, c)
		}
	}
	return nil
}
