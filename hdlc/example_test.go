package hdlc_test

import (
	"fmt"

	"github.com/pppdial/pppdial/hdlc"
)

func ExampleEncoder() {
	e := hdlc.NewEncoder()
	// Before LCP opens: every control character is escaped.
	wire := e.AppendFrame(nil, 0xc021, []byte{0x09, 0x01, 0x00, 0x04}) // LCP Echo-Request
	fmt.Printf("% x\n", wire)

	// After LCP negotiated ACCM 0, ACFC and PFC: an IPv4 packet goes out
	// with a 1-octet protocol and no header, sharing the previous flag.
	e.SetACCM(0)
	e.SetACFC(true)
	e.SetPFC(true)
	n := len(wire)
	wire = e.AppendFrame(wire, 0x0021, []byte{0x45, 0x00, 0x7e})
	fmt.Printf("% x\n", wire[n:])
	// Output:
	// 7e ff 7d 23 c0 21 7d 29 7d 21 7d 20 7d 24 7d 29 50 7e
	// 21 45 00 7d 5e 04 ca 7e
}

func ExampleDecoder() {
	d := hdlc.NewDecoder()
	// A serial read returns modem chatter, one frame and half of another.
	e := hdlc.NewEncoder()
	stream := e.AppendFrame([]byte("CONNECT\r\n"), 0x0021, []byte("first"))
	stream = e.AppendFrame(stream, 0x0021, []byte("second"))
	handle := func(protocol uint16, info []byte) {
		// info is only valid here: copy it to keep it.
		fmt.Printf("protocol %#04x: %q\n", protocol, info)
	}
	d.Feed(stream[:20], handle)
	d.Feed(stream[20:], handle)
	fmt.Printf("%+v\n", d.Stats())
	// Output:
	// protocol 0x0021: "first"
	// protocol 0x0021: "second"
	// {FramesIn:2 BytesIn:40 FramesOut:0 BytesOut:0 FCSErrors:0 Aborts:0 TooLong:0 Runts:0 BadProtocol:0}
}
