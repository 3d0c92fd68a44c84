package modemsim

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/pppdial/pppdial/at"
	"github.com/pppdial/pppdial/cmux"
	"github.com/pppdial/pppdial/line"
)

// cmux answers AT+CMUX (27.007 5.7, basic option only): "=0[,0[,<speed>[,<N1>...]]]" switches
// the line to the multiplexer once the OK is out. The speed is taken and ignored (the emulated
// line keeps its own); N1 defaults to 31 as 27.007 says, clamped to the family's bound.
func (s *session) cmux(arg string) result {
	switch arg {
	case "?":
		return result{info: []string{"+CMUX: 0,0,5,31,10,3,30,10,2"}}
	case "=?":
		return result{info: []string{"+CMUX: (0),(0),(1-8),(1-32767),(1-255),(0-100),(2-255),(1-255),(1-7)"}}
	}
	if s.mode == serveDLC || len(arg) < 2 || arg[0] != '=' {
		return errResult // no multiplexer inside a multiplexer
	}
	args := splitArgs(arg[1:])
	if args[0] != "0" || (len(args) > 1 && args[1] != "" && args[1] != "0") {
		return result{final: s.cmeError(at.CMEOperationNotSupported)} // advanced option, or I/UI frames
	}
	n1 := 31
	if len(args) > 3 && args[3] != "" {
		v, err := strconv.Atoi(args[3])
		if err != nil || v < 1 || v > cmux.MaxN1 {
			return result{final: s.cmeError(at.CMEIncorrectParameters)}
		}
		n1 = v
	}
	if q, _ := cmux.QuirksFor(s.p.Model); q.MaxN1 > 0 {
		n1 = min(n1, q.MaxN1)
	}
	s.cmuxN1 = n1
	s.log.Debug("modemsim: AT+CMUX: multiplexer after OK", "n1", n1)
	return result{}
}

// serveMux runs the line as a 27.010 responder with frame size n1 and the family's quirks (a
// SIM800 sends its MSC as soon as a DLC opens); every DLC the host opens runs the AT modem.
// It returns resume true when the host closed the multiplexer (CLD, or DISC on DLC 0), and the
// line is back in AT mode; false with ctx's error, or nil when the line is gone.
func (m *Modem) serveMux(ctx context.Context, port line.Line, n1 int) (resume bool, err error) {
	log := m.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	q, _ := cmux.QuirksFor(m.prof.Model)
	mux := cmux.NewResponder(port, cmux.Config{N1: n1, Quirks: q, MSCOnOpen: q.SendsMSCOnOpen, Logger: log})
	m.mu.Lock()
	m.stats.CMUXStarts++
	m.mux = mux
	m.mu.Unlock()
	defer func() {
		m.mu.Lock()
		m.mux = nil
		m.mu.Unlock()
	}()

	dctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for {
		ch, err := mux.Accept(dctx)
		if err != nil {
			break
		}
		log.Debug("modemsim: DLC opened", "dlci", ch.DLCI())
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _ = m.serveAT(dctx, ch, serveDLC)
		}()
	}
	cancel()
	wg.Wait()
	if ctx.Err() != nil {
		cctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		_ = mux.Close(cctx)
		return false, ctx.Err()
	}
	merr := mux.Err()
	switch {
	case errors.Is(merr, cmux.ErrMuxClosed):
		m.count(func(st *Stats) { st.CMUXEnds++ })
		log.Debug("modemsim: multiplexer closed: AT mode", "why", merr)
		return true, nil
	case errors.Is(merr, io.EOF) || errors.Is(merr, net.ErrClosed) || errors.Is(merr, os.ErrClosed):
		return false, nil
	}
	return false, merr
}

// CloseChannel makes the modem close DLC dlci of its running multiplexer (DISC, as a modem
// whose data call on that DLC failed) and waits for the host's UA.
func (m *Modem) CloseChannel(dlci int) error {
	m.mu.Lock()
	mux := m.mux
	m.mu.Unlock()
	if mux == nil {
		return errors.New("modemsim: no multiplexer running")
	}
	ch, ok := mux.Channel(dlci)
	if !ok {
		return fmt.Errorf("modemsim: DLC %d is not open", dlci)
	}
	return ch.Close()
}
