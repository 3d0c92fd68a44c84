package modemsim

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pppdial/pppdial/cmux"
	"github.com/pppdial/pppdial/internal/serialline"
	"github.com/pppdial/pppdial/line"
)

// Stats count what a Modem saw, for tests to check what the dialer did (a PIN never sent twice,
// an escape recognised, ...).
type Stats struct {
	Commands     int // command lines executed
	Dials        int // ATD received
	Connects     int // CONNECT sent (ATD and ATO)
	PINAttempts  int // AT+CPIN= carrying a PIN or PUK
	Escapes      int // "+++" recognised
	Hangups      int // calls ended by ATH
	CarrierDrops int // calls ended by CarrierDropAfter or by the DataFunc returning
	CMUXStarts   int // AT+CMUX answered OK: the line became a multiplexer
	CMUXEnds     int // the host closed the multiplexer (CLD, DISC on DLC 0): back to AT mode
	RadioCycles  int // AT+CFUN=1 after AT+CFUN=0 or 4
	Reboots      int // AT+CFUN=1,1
	Resets       int // Reset (the reset line)
}

// Modem is an emulated modem. One Modem serves one line at a time; it can Serve again after a
// Serve returned (a power cycle: the profile's state starts afresh, the Stats keep counting).
type Modem struct {
	prof Profile
	data DataFunc

	// Logger receives debug lines (commands, answers, mode changes). Nil discards them.
	Logger *slog.Logger

	mu       sync.Mutex
	stats    Stats
	commands []string
	// live are the AT sessions serving now (the main line, each DLC, each ServeAT port): a
	// change of the network's state reaches every one of them, as on a real modem.
	live map[*session]struct{}
	// regSet, when set, is the registration the network imposes (SetRegistration), beside
	// the profile's.
	regSet   bool
	regForce int
	// The wedges (Profile.RadioWedge, ...): wedged after the first carrier drop, until the
	// remedy; radioOff while AT+CFUN=0 or 4 holds.
	dropped  bool
	wedged   bool
	radioOff bool
	// OnReboot, if set, is called when the modem reboots (AT+CFUN=1,1, Reset), before it boots
	// again: a test makes the port vanish there, as a USB modem's does.
	OnReboot func()

	mux    *cmux.Mux             // the multiplexer while the line runs one
	active map[int]activeContext // contexts calls run on, over every DLC
}

// activeContext is a context a call runs on: how many, and the APN it was dialed with.
type activeContext struct {
	calls int
	apn   string
}

// New returns a modem with profile p that runs data behind CONNECT. A nil data discards the
// host's bytes and sends nothing.
func New(p Profile, data DataFunc) *Modem {
	if p.GuardTime <= 0 {
		p.GuardTime = time.Second
	}
	if p.PINAttempts <= 0 {
		p.PINAttempts = 3
	}
	if p.ConnectText == "" {
		p.ConnectText = "CONNECT"
	}
	if data == nil {
		data = Discard
	}
	return &Modem{prof: p, data: data}
}

// Profile returns the modem's profile.
func (m *Modem) Profile() Profile { return m.prof }

// Stats returns the counters so far.
func (m *Modem) Stats() Stats {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.stats
}

// Commands returns the command lines executed so far, as received (secrets included: this is a
// test double).
func (m *Modem) Commands() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.commands...)
}

func (m *Modem) count(f func(*Stats)) {
	m.mu.Lock()
	f(&m.stats)
	m.mu.Unlock()
}

// activate and deactivate count the calls on context cid, dialed with apn.
func (m *Modem) activate(cid int, apn string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.active == nil {
		m.active = map[int]activeContext{}
	}
	a := m.active[cid]
	a.calls++
	a.apn = apn
	m.active[cid] = a
}

func (m *Modem) deactivate(cid int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	a := m.active[cid]
	if a.calls--; a.calls <= 0 {
		delete(m.active, cid)
		return
	}
	m.active[cid] = a
}

// activeAPN reports whether a call runs on context cid, on any DLC, and its APN.
func (m *Modem) activeAPN(cid int) (string, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	a, ok := m.active[cid]
	return a.apn, ok
}

// Discard is a DataFunc that swallows the host's bytes and sends nothing.
func Discard(ctx context.Context, data line.Line) error {
	done := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, data)
		close(done)
	}()
	select {
	case <-ctx.Done():
	case <-done:
	}
	if c, ok := data.(io.Closer); ok {
		_ = c.Close()
	}
	<-done
	return ctx.Err()
}

// Loopback is a DataFunc that sends the host's bytes straight back.
func Loopback(ctx context.Context, data line.Line) error {
	done := make(chan error, 1)
	go func() {
		_, err := io.Copy(data, data)
		done <- err
	}()
	var err error
	select {
	case <-ctx.Done():
		err = ctx.Err()
	case err = <-done:
		done <- err
	}
	if c, ok := data.(io.Closer); ok {
		_ = c.Close()
	}
	<-done
	return err
}

// call is a data call: the DataFunc and the pipe to it.
type call struct {
	cid     int // the context it runs on
	cancel  context.CancelFunc
	simEnd  *serialline.Port // the modem's end: host bytes in, DataFunc bytes out
	dataEnd *serialline.Port // the DataFunc's end
	online  atomic.Bool      // forward the DataFunc's bytes to the host
	tail    []byte           // split CONNECT: the rest of the line, sent with the first data
	fwdDone chan struct{}    // the forwarder has ended
	done    chan struct{}
	err     error
}

// session is the state of one Serve: everything but the counters is touched only by the loop
// goroutine, except where noted.
type session struct {
	m    *Modem
	p    Profile
	port line.Line
	ctx  context.Context
	log  *slog.Logger

	mode   serveMode
	out    chan chunk    // the writer goroutine's queue
	rx     chan []byte   // chunks from the reader goroutine
	rxErr  chan error    // the reader's end
	fire   chan func()   // timers run their work in the loop
	stop   chan struct{} // closed when Serve ends
	wg     sync.WaitGroup
	tmu    sync.Mutex
	timers []*time.Timer

	booted   bool
	echo     bool
	cmee     int
	line     []byte
	regMode  map[string]int // +CREG/+CGREG/+CEREG URC modes
	locked   bool           // SIM PIN
	puk      bool           // SIM PUK
	attempts int
	simReady bool
	regAt    time.Time
	dialing  bool
	busy     int
	noCarr   int
	urcIdx   int
	pdp      map[int]string
	apn      map[int]string // the APN of each defined context, as written
	ipr      int            // the speed AT+IPR set (or the line's at power-on)

	call   *call
	online bool
	lastRx time.Time
	plus   int
	escGen int

	cmuxN1 int // AT+CMUX answered: the loop ends, the line becomes a multiplexer with this N1
}

// Serve runs the modem on port until ctx is done or the port fails (the host closed it: nil).
// AT+CMUX=0 switches the line to a 27.010 multiplexer (see serveMux): each DLC the host opens
// runs the same AT modem; when the host closes the multiplexer the line is back in AT mode.
// On return every goroutine it started has ended; to unblock its pending read it sets a past
// read deadline when the port has SetReadDeadline, and otherwise closes the port when it is an
// io.Closer.
func (m *Modem) Serve(ctx context.Context, port line.Line) error {
	mode := serveBoot
	for {
		n1, err := m.serveAT(ctx, port, mode)
		if n1 == 0 {
			return err
		}
		resume, err := m.serveMux(ctx, port, n1)
		if !resume {
			return err
		}
		mode = serveResume
	}
}

// serveMode is how an AT session starts.
type serveMode int

const (
	serveBoot   serveMode = iota // power-on: deaf for BootDelay, banner, SIM as the profile says
	serveResume                  // the line is back from CMUX: no banner, SIM ready, registered
	serveDLC                     // one DLC of the multiplexer: as serveResume, and no AT+CMUX
)

// serveAT runs the AT modem on port until ctx is done, the port fails, or the host's AT+CMUX
// was answered OK: then it returns the frame size N1 asked for, with every goroutine ended and
// nothing read past the command.
func (m *Modem) serveAT(ctx context.Context, port line.Line, mode serveMode) (n1 int, err error) {
	log := m.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &session{
		m: m, p: m.prof, port: port, ctx: ctx, log: log, mode: mode,
		out: make(chan chunk, 256), rx: make(chan []byte, 16), rxErr: make(chan error, 1),
		fire: make(chan func()), stop: make(chan struct{}),
		echo: m.prof.Echo, regMode: map[string]int{}, pdp: map[int]string{}, apn: map[int]string{},
		locked: m.prof.PIN != "" && mode == serveBoot, attempts: m.prof.PINAttempts, ipr: 115200,
		busy: m.prof.BusyDials, noCarr: m.prof.NoCarrierDials,
	}
	if bs, ok := port.(line.BaudSetter); ok {
		if mode == serveBoot && m.prof.StartBaud > 0 {
			if err := bs.SetBaud(m.prof.StartBaud); err != nil {
				return 0, err
			}
		}
		if bs.Baud() > 0 {
			s.ipr = bs.Baud()
		}
	}
	m.mu.Lock()
	if m.live == nil {
		m.live = map[*session]struct{}{}
	}
	m.live[s] = struct{}{}
	m.mu.Unlock()
	defer func() {
		m.mu.Lock()
		delete(m.live, s)
		m.mu.Unlock()
	}()
	var wdone, rdone = make(chan struct{}), make(chan struct{})
	go func() { defer close(wdone); s.writer() }()
	go func() { defer close(rdone); s.reader() }()

	switch {
	case mode != serveBoot:
		s.booted = true
		s.setSIMReady(true)
	case m.prof.StartInDataMode:
		s.booted = true
		s.setSIMReady(true)
		s.startCall(1, nil)
	default:
		s.after(m.prof.BootDelay, s.boot)
	}

	err = s.loop()

	unblockReader := func() {
		_ = port.SetReadDeadline(time.Now().Add(-time.Second))
		select {
		case <-rdone:
		case <-time.After(200 * time.Millisecond):
			_ = port.Close()
			<-rdone
		}
		_ = port.SetReadDeadline(time.Time{})
	}
	if s.cmuxN1 > 0 {
		// The host sends nothing between AT+CMUX and its OK: stop reading before the OK goes
		// out, so the multiplexer gets every frame that follows it.
		unblockReader()
		done := make(chan struct{})
		s.out <- chunk{then: func() { close(done) }} // the queue has room: nobody else sends now
		<-done
	}
	close(s.stop)
	s.tmu.Lock()
	for _, t := range s.timers {
		t.Stop()
	}
	s.tmu.Unlock()
	if s.call != nil {
		s.endCall()
	}
	if s.cmuxN1 == 0 {
		// Unblock the reader (and a writer stuck on a full line).
		unblockReader()
	}
	select {
	case <-wdone:
	case <-time.After(200 * time.Millisecond):
		_ = port.Close()
		<-wdone
	}
	s.wg.Wait()
	if s.cmuxN1 > 0 {
		return s.cmuxN1, nil
	}
	return 0, err
}

// loop is the modem's one state-owning goroutine.
func (s *session) loop() error {
	for {
		select {
		case <-s.ctx.Done():
			return s.ctx.Err()
		case err := <-s.rxErr:
			if errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) || errors.Is(err, os.ErrClosed) {
				return nil
			}
			return err
		case b := <-s.rx:
			s.onBytes(b)
			if s.cmuxN1 > 0 {
				return nil
			}
		case f := <-s.fire:
			f()
		}
	}
}

// reader feeds the loop with the host's bytes.
func (s *session) reader() {
	for {
		b := make([]byte, 4096)
		n, err := s.port.Read(b)
		if n > 0 {
			select {
			case s.rx <- b[:n]:
			case <-s.stop:
				return
			}
		}
		if err != nil {
			select {
			case s.rxErr <- err:
			case <-s.stop:
			}
			return
		}
	}
}

// writer writes queued chunks in order: answers, URCs and data share one FIFO.
func (s *session) writer() {
	for {
		select {
		case c := <-s.out:
			var err error
			if len(c.b) > 0 {
				_, err = s.port.Write(c.b)
			}
			if c.then != nil {
				c.then()
			}
			if err != nil {
				s.log.Debug("modemsim: write failed", "err", err)
				// Keep draining so senders never block on a dead line.
				for {
					select {
					case c := <-s.out:
						if c.then != nil {
							c.then() // a flush marker must not wait forever
						}
					case <-s.stop:
						return
					}
				}
			}
		case <-s.stop:
			return
		}
	}
}

// chunk is bytes for the host and what to do once they are written.
type chunk struct {
	b    []byte
	then func() // run in the writer goroutine after b is written (a speed change after OK)
}

// send queues bytes for the host. Safe from any goroutine.
func (s *session) send(b []byte) { s.sendThen(b, nil) }

// sendThen queues bytes for the host and runs then once they are written.
func (s *session) sendThen(b []byte, then func()) {
	select {
	case s.out <- chunk{b, then}:
	case <-s.stop:
	case <-s.ctx.Done():
	}
}

// sendLines sends V.250 verbose lines, each framed as "\r\n<line>\r\n", in one write.
func (s *session) sendLines(lines ...string) { s.sendLinesThen(nil, lines...) }

// sendLinesThen sends lines as sendLines does and runs then (if set) once they are written.
func (s *session) sendLinesThen(then func(), lines ...string) {
	var b strings.Builder
	for _, l := range lines {
		b.WriteString("\r\n")
		b.WriteString(l)
		b.WriteString("\r\n")
	}
	s.log.Debug("modemsim: <", "lines", lines)
	s.sendThen([]byte(b.String()), then)
}

// after runs f in the loop after d.
func (s *session) after(d time.Duration, f func()) {
	t := time.AfterFunc(d, func() {
		select {
		case s.fire <- f:
		case <-s.stop:
		}
	})
	s.tmu.Lock()
	s.timers = append(s.timers, t)
	s.tmu.Unlock()
}

// boot ends the deaf power-on period: banner, SIM up.
func (s *session) boot() {
	s.booted = true
	for _, l := range s.p.Banner {
		if strings.HasPrefix(l, "+CPIN:") {
			switch {
			case s.p.NoSIM:
				continue
			case s.locked:
				l = "+CPIN: SIM PIN"
			}
		}
		s.sendLines(l)
	}
	if !s.locked && !s.p.NoSIM {
		s.setSIMReady(false)
	}
}

// setSIMReady starts the registration clock; now registers at once.
func (s *session) setSIMReady(now bool) {
	s.simReady = true
	delay := s.p.RegistrationDelay
	if now {
		delay = 0
	}
	s.regAt = time.Now().Add(delay)
	s.after(delay, s.regURCs)
}

// regStat is the registration state now (27.007 <stat>).
func (s *session) regStat() int {
	s.m.mu.Lock()
	forced, stat := s.m.regSet, s.m.regForce
	s.m.mu.Unlock()
	switch {
	case s.p.NoSIM || !s.simReady:
		return 0
	case s.radioOffNow():
		return 0
	case time.Now().Before(s.regAt):
		return 2
	case forced:
		return stat
	case s.p.Denied:
		return 3
	case s.p.Roaming:
		return 5
	}
	return 1
}

func (s *session) registered() bool {
	st := s.regStat()
	return st == 1 || st == 5
}

// ServeAT serves port as a further AT port of the same modem, as the several ttyUSB ports of a
// USB modem (EC25/EG25: ttyUSB2 for AT, ttyUSB3 for PPP; SIM7600 likewise): it shares the
// modem's network state (registration, SetRegistration's URCs), answers AT at once (the modem is
// up, the SIM ready) and has its own echo and URC settings. It returns as Serve does.
func (m *Modem) ServeAT(ctx context.Context, port line.Line) error {
	_, err := m.serveAT(ctx, port, serveDLC)
	return err
}

// DropCarrier ends the call in progress on every line as a network that loses it does: NO
// CARRIER, back to command mode (and, for a profile with a wedge, wedged from then on).
func (m *Modem) DropCarrier() {
	m.mu.Lock()
	live := make([]*session, 0, len(m.live))
	for s := range m.live {
		live = append(live, s)
	}
	m.mu.Unlock()
	for _, s := range live {
		drop := func() {
			if s.call == nil {
				return
			}
			s.endCall()
			s.m.count(func(st *Stats) { st.CarrierDrops++ })
			s.m.carrierDropped()
			s.sendLines("NO CARRIER")
		}
		select {
		case s.fire <- drop:
		case <-s.stop:
		}
	}
}

// Reset is a pulse on the modem's reset line: every line it serves reboots (deaf for the
// profile's BootDelay, or 500 ms, then its banner), and every wedge is cleared.
func (m *Modem) Reset() {
	m.mu.Lock()
	m.stats.Resets++
	m.mu.Unlock()
	m.reboot()
}

// reboot clears the wedges and restarts every line's AT modem from power-on.
func (m *Modem) reboot() {
	m.mu.Lock()
	m.wedged, m.radioOff = false, false
	live := make([]*session, 0, len(m.live))
	for s := range m.live {
		live = append(live, s)
	}
	onReboot := m.OnReboot
	m.mu.Unlock()
	if onReboot != nil {
		onReboot()
	}
	for _, s := range live {
		select {
		case s.fire <- s.reboot:
		case <-s.stop:
		}
	}
}

// wedgeState reports whether the modem is wedged now, and whether its AT is dead.
func (m *Modem) wedgeState() (wedged, atDead bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.wedged, m.wedged && m.prof.ATWedge
}

// carrierDropped wedges a modem whose profile says so, at its first carrier drop.
func (m *Modem) carrierDropped() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.dropped && (m.prof.RadioWedge || m.prof.RebootWedge || m.prof.ATWedge) {
		m.wedged = true
	}
	m.dropped = true
}

// SetRegistration makes the network put the modem in 27.007 registration state stat (1 home,
// 5 roaming, 2 searching, ...) on every line the modem serves, each line whose +CREG/+CGREG/
// +CEREG URCs are on reporting it; stat < 0 gives the profile's state back. A call in progress
// is not touched: the network moving the modem to a visited network leaves the data call up.
func (m *Modem) SetRegistration(stat int) {
	m.mu.Lock()
	m.regSet, m.regForce = stat >= 0, stat
	live := make([]*session, 0, len(m.live))
	for s := range m.live {
		live = append(live, s)
	}
	m.mu.Unlock()
	for _, s := range live {
		report := func() {
			if s.call != nil && s.online {
				return // a line in data mode carries the call, not URCs (they wait in a real modem)
			}
			s.regURCs()
		}
		select {
		case s.fire <- report:
		case <-s.stop:
		}
	}
}

// regURCs reports a registration change to the domains whose URCs are on.
func (s *session) regURCs() {
	for _, c := range []string{"+CREG", "+CGREG", "+CEREG"} {
		switch n := s.regMode[c]; n {
		case 1:
			s.sendLines(c + ": " + itoa(s.regStat()))
		case 2:
			s.sendLines(c + ": " + itoa(s.regStat()) + s.regLocation(c))
		}
	}
}

// regLocation is the ",<lac>,<ci>[,<AcT>]" part of n=2 answers and URCs.
func (s *session) regLocation(c string) string {
	if !s.registered() {
		return ""
	}
	loc := `,"1A2B","01C3D4E5"`
	if s.p.AcT >= 0 {
		loc += "," + itoa(s.p.AcT)
	}
	return loc
}

// onBytes handles a chunk from the host in the current mode.
func (s *session) onBytes(b []byte) {
	if s.call != nil && s.online {
		s.onData(b)
		return
	}
	s.onCommandBytes(b)
}

// onData forwards host bytes to the DataFunc, holding back a "+++" that follows guard-time
// silence until the guard time after it has passed too (V.250 escape, S2/S12).
func (s *session) onData(b []byte) {
	now := time.Now()
	guard := s.p.GuardTime
	allPlus := func(b []byte) bool {
		for _, c := range b {
			if c != '+' {
				return false
			}
		}
		return len(b) > 0
	}
	if s.plus > 0 {
		if allPlus(b) && s.plus+len(b) <= 3 && now.Sub(s.lastRx) < guard {
			s.plus += len(b)
			s.lastRx = now
			if s.plus == 3 {
				s.armEscape()
			}
			return
		}
		// Not an escape: the held '+' were data.
		held := []byte(strings.Repeat("+", s.plus))
		s.plus = 0
		s.escGen++
		_, _ = s.call.simEnd.Write(held)
	}
	if !s.p.NoEscape && allPlus(b) && len(b) <= 3 && now.Sub(s.lastRx) >= guard {
		s.plus = len(b)
		s.lastRx = now
		if s.plus == 3 {
			s.armEscape()
		}
		return
	}
	s.lastRx = now
	_, _ = s.call.simEnd.Write(b)
}

// armEscape returns to command mode if nothing follows "+++" for the guard time.
func (s *session) armEscape() {
	s.escGen++
	gen := s.escGen
	s.after(s.p.GuardTime, func() {
		if s.escGen != gen || s.plus != 3 || s.call == nil || !s.online {
			return
		}
		s.plus = 0
		s.online = false
		s.call.online.Store(false)
		s.m.count(func(st *Stats) { st.Escapes++ })
		s.log.Debug("modemsim: escape: online command mode")
		s.sendLines("OK")
	})
}

// startCall runs the DataFunc behind a fresh pipe on context cid and goes online.
func (s *session) startCall(cid int, tail []byte) {
	a, b := serialline.Pipe(serialline.Options{})
	ctx, cancel := context.WithCancel(s.ctx)
	s.m.activate(cid, s.apn[cid])
	c := &call{cid: cid, cancel: cancel, simEnd: a, dataEnd: b, tail: tail, done: make(chan struct{}), fwdDone: make(chan struct{})}
	c.online.Store(true)
	s.call = c
	s.online = true
	s.lastRx = time.Now()
	s.plus = 0
	s.wg.Add(2)
	go func() {
		defer s.wg.Done()
		err := s.m.data(ctx, b)
		_ = b.Close()
		c.err = err
		close(c.done)
		select {
		case s.fire <- func() { s.callEnded(c) }:
		case <-s.stop:
		}
	}()
	go func() {
		defer s.wg.Done()
		defer close(c.fwdDone)
		s.forward(c)
	}()
	if d := s.p.CarrierDropAfter; d > 0 {
		s.after(d, func() {
			if s.call != c {
				return
			}
			s.log.Debug("modemsim: carrier drop")
			s.endCall()
			s.m.count(func(st *Stats) { st.CarrierDrops++ })
			s.m.carrierDropped()
			s.sendLines("NO CARRIER")
		})
	}
}

// forward sends the DataFunc's bytes to the host while online.
func (s *session) forward(c *call) {
	buf := make([]byte, 4096)
	if c.tail != nil {
		// Split CONNECT: wait briefly for the first data so it shares the write with the line's end.
		_ = c.simEnd.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		n, err := c.simEnd.Read(buf)
		_ = c.simEnd.SetReadDeadline(time.Time{})
		s.send(append(append([]byte(nil), c.tail...), buf[:n]...))
		if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
			return
		}
	}
	for {
		n, err := c.simEnd.Read(buf)
		if n > 0 && c.online.Load() {
			s.send(append([]byte(nil), buf[:n]...))
		}
		if err != nil {
			return
		}
	}
}

// endCall stops the DataFunc and leaves data mode.
func (s *session) endCall() {
	c := s.call
	s.call = nil
	s.online = false
	s.plus = 0
	s.m.deactivate(c.cid)
	c.online.Store(false)
	c.cancel()
	_ = c.simEnd.Close()
	_ = c.dataEnd.Close()
}

// callEnded handles a DataFunc that returned: the peer hung up.
func (s *session) callEnded(c *call) {
	if s.call != c {
		return // already ended by ATH or a drop
	}
	s.log.Debug("modemsim: data func returned", "err", c.err)
	// Let the forwarder pass on what the DataFunc wrote before it returned.
	select {
	case <-c.fwdDone:
	case <-time.After(time.Second):
	}
	s.endCall()
	s.m.count(func(st *Stats) { st.CarrierDrops++ })
	s.m.carrierDropped()
	s.sendLines("NO CARRIER")
}

// reboot restarts this line's AT modem as at power-on: the call ends without a word, the
// modem is deaf for BootDelay (at least 500 ms: a rebooting modem is never instant), then it
// sends its banner.
func (s *session) reboot() {
	if s.call != nil {
		s.endCall()
	}
	s.booted, s.dialing, s.simReady = false, false, false
	s.echo, s.cmee, s.regMode = s.p.Echo, 0, map[string]int{}
	s.line = s.line[:0]
	s.after(max(s.p.BootDelay, 500*time.Millisecond), s.boot)
}
