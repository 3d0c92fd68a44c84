package cmux_test

import (
	"context"
	"fmt"
	"time"

	"github.com/pppdial/pppdial/cmux"
	"github.com/pppdial/pppdial/internal/serialline"
)

// The host's side of a multiplexer: AT+CMUX (sent through the AT engine), then Open, a channel
// per use, and Close. Here the modem is this package's responder on an in-memory line.
func ExampleNew() {
	a, b := serialline.Pipe(serialline.Options{})
	hostLine, modemLine := memLine{a}, memLine{b}
	defer a.Close()
	defer b.Close()

	cmd, _ := cmux.Command(115200, 127, cmux.Quirks{})
	fmt.Println(cmd) // what the session sends before handing the line to New

	modem := cmux.NewResponder(modemLine, cmux.Config{})
	mux := cmux.New(hostLine, cmux.Config{N1: 127})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := mux.Open(ctx); err != nil {
		fmt.Println(err)
		return
	}
	at, err := mux.OpenChannel(ctx, 1) // DLC 1 for AT; DLC 2 would carry PPP
	if err != nil {
		fmt.Println(err)
		return
	}
	modemAT, _ := modem.Accept(ctx)

	_, _ = at.Write([]byte("AT+CSQ\r")) // at is a line.Line: the AT engine runs on it as is
	buf := make([]byte, 64)
	n, _ := modemAT.Read(buf)
	fmt.Printf("modem got %q on DLC %d\n", buf[:n], modemAT.DLCI())

	if err := mux.Close(ctx); err != nil {
		fmt.Println(err)
	}
	<-modem.Done()
	fmt.Println(modem.Err())
	// Output:
	// AT+CMUX=0,0,5,127
	// modem got "AT+CSQ\r" on DLC 1
	// cmux: multiplexer closed: the modem sent CLD
}
