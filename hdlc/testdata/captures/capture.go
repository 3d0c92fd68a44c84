//go:build ignore

// capture records what a real PPP peer sends in answer to an LCP
// Configure-Request, as raw bytes, for the hdlc package's tests. It is a
// tool, not part of any build: see README.md for how it was run.
//
//	go run ./hdlc/testdata/captures/capture.go -slirp -o hdlc/testdata/captures/slirp
//	go run ./hdlc/testdata/captures/capture.go -pty /dev/pts/N -o hdlc/testdata/captures/pppd
package main

import (
	"bytes"
	"flag"
	"fmt"
	"log"
	"os"
	"os/exec"
	"syscall"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"

	"github.com/pppdial/pppdial/hdlc"
)

const protoLCP = 0xc021

// confReq is the Configure-Request the capture sends: id 1, ACCM 0,
// Magic-Number 0x50504431 ("PPD1"), PFC and ACFC — so that, once LCP is
// open, the peer sends with an empty ACCM and compressed headers.
var confReq = []byte{
	1, 1, 0, 20,
	2, 6, 0, 0, 0, 0, // ACCM 0
	5, 6, 0x50, 0x50, 0x44, 0x31, // Magic-Number
	7, 2, // PFC
	8, 2, // ACFC
}

func makeRaw(fd uintptr) {
	t, err := unix.IoctlGetTermios(int(fd), unix.TCGETS)
	if err != nil {
		log.Fatal(err)
	}
	t.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON | unix.IXOFF
	t.Oflag &^= unix.OPOST
	t.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
	t.Cflag &^= unix.CSIZE | unix.PARENB
	t.Cflag |= unix.CS8
	t.Cc[unix.VMIN], t.Cc[unix.VTIME] = 1, 0
	if err := unix.IoctlSetTermios(int(fd), unix.TCSETS, t); err != nil {
		log.Fatal(err)
	}
}

func main() {
	slirp := flag.Bool("slirp", false, "run slirp-fullbolt ppp on a new pty")
	ptyPath := flag.String("pty", "", "talk to the peer on this existing pty (pppd-vm)")
	out := flag.String("o", "capture", "output prefix: <o>-rx.bin, <o>-tx.bin")
	dur := flag.Duration("d", 6*time.Second, "how long to record after the Configure-Request")
	flag.Parse()

	var port *os.File
	switch {
	case *slirp:
		ptmx, tty, err := pty.Open()
		if err != nil {
			log.Fatal(err)
		}
		makeRaw(tty.Fd())
		cmd := exec.Command("slirp-fullbolt", "ppp")
		cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, tty, tty
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true}
		if err := cmd.Start(); err != nil {
			log.Fatal(err)
		}
		defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
		tty.Close()
		port = ptmx
	case *ptyPath != "":
		f, err := os.OpenFile(*ptyPath, os.O_RDWR|syscall.O_NOCTTY, 0)
		if err != nil {
			log.Fatal(err)
		}
		makeRaw(f.Fd())
		port = f
	default:
		log.Fatal("need -slirp or -pty")
	}

	var rx, tx bytes.Buffer
	enc := hdlc.NewEncoder()
	dec := hdlc.NewDecoder()
	send := func(proto uint16, info []byte) {
		frame := enc.AppendFrame(nil, proto, info)
		tx.Write(frame)
		if _, err := port.Write(frame); err != nil {
			log.Fatal(err)
		}
	}
	chunks := make(chan []byte)
	go func() {
		for {
			b := make([]byte, 4096)
			n, err := port.Read(b)
			if n > 0 {
				chunks <- b[:n]
			}
			if err != nil {
				close(chunks)
				return
			}
		}
	}()

	if *slirp {
		// Wait for the banner's end before speaking PPP.
		deadline := time.After(10 * time.Second)
		for !bytes.Contains(rx.Bytes(), []byte("SLiRP Ready")) {
			select {
			case b, ok := <-chunks:
				if !ok {
					log.Fatal("slirp closed")
				}
				rx.Write(b)
			case <-deadline:
				log.Fatalf("no banner; got %q", rx.Bytes())
			}
		}
	}
	send(protoLCP, confReq)
	stop := time.After(*dur)
	for done := false; !done; {
		select {
		case b, ok := <-chunks:
			if !ok {
				done = true
				break
			}
			rx.Write(b)
			dec.Feed(b, func(proto uint16, info []byte) {
				fmt.Printf("rx %#04x % x\n", proto, info)
				switch {
				case proto == protoLCP && len(info) >= 4 && info[0] == 1:
					// Ack the peer's Configure-Request as it stands.
					ack := append([]byte(nil), info...)
					ack[0] = 2
					send(protoLCP, ack)
				case proto == protoLCP && len(info) >= 4 && info[0] == 2:
					// Our request is acked: the peer now sends with ACCM 0.
					dec.SetACCM(0)
				}
			})
		case <-stop:
			done = true
		}
	}
	fmt.Printf("decoder stats %+v\n", dec.Stats())
	if err := os.WriteFile(*out+"-rx.bin", rx.Bytes(), 0o644); err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(*out+"-tx.bin", tx.Bytes(), 0o644); err != nil {
		log.Fatal(err)
	}
}
