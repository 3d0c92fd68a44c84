package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/pppdial/pppdial/internal/ports"
)

const portsUsage = `Usage: pppdial ports

Lists the serial ports: path, USB VID:PID, interface number, product, and which look like a
modem's AT or PPP port (for the modems pppdial knows, and any CDC-ACM modem).

Flags:
`

func cmdPorts(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("ports", stderr, portsUsage)
	if code := parse(fs, args); code >= 0 {
		return code
	}
	list, err := ports.List("/sys", "/dev")
	if err != nil {
		fmt.Fprintf(stderr, "pppdial ports: %v\n", err)
		return exitInternal
	}
	if len(list) == 0 {
		fmt.Fprintln(stdout, "no serial ports found")
		return exitOK
	}
	tw := tabwriter.NewWriter(stdout, 2, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "PATH\tUSB\tIF\tPRODUCT\tROLE\tBY-ID")
	for _, p := range list {
		usb, iface := "-", "-"
		if p.USB {
			usb, iface = p.VID+":"+p.PID, fmt.Sprint(p.Interface)
		}
		role := string(p.Role)
		if role == "" {
			role = "-"
		}
		product := p.Product
		if product == "" {
			product = p.Driver
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", p.Path, usb, iface, product, role, strings.Join(p.ByID, " "))
	}
	tw.Flush()
	return exitOK
}
