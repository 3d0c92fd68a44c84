// Package tty sets terminals (ptys, serial ports) to raw mode for PPP.
package tty

import "golang.org/x/sys/unix"

// MakeRaw is cfmakeraw(3) through termios ioctls on fd: 8 data bits, no parity, no echo, no
// line editing, no CR/LF translation, no software flow control, no signals. PPP needs all 256
// byte values to pass untouched, and the default line discipline would echo, translate CR/LF
// and eat ^S/^Q/^C.
func MakeRaw(fd int) error {
	t, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return err
	}
	t.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR |
		unix.ICRNL | unix.IXON | unix.IXOFF | unix.IXANY
	t.Oflag &^= unix.OPOST
	t.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
	t.Cflag &^= unix.CSIZE | unix.PARENB | unix.CRTSCTS
	t.Cflag |= unix.CS8 | unix.CREAD | unix.CLOCAL
	t.Cc[unix.VMIN] = 1
	t.Cc[unix.VTIME] = 0
	return unix.IoctlSetTermios(fd, unix.TCSETS, t)
}
