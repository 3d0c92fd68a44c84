package cell_test

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/pppdial/pppdial/at/cell"
)

// A poll against a modem that answers +CSQ and +COPS? and ERROR to the rest: the rejected
// commands are dropped, the picture has what the modem told.
func ExamplePoller() {
	answers := map[string][]string{
		"AT+CSQ":   {"+CSQ: 20,99"},
		"AT+COPS?": {`+COPS: 0,0,"pppd-vm",7`},
	}
	exec := func(ctx context.Context, cmd string) ([]string, error) {
		if a, ok := answers[cmd]; ok {
			return a, nil
		}
		return nil, fmt.Errorf("%s: ERROR: %w", cmd, cell.ErrRejected) // the integrator maps ERROR to ErrRejected
	}
	p := cell.NewPoller(exec, cell.Plan(cell.FamilySIM7600), nil)
	pic, err := p.Poll(context.Background())
	if err != nil {
		panic(err)
	}
	b, _ := json.Marshal(pic)
	fmt.Println(string(b))
	fmt.Println("dropped:", p.Stats().Dropped)
	// Output:
	// {"rssi_dbm":-73,"ber":null,"rsrp_dbm":null,"rsrq_db":null,"sinr_db":null,"tech":"LTE","operator":"pppd-vm","mcc":null,"mnc":null,"cell":null,"tac":null,"lac":null,"band":null}
	// dropped: [AT+CESQ AT+CREG? AT+CEREG? AT+CPSI?]
}

// A +CEREG URC, as the session's URC feed hands it over.
func ExampleParseRegistration() {
	r, err := cell.ParseRegistration(`+CEREG: 5,"3193","08F381C5",7`)
	if err != nil {
		panic(err)
	}
	fmt.Println(r.State, r.Registered(), r.Roaming(), r.Picture().CellHex(), *r.Picture().TAC)
	// Output: roaming true true 8F381C5 12691
}
