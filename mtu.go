package pppdial

import (
	"context"
	"fmt"
	"strconv"

	"github.com/pppdial/pppdial/at"
)

// The modem's own figure for the network's MTU (AT+CGCONTRDP's <IPv4_MTU>, 3GPP TS 27.007
// §10.1.23) is read at two moments, because a context has its dynamic parameters only while it
// is active:
//
//   - right before ATD, by the dialer (at.Config.QueryMTU, the "mtu" step), on every modem: on
//     LTE the attach has usually activated context 1 already, and that reading sets the MRU of
//     the dial that follows;
//   - with the multiplexer, on the AT channel once the link is up, when the context certainly
//     is active (2G/3G modems activate it only with ATD): LCP has been negotiated by then, so
//     the figure is remembered and asked for from the next dial on.
//
// A modem that refuses the command, leaves the field out (most do) or does not answer costs
// nothing but the command: neither reading ever fails a dial or a link.

// modemMTUFor is the network's MTU to ask for on the link that the dial with info starts: the
// figure the dialer read right before ATD, else the one the AT channel read while an earlier
// link was up; 0 when neither reported one.
func (s *Session) modemMTUFor(info at.Info) int {
	if info.MTU > 0 {
		return info.MTU
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.modemMTU
}

// mtuRead is the AT channel's reading of the MTU for the link that is up; the zero value has not
// started.
type mtuRead struct {
	c      chan mtuReading // nil until started: a select on it waits forever
	cancel context.CancelFunc
	done   chan struct{}
}

type mtuReading struct {
	cmd string
	mtu int
	err error
}

// start asks the modem's AT channel for the dialed context's MTU, once per link, in a goroutine
// whose answer arrives on r.c. Without an AT channel (CMUX DLC 1 or Config.ATPort) nothing is asked.
func (r *mtuRead) start(s *Session) {
	p := s.atChannel()
	if r.c != nil || p == nil {
		return
	}
	cid := s.cfg.Modem.CID
	if cid <= 0 {
		cid = 1 // at.Config's default
	}
	ctx, cancel := context.WithCancel(context.Background())
	r.c, r.cancel, r.done = make(chan mtuReading), cancel, make(chan struct{})
	go func() {
		defer close(r.done)
		mtu, err := at.ContextMTU(ctx, p, cid, s.commandTimeout())
		select {
		case r.c <- mtuReading{cmd: "AT+CGCONTRDP=" + strconv.Itoa(cid), mtu: mtu, err: err}:
		case <-ctx.Done():
		}
	}()
}

// stop ends a reading still under way and waits for its goroutine.
func (r *mtuRead) stop() {
	if r.cancel != nil {
		r.cancel()
		<-r.done
	}
}

// reportModemMTU remembers the figure the AT channel read for the next dials and says what it
// means for the link in an "mtu" progress event. A modem that reports none is only logged: most
// never do.
func (s *Session) reportModemMTU(r mtuReading) {
	if r.err != nil {
		s.log.Debug("no MTU from the modem's AT channel", "cmd", r.cmd, "err", r.err)
		return
	}
	s.mu.Lock()
	s.modemMTU = r.mtu
	inForce := s.status.MTU
	s.mu.Unlock()
	detail := fmt.Sprintf("%d (%s on the AT channel)", r.mtu, r.cmd)
	if inForce > r.mtu {
		detail += fmt.Sprintf(": the link runs at %d, more than the network carries; MRU %d is asked for from the next dial on",
			inForce, r.mtu)
		s.log.Warn("the modem reports a smaller MTU than the link's", "modem", r.mtu, "link", inForce)
	} else if inForce > 0 {
		detail += fmt.Sprintf(": the link's MTU, %d, fits", inForce)
	}
	s.emit(Event{Kind: EventProgress, Step: string(at.StepMTU), Done: true, Detail: detail})
}
