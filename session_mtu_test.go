package pppdial

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pppdial/pppdial/at"
	"github.com/pppdial/pppdial/hdlc"
	"github.com/pppdial/pppdial/internal/serialline"
	"github.com/pppdial/pppdial/line"
	"github.com/pppdial/pppdial/modemsim"
)

// lcpTap reads the host's LCP Configure-Requests on their way to the network, as a line
// analyser would, and keeps the MRU each one asked for (1500 when it has no MRU option: RFC
// 1661's default).
type lcpTap struct {
	mu   sync.Mutex
	mrus []int // per call, the MRU of its last Configure-Request
}

// dataFunc runs the network behind a tap on the host's bytes.
func (tp *lcpTap) dataFunc(r *rig) modemsim.DataFunc {
	return func(ctx context.Context, data line.Line) error {
		tp.mu.Lock()
		tp.mrus = append(tp.mrus, 0)
		call := len(tp.mrus) - 1
		tp.mu.Unlock()
		r.mu.Lock()
		network := r.network
		r.mu.Unlock()
		return network.DataFunc()(ctx, &tappedLine{Line: data, dec: hdlc.NewDecoder(), saw: func(mru int) {
			tp.mu.Lock()
			tp.mrus[call] = mru
			tp.mu.Unlock()
		}})
	}
}

// asked returns the MRU each call's host asked for so far (0: no Configure-Request seen).
func (tp *lcpTap) asked() []int {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	return append([]int(nil), tp.mrus...)
}

type tappedLine struct {
	line.Line
	dec *hdlc.Decoder
	saw func(mru int)
}

func (l *tappedLine) Read(b []byte) (int, error) {
	n, err := l.Line.Read(b)
	l.dec.Feed(b[:n], func(proto uint16, info []byte) {
		// LCP (0xc021) Configure-Request (code 1): code, id, length, then the options.
		if proto != 0xc021 || len(info) < 4 || info[0] != 1 {
			return
		}
		mru := 1500
		opts := info[4:max(4, min(len(info), int(binary.BigEndian.Uint16(info[2:4]))))]
		for len(opts) >= 2 && int(opts[1]) >= 2 && int(opts[1]) <= len(opts) {
			if opts[0] == 1 && opts[1] == 4 {
				mru = int(binary.BigEndian.Uint16(opts[2:4]))
			}
			opts = opts[opts[1]:]
		}
		l.saw(mru)
	})
	return n, err
}

// waitStep waits for the finished progress event of step, skipping others.
func (r *rig) waitStep(step at.Step, within time.Duration) Event {
	r.t.Helper()
	deadline := time.After(within)
	for {
		select {
		case e := <-r.events:
			if e.Kind == EventProgress && e.Step == string(step) && e.Done {
				return e
			}
		case <-deadline:
			r.t.Fatalf("no finished %s step within %v", step, within)
		}
	}
}

// TestSessionModemMTUNextDial: a modem that reports the network's MTU only for an active context
// (2G/3G, or an LTE modem without a default bearer on the context) says nothing before ATD;
// with the multiplexer the AT channel reads it once the link is up, the "mtu" progress event
// says the link runs above it, and the next dial asks for it as LCP's MRU: the up event and the
// status report it as the MTU in force, and a page still arrives intact.
func TestSessionModemMTUNextDial(t *testing.T) {
	t.Parallel()
	p := modemsim.EC25()
	p.ContextMTU = 1400
	r := newRig(t, p, serialline.Options{Baud: 921600})
	var tap lcpTap
	r.setData(tap.dataFunc(r))
	cfg := r.cmuxConfig()
	cfg.Persist = true
	cfg.MonitorInterval = -1 // only the MTU's reading on the AT channel
	sess := r.dial(cfg)

	before := r.waitStep(at.StepMTU, 5*time.Second)
	assert.Equal(t, "not reported (AT+CGCONTRDP=1: +CME ERROR: 3 (operation not allowed))", before.Detail,
		"the context is not active before ATD")
	up := r.waitEvent(EventUp, 5*time.Second)
	assert.Equal(t, 1500, up.Status.MTU)
	after := r.waitStep(at.StepMTU, 5*time.Second)
	assert.Equal(t, "1400 (AT+CGCONTRDP=1 on the AT channel): the link runs at 1500, more than the network carries; "+
		"MRU 1400 is asked for from the next dial on", after.Detail)
	assert.Equal(t, []int{1500}, tap.asked(), "the first dial knew nothing of the modem's figure")

	require.True(t, r.dropCarrier())
	r.waitEvent(EventDown, 5*time.Second)
	up = r.waitEvent(EventUp, 20*time.Second)
	assert.Equal(t, 1400, up.Status.MTU, "the up event reports the modem's figure as the MTU in force")
	assert.Equal(t, 1400, sess.Status().MTU)
	assert.Equal(t, []int{1500, 1400}, tap.asked(), "LCP asked for the modem's figure on the next dial")
	assert.Equal(t, 1400, sess.Netif().Config().MTU, "pp0 takes it")
	after = r.waitStep(at.StepMTU, 5*time.Second)
	assert.Equal(t, "1400 (AT+CGCONTRDP=1 on the AT channel): the link's MTU, 1400, fits", after.Detail)

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	sum, err := r.fetch(ctx, sess, "/64k")
	require.NoError(t, err)
	assert.Equal(t, sha256.Sum256(bigPage[:64<<10]), sum)
}

// TestSessionModemMTUBeforeATD: an LTE modem whose attach activated context 1 reports the MTU
// before ATD, without a multiplexer: the first dial asks for it. A smaller --mtu still wins.
func TestSessionModemMTUBeforeATD(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		userMTU, want int
	}{
		{0, 1358},
		{1280, 1280},
	} {
		p := modemsim.SARAR5()
		p.DefaultBearer, p.ContextMTU = true, 1358
		r := newRig(t, p, serialline.Options{Baud: 921600})
		var tap lcpTap
		r.setData(tap.dataFunc(r))
		cfg := r.config()
		cfg.MTU = tc.userMTU
		sess := r.dial(cfg)
		step := r.waitStep(at.StepMTU, 5*time.Second)
		assert.Equal(t, "1358 (AT+CGCONTRDP=1)", step.Detail)
		up := r.waitEvent(EventUp, 5*time.Second)
		assert.Equal(t, tc.want, up.Status.MTU)
		assert.Equal(t, []int{tc.want}, tap.asked())
		assert.Equal(t, 1358, sess.ModemInfo().MTU)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		require.NoError(t, sess.Close(ctx))
		cancel()
	}
}
