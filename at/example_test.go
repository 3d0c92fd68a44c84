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
// open its port instead: l, err := line.Open("/dev/ttyUSB2", line.Options{Baud: 115200}).
func ExampleDial() {
	host, modemEnd := serialline.Pipe(serialline.Options{})
	port := at.NewPort(host) // the Port owns the line from here
	defer port.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	profile := modemsim.EC25()
	profile.GuardTime = 50 * time.Millisecond // a real modem's S12 is 1 s: keep Config.Guard's default there
	modem := modemsim.New(profile, modemsim.Loopback)
	go func() { _ = modem.Serve(ctx, modemEnd) }()

	s, err := at.Dial(ctx, port, at.Config{
		APN:   "internet",
		Guard: 50 * time.Millisecond,
		PIN:   "", // entered only when the SIM asks; never retried when rejected
		OnEvent: func(e at.Event) { // steps and URCs, in order, on a goroutine of their own
			if e.Kind == at.EventProgress && e.Done && e.Err == nil && e.Step == at.StepRegister {
				fmt.Println("registered:", e.Detail)
			}
		},
	})
	var cme *at.CMEError
	switch {
	case errors.Is(err, at.ErrWrongPIN), errors.Is(err, at.ErrSIMNotInserted):
		fmt.Println("fix the SIM:", err)
		return
	case errors.As(err, &cme):
		fmt.Println("modem error", int(cme.Code), cme.Code) // the number and its 27.007 text
		return
	case err != nil:
		fmt.Println(err)
		return
	}
	fmt.Println(s.Info.Connect, s.Info.Operator, s.Info.AccessTech, s.Info.Signal.DBm, "dBm")
	// s.Data() now carries PPP: hand it to ppp.NewConn. When done, stop the link, then hang up.
	if err := s.Hangup(ctx); err != nil {
		fmt.Println("hangup:", err)
	}
	// Output:
	// registered: home via +CREG
	// CONNECT 150000000 Telekom.de LTE -65 dBm
}

// ExamplePort_Exec asks the modem for its signal through the Port's AT engine. On a multiplexed
// modem the same call works on the AT channel's Port while PPP runs on another channel.
func ExamplePort_Exec() {
	host, modemEnd := serialline.Pipe(serialline.Options{})
	port := at.NewPort(host)
	defer port.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	modem := modemsim.New(modemsim.SIM7600(), nil)
	go func() { _ = modem.Serve(ctx, modemEnd) }()

	// AT until OK, as real hosts do: a modem still booting drops what it is sent.
	var err error
	for range 10 {
		if _, err = port.Exec(ctx, "", 200*time.Millisecond); err == nil {
			break
		}
	}
	if err != nil {
		fmt.Println(err)
		return
	}
	info, err := port.Exec(ctx, "+CSQ", 2*time.Second)
	fmt.Println(info, err)
	// Output:
	// [+CSQ: 20,99] <nil>
}

// ExampleSwitchBaud moves an emulated modem and the host's line from 115200 to 921600 baud. On
// a multiplexed modem, do it before AT+CMUX: some modems refuse AT+IPR inside the multiplexer.
func ExampleSwitchBaud() {
	host, modemEnd := serialline.Pipe(serialline.Options{Baud: 115200})
	port := at.NewPort(host)
	defer port.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	modem := modemsim.New(modemsim.EC25(), nil)
	go func() { _ = modem.Serve(ctx, modemEnd) }()
	for range 10 { // AT until the modem answers
		if _, err := port.Exec(ctx, "", 200*time.Millisecond); err == nil {
			break
		}
	}

	res, err := at.SwitchBaud(ctx, port, 921600, true) // true: the line has RTS/CTS
	if err != nil {
		fmt.Println(err) // the modem answers at no speed: power-cycle it
		return
	}
	fmt.Println(res.Detail)
	// Output:
	// 921600 baud (was 115200)
}
