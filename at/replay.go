package at

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pppdial/pppdial/at/transcript"
)

// ReplayOptions tune Replay.
type ReplayOptions struct {
	// Timeout bounds the whole replay (default 30 s).
	Timeout time.Duration
	// EventTimeout bounds the wait for each write the transcript expects from the dialer, and
	// for the dialer to take each modem chunk (default 5 s).
	EventTimeout time.Duration
	// Gap is the pause between consecutive modem chunks so that they reach the dialer as
	// separate reads, as recorded (default 2 ms).
	Gap time.Duration
	// Realtime plays modem chunks at their recorded time offsets instead of as fast as possible.
	Realtime bool
	// Logger receives the dialer's debug log.
	Logger *slog.Logger
}

// ReplayReport is what a replay found.
type ReplayReport struct {
	Expect   string        // the transcript's "# expect:" header
	Outcome  string        // what happened: "ok" or "error <kind>" (see Outcome)
	Err      error         // the dial's error, nil on success
	Info     Info          // the dial's Info on success
	Data     []byte        // bytes the session's Data yielded after CONNECT
	Progress []Event       // the dial's progress events (Kind EventProgress)
	Events   int           // transcript events played
	Elapsed  time.Duration // how long the replay took
}

// outcomeKinds names the errors a transcript can expect ("# expect: error <kind>").
var outcomeKinds = []struct {
	kind string
	err  error
}{
	{"wrong-pin", ErrWrongPIN},
	{"puk-required", ErrPUKRequired},
	{"sim-not-inserted", ErrSIMNotInserted},
	{"sim-pin-required", ErrSIMPINRequired},
	{"sim-locked", ErrSIMLocked},
	{"sim-failure", ErrSIMFailure},
	{"registration-denied", ErrRegistrationDenied},
	{"registration-timeout", ErrRegistrationTimeout},
	{"no-registration-command", ErrNoRegistrationCommand},
	{"no-carrier", ErrNoCarrier},
	{"busy", ErrBusy},
	{"no-dialtone", ErrNoDialtone},
	{"no-answer", ErrNoAnswer},
	{"dial-failed", ErrDialFailed},
	{"no-response", ErrNoResponse},
	{"command-timeout", ErrCommandTimeout},
	{"command-failed", ErrCommandFailed},
}

// Outcome names a Dial result the way transcripts write it: "ok", "error wrong-pin",
// "error cme:126", or "error other" for anything else.
func Outcome(err error) string {
	if err == nil {
		return "ok"
	}
	for _, k := range outcomeKinds {
		if errors.Is(err, k.err) {
			return "error " + k.kind
		}
	}
	var cme *CMEError
	if errors.As(err, &cme) {
		return "error cme:" + strconv.Itoa(int(cme.Code))
	}
	return "error other"
}

// replayConfig builds the dialer's Config from the "# config:" header. Replays run with short
// timeouts unless the header says otherwise: the modem answers at once, and silence in a
// transcript means the modem stayed silent.
func replayConfig(t *transcript.Transcript, log *slog.Logger) (Config, error) {
	base := Config{
		PollInterval: 20 * time.Millisecond,
		Guard:        20 * time.Millisecond,
		Timeouts: Timeouts{
			Wake: 3 * time.Second, WakeRetry: 200 * time.Millisecond, Command: time.Second,
			SIM: 3 * time.Second, Register: 3 * time.Second, Dial: 3 * time.Second,
		},
		Logger: log,
	}
	c, err := transcript.ParseDialConfig(t.Get("config"))
	if err != nil {
		return base, err
	}
	return configFromTranscript(c, base), nil
}

// timeoutOutcome reports outcomes where the dialer keeps talking to a modem that stays silent
// after the transcript ends.
func timeoutOutcome(expect string) bool {
	switch expect {
	case "error registration-timeout", "error no-response", "error command-timeout":
		return true
	}
	return false
}

// splitAtConnect finds the CONNECT line in the modem's bytes, cut as the Port cuts it
// (cutConnect), and returns the index of the event where the data phase starts and the offset
// in that event (-1, -1 when there is none).
func splitAtConnect(evs []transcript.Event) (int, int) {
	var all []byte
	var owner []int // event index of each byte
	for i, ev := range evs {
		if ev.Dir != transcript.Modem {
			continue
		}
		all = append(all, ev.Data...)
		for range ev.Data {
			owner = append(owner, i)
		}
	}
	for k := 0; k < len(all); k++ {
		if k > 0 && all[k-1] != '\r' && all[k-1] != '\n' {
			continue
		}
		_, n, _, ok := cutConnect(all[k:])
		if !ok || !bytes.HasPrefix(all[k:], []byte("CONNECT")) {
			continue
		}
		end := k + n
		if end >= len(all) {
			last := owner[len(owner)-1]
			return last, len(evs[last].Data)
		}
		ev := owner[end]
		off := 0 // offset of byte end inside its event
		for j := end - 1; j >= 0 && owner[j] == ev; j-- {
			off++
		}
		return ev, off
	}
	return -1, -1
}

// ReplayFile replays the transcript in path; see Replay.
func ReplayFile(ctx context.Context, path string, opts ReplayOptions) (*ReplayReport, error) {
	t, err := transcript.ParseFile(path)
	if err != nil {
		return nil, err
	}
	return Replay(ctx, t, opts)
}

// Replay plays the transcript's modem side against Dial: it writes each '<' chunk as the modem
// and checks that the dialer writes exactly each '>' chunk, in order. It then checks the dial's
// outcome against "# expect:" (and "# expect-info:" when present: keys operator, act, dbm, reg,
// connect) and, on success, that Session.Data() yields exactly the bytes after the CONNECT line
// and carries the host's data-phase writes. The dial's config comes from "# config:" (keys apn,
// pin, pdp, cid, dial, init, reg; durations poll, guard, wake, wake-retry, cmd, sim, register,
// dial-timeout). A PIN written as **** is sent as "****", matching the redacted recording.
//
// The returned error describes the first mismatch; the report is returned either way.
func Replay(ctx context.Context, t *transcript.Transcript, opts ReplayOptions) (*ReplayReport, error) {
	opts = opts.withDefaults()
	start := time.Now()
	rep := &ReplayReport{Expect: strings.Join(strings.Fields(t.Get("expect")), " ")}
	if rep.Expect == "" {
		return rep, errors.New("replay: the transcript has no \"# expect:\" header")
	}
	cfg, err := replayConfig(t, opts.Logger)
	if err != nil {
		return rep, fmt.Errorf("replay: %w", err)
	}
	var pmu sync.Mutex
	cfg.OnEvent = func(e Event) {
		if e.Kind != EventProgress {
			return
		}
		pmu.Lock()
		rep.Progress = append(rep.Progress, e)
		pmu.Unlock()
	}
	ctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()

	hostEnd, modemEnd := net.Pipe()
	r := newReplayRun(t, opts, rep, modemEnd, start)
	defer func() {
		hostEnd.Close()
		modemEnd.Close()
		cancel()
		r.wg.Wait()
		rep.Elapsed = time.Since(start)
	}()
	r.collectWrites()
	port := NewPort(hostEnd)
	defer port.Close()
	r.startDial(ctx, port, cfg)
	if err := r.play(ctx); err != nil {
		return rep, err
	}
	return rep, r.finish(ctx)
}

// withDefaults fills the zero options, so that a ReplayOptions{} replays the checked-in
// transcripts at full speed with bounded waits.
func (o ReplayOptions) withDefaults() ReplayOptions {
	if o.Timeout <= 0 {
		o.Timeout = 30 * time.Second
	}
	if o.EventTimeout <= 0 {
		o.EventTimeout = 5 * time.Second
	}
	if o.Gap <= 0 {
		o.Gap = 2 * time.Millisecond
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// replayRun is one replay in progress. Replay plays the modem's side from its own goroutine
// while the dialer, a collector of the dialer's writes and (after CONNECT) the data phase run on
// theirs; this struct is what they share, so that each part of the replay can be read on its
// own instead of as closures over one long function's locals.
type replayRun struct {
	t        *transcript.Transcript
	opts     ReplayOptions
	rep      *ReplayReport
	modemEnd net.Conn  // the modem's end of the pipe: the replay writes '<' chunks here
	start    time.Time // when the replay began, for Realtime's offsets
	wg       sync.WaitGroup

	// What the dialer wrote and the transcript has not matched yet (collectWrites).
	rmu    sync.Mutex
	recv   []byte
	recvCh chan struct{} // pinged after each read; capacity 1, so pings merge

	// The dial's result (startDial): res is set before dialDone is closed.
	res      dialResult
	dialDone chan struct{}
	// dialCase is dialDone for the play loop until the data phase runs, then nil: from there
	// the host's writes come from the session's Data, not from Dial. Only play touches it.
	dialCase <-chan struct{}

	// The data phase (startData): after CONNECT the session's Data must yield wantData and
	// carry hostData to the modem.
	connEv             int // event where the data phase starts (-1: no CONNECT)
	wantData, hostData []byte
	dmu                sync.Mutex
	got                []byte
	dataDone           chan error
}

// dialResult is what Dial returned.
type dialResult struct {
	s   *Session
	err error
}

// newReplayRun prepares a replay of t: the data phase's expected bytes are known before the
// dial starts, since the data phase may begin the moment CONNECT arrives.
func newReplayRun(t *transcript.Transcript, opts ReplayOptions, rep *ReplayReport, modemEnd net.Conn, start time.Time) *replayRun {
	r := &replayRun{
		t: t, opts: opts, rep: rep, modemEnd: modemEnd, start: start,
		recvCh:   make(chan struct{}, 1),
		dialDone: make(chan struct{}),
		dataDone: make(chan error, 1),
	}
	r.dialCase = r.dialDone
	var connOff int
	r.connEv, connOff = splitAtConnect(t.Events)
	r.wantData, r.hostData = dataPhase(t.Events, r.connEv, connOff)
	return r
}

// dataPhase splits the transcript's bytes after CONNECT (which starts at offset off of event
// ev) into what the modem sends, which Session.Data must yield, and what the host sends, which
// the replay writes to Session.Data. Both are nil without a CONNECT (ev < 0).
func dataPhase(evs []transcript.Event, ev, off int) (want, host []byte) {
	if ev < 0 {
		return nil, nil
	}
	for i := ev; i < len(evs); i++ {
		e := evs[i]
		switch {
		case e.Dir == transcript.Modem && i == ev:
			want = append(want, e.Data[off:]...)
		case e.Dir == transcript.Modem:
			want = append(want, e.Data...)
		case i > ev:
			host = append(host, e.Data...)
		}
	}
	return want, host
}

// collectWrites gathers everything the dialer writes, as it comes, so that a '>' chunk can be
// matched however the dialer's writes were cut.
func (r *replayRun) collectWrites() {
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		b := make([]byte, 4096)
		for {
			n, err := r.modemEnd.Read(b)
			r.rmu.Lock()
			r.recv = append(r.recv, b[:n]...)
			r.rmu.Unlock()
			select {
			case r.recvCh <- struct{}{}:
			default:
			}
			if err != nil {
				return
			}
		}
	}()
}

// written returns what the dialer wrote that no '>' chunk has matched yet.
func (r *replayRun) written() []byte {
	r.rmu.Lock()
	defer r.rmu.Unlock()
	return r.recv
}

// startDial runs Dial on its own goroutine, since the replay must play the modem meanwhile, and
// starts the data phase as soon as the dial succeeds: the modem's data may follow CONNECT in
// the very same chunk.
func (r *replayRun) startDial(ctx context.Context, port *Port, cfg Config) {
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		s, err := Dial(ctx, port, cfg)
		r.res = dialResult{s, err}
		if err == nil {
			r.startData(s)
		}
		close(r.dialDone)
	}()
}

// dialEnded reports whether Dial has returned (r.res is then set).
func (r *replayRun) dialEnded() bool {
	select {
	case <-r.dialDone:
		return true
	default:
		return false
	}
}

// startData runs the data phase, once the dial succeeds: send the host's bytes, read the
// modem's until wantData's length has come.
func (r *replayRun) startData(s *Session) {
	r.wg.Add(2)
	go func() {
		defer r.wg.Done()
		if len(r.hostData) > 0 {
			_, _ = s.Data().Write(r.hostData)
		}
	}()
	go func() {
		defer r.wg.Done()
		b := make([]byte, 4096)
		for {
			r.dmu.Lock()
			n := len(r.got)
			r.dmu.Unlock()
			if n >= len(r.wantData) {
				r.dataDone <- nil
				return
			}
			k, err := s.Data().Read(b)
			r.dmu.Lock()
			r.got = append(r.got, b[:k]...)
			r.dmu.Unlock()
			if err != nil {
				r.dataDone <- err
				return
			}
		}
	}()
}

// play walks the transcript in order: each '>' chunk must come from the dialer before the
// next '<' chunk is written to it, which is what keeps the conversation in step.
func (r *replayRun) play(ctx context.Context) error {
	var lastDir transcript.Direction
	for i, ev := range r.t.Events {
		r.rep.Events++
		var err error
		switch ev.Dir {
		case transcript.Host:
			err = r.expectWrite(ctx, i, ev)
		case transcript.Modem:
			err = r.writeModem(ctx, ev, lastDir == transcript.Modem)
		}
		if err != nil {
			return err
		}
		lastDir = ev.Dir
	}
	return nil
}

// expectWrite waits until the dialer has written the '>' chunk ev (the i-th event), failing at
// the first byte that differs, when EventTimeout passes, or when the dial ends before it.
func (r *replayRun) expectWrite(ctx context.Context, i int, ev transcript.Event) error {
	deadline := time.Now().Add(r.opts.EventTimeout)
	for {
		have := r.written()
		n := min(len(have), len(ev.Data))
		if !bytes.Equal(have[:n], ev.Data[:n]) {
			return fmt.Errorf("replay: line %d: the dialer wrote %s, the transcript expects %s",
				ev.Line, transcript.Quote(have[:min(len(have), len(ev.Data)+16)]), transcript.Quote(ev.Data))
		}
		if n == len(ev.Data) {
			r.rmu.Lock()
			r.recv = r.recv[n:]
			r.rmu.Unlock()
			return nil
		}
		wait := time.Until(deadline)
		if wait <= 0 {
			return fmt.Errorf("replay: line %d: the dialer wrote %s, the transcript expects %s (timed out after %v)",
				ev.Line, transcript.Quote(have), transcript.Quote(ev.Data), r.opts.EventTimeout)
		}
		tm := time.NewTimer(wait)
		select {
		case <-r.recvCh:
		case <-r.dialCase:
			if r.res.err != nil || i < r.connEv {
				tm.Stop()
				return fmt.Errorf("replay: line %d: the dial ended (%v) with %s still expected from the dialer, got %s",
					ev.Line, r.res.err, transcript.Quote(ev.Data), transcript.Quote(r.written()))
			}
			r.dialCase = nil // data phase: keep waiting for the host's writes
		case <-tm.C:
		case <-ctx.Done():
			tm.Stop()
			return fmt.Errorf("replay: line %d: %w", ev.Line, ctx.Err())
		}
		tm.Stop()
	}
}

// writeModem writes the '<' chunk ev as the modem. afterModem says the previous event was the
// modem's too: a short gap then keeps the two chunks separate reads, as they were recorded.
func (r *replayRun) writeModem(ctx context.Context, ev transcript.Event, afterModem bool) error {
	if r.opts.Realtime {
		if err := sleep(ctx, ev.At-time.Since(r.start)); err != nil {
			return err
		}
	} else if afterModem {
		_ = sleep(ctx, r.opts.Gap)
	}
	_ = r.modemEnd.SetWriteDeadline(time.Now().Add(r.opts.EventTimeout))
	if _, err := r.modemEnd.Write(ev.Data); err != nil {
		if r.dialEnded() && r.res.err != nil {
			return fmt.Errorf("replay: line %d: the dial ended (%v) before the modem's %s", ev.Line, r.res.err, transcript.Quote(ev.Data))
		}
		return fmt.Errorf("replay: line %d: the dialer did not take the modem's %s: %w", ev.Line, transcript.Quote(ev.Data), err)
	}
	return nil
}

// finish waits for the dial to end once the transcript is played, fills the report and checks
// it against the transcript: the expected outcome, the data after CONNECT, expect-info, and no
// write from the dialer that the transcript did not have.
func (r *replayRun) finish(ctx context.Context) error {
	rep := r.rep
	select {
	case <-r.dialDone:
	case <-ctx.Done():
		return fmt.Errorf("replay: the dial did not end after the transcript: %w", ctx.Err())
	}
	res := r.res
	rep.Err = res.err
	rep.Outcome = Outcome(res.err)
	if res.err == nil {
		rep.Info = res.s.Info
		select {
		case err := <-r.dataDone:
			if err != nil {
				return fmt.Errorf("replay: reading the data phase: %w", err)
			}
		case <-time.After(r.opts.EventTimeout):
		}
		r.dmu.Lock()
		rep.Data = append([]byte(nil), r.got...)
		r.dmu.Unlock()
	}
	if !outcomeMatches(rep.Expect, res.err) {
		return fmt.Errorf("replay: expected %q, got %q (%v)", rep.Expect, rep.Outcome, res.err)
	}
	if res.err == nil {
		if !bytes.Equal(rep.Data, r.wantData) {
			return fmt.Errorf("replay: data after CONNECT: got %s, want %s", transcript.Quote(rep.Data), transcript.Quote(r.wantData))
		}
		if err := checkInfo(r.t.Get("expect-info"), rep.Info); err != nil {
			return err
		}
	}
	if !timeoutOutcome(rep.Expect) {
		if extra := r.written(); len(extra) > 0 {
			return fmt.Errorf("replay: the dialer wrote %s after the transcript's last expected write", transcript.Quote(extra))
		}
	}
	return nil
}

// outcomeMatches compares an expect header with a dial error. "error cme" matches any CME error,
// "error cme:N" the code N.
func outcomeMatches(expect string, err error) bool {
	if expect == "ok" {
		return err == nil
	}
	kind, ok := strings.CutPrefix(expect, "error ")
	if !ok || err == nil {
		return false
	}
	for _, k := range outcomeKinds {
		if k.kind == kind {
			return errors.Is(err, k.err)
		}
	}
	var cme *CMEError
	if kind == "cme" {
		return errors.As(err, &cme)
	}
	if c, ok := strings.CutPrefix(kind, "cme:"); ok {
		n, perr := strconv.Atoi(c)
		return perr == nil && errors.As(err, &cme) && cme.Code == CMECode(n)
	}
	return false
}

// checkInfo compares "# expect-info:" keys with what the dial learned.
func checkInfo(spec string, info Info) error {
	if spec == "" {
		return nil
	}
	kv, err := transcript.ParseKV(spec)
	if err != nil {
		return fmt.Errorf("replay: expect-info: %w", err)
	}
	for k, want := range kv {
		var got string
		switch k {
		case "operator":
			got = info.Operator
		case "act":
			got = info.AccessTech
		case "dbm":
			if info.Signal.Known {
				got = strconv.Itoa(info.Signal.DBm)
			} else {
				got = "unknown"
			}
		case "reg":
			got = info.Registration.String()
		case "connect":
			got = info.Connect
		default:
			return fmt.Errorf("replay: expect-info: unknown key %q", k)
		}
		if got != want {
			return fmt.Errorf("replay: expect-info %s: got %q, want %q", k, got, want)
		}
	}
	return nil
}

// ReplayDir replays every *.txt transcript in dir and returns the reports by file name; the
// error joins every failure.
func ReplayDir(ctx context.Context, dir string, opts ReplayOptions) (map[string]*ReplayReport, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	out := map[string]*ReplayReport{}
	var errs []error
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".txt") {
			continue
		}
		rep, err := ReplayFile(ctx, dir+"/"+e.Name(), opts)
		out[e.Name()] = rep
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", e.Name(), err))
		}
	}
	return out, errors.Join(errs...)
}
