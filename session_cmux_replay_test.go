package pppdial

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pppdial/pppdial/at"
	"github.com/pppdial/pppdial/at/transcript"
	"github.com/pppdial/pppdial/cmux"
	"github.com/pppdial/pppdial/internal/serialline"
	"github.com/pppdial/pppdial/line"
	"github.com/pppdial/pppdial/modemsim"
)

// The physical byte stream of a CMUX dial, recorded against modemsim, in the transcript format
// (one codec, package at/transcript): AT, AT+CMUX, then 27.010 frames both ways up to the
// modem's CONNECT on DLC 2. It is not under testdata/transcripts: those are replayed by at's
// own replay, which speaks AT on one line, not frames.
var (
	cmuxDialFile = filepath.Join("testdata", "cmux", "sim7600-dial.txt")
	updateCMUX   = flag.Bool("update-cmux", false, "record "+cmuxDialFile+" again against modemsim")
)

// tapLine records what passes through a line: writes as host events, reads as modem events.
type tapLine struct {
	line.Line
	start time.Time
	mu    sync.Mutex
	evs   []transcript.Event
}

func (t *tapLine) add(dir transcript.Direction, b []byte) {
	t.mu.Lock()
	t.evs = append(t.evs, transcript.Event{Dir: dir, At: time.Since(t.start), Data: bytes.Clone(b)})
	t.mu.Unlock()
}

func (t *tapLine) Read(b []byte) (int, error) {
	n, err := t.Line.Read(b)
	if n > 0 {
		t.add(transcript.Modem, b[:n])
	}
	return n, err
}

func (t *tapLine) Write(b []byte) (int, error) {
	n, err := t.Line.Write(b)
	if n > 0 {
		t.add(transcript.Host, b[:n])
	}
	return n, err
}

func (t *tapLine) events() []transcript.Event {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]transcript.Event(nil), t.evs...)
}

// replayConfig is the session config both the recording and the replay use: they must agree,
// or the host's bytes differ from the recorded ones.
func replayConfig(open func(context.Context) (line.Line, error)) Config {
	return Config{
		Open: open,
		// One AT per wake whatever the load: a second AT, sent because the replayed OK came
		// after WakeRetry on a loaded machine, is not in the recording (seen in a full run).
		Modem: at.Config{APN: "internet", Guard: testGuard, PollInterval: 50 * time.Millisecond,
			Timeouts: at.Timeouts{WakeRetry: 5 * time.Second}},
		Hangup:          at.HangupOptions{Guard: testGuard},
		CMUX:            CMUXOn,
		CMUXN1:          127,
		MonitorInterval: time.Hour, // no poll between the dial's commands
		Holdoff:         50 * time.Millisecond,
	}
}

// recordCMUXDial dials modemsim's SIM7600 with CMUX through a tap and returns the stream up to
// the modem's CONNECT on DLC 2.
func recordCMUXDial(t *testing.T) *transcript.Transcript {
	p := modemsim.SIM7600()
	p.GuardTime = testGuard
	// An unpaced line: the modem's answers come in whole writes, not a byte or two per read.
	r := newRig(t, p, serialline.Options{})
	host, _ := r.ports()
	tap := &tapLine{Line: host, start: time.Now()}
	cfg := replayConfig(func(context.Context) (line.Line, error) { return tap, nil })
	cfg.Registry = r.reg
	sess := r.dial(cfg)
	require.True(t, sess.Netif().IsUp())
	evs := tap.events()
	end := connectOnDLC2(evs)
	require.Positive(t, end, "the modem's CONNECT on DLC 2 is in the stream")
	return &transcript.Transcript{
		Headers: []transcript.Header{
			{Key: "modem", Value: p.Manufacturer + " " + p.Model + " (modemsim)"},
			{Key: "source", Value: "TestCMUXDialReplay with -update-cmux: a session with CMUX on dialing modemsim"},
			{Key: "config", Value: "apn=internet cmux=on n1=127"},
			{Key: "expect", Value: "CONNECT on DLC 2, then the host's LCP Configure-Request on DLC 2"},
		},
		Events: evs[:end],
	}
}

// connectOnDLC2 returns the number of events up to and including the modem's read that
// completed a UIH frame on DLC 2 carrying CONNECT (0: none).
func connectOnDLC2(evs []transcript.Event) int {
	dec := cmux.NewDecoder(cmux.MaxN1)
	for i, ev := range evs {
		if ev.Dir != transcript.Modem {
			continue
		}
		dec.Feed(ev.Data)
		for {
			f, ok := dec.Next()
			if !ok {
				break
			}
			if f.Type == cmux.UIH && f.DLCI == pppDLC && bytes.Contains(f.Info, []byte("CONNECT")) {
				return i + 1
			}
		}
	}
	return 0
}

// lcpConfReq is the start of an LCP Configure-Request as the host's HDLC sends it (address,
// control and protocol escaped by the default ACCM).
var lcpConfReq = []byte{0x7e, 0xff, 0x7d, 0x23, 0xc0, 0x21, 0x7d, 0x21}

// replayModem plays the modem's side of tr on l: each modem event is written once the host has
// written every byte recorded before it, and the host's bytes must be the recorded ones (the
// stream up to CONNECT has no random field: no LCP magic yet). A 27.010 frame the host sends
// again (its answer came later than T1 or T2, as on a loaded machine) is not a difference:
// it is dropped from the comparison. After the last event it reads on and closes lcp when the
// host sends an LCP Configure-Request in a UIH frame on DLC 2. It returns at the first
// mismatch, or when l fails.
func replayModem(l line.Line, tr *transcript.Transcript, lcp chan<- struct{}) error {
	var want []byte // the host's bytes the recording has so far
	var got []byte
	buf := make([]byte, 4096)
	read := func() error {
		n, err := l.Read(buf)
		got = append(got, buf[:n]...)
		if err != nil {
			return err
		}
		for {
			k := min(len(got), len(want))
			i := 0
			for i < k && got[i] == want[i] {
				i++
			}
			if i == k {
				return nil
			}
			repeat, complete := repeatedFrame(got, want, i)
			if !complete {
				return nil // the rest of the frame is still to come
			}
			if repeat == 0 {
				break
			}
			s := bytes.LastIndexByte(got[:i], cmuxFlag)
			got = append(got[:s], got[s+repeat:]...)
		}
		if k := min(len(got), len(want)); !bytes.Equal(got[:k], want[:k]) {
			i := 0
			for got[i] == want[i] {
				i++
			}
			return fmt.Errorf("host byte %d: got %s, the recording has %s", i,
				transcript.Quote(got[i:min(len(got), i+24)]), transcript.Quote(want[i:min(len(want), i+24)]))
		}
		return nil
	}
	for _, ev := range tr.Events {
		if ev.Dir == transcript.Host {
			want = append(want, ev.Data...)
			continue
		}
		for len(got) < len(want) {
			if err := read(); err != nil {
				return fmt.Errorf("before the modem's line %d: %w", ev.Line, err)
			}
		}
		if _, err := l.Write(ev.Data); err != nil {
			return err
		}
	}
	dec := cmux.NewDecoder(cmux.MaxN1)
	dec.Feed(got[len(want):])
	for {
		for {
			f, ok := dec.Next()
			if !ok {
				break
			}
			if f.Type == cmux.UIH && f.DLCI == pppDLC && bytes.HasPrefix(f.Info, lcpConfReq) {
				close(lcp)
				lcp = nil
			}
		}
		n, err := l.Read(buf)
		if err != nil {
			return nil
		}
		if lcp != nil {
			dec.Feed(buf[:n])
		}
	}
}

// cmuxFlag opens and closes every 27.010 basic-option frame.
const cmuxFlag = 0xf9

// repeatedFrame looks at the host's frame in which got first differs from want (at i): when
// that frame is complete in got and the host sent it before (it is a whole frame of want
// before it), it returns its length. complete is false when the frame has not all arrived.
func repeatedFrame(got, want []byte, i int) (n int, complete bool) {
	s := bytes.LastIndexByte(got[:i], cmuxFlag)
	if s < 0 {
		return 0, true // in the AT text before the multiplexer
	}
	e := bytes.IndexByte(got[s+1:], cmuxFlag)
	if e < 0 {
		return 0, false
	}
	frame := got[s : s+1+e+1]
	if len(frame) < 4 || !bytes.Contains(want[:s], frame) {
		return 0, true
	}
	return len(frame), true
}

// replayCMUXDial replays tr to a session: it must reach CONNECT on DLC 2 and start PPP there.
func replayCMUXDial(t *testing.T, tr *transcript.Transcript) {
	host, dev := serialline.Pipe(serialline.Options{})
	lcp := make(chan struct{})
	replayed := make(chan error, 1)
	go func() { replayed <- replayModem(dev, tr, lcp) }()

	cfg := replayConfig(func(context.Context) (line.Line, error) { return host, nil })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	dialed := make(chan error, 1)
	go func() {
		sess, err := Dial(ctx, cfg)
		if err == nil {
			_ = sess.Close(context.Background())
		}
		dialed <- err
	}()
	select {
	case <-lcp:
		// CONNECT on DLC 2 was taken, and the link started there. The recording ends here:
		// nothing answers the LCP, so end the dial, and the line with it: the teardown (LCP
		// Terminate, DISC, the hang-up) has nobody to answer it and would wait out its bound.
		cancel()
		_ = dev.Close()
	case err := <-replayed:
		cancel()
		<-dialed
		t.Fatalf("the session left the recording: %v", err)
	case err := <-dialed:
		t.Fatalf("the dial ended before PPP started on DLC 2: %v", err)
	}
	err := <-dialed
	// The cancel and the line's end race: either may reach the session first (the end of the
	// line is a port failure, which ends a session without Persist).
	require.True(t, errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, io.EOF),
		"dial: %v", err)
	_ = dev.Close()
	_ = host.Close()
	<-replayed
}

// TestCMUXDialReplay replays the recorded CMUX dial in testdata to a session (with
// -update-cmux it records it first), and records a fresh one and replays that too, so that a
// change on either side shows.
func TestCMUXDialReplay(t *testing.T) {
	t.Parallel()
	if *updateCMUX {
		tr := recordCMUXDial(t)
		require.NoError(t, os.MkdirAll(filepath.Dir(cmuxDialFile), 0o755))
		f, err := os.Create(cmuxDialFile)
		require.NoError(t, err)
		require.NoError(t, tr.Encode(f))
		require.NoError(t, f.Close())
	}
	t.Run("testdata", func(t *testing.T) {
		t.Parallel()
		tr, err := transcript.ParseFile(cmuxDialFile)
		require.NoError(t, err)
		replayCMUXDial(t, tr)
	})
	t.Run("fresh", func(t *testing.T) {
		t.Parallel()
		tr := recordCMUXDial(t)
		// Through the codec, as the file goes.
		var b bytes.Buffer
		require.NoError(t, tr.Encode(&b))
		back, err := transcript.Parse(&b)
		require.NoError(t, err)
		replayCMUXDial(t, back)
	})
}

// TestRepeatedFrame: the replay's comparison drops a frame the host sent again, and only that.
func TestRepeatedFrame(t *testing.T) {
	t.Parallel()
	msc := []byte("\xf9\x03\xef\t\xe3\x05\x07\x8d\xfb\xf9")
	sabm := []byte("\xf9\x0b?\x01Y\xf9")
	want := append(append([]byte("AT\r\n"), msc...), sabm...)
	again := append(append([]byte("AT\r\n"), msc...), msc...)
	n, complete := repeatedFrame(again, want, 4+len(msc)+1)
	require.True(t, complete)
	require.Equal(t, len(msc), n, "the MSC sent again")
	n, complete = repeatedFrame(again[:len(again)-2], want, 4+len(msc)+1)
	require.False(t, complete, "its end is still to come")
	require.Zero(t, n)
	other := append(append([]byte("AT\r\n"), msc...), "\xf9\x0b\xef\x01\x00\xf9"...)
	n, complete = repeatedFrame(other, want, 4+len(msc)+2)
	require.True(t, complete)
	require.Zero(t, n, "a frame the host never sent before is a difference")
	n, _ = repeatedFrame([]byte("ATE1\r\n"), []byte("ATE0\r\n"), 3)
	require.Zero(t, n, "AT text is compared as it is")
}
