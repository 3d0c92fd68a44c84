package cmux

import (
	"errors"
	"fmt"
)

// Errors of the multiplexer. They are wrapped with detail; match them with errors.Is.
var (
	// ErrChannelClosed: the modem closed the DLC (DISC or DM). A *ChannelClosedError says which.
	ErrChannelClosed = errors.New("cmux: channel closed by the modem")
	// ErrMuxClosed: the multiplexer is closed (by Close, or by the modem's CLD or DISC on DLC 0).
	ErrMuxClosed = errors.New("cmux: multiplexer closed")
	// ErrRefused: the modem answered SABM with DM.
	ErrRefused = errors.New("cmux: modem refused the channel (DM)")
	// ErrNoResponse: the modem did not answer a command within the retries.
	ErrNoResponse = errors.New("cmux: no response from the modem")
	// ErrNotSupported: the modem answered a control command with NSC.
	ErrNotSupported = errors.New("cmux: command not supported by the modem (NSC)")
	// ErrCloseUnconfirmed: Close sent CLD and DISC on DLC 0 and neither was answered. Some
	// modems (Linux's n_gsm) leave CMUX on CLD without a word: send AT until OK to find out.
	ErrCloseUnconfirmed = errors.New("cmux: the modem did not confirm the close")
	// ErrNotOpen: the multiplexer was not opened (Open) before use.
	ErrNotOpen = errors.New("cmux: multiplexer not open")
	// ErrChannelInUse: OpenChannel on a DLC that is already open.
	ErrChannelInUse = errors.New("cmux: channel already open")
)

// ChannelClosedError reports a DLC the modem closed. It matches ErrChannelClosed.
type ChannelClosedError struct {
	DLCI uint8
	By   FrameType // DISC (the modem closed it) or DM (the modem says it is not open)
}

// Error says which DLC the modem closed and how.
func (e *ChannelClosedError) Error() string {
	return fmt.Sprintf("cmux: DLC %d closed by the modem (%v)", e.DLCI, e.By)
}

// Unwrap makes the error match ErrChannelClosed.
func (e *ChannelClosedError) Unwrap() error { return ErrChannelClosed }
