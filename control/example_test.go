package control_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/pppdial/pppdial/control"
)

// A daemon serves its link on the control socket; `pppdial status` and `pppdial at` are clients.
func Example() {
	dir, _ := os.MkdirTemp("", "pppdial-run")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "pp0.sock") // the daemon uses control.DefaultPath("pp0")

	ln, err := control.Listen(path)
	if err != nil {
		fmt.Println(err) // control.ErrInUse: another daemon has pp0
		return
	}
	srv := control.NewServer(control.Options{})
	upSince := time.Now().Add(-time.Hour)
	srv.Add("pp0", control.Handlers{
		Status: func(context.Context) control.Status {
			return control.Status{State: "up", Up: true, UpSince: upSince}
		},
		AT: func(ctx context.Context, cmd string) ([]string, error) {
			return []string{"+CSQ: 21,99"}, nil // the session's AT channel answers
		},
	})
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()

	c, err := control.Dial(context.Background(), path)
	if err != nil {
		fmt.Println(err)
		stop()
		<-done
		return
	}
	defer c.Close()
	st, _ := c.Status(context.Background(), "")
	fmt.Println(st.Ifname, st.State, time.Duration(st.Uptime).Round(time.Hour))
	res, _ := c.AT(context.Background(), "pp0", "AT+CSQ")
	fmt.Println(res[0].Cmd, res[0].Lines)
	err = c.Redial(context.Background(), "pp0")
	fmt.Println(errors.Is(err, control.ErrUnsupported))

	stop()
	fmt.Println("served:", <-done)
	// Output:
	// pp0 up 1h0m0s
	// AT+CSQ [+CSQ: 21,99]
	// true
	// served: <nil>
}

// With no daemon running, Dial's error is one line and matches ErrNoDaemon, for a command's
// documented exit code.
func ExampleDial_noDaemon() {
	_, err := control.Dial(context.Background(), "/nonexistent/pppdial/pp9.sock")
	fmt.Println(err)
	fmt.Println(errors.Is(err, control.ErrNoDaemon))
	// Output:
	// no pppdial daemon is running on /nonexistent/pppdial/pp9.sock
	// true
}
