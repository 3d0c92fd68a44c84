package demo_test

import (
	"context"
	"fmt"

	"github.com/pppdial/pppdial/demo"
)

// The demo runs the whole chain against an emulated modem and operator network, in-process.
func ExampleRun() {
	res, err := demo.Run(context.Background(), demo.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%s: %s over %s, local %s\n", res.URL, res.Body, res.Ifname, res.Status.Local)
	// Output:
	// http://demo.pppdial.test/: hello from the pppdial carrier network
	//  over pp0, local 10.64.64.2
}
