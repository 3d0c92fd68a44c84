package usage

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pppdial/pppdial/internal/atomicfile"
)

const testICCID = "89001012345678901234" // what pppd-vm's modem answers to AT+CCID

// fakeClock is a settable clock for Options.Clock.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock(t time.Time) *fakeClock { return &fakeClock{now: t} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	c.now = t
	c.mu.Unlock()
}

func open(t *testing.T, dir string, clk *fakeClock, opts Options) *Meter {
	t.Helper()
	opts.Clock = clk.Now
	m, err := Open(dir, testICCID, opts)
	require.NoError(t, err)
	require.NoError(t, m.LoadWarning())
	return m
}

// saved leaves a state file in a new directory with rx and tx counted at
// the clock's time, and returns the directory.
func saved(t *testing.T, clk *fakeClock, opts Options, rx, tx uint64) string {
	t.Helper()
	dir := t.TempDir()
	m := open(t, dir, clk, opts)
	m.NewLink().End(rx, tx)
	flush(t, m)
	return dir
}

func flush(t testing.TB, m *Meter) {
	t.Helper()
	require.NoError(t, m.Flush(context.Background()))
}

func TestNormalizeICCID(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"89001012345678901234", "89001012345678901234"},
		{" 8949226189123456789F\r\n", "8949226189123456789"},
		{"8949226189123456789f", "8949226189123456789"},
		{"894922618912345678", "894922618912345678"},
		{"8949226189123456789012", "8949226189123456789012"},
		{"89492261891234567", ""},       // 17 digits
		{"89492261891234567890123", ""}, // 23 digits
		{"8949226189123456789FF", ""},
		{"89492261891234567A9", ""},
		{"../../../etc/passwd0000", ""},
		{"", ""},
	}
	for _, tt := range tests {
		got, err := NormalizeICCID(tt.in)
		if tt.want == "" {
			assert.ErrorIs(t, err, ErrICCID, "%q", tt.in)
			continue
		}
		require.NoError(t, err, "%q", tt.in)
		assert.Equal(t, tt.want, got)
	}
	name, err := FileName("8949226189123456789F")
	require.NoError(t, err)
	assert.Equal(t, "usage-8949226189123456789.json", name)
}

func TestOpenRejects(t *testing.T) {
	dir := t.TempDir()
	_, err := Open(dir, "1234", Options{})
	assert.ErrorIs(t, err, ErrICCID)
	for _, day := range []int{-1, 32} {
		_, err = Open(dir, testICCID, Options{BillingDay: day})
		assert.ErrorIs(t, err, ErrBillingDay, "day %d", day)
	}
	// A state file that cannot be read is neither trusted nor overwritten.
	require.NoError(t, os.Mkdir(filepath.Join(dir, fileName(testICCID)), 0o700))
	_, err = Open(dir, testICCID, Options{})
	assert.Error(t, err)
}

// Each link's counters start at zero; the meter adds what each link moved,
// whatever order the session reports in.
func TestRedialSequences(t *testing.T) {
	type step struct {
		link   int  // which link (index into the links started so far)
		newL   bool // start a new link first
		end    bool
		rx, tx uint64
	}
	tests := []struct {
		name           string
		steps          []step
		wantRx, wantTx uint64
	}{
		{"one link", []step{{newL: true, rx: 100, tx: 10}, {rx: 250, tx: 20}, {end: true, rx: 300, tx: 30}}, 300, 30},
		{"redial: the new link starts at zero", []step{
			{newL: true, rx: 100, tx: 10}, {end: true, rx: 300, tx: 30},
			{newL: true, link: 1, rx: 50, tx: 5}, {link: 1, rx: 70, tx: 9},
		}, 370, 39},
		{"late observation of an ended link is ignored", []step{
			{newL: true, rx: 100, tx: 10}, {end: true, rx: 300, tx: 30},
			{newL: true, link: 1, rx: 50, tx: 5},
			{link: 0, rx: 999, tx: 99}, {link: 0, end: true, rx: 1999, tx: 199},
		}, 350, 35},
		{"the old link ends after the new one started", []step{
			{newL: true, rx: 100, tx: 10},
			{newL: true, link: 1, rx: 40, tx: 4},
			{link: 0, end: true, rx: 120, tx: 12},
			{link: 1, rx: 60, tx: 6},
		}, 180, 18},
		{"a counter that goes back restarted from zero", []step{
			{newL: true, rx: 100, tx: 10}, {rx: 20, tx: 2}, {rx: 25, tx: 3},
		}, 125, 13},
		{"the same counters twice count once", []step{
			{newL: true, rx: 100, tx: 10}, {rx: 100, tx: 10}, {end: true, rx: 100, tx: 10},
		}, 100, 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := open(t, t.TempDir(), newClock(date(2026, 5, 10, 12)), Options{})
			var links []*Link
			for _, s := range tt.steps {
				if s.newL {
					links = append(links, m.NewLink())
				}
				l := links[s.link]
				if s.end {
					l.End(s.rx, s.tx)
				} else {
					l.Observe(s.rx, s.tx)
				}
			}
			got := m.Snapshot().Current
			assert.Equal(t, tt.wantRx, got.RxBytes, "rx")
			assert.Equal(t, tt.wantTx, got.TxBytes, "tx")
		})
	}
}

func TestRollover(t *testing.T) {
	clk := newClock(date(2026, 2, 27, 12))
	m := open(t, t.TempDir(), clk, Options{BillingDay: 31, Quota: 1000})
	l := m.NewLink()
	require.Len(t, l.Observe(600, 300), 1) // 90 %: the 80 % mark
	s := m.Snapshot()
	assert.Equal(t, date(2026, 1, 31, 0), s.Current.Start)
	assert.Equal(t, date(2026, 2, 28, 0), s.Current.End)
	assert.Equal(t, Period{Start: date(2025, 12, 31, 0), End: date(2026, 1, 31, 0)}, s.Previous)

	clk.Set(date(2026, 2, 28, 0).Add(-time.Nanosecond))
	assert.Equal(t, uint64(900), m.Snapshot().Current.Total(), "a nanosecond before the boundary")

	clk.Set(date(2026, 2, 28, 0))
	s = m.Snapshot()
	assert.Equal(t, Period{Start: date(2026, 2, 28, 0), End: date(2026, 3, 31, 0)}, s.Current)
	assert.Equal(t, Period{Start: date(2026, 1, 31, 0), End: date(2026, 2, 28, 0), RxBytes: 600, TxBytes: 300}, s.Previous)

	// The quota marks start again with the period.
	assert.Equal(t, []QuotaEvent{{Percent: 80, Used: 850, Quota: 1000}}, l.Observe(1400, 350))

	// Three months without traffic: the previous period is the empty one
	// just before the current, not the old period.
	clk.Set(date(2026, 7, 4, 9))
	s = m.Snapshot()
	assert.Equal(t, Period{Start: date(2026, 6, 30, 0), End: date(2026, 7, 31, 0)}, s.Current)
	assert.Equal(t, Period{Start: date(2026, 5, 31, 0), End: date(2026, 6, 30, 0)}, s.Previous)
}

func TestQuotaMarks(t *testing.T) {
	type obs struct {
		rx   uint64
		want []int
	}
	tests := []struct {
		name  string
		quota uint64
		steps []obs
	}{
		{"no quota", 0, []obs{{1 << 40, nil}}},
		{"one at a time", 1000, []obs{{799, nil}, {800, []int{80}}, {999, nil}, {1000, []int{100}}, {5000, nil}}},
		{"both at once", 1000, []obs{{1500, []int{80, 100}}, {3000, nil}}},
		{"huge quota, no overflow", 5 << 60, []obs{{4<<60 - 1, nil}, {4 << 60, []int{80}}, {5 << 60, []int{100}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := open(t, t.TempDir(), newClock(date(2026, 5, 10, 12)), Options{Quota: tt.quota})
			l := m.NewLink()
			for _, o := range tt.steps {
				var got []int
				for _, ev := range l.Observe(o.rx, 0) {
					got = append(got, ev.Percent)
					assert.Equal(t, tt.quota, ev.Quota)
					assert.Equal(t, o.rx, ev.Used)
				}
				assert.Equal(t, o.want, got, "at %d bytes", o.rx)
			}
		})
	}
}

// After a restart the marks already reached are reported again with the
// first observation, so a stop-at-quota policy keeps holding.
func TestQuotaAfterRestart(t *testing.T) {
	clk := newClock(date(2026, 5, 10, 12))
	dir := saved(t, clk, Options{Quota: 1000}, 900, 0)
	m := open(t, dir, clk, Options{Quota: 1000})
	assert.Equal(t, []QuotaEvent{{Percent: 80, Used: 900, Quota: 1000}}, m.NewLink().Observe(0, 0))
}

func TestPersistAcrossOpen(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state") // Open creates it
	clk := newClock(date(2026, 5, 10, 12))
	m := open(t, dir, clk, Options{BillingDay: 5})
	assert.Zero(t, m.Snapshot().Saved)
	m.NewLink().End(1234, 567)
	flush(t, m)

	fi, err := os.Stat(dir)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o700), fi.Mode().Perm(), "state dir mode")
	fi, err = os.Stat(m.Path())
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), "state file mode")
	assert.Equal(t, filepath.Join(dir, "usage-"+testICCID+".json"), m.Path())

	// Nothing changed: no write (the saved time stays).
	clk.Set(date(2026, 5, 10, 13))
	flush(t, m)
	assert.Equal(t, date(2026, 5, 10, 12), m.Snapshot().Saved)

	// A process that died mid-write left a temporary file: Open removes it.
	tmp := m.Path() + atomicfile.TempInfix + "123"
	require.NoError(t, os.WriteFile(tmp, []byte("half"), 0o600))

	m2 := open(t, dir, clk, Options{BillingDay: 5})
	assert.Equal(t, m.Snapshot(), m2.Snapshot())
	assert.NoFileExists(t, tmp)
	m2.NewLink().End(1, 1)
	flush(t, m2)
	m3 := open(t, dir, clk, Options{BillingDay: 5})
	assert.Equal(t, uint64(1235), m3.Snapshot().Current.RxBytes)
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Len(t, entries, 1, "one state file, no leftovers")
}

// A rollover while the process was down happens at Open.
func TestRolloverAtOpen(t *testing.T) {
	clk := newClock(date(2026, 5, 10, 12))
	dir := saved(t, clk, Options{}, 10, 20)
	clk.Set(date(2026, 6, 2, 0))
	s := open(t, dir, clk, Options{}).Snapshot()
	assert.Equal(t, Period{Start: date(2026, 6, 1, 0), End: date(2026, 7, 1, 0)}, s.Current)
	assert.Equal(t, Period{Start: date(2026, 5, 1, 0), End: date(2026, 6, 1, 0), RxBytes: 10, TxBytes: 20}, s.Previous)
}

// A new billing day keeps this period's bytes under the new bounds.
func TestBillingDayChange(t *testing.T) {
	clk := newClock(date(2026, 5, 20, 12))
	dir := saved(t, clk, Options{BillingDay: 1}, 10, 20)
	m := open(t, dir, clk, Options{BillingDay: 15})
	assert.Equal(t, Period{Start: date(2026, 5, 15, 0), End: date(2026, 6, 15, 0), RxBytes: 10, TxBytes: 20}, m.Snapshot().Current)
	flush(t, m)
	_, err := parseStateFile(m.Path())
	require.NoError(t, err)
}

// A clock behind the stored period (a board without an RTC booting in the
// past) counts into the stored period instead of discarding it.
func TestClockBehindStoredPeriod(t *testing.T) {
	clk := newClock(date(2026, 5, 20, 12))
	dir := saved(t, clk, Options{}, 10, 20)

	var logs bytes.Buffer
	clk.Set(date(1970, 1, 1, 0))
	m := open(t, dir, clk, Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	assert.Contains(t, logs.String(), "clock is before the stored billing period")
	m.NewLink().End(1, 1)
	s := m.Snapshot()
	assert.Equal(t, Period{Start: date(2026, 5, 1, 0), End: date(2026, 6, 1, 0), RxBytes: 11, TxBytes: 21}, s.Current)
}

func parseStateFile(path string) (fileState, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return fileState{}, err
	}
	return parseState(data, testICCID)
}

// Concurrent links, snapshots and flushes: nothing lost, no race.
func TestConcurrent(t *testing.T) {
	dir := t.TempDir()
	m, err := Open(dir, testICCID, Options{Quota: 500_000})
	require.NoError(t, err)
	const links, steps = 8, 500
	var wg sync.WaitGroup
	var marks sync.Map
	for range links {
		wg.Go(func() {
			l := m.NewLink()
			for i := range uint64(steps) {
				for _, ev := range l.Observe(100*(i+1), 10*(i+1)) {
					_, dup := marks.LoadOrStore(ev.Percent, true)
					assert.False(t, dup, "mark %d reported twice", ev.Percent)
				}
			}
			l.End(100*steps, 10*steps)
		})
	}
	stop := make(chan struct{})
	var readers sync.WaitGroup
	readers.Go(func() {
		var last uint64
		for {
			select {
			case <-stop:
				return
			default:
			}
			tot := m.Snapshot().Current.Total()
			assert.GreaterOrEqual(t, tot, last, "usage never goes down")
			last = tot
		}
	})
	readers.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			assert.NoError(t, m.Flush(context.Background()))
		}
	})
	wg.Wait()
	close(stop)
	readers.Wait()
	flush(t, m)
	want := uint64(links * steps * 110)
	assert.Equal(t, want, m.Snapshot().Current.Total())
	_, ok80 := marks.Load(80)
	assert.True(t, ok80, "80 %% of the quota reached by %d bytes", want)
	_, ok100 := marks.Load(100)
	assert.False(t, ok100)
	m2, err := Open(dir, testICCID, Options{})
	require.NoError(t, err)
	assert.Equal(t, want, m2.Snapshot().Current.Total())
}
