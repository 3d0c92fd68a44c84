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
		return "error cme:" + strconv.Itoa(cme.Code)
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
	if opts.Timeout <= 0 {
		opts.Timeout = 30 * time.Second
	}
	if opts.EventTimeout <= 0 {
		opts.EventTimeout = 5 * time.Second
	}
	if opts.Gap <= 0 {
		opts.Gap = 2 * time.Millisecond
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
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
	var wg sync.WaitGroup
	defer func() {
		hostEnd.Close()
		modemEnd.Close()
		cancel()
		wg.Wait()
		rep.Elapsed = time.Since(start)
	}()

	// Everything the dialer writes, collected as it comes.
	var rmu sync.Mutex
	var recv []byte
	recvCh := make(chan struct{}, 1)
	wg.Add(1)
	go func() {
		defer wg.Done()
		b := make([]byte, 4096)
		for {
			n, err := modemEnd.Read(b)
			rmu.Lock()
			recv = append(recv, b[:n]...)
			rmu.Unlock()
			select {
			case recvCh <- struct{}{}:
			default:
			}
			if err != nil {
				return
			}
		}
	}()

	port := NewPort(hostEnd)
	defer port.Close()
	type dialResult struct {
		s   *Session
		err error
	}
	dialCh := make(chan dialResult, 1)
	wg.Add(1)
	go func() {
		defer wg.Done()
		s, err := Dial(ctx, port, cfg)
		dialCh <- dialResult{s, err}
	}()

	connEv, connOff := splitAtConnect(t.Events)
	var wantData, hostData []byte
	if connEv >= 0 {
		for i := connEv; i < len(t.Events); i++ {
			ev := t.Events[i]
			switch {
			case ev.Dir == transcript.Modem && i == connEv:
				wantData = append(wantData, ev.Data[connOff:]...)
			case ev.Dir == transcript.Modem:
				wantData = append(wantData, ev.Data...)
			case i > connEv:
				hostData = append(hostData, ev.Data...)
			}
		}
	}

	// The data phase, once the dial succeeds: send the host's bytes, read the modem's.
	var dmu sync.Mutex
	var got []byte
	dataDone := make(chan error, 1)
	startData := func(s *Session) {
		wg.Add(2)
		go func() {
			defer wg.Done()
			if len(hostData) > 0 {
				_, _ = s.Data().Write(hostData)
			}
		}()
		go func() {
			defer wg.Done()
			b := make([]byte, 4096)
			for {
				dmu.Lock()
				n := len(got)
				dmu.Unlock()
				if n >= len(wantData) {
					dataDone <- nil
					return
				}
				k, err := s.Data().Read(b)
				dmu.Lock()
				got = append(got, b[:k]...)
				dmu.Unlock()
				if err != nil {
					dataDone <- err
					return
				}
			}
		}()
	}

	// Take the dial's result as soon as it comes, and start the data phase on success.
	var res dialResult
	dialDone := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		res = <-dialCh
		if res.err == nil {
			startData(res.s)
		}
		close(dialDone)
	}()
	dialEnded := func() bool {
		select {
		case <-dialDone:
			return true
		default:
			return false
		}
	}
	dialCase := (<-chan struct{})(dialDone) // set to nil once the data phase runs
	var lastDir transcript.Direction
	for i, ev := range t.Events {
		rep.Events++
		switch ev.Dir {
		case transcript.Host:
			deadline := time.Now().Add(opts.EventTimeout)
			for {
				rmu.Lock()
				have := recv
				rmu.Unlock()
				n := min(len(have), len(ev.Data))
				if !bytes.Equal(have[:n], ev.Data[:n]) {
					return rep, fmt.Errorf("replay: line %d: the dialer wrote %s, the transcript expects %s",
						ev.Line, transcript.Quote(have[:min(len(have), len(ev.Data)+16)]), transcript.Quote(ev.Data))
				}
				if n == len(ev.Data) {
					rmu.Lock()
					recv = recv[n:]
					rmu.Unlock()
					break
				}
				wait := time.Until(deadline)
				if wait <= 0 {
					return rep, fmt.Errorf("replay: line %d: the dialer wrote %s, the transcript expects %s (timed out after %v)",
						ev.Line, transcript.Quote(have), transcript.Quote(ev.Data), opts.EventTimeout)
				}
				tm := time.NewTimer(wait)
				select {
				case <-recvCh:
				case <-dialCase:
					if res.err != nil || i < connEv {
						tm.Stop()
						rmu.Lock()
						have = recv
						rmu.Unlock()
						return rep, fmt.Errorf("replay: line %d: the dial ended (%v) with %s still expected from the dialer, got %s",
							ev.Line, res.err, transcript.Quote(ev.Data), transcript.Quote(have))
					}
					dialCase = nil // data phase: keep waiting for the host's writes
				case <-tm.C:
				case <-ctx.Done():
					tm.Stop()
					return rep, fmt.Errorf("replay: line %d: %w", ev.Line, ctx.Err())
				}
				tm.Stop()
			}
		case transcript.Modem:
			if opts.Realtime {
				if err := sleep(ctx, ev.At-time.Since(start)); err != nil {
					return rep, err
				}
			} else if lastDir == transcript.Modem {
				_ = sleep(ctx, opts.Gap)
			}
			_ = modemEnd.SetWriteDeadline(time.Now().Add(opts.EventTimeout))
			if _, err := modemEnd.Write(ev.Data); err != nil {
				if dialEnded() && res.err != nil {
					return rep, fmt.Errorf("replay: line %d: the dial ended (%v) before the modem's %s", ev.Line, res.err, transcript.Quote(ev.Data))
				}
				return rep, fmt.Errorf("replay: line %d: the dialer did not take the modem's %s: %w", ev.Line, transcript.Quote(ev.Data), err)
			}
		}
		lastDir = ev.Dir
	}

	select {
	case <-dialDone:
	case <-ctx.Done():
		return rep, fmt.Errorf("replay: the dial did not end after the transcript: %w", ctx.Err())
	}
	rep.Err = res.err
	rep.Outcome = Outcome(res.err)
	if res.err == nil {
		rep.Info = res.s.Info
		select {
		case err := <-dataDone:
			if err != nil {
				return rep, fmt.Errorf("replay: reading the data phase: %w", err)
			}
		case <-time.After(opts.EventTimeout):
		}
		dmu.Lock()
		rep.Data = append([]byte(nil), got...)
		dmu.Unlock()
	}
	if !outcomeMatches(rep.Expect, res.err) {
		return rep, fmt.Errorf("replay: expected %q, got %q (%v)", rep.Expect, rep.Outcome, res.err)
	}
	if res.err == nil {
		if !bytes.Equal(rep.Data, wantData) {
			return rep, fmt.Errorf("replay: data after CONNECT: got %s, want %s", transcript.Quote(rep.Data), transcript.Quote(wantData))
		}
		if err := checkInfo(t.Get("expect-info"), rep.Info); err != nil {
			return rep, err
		}
	}
	if !timeoutOutcome(rep.Expect) {
		rmu.Lock()
		extra := recv
		rmu.Unlock()
		if len(extra) > 0 {
			return rep, fmt.Errorf("replay: the dialer wrote %s after the transcript's last expected write", transcript.Quote(extra))
		}
	}
	return rep, nil
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
		return perr == nil && errors.As(err, &cme) && cme.Code == n
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
