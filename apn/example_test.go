package apn_test

import (
	"errors"
	"fmt"
	"os"

	"github.com/pppdial/pppdial/apn"
)

// A dialer with "--apn auto": the IMSI from AT+CIMI gives the candidates, the state directory
// puts the one that worked last time first, and the one that works now is remembered.
func Example() {
	stateDir, err := os.MkdirTemp("", "pppdial-state")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(stateDir)

	imsi := "262071234567890" // AT+CIMI's answer
	network, cands, err := apn.Lookup(imsi)
	if errors.Is(err, apn.ErrUnknownNetwork) {
		fmt.Println(err) // dial with the modem's stored context
		return
	}
	if err != nil {
		panic(err)
	}
	if cands, err = apn.Recall(stateDir, imsi, cands); err != nil {
		fmt.Println("ignoring the remembered APN:", err)
	}
	fmt.Println("network", network)
	for i, c := range cands {
		fmt.Println("trying", c) // AT+CGDCONT=1,"IP","<c.APN>", then ATD; PPP with c.Username
		if i == 1 {              // say the second one gets the link up
			if err := apn.Remember(stateDir, imsi, c); err != nil {
				fmt.Println("cannot remember the APN:", err)
			}
			break
		}
	}
	cands, _ = apn.Recall(stateDir, imsi, cands)
	fmt.Println("next start tries", cands[0])

	_, _, err = apn.Lookup("001010123456789")
	fmt.Println(err)
	// Output:
	// network 262/07 (de: O2, Tchibo-Mobil, FONIC, Alice, Netzclub)
	// trying "pinternet.interkom.de" (O2, Netzclub)
	// trying "internet" (O2)
	// next start tries "internet" (O2) [remembered]
	// apn: network 001/01 (or 001/010) is not in mobile-broadband-provider-info 20230416-1: the modem's stored context will be used
}
