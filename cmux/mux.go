package cmux

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pppdial/pppdial/line"
)

// Config configures a Mux. The zero value is usable: N1 127, timers suited to a UART.
type Config struct {
	// N1 is the largest information field sent or accepted, as given to AT+CMUX (default 127;
	// clamped to Quirks.MaxN1 when that is set). A longer Write is split across frames; a longer
	// received frame is counted and dropped.
	N1 int
	// T1 is how long a SABM or DISC waits for its UA before it is sent again (default 500 ms:
	// 27.010's 100 ms is too short behind a full 1500-byte frame on a slow UART).
	T1 time.Duration
	// T2 is how long a control channel command waits for its response before it is sent again
	// (default 1 s).
	T2 time.Duration
	// N2 is how many times a command is sent again before ErrNoResponse (default 3).
	N2 int
	// RxBuffer is each channel's receive buffer (default 64 KiB). Above half of it the modem is
	// told to stop sending on that DLC (MSC with FC); once read below a quarter, to resume. The
	// other half holds what is in flight when the modem hears it.
	RxBuffer int
	// RxWait is how long the reader holds the whole line when a channel's buffer is full
	// anyway, waiting for its Read (default 1 s); after that the channel's data is dropped and
	// counted in Stats.Dropped until it reads again, so one stalled channel cannot stall the
	// others for good.
	RxWait time.Duration
	// Quirks adapt the multiplexer to a modem family (see QuirksFor).
	Quirks Quirks
	// MSCOnOpen makes a responder send its own MSC right after it answers a SABM, as SIM800
	// modems do (for tests of the initiator). Ignored by an initiator.
	MSCOnOpen bool
	// Logger receives debug and warning messages (default: slog.Default()).
	Logger *slog.Logger
}

func (c Config) withDefaults() Config {
	if c.N1 <= 0 {
		c.N1 = DefaultN1
	}
	if c.Quirks.MaxN1 > 0 && c.N1 > c.Quirks.MaxN1 {
		c.N1 = c.Quirks.MaxN1
	}
	c.N1 = min(c.N1, MaxN1)
	if c.T1 <= 0 {
		c.T1 = 500 * time.Millisecond
	}
	if c.T2 <= 0 {
		c.T2 = time.Second
	}
	if c.N2 <= 0 {
		c.N2 = 3
	}
	if c.RxBuffer <= 0 {
		c.RxBuffer = 64 << 10
	}
	c.RxBuffer = max(c.RxBuffer, 2*c.N1)
	if c.RxWait <= 0 {
		c.RxWait = time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// Mux is one end of a 27.010 basic-option multiplexer on a line. One goroutine reads the line
// and dispatches frames; writers share the line under a lock, one whole batch of frames at a
// time. Each DLC is a *Channel, itself a line.Line.
//
// New makes the initiator (the host, which opens DLCs and closes the multiplexer); NewResponder
// makes the modem side, for tests and emulated modems.
type Mux struct {
	l         line.Line
	cfg       Config
	log       *slog.Logger
	responder bool

	// wsem is the line's write lock: a one-slot semaphore, so a writer waits with a deadline.
	wsem   chan struct{}
	wbuf   []byte    // control frames, under wsem
	lineDL time.Time // the write deadline last set on the line, under wsem

	mu      sync.Mutex
	chans   [MaxDLCI + 1]*Channel
	open    bool // DLC 0 is up
	flowOff bool // the modem sent FCoff: no data on any DLC until FCon
	waiters []*waiter
	accept  chan *Channel // responder: DLCs the initiator opened

	stopping atomic.Bool   // Close is ending the reader on purpose
	done     chan struct{} // closed when the reader has exited
	err      error         // why the reader exited; read after done
	testSeq  atomic.Uint64

	framesIn, framesOut, dropped atomic.Uint64
	statsMu                      sync.Mutex
	dec                          DecoderStats
}

// New starts the initiator side of a multiplexer on l, which must already be in CMUX mode
// (AT+CMUX answered OK). Call Open next. The Mux reads l from now on until Close returns or the
// modem ends the multiplexer; it never closes l.
func New(l line.Line, cfg Config) *Mux { return start(l, cfg, false) }

// NewResponder starts the modem side of a multiplexer on l: it answers SABM, DISC, MSC, Test,
// PSC, FCon/FCoff and CLD, and hands each DLC the initiator opens to Accept.
func NewResponder(l line.Line, cfg Config) *Mux { return start(l, cfg, true) }

func start(l line.Line, cfg Config, responder bool) *Mux {
	cfg = cfg.withDefaults()
	m := &Mux{
		l:         l,
		cfg:       cfg,
		log:       cfg.Logger.With("pkg", "cmux"),
		responder: responder,
		wsem:      make(chan struct{}, 1),
		wbuf:      make([]byte, 0, FrameLen(cfg.N1)),
		done:      make(chan struct{}),
	}
	if responder {
		m.accept = make(chan *Channel, MaxDLCI)
	}
	_ = l.SetReadDeadline(time.Time{})
	go m.readLoop()
	return m
}

// N1 is the frame size in use.
func (m *Mux) N1() int { return m.cfg.N1 }

// Done is closed when the multiplexer has stopped reading the line: after Close, after the
// modem ended it (CLD, DISC on DLC 0), or after a line error. Err says why.
func (m *Mux) Done() <-chan struct{} { return m.done }

// Err returns why the multiplexer stopped (wrapping ErrMuxClosed, or the line's error), or nil
// while it runs.
func (m *Mux) Err() error {
	select {
	case <-m.done:
		return m.err
	default:
		return nil
	}
}

// isCommand reports whether a frame's C/R bit marks a command. 27.010 clause 5.2.1.2: the
// initiator sends commands with C/R 1, the responder with C/R 0, and responses the other way.
func (m *Mux) isCommand(cr bool) bool { return cr == m.responder }

// crFor is the C/R bit we send for a command (true) or a response (false) frame; UIH frames
// carry the command value (clause 5.4.3.1).
func (m *Mux) crFor(command bool) bool { return command != m.responder }

// Open brings up the control channel: SABM on DLC 0, and waits for UA (sent again every T1, N2
// times). It returns ErrRefused if the modem answers DM.
func (m *Mux) Open(ctx context.Context) error {
	if m.responder {
		return errors.New("cmux: Open is the initiator's; a responder waits in Accept")
	}
	if err := m.connect(ctx, 0); err != nil {
		return fmt.Errorf("cmux: open DLC 0: %w", err)
	}
	m.mu.Lock()
	m.open = true
	m.mu.Unlock()
	return nil
}

// OpenChannel opens DLC dlci (1..61): SABM and UA, then an MSC with RTC, RTR and DV set (the
// modem's answer is waited for; a modem that never answers MSC is tolerated, with a warning),
// then the pause the quirks ask for. The modem's own MSC is answered whenever it comes.
func (m *Mux) OpenChannel(ctx context.Context, dlci int) (*Channel, error) {
	if dlci < 1 || dlci > 61 {
		// DLCI 62 is out: its responder address octet is 0xF9, the flag.
		return nil, fmt.Errorf("cmux: DLC %d: %w", dlci, ErrBadDLCI)
	}
	if m.responder {
		return nil, errors.New("cmux: OpenChannel is the initiator's; a responder waits in Accept")
	}
	m.mu.Lock()
	switch {
	case !m.open:
		m.mu.Unlock()
		return nil, ErrNotOpen
	case m.chans[dlci] != nil:
		m.mu.Unlock()
		return nil, fmt.Errorf("cmux: DLC %d: %w", dlci, ErrChannelInUse)
	}
	c := newChannel(m, uint8(dlci))
	m.chans[dlci] = c
	m.mu.Unlock()

	if err := m.connect(ctx, uint8(dlci)); err != nil {
		m.mu.Lock()
		m.chans[dlci] = nil
		m.mu.Unlock()
		return nil, fmt.Errorf("cmux: open DLC %d: %w", dlci, err)
	}
	c.setOpen()
	if err := m.command(ctx, Msg{Type: MsgMSC, Command: true, Value: mscValue(nil, uint8(dlci), SigRTC|SigRTR|SigDV)}, nil); err != nil {
		if !errors.Is(err, ErrNoResponse) && !errors.Is(err, ErrNotSupported) {
			c.Close()
			return nil, fmt.Errorf("cmux: MSC on DLC %d: %w", dlci, err)
		}
		m.log.Warn("modem did not acknowledge MSC; going on", "dlci", dlci, "err", err)
	}
	if p := m.cfg.Quirks.PauseAfterOpen; p > 0 {
		t := time.NewTimer(p)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			c.Close()
			return nil, fmt.Errorf("cmux: pause after opening DLC %d: %w", dlci, ctx.Err())
		}
	}
	return c, nil
}

// Accept returns the next DLC the initiator opened (responder only).
func (m *Mux) Accept(ctx context.Context) (*Channel, error) {
	if !m.responder {
		return nil, errors.New("cmux: Accept is the responder's")
	}
	select {
	case c := <-m.accept:
		return c, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-m.done:
		return nil, m.err
	}
}

// Ping sends a Test command with a fresh payload and returns the time until the modem echoed
// it: a liveness probe of the multiplexer that needs no AT channel. It waits at most T2 x N2
// (sending once per T2).
func (m *Mux) Ping(ctx context.Context) (time.Duration, error) {
	var v [8]byte
	binary.BigEndian.PutUint64(v[:], m.testSeq.Add(1)|0x7070_7064_0000_0000) // "pppd" + counter
	begin := time.Now()
	err := m.command(ctx, Msg{Type: MsgTest, Command: true, Value: v[:]}, v[:])
	if err != nil {
		return 0, fmt.Errorf("cmux: ping: %w", err)
	}
	return time.Since(begin), nil
}

// PowerSave sends PSC (power saving control) and waits for the modem's answer.
func (m *Mux) PowerSave(ctx context.Context) error {
	if err := m.command(ctx, Msg{Type: MsgPSC, Command: true}, nil); err != nil {
		return fmt.Errorf("cmux: PSC: %w", err)
	}
	return nil
}

// SetFlow tells the modem whether we can receive on any DLC (FCon) or not (FCoff), and waits for
// its answer. The Mux does this per DLC on its own (MSC with FC) when a channel's buffer fills.
func (m *Mux) SetFlow(ctx context.Context, receive bool) error {
	t := MsgFCoff
	if receive {
		t = MsgFCon
	}
	if err := m.command(ctx, Msg{Type: t, Command: true}, nil); err != nil {
		return fmt.Errorf("cmux: %v: %w", t, err)
	}
	return nil
}

// Close ends the multiplexer within ctx: DISC on every open DLC, then CLD, and DISC on DLC 0 if
// the modem did not answer CLD, each bounded by T1/T2 and ctx. It returns when done or when ctx
// ends, even if the modem never answers (then with ErrCloseUnconfirmed: the modem may well be
// in AT mode already, as n_gsm is; the caller sends AT until OK either way), and stops reading the line (l is left open, back in AT
// mode if the modem obeyed). Channels then fail with ErrMuxClosed. Close is idempotent.
func (m *Mux) Close(ctx context.Context) error {
	select {
	case <-m.done:
		return nil
	default:
	}
	var errs []error
	m.mu.Lock()
	var open []*Channel
	for _, c := range m.chans[1:] {
		if c != nil {
			open = append(open, c)
		}
	}
	wasOpen := m.open
	m.mu.Unlock()
	for _, c := range open {
		if err := c.disconnect(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	if wasOpen && !m.responder {
		if err := m.closeDown(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	m.stop(ctx)
	if len(errs) > 0 {
		// The modem did not answer all of it; the multiplexer is closed on our side anyway.
		return errors.Join(errs...)
	}
	return nil
}

// closeDown ends the multiplexer: CLD, and DISC on DLC 0 if CLD goes unanswered. Each is sent
// once: a modem that obeyed is in AT mode already and takes every further frame as junk on its
// command line. (Linux's n_gsm answers CLD not with a CLD response but by disconnecting DLC 0
// itself, and often leaves the multiplexer before that DISC is even sent.)
func (m *Mux) closeDown(ctx context.Context) error {
	w := m.addWaiter(&waiter{msg: MsgCLD})
	defer m.removeWaiter(w)
	if err := m.writeMsg(ctx, Msg{Type: MsgCLD, Command: true}); err != nil {
		return ignoreClosed(err)
	}
	_, err := m.wait(ctx, w, m.cfg.T2)
	switch {
	case err == nil:
		// Answered. n_gsm-like modems may still disconnect DLC 0: let that DISC have its UA.
		m.waitDone(ctx, m.cfg.T1)
		return nil
	case !errors.Is(err, ErrNoResponse):
		return ignoreClosed(err)
	}
	err = m.connectOrDisconnect(ctx, 0, DISC, 1)
	if errors.Is(err, ErrNoResponse) {
		return fmt.Errorf("%w: neither CLD nor DISC on DLC 0 was answered", ErrCloseUnconfirmed)
	}
	return ignoreClosed(err)
}

// ignoreClosed drops ErrMuxClosed: the modem ending the multiplexer is what closing asked for.
func ignoreClosed(err error) error {
	if errors.Is(err, ErrMuxClosed) {
		return nil
	}
	return err
}

// waitDone waits up to d (and ctx) for the reader to exit.
func (m *Mux) waitDone(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-m.done:
		return true
	case <-t.C:
	case <-ctx.Done():
	}
	return false
}

// stop ends the reader: a read deadline in the past makes its Read return.
func (m *Mux) stop(ctx context.Context) {
	m.stopping.Store(true)
	_ = m.l.SetReadDeadline(time.Now())
	select {
	case <-m.done:
	case <-ctx.Done():
		// The reader ends when its Read sees the deadline; it clears the deadline then.
	}
	// Hand the line back without the write deadline our last frame set.
	select {
	case m.wsem <- struct{}{}:
		_ = m.l.SetWriteDeadline(time.Time{})
		m.lineDL = time.Time{}
		m.unlock()
	case <-ctx.Done():
	}
}

// connect sends SABM on dlci and waits for UA.
func (m *Mux) connect(ctx context.Context, dlci uint8) error {
	return m.connectOrDisconnect(ctx, dlci, SABM, m.cfg.N2+1)
}

// connectOrDisconnect sends SABM or DISC on dlci up to tries times, T1 apart, until UA or DM.
func (m *Mux) connectOrDisconnect(ctx context.Context, dlci uint8, t FrameType, tries int) error {
	w := m.addWaiter(&waiter{frame: true, dlci: dlci})
	defer m.removeWaiter(w)
	for range tries {
		if err := m.writeFrame(ctx, Frame{DLCI: dlci, CR: m.crFor(true), Type: t, PF: true}); err != nil {
			return err
		}
		r, err := m.wait(ctx, w, m.cfg.T1)
		if err != nil {
			if errors.Is(err, ErrNoResponse) {
				continue
			}
			return err
		}
		if r.frame == DM && t == SABM {
			return ErrRefused
		}
		return nil // UA; or DM to DISC: closed either way
	}
	return fmt.Errorf("%w to %v on DLC %d (%d tries, T1 %v)", ErrNoResponse, t, dlci, tries, m.cfg.T1)
}

// command sends a control channel command and waits for its response (sent again every T2, N2
// times). A Test response must echo want.
func (m *Mux) command(ctx context.Context, msg Msg, want []byte) error {
	w := m.addWaiter(&waiter{msg: msg.Type, want: want})
	defer m.removeWaiter(w)
	for range m.cfg.N2 + 1 {
		if err := m.writeMsg(ctx, msg); err != nil {
			return err
		}
		_, err := m.wait(ctx, w, m.cfg.T2)
		if errors.Is(err, ErrNoResponse) {
			continue
		}
		return err
	}
	return fmt.Errorf("%w to %v (%d tries, T2 %v)", ErrNoResponse, msg.Type, m.cfg.N2+1, m.cfg.T2)
}

// waiter is a command waiting for its response: UA/DM on a DLC, or a control message.
type waiter struct {
	frame bool
	dlci  uint8
	msg   MsgType
	want  []byte
	ch    chan result
}

type result struct {
	frame FrameType
	err   error
}

func (m *Mux) addWaiter(w *waiter) *waiter {
	w.ch = make(chan result, 1)
	m.mu.Lock()
	m.waiters = append(m.waiters, w)
	m.mu.Unlock()
	return w
}

func (m *Mux) removeWaiter(w *waiter) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i, x := range m.waiters {
		if x == w {
			m.waiters = append(m.waiters[:i], m.waiters[i+1:]...)
			return
		}
	}
}

// wake hands r to the first waiter match accepts.
func (m *Mux) wake(match func(*waiter) bool, r result) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, w := range m.waiters {
		if match(w) {
			select {
			case w.ch <- r:
			default: // an answer to a repeated command already arrived
			}
			return true
		}
	}
	return false
}

func (m *Mux) wait(ctx context.Context, w *waiter, d time.Duration) (result, error) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case r := <-w.ch:
		return r, r.err
	case <-t.C:
		return result{}, ErrNoResponse
	case <-ctx.Done():
		return result{}, ctx.Err()
	case <-m.done:
		return result{}, m.err
	}
}

// writeFrame sends one frame, bounded by ctx and by 2 x T2 (a control frame must not hang on a
// wedged line).
func (m *Mux) writeFrame(ctx context.Context, f Frame) error {
	if err := m.lock(ctx.Done(), nil); err != nil {
		return err
	}
	defer m.unlock()
	var err error
	if m.wbuf, err = AppendFrame(m.wbuf[:0], f); err != nil {
		return err
	}
	return m.writeLocked(m.wbuf, m.controlDeadline(ctx), 1)
}

// writeMsg sends one control message in a UIH frame on DLC 0.
func (m *Mux) writeMsg(ctx context.Context, msg Msg) error {
	var buf [64]byte
	info := AppendMsg(buf[:0], msg)
	return m.writeFrame(ctx, Frame{DLCI: 0, CR: m.crFor(true), Type: UIH, Info: info})
}

// timers are reused by reply: a flow-control MSC in the data path must not allocate.
var timers = sync.Pool{New: func() any {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return t
}}

// reply sends a frame that nobody waits on (an answer, a flow-control MSC), bounded by 2 x T2;
// the error is only logged (a dead line shows up as the reader's read error).
func (m *Mux) reply(f Frame) {
	if err := m.replyLocked(f); err != nil {
		m.log.Debug("reply not sent", "frame", f.String(), "err", err)
	}
}

func (m *Mux) replyLocked(f Frame) error {
	bound := 2 * m.cfg.T2
	select {
	case m.wsem <- struct{}{}:
	default:
		t := timers.Get().(*time.Timer)
		t.Reset(bound)
		select {
		case m.wsem <- struct{}{}:
			t.Stop()
			timers.Put(t)
		case <-t.C:
			timers.Put(t)
			return os.ErrDeadlineExceeded
		case <-m.done:
			t.Stop()
			timers.Put(t)
			return m.err
		}
	}
	defer m.unlock()
	select {
	case <-m.done:
		return m.err
	default:
	}
	var err error
	if m.wbuf, err = AppendFrame(m.wbuf[:0], f); err != nil {
		return err
	}
	return m.writeLocked(m.wbuf, time.Now().Add(bound), 1)
}

func (m *Mux) replyMsg(msg Msg) {
	var buf [64]byte
	info := AppendMsg(buf[:0], msg)
	m.reply(Frame{DLCI: 0, CR: m.crFor(true), Type: UIH, Info: info})
}

func (m *Mux) controlDeadline(ctx context.Context) time.Time {
	dl := time.Now().Add(2 * m.cfg.T2)
	if d, ok := ctx.Deadline(); ok && d.Before(dl) {
		dl = d
	}
	return dl
}

// lock takes the line's write lock, giving up when cancel or timeout is closed or the reader
// has stopped.
func (m *Mux) lock(cancel, timeout <-chan struct{}) error {
	select {
	case <-m.done:
		// Not one byte more: the line may be back in AT mode.
		return m.err
	default:
	}
	select {
	case m.wsem <- struct{}{}:
		return nil
	default:
	}
	select {
	case m.wsem <- struct{}{}:
		return nil
	case <-cancel:
		return context.Canceled
	case <-timeout:
		return os.ErrDeadlineExceeded
	case <-m.done:
		return m.err
	}
}

func (m *Mux) unlock() { <-m.wsem }

// writeLocked writes b (frames frames) to the line with deadline dl; the caller holds wsem.
func (m *Mux) writeLocked(b []byte, dl time.Time, frames int) error {
	if !dl.Equal(m.lineDL) {
		if err := m.l.SetWriteDeadline(dl); err != nil {
			return fmt.Errorf("cmux: line write deadline: %w", err)
		}
		m.lineDL = dl
	}
	if _, err := m.l.Write(b); err != nil {
		return fmt.Errorf("cmux: line write: %w", err)
	}
	m.framesOut.Add(uint64(frames))
	return nil
}

// readLoop owns the line's read side until the multiplexer ends.
func (m *Mux) readLoop() {
	dec := NewDecoder(m.cfg.N1)
	var err error
	defer func() {
		m.publish(dec)
		m.finish(err)
	}()
	for {
		f, ok := dec.Next()
		if !ok {
			m.publish(dec)
			n, rerr := m.l.Read(dec.Space())
			dec.Commit(n)
			if rerr != nil && n == 0 {
				if m.stopping.Load() {
					// Close set a read deadline to stop us: hand the line back without it.
					_ = m.l.SetReadDeadline(time.Time{})
					err = fmt.Errorf("%w: closed by us", ErrMuxClosed)
				} else {
					err = fmt.Errorf("cmux: line read: %w", rerr)
				}
				return
			}
			continue
		}
		m.framesIn.Add(1)
		if end := m.handle(f); end != nil {
			err = end
			return
		}
	}
}

func (m *Mux) publish(dec *Decoder) {
	m.statsMu.Lock()
	m.dec = dec.Stats()
	m.statsMu.Unlock()
}

// finish records why the reader stopped and fails every channel with it.
func (m *Mux) finish(err error) {
	m.err = err
	m.mu.Lock()
	chans := m.chans
	m.chans = [MaxDLCI + 1]*Channel{}
	m.open = false
	m.mu.Unlock()
	for _, c := range chans {
		if c != nil {
			c.fail(err)
		}
	}
	close(m.done)
}

// handle acts on one good frame; a non-nil error ends the multiplexer.
func (m *Mux) handle(f Frame) error {
	switch f.Type {
	case SABM:
		return m.onSABM(f)
	case UA, DM:
		if m.wake(func(w *waiter) bool { return w.frame && w.dlci == f.DLCI }, result{frame: f.Type}) {
			return nil
		}
		if f.Type == DM {
			if c := m.channel(f.DLCI); c != nil {
				m.drop(f.DLCI)
				c.fail(&ChannelClosedError{DLCI: f.DLCI, By: DM})
			}
		}
		return nil
	case DISC:
		return m.onDISC(f)
	case UIH, UI:
		if f.DLCI == 0 {
			return m.onControl(f.Info)
		}
		c := m.channel(f.DLCI)
		if c == nil {
			m.dropped.Add(1)
			// n_gsm does the same: tell the sender the DLC is not open.
			m.reply(Frame{DLCI: f.DLCI, CR: m.crFor(false), Type: DM, PF: true})
			return nil
		}
		if !c.deliver(f.Info) {
			m.dropped.Add(1)
		}
		return nil
	}
	m.dropped.Add(1)
	return nil
}

func (m *Mux) onSABM(f Frame) error {
	if !m.responder {
		// We open DLCs; we do not take the modem's.
		m.reply(Frame{DLCI: f.DLCI, CR: m.crFor(false), Type: DM, PF: true})
		return nil
	}
	m.mu.Lock()
	var c *Channel
	if f.DLCI == 0 {
		m.open = true
	} else if m.chans[f.DLCI] == nil && f.DLCI <= 61 {
		c = newChannel(m, f.DLCI)
		c.setOpen()
		m.chans[f.DLCI] = c
	}
	m.mu.Unlock()
	m.reply(Frame{DLCI: f.DLCI, CR: m.crFor(false), Type: UA, PF: f.PF})
	if c != nil {
		if m.cfg.MSCOnOpen {
			m.replyMsg(Msg{Type: MsgMSC, Command: true, Value: mscValue(nil, f.DLCI, SigRTC|SigRTR|SigDV)})
		}
		select {
		case m.accept <- c:
		default:
			m.log.Warn("accept queue full; DLC not handed out", "dlci", f.DLCI)
		}
	}
	return nil
}

func (m *Mux) onDISC(f Frame) error {
	if f.DLCI == 0 {
		m.reply(Frame{DLCI: 0, CR: m.crFor(false), Type: UA, PF: f.PF})
		return fmt.Errorf("%w: the modem disconnected DLC 0", ErrMuxClosed)
	}
	c := m.channel(f.DLCI)
	if c == nil {
		m.reply(Frame{DLCI: f.DLCI, CR: m.crFor(false), Type: DM, PF: f.PF})
		return nil
	}
	m.drop(f.DLCI)
	c.fail(&ChannelClosedError{DLCI: f.DLCI, By: DISC})
	m.reply(Frame{DLCI: f.DLCI, CR: m.crFor(false), Type: UA, PF: f.PF})
	return nil
}

// onControl handles the messages of a control channel frame.
func (m *Mux) onControl(p []byte) error {
	for len(p) > 0 {
		msg, rest, err := ParseMsg(p)
		if err != nil {
			m.dropped.Add(1)
			m.log.Debug("control message dropped", "err", err)
			return nil
		}
		p = rest
		if !msg.Command {
			m.onResponse(msg)
			continue
		}
		resp := Msg{Type: msg.Type, Value: msg.Value}
		switch msg.Type {
		case MsgMSC:
			dlci, sig, ok := parseMSC(msg.Value)
			if !ok {
				m.dropped.Add(1)
				continue
			}
			if c := m.channel(dlci); c != nil {
				c.setRemote(sig)
			}
		case MsgFCoff, MsgFCon:
			m.setFlowOff(msg.Type == MsgFCoff)
		case MsgTest, MsgPSC, MsgPN:
			// Echo: Test by definition; PSC acknowledged; PN accepted as proposed.
		case MsgCLD:
			m.replyMsg(resp)
			return fmt.Errorf("%w: the modem sent CLD", ErrMuxClosed)
		default:
			resp = Msg{Type: MsgNSC, Value: []byte{byte(msg.Type) | bitCR | bitEA}}
		}
		m.replyMsg(resp)
	}
	return nil
}

func (m *Mux) onResponse(msg Msg) {
	if msg.Type == MsgNSC {
		if len(msg.Value) > 0 {
			t := MsgType(msg.Value[0] &^ bitCR)
			m.wake(func(w *waiter) bool { return !w.frame && w.msg == t }, result{err: fmt.Errorf("%w: %v", ErrNotSupported, t)})
		}
		return
	}
	// Not through wake's closure: an MSC response comes with every flow-control change.
	m.mu.Lock()
	found := false
	for _, w := range m.waiters {
		if !w.frame && w.msg == msg.Type && (w.want == nil || bytes.Equal(w.want, msg.Value)) {
			select {
			case w.ch <- result{}:
			default:
			}
			found = true
			break
		}
	}
	m.mu.Unlock()
	// The answers to our flow-control MSCs land here: no logging cost unless asked for.
	if !found && m.log.Enabled(context.Background(), slog.LevelDebug) {
		m.log.Debug("unanswered control response", "type", msg.Type.String())
	}
}

func (m *Mux) setFlowOff(off bool) {
	m.mu.Lock()
	m.flowOff = off
	chans := m.chans
	m.mu.Unlock()
	for _, c := range chans {
		if c != nil {
			notify(c.txReady)
		}
	}
}

// Channel returns DLC dlci while it is open (on a responder: for the modem to close it).
func (m *Mux) Channel(dlci int) (*Channel, bool) {
	if dlci < 1 || dlci > MaxDLCI {
		return nil, false
	}
	c := m.channel(uint8(dlci))
	return c, c != nil
}

func (m *Mux) channel(dlci uint8) *Channel {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.chans[dlci]
}

func (m *Mux) drop(dlci uint8) {
	m.mu.Lock()
	m.chans[dlci] = nil
	m.mu.Unlock()
}

func (m *Mux) flowStopped() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.flowOff
}

// Stats are a Mux's counters.
type Stats struct {
	FramesIn  uint64 // good frames received
	FramesOut uint64 // frames sent
	// Decoder counts what was dropped on the way in: bad FCS, longer than N1, truncated,
	// malformed, garbage bytes.
	Decoder DecoderStats
	// Dropped counts good frames that could not be used: data for a DLC that is not open, data
	// beyond a full receive buffer, unparseable control messages, unknown frame types.
	Dropped  uint64
	Channels map[uint8]ChannelStats // per open DLC
}

// Stats returns the counters so far.
func (m *Mux) Stats() Stats {
	s := Stats{
		FramesIn:  m.framesIn.Load(),
		FramesOut: m.framesOut.Load(),
		Dropped:   m.dropped.Load(),
		Channels:  map[uint8]ChannelStats{},
	}
	m.statsMu.Lock()
	s.Decoder = m.dec
	m.statsMu.Unlock()
	m.mu.Lock()
	for _, c := range m.chans {
		if c != nil {
			s.Channels[c.dlci] = c.Stats()
		}
	}
	m.mu.Unlock()
	return s
}
