package apn

import (
	"errors"
	"fmt"
	"slices"
)

// ErrUnknownNetwork is matched (errors.Is) by the error for an IMSI whose network the database
// does not list, such as the test network 001/01.
var ErrUnknownNetwork = errors.New("apn: network not in the provider database")

// UnknownNetworkError is the error for an IMSI whose network the database does not list. The IMSI
// does not say whether its MNC has 2 or 3 digits, so both readings were looked up.
type UnknownNetworkError struct {
	MCC        string
	MNC2, MNC3 string // the two readings of the MNC
}

// Error says which network was looked for and what the dialer does instead.
func (e *UnknownNetworkError) Error() string {
	return fmt.Sprintf("apn: network %s/%s (or %s/%s) is not in %s %s: the modem's stored context will be used",
		e.MCC, e.MNC2, e.MCC, e.MNC3, "mobile-broadband-provider-info", dbVersion)
}

// Unwrap makes errors.Is(err, ErrUnknownNetwork) true.
func (e *UnknownNetworkError) Unwrap() error { return ErrUnknownNetwork }

// Lookup finds the network of an IMSI (as AT+CIMI answers it: 15 digits) and the APNs to try
// there, in order:
//
//  1. the APNs of the providers sharing the network, the one most providers list first; ties keep
//     the wholesale (primary) provider's first, then the database's order; identical APN and
//     credentials appear once, naming every provider that lists them;
//  2. last the network's default (NetworkDefault: an empty APN written with AT+CGDCONT).
//
// The MNC is tried with 3 digits, then with 2. An IMSI that is not 15 digits gives an error
// wrapping ErrInvalidIMSI; a network the database does not list, an *UnknownNetworkError
// (errors.Is ErrUnknownNetwork) with no candidate and a Network holding only the MCC: the caller
// then leaves the modem's stored context alone.
func Lookup(imsi string) (Network, []Candidate, error) {
	if err := checkIMSI(imsi); err != nil {
		return Network{}, nil, err
	}
	mcc := imsi[:3]
	for _, mnc := range []string{imsi[3:6], imsi[3:5]} {
		if n, ok := findNetwork(mcc, mnc); ok {
			return candidates(n, mcc, mnc)
		}
	}
	return Network{MCC: mcc}, nil, &UnknownNetworkError{MCC: mcc, MNC2: imsi[3:5], MNC3: imsi[3:6]}
}

func candidates(n *network, mcc, mnc string) (Network, []Candidate, error) {
	provs := netProviders[n.prov : int(n.prov)+int(n.nprov)]
	// Wholesale providers first; otherwise database order (the table's is already that).
	order := make([]uint16, 0, len(provs))
	for _, primary := range []bool{true, false} {
		for _, p := range provs {
			if providers[p].primary == primary {
				order = append(order, p)
			}
		}
	}
	net := Network{MCC: mcc, MNC: mnc, Country: str(providers[order[0]].country)}
	// count[i] is how many providers list cands[i].
	var cands []Candidate
	var count []int
	for _, p := range order {
		pr := &providers[p]
		name := str(pr.name)
		net.Providers = append(net.Providers, name)
		for _, a := range apns[pr.apn : int(pr.apn)+int(pr.napn)] {
			c := Candidate{APN: str(a.value), Username: str(a.user), Password: str(a.pass), Auth: a.auth}
			i := slices.IndexFunc(cands, c.same)
			if i < 0 {
				c.Providers = []string{name}
				cands = append(cands, c)
				count = append(count, 1)
				continue
			}
			// A provider listing the same APN twice (prepaid and postpaid) counts once.
			if ps := cands[i].Providers; ps[len(ps)-1] != name {
				cands[i].Providers = append(ps, name)
				count[i]++
			}
		}
	}
	idx := make([]int, len(cands))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int { return count[b] - count[a] })
	out := make([]Candidate, 0, len(cands)+1)
	for _, i := range idx {
		out = append(out, cands[i])
	}
	return net, append(out, NetworkDefault()), nil
}
