package at_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/pppdial/pppdial/at"
	"github.com/pppdial/pppdial/internal/serialline"
	"github.com/pppdial/pppdial/modemsim"
)

// ExampleDial dials an emulated Quectel EC25 over an in-memory serial line. With a real modem,
// open its port instead: port, err := at.Open("/dev/ttyUSB2", 115200, at.SerialOptions{}).
func ExampleDial() {
	host, modemEnd := serialline.Pipe(serialline.Options{})
	defer host.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	profile := modemsim.EC25()
	profile.GuardTime = 50 * time.Millisecond // a real modem's S12 is 1 s: keep Config.Guard's default there
	modem := modemsim.New(profile, modemsim.Loopback)
	go func() { _ = modem.Serve(ctx, modemEnd) }()

	s, err := at.Dial(ctx, host, at.Config{
		APN:   "internet",
		Guard: 50 * time.Millisecond,
		PIN:   "", // entered only when the SIM asks; never retried when rejected
		OnProgress: func(p at.Progress) {
			if p.Done && p.Err == nil && p.Step == at.StepRegister {
				fmt.Println("registered:", p.Detail)
			}
		},
	})
	var cme *at.CMEError
	switch {
	case errors.Is(err, at.ErrWrongPIN), errors.Is(err, at.ErrSIMNotInserted):
		fmt.Println("fix the SIM:", err)
		return
	case errors.As(err, &cme):
		fmt.Println("modem error", cme.Code, cme.Text)
		return
	case err != nil:
		fmt.Println(err)
		return
	}
	fmt.Println(s.Info.Connect, s.Info.Operator, s.Info.AccessTech, s.Info.Signal.DBm, "dBm")
	// s.Data now carries PPP: hand it to ppp.NewConn. When done, stop the link, then hang up.
	if err := s.Hangup(ctx); err != nil {
		fmt.Println("hangup:", err)
	}
	// Output:
	// registered: home via +CREG
	// CONNECT 150000000 Telekom.de LTE -65 dBm
}
