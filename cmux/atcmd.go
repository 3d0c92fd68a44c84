package cmux

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/pppdial/pppdial/line"
)

// speedCodes maps a line speed to AT+CMUX's <port_speed>. 3GPP TS 27.007 (+CMUX) defines
// 1..6 (9600..230400); 7 = 460800 is a common vendor extension (Motorola G24, Luat Air724UG
// manuals) and 8 = 921600 follows it: check the modem's AT+CMUX=? before relying on 7 or 8.
var speedCodes = map[int]int{
	9600: 1, 19200: 2, 38400: 3, 57600: 4, 115200: 5, 230400: 6,
	460800: 7, 921600: 8,
}

// SpeedCode returns AT+CMUX's <port_speed> code for a line speed in bit/s.
func SpeedCode(baud int) (int, error) {
	c, ok := speedCodes[baud]
	if !ok {
		return 0, fmt.Errorf("cmux: no AT+CMUX port speed code for %d bit/s", baud)
	}
	return c, nil
}

// Command returns the AT command that starts the basic-option multiplexer with UIH frames at
// line speed baud and frame size n1 (n1 <= 0: DefaultN1): "AT+CMUX=0,0,5,127". With baud 0, or
// when q.PortSpeedIgnored, the speed is left blank ("AT+CMUX=0,0,,127") and the line keeps its
// speed. n1 is clamped to q.MaxN1.
func Command(baud, n1 int, q Quirks) (string, error) {
	if n1 <= 0 {
		n1 = DefaultN1
	}
	if q.MaxN1 > 0 {
		n1 = min(n1, q.MaxN1)
	}
	if n1 > MaxN1 {
		return "", fmt.Errorf("cmux: N1 %d above %d", n1, MaxN1)
	}
	speed := ""
	if baud != 0 && !q.PortSpeedIgnored {
		c, err := SpeedCode(baud)
		if err != nil {
			return "", err
		}
		speed = strconv.Itoa(c)
	}
	return fmt.Sprintf("AT+CMUX=0,0,%s,%d", speed, n1), nil
}

// closeSequence is what ends a multiplexer a crashed run left open, as the initiator would have:
// CLD on the control channel, then DISC on DLC 0 (either alone ends it; n_gsm and the modems in
// the quirks table take both). Encoded once: the frames never change.
var closeSequence = func() []byte {
	var info []byte
	info = AppendMsg(info, Msg{Type: MsgCLD, Command: true})
	b, _ := AppendFrame(nil, Frame{DLCI: 0, CR: true, Type: UIH, Info: info})
	b, _ = AppendFrame(b, Frame{DLCI: 0, CR: true, Type: DISC, PF: true})
	return b
}()

// CloseSequence returns the bytes that close a multiplexer left open: CLD, then DISC on DLC 0,
// each frame whole. The caller owns the returned slice.
func CloseSequence() []byte { return bytes.Clone(closeSequence) }

// SendCloseSequence writes CloseSequence to a raw line (not through a Mux), with ctx's deadline
// (or 2 s) as the write deadline. Start-up recovery sends it when the modem answers AT with
// 27.010 frames, or not at all; afterwards send AT until OK.
func SendCloseSequence(ctx context.Context, l line.Line) error {
	dl, ok := ctx.Deadline()
	if !ok {
		dl = time.Now().Add(2 * time.Second)
	}
	if err := l.SetWriteDeadline(dl); err != nil {
		return fmt.Errorf("cmux: close sequence: %w", err)
	}
	defer l.SetWriteDeadline(time.Time{})
	if _, err := l.Write(closeSequence); err != nil {
		return fmt.Errorf("cmux: close sequence: %w", err)
	}
	return nil
}

// LooksLikeCMUX reports whether b holds at least one whole, well-formed basic-option frame
// (flag, address, control, length, FCS, flag): what a modem still in CMUX answers to a plain AT
// (typically DM, or UIH on DLC 0 with NSC). Text, PPP frames and noise do not pass the FCS.
func LooksLikeCMUX(b []byte) bool {
	for i := 0; i < len(b); i++ {
		if b[i] != Flag {
			continue
		}
		if frameAt(b[i:]) {
			return true
		}
	}
	return false
}

// frameAt reports whether b starts with one whole frame of a known type, of any N1.
func frameAt(b []byte) bool {
	for len(b) > 1 && b[1] == Flag {
		b = b[1:]
	}
	f, _, st := parseFrame(b, MaxN1)
	if st != parseOK {
		return false
	}
	switch f.Type {
	case SABM, UA, DM, DISC, UIH, UI:
		return true
	}
	return false
}
