package usage

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/bits"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/pppdial/pppdial/internal/atomicfile"
)

// Options configure a Meter.
type Options struct {
	// BillingDay is the day of the month a billing period starts, 1..31;
	// 0 means 1. A month shorter than BillingDay starts its period on its
	// last day.
	BillingDay int
	// Quota is the bytes (received plus sent) a billing period may use;
	// 0 means no quota and no QuotaEvents.
	Quota uint64
	// Clock returns the time; its Location decides where midnight is.
	// Nil means time.Now.
	Clock func() time.Time
	// Logger receives set-aside warnings, rollovers and flush failures.
	// Nil discards them.
	Logger *slog.Logger
	// StopTimeout bounds the final flush of Run; 0 means 5 s.
	StopTimeout time.Duration
}

// QuotaEvent reports that the current period's usage reached Percent
// (80 or 100) of the quota.
type QuotaEvent struct {
	Percent int
	Used    uint64 // bytes used in the current period when the mark was reached
	Quota   uint64
}

// quotaMarks are the percentages QuotaEvents are reported at.
var quotaMarks = [...]int{80, 100}

// Snapshot is a meter's counters at one moment.
type Snapshot struct {
	ICCID      string
	BillingDay int
	Quota      uint64 // 0: none
	Current    Period
	Previous   Period
	Saved      time.Time // last successful write of the state file; zero before the first
}

// Meter counts one SIM's data use. Its methods are safe for concurrent use.
type Meter struct {
	path    string
	iccid   string
	day     int
	quota   uint64
	clock   func() time.Time
	log     *slog.Logger
	stop    time.Duration
	warning error

	mu       sync.Mutex
	cur      Period
	prev     Period
	reported [len(quotaMarks)]bool // marks reported in the current period
	version  uint64                // bumped on every change
	saved    time.Time

	flushMu      sync.Mutex // one write at a time
	savedVersion uint64     // version last written; guarded by flushMu
}

// ErrBillingDay is returned for a billing day outside 1..31.
var ErrBillingDay = errors.New("usage: billing day must be 1..31")

// Open returns the meter of SIM iccid, with its state file in dir (created
// with mode 0700 when missing). A state file that is corrupt or not this
// SIM's is set aside and reported by LoadWarning, and Open succeeds with
// zero counters. Open fails for an invalid ICCID or billing day, a
// directory it cannot create, or a state file it cannot read or move
// aside (it would otherwise overwrite what it could not check).
func Open(dir, iccid string, opts Options) (*Meter, error) {
	id, err := NormalizeICCID(iccid)
	if err != nil {
		return nil, err
	}
	day := opts.BillingDay
	if day == 0 {
		day = 1
	}
	if day < 1 || day > 31 {
		return nil, fmt.Errorf("%w: %d", ErrBillingDay, opts.BillingDay)
	}
	m := &Meter{
		path:  filepath.Join(dir, fileName(id)),
		iccid: id,
		day:   day,
		quota: opts.Quota,
		clock: opts.Clock,
		log:   opts.Logger,
		stop:  opts.StopTimeout,
	}
	if m.clock == nil {
		m.clock = time.Now
	}
	if m.log == nil {
		m.log = slog.New(slog.DiscardHandler)
	}
	if m.stop <= 0 {
		m.stop = 5 * time.Second
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("usage: state directory: %w", err)
	}
	m.removeTemps()
	if err := m.load(); err != nil {
		return nil, err
	}
	return m, nil
}

// removeTemps deletes temporary files a killed process left mid-write.
func (m *Meter) removeTemps() {
	left, _ := filepath.Glob(m.path + atomicfile.TempInfix + "*")
	for _, f := range left {
		if err := os.Remove(f); err == nil {
			m.log.Info("usage: removed an unfinished state file", "path", f)
		}
	}
}

// load reads the state file into m, or starts fresh.
func (m *Meter) load() error {
	now := m.clock()
	data, err := readState(m.path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		m.fresh(now)
		return nil
	case err != nil:
		return fmt.Errorf("usage: state file: %w", err)
	}
	s, perr := parseState(data, m.iccid)
	if perr != nil {
		to, err := setAside(m.path, now)
		if err != nil {
			return fmt.Errorf("usage: set aside bad state file %s (%v): %w", m.path, perr, err)
		}
		m.warning = &StateFileError{Path: m.path, MovedTo: to, Err: perr}
		m.log.Warn("usage: state file set aside; counting from zero", "err", m.warning)
		m.fresh(now)
		return nil
	}
	loc := now.Location()
	m.cur = s.Current.period()
	m.prev = s.Previous.period()
	for _, p := range []*Period{&m.cur, &m.prev} {
		p.Start, p.End = p.Start.In(loc), p.End.In(loc)
	}
	m.saved = s.Saved
	m.version = 1 // the file holds version 1
	m.savedVersion = 1
	switch {
	case now.Before(m.cur.Start):
		// A gateway without a real-time clock may boot in the past; keep
		// counting into the stored period until the clock catches up.
		m.log.Warn("usage: clock is before the stored billing period; counting into it",
			"now", now, "period_start", m.cur.Start)
	case s.BillingDay != m.day && now.Before(m.cur.End):
		// The billing day changed: this period's bytes stay, its bounds
		// follow the new day.
		m.cur.Start, m.cur.End = periodAt(now, m.day)
		m.version++
		m.log.Info("usage: billing day changed", "from", s.BillingDay, "to", m.day,
			"period_start", m.cur.Start)
	}
	m.rollLocked(now)
	return nil
}

// fresh starts zero counters for the period holding now.
func (m *Meter) fresh(now time.Time) {
	m.cur.Start, m.cur.End = periodAt(now, m.day)
	m.prev.Start, m.prev.End = periodBefore(m.cur.Start, m.day)
	m.version++
}

// rollLocked moves to a new billing period when the current one is over.
// The period that ended becomes the previous one when it is the period just
// before the new one (or overlaps it); after a longer gap the previous
// period is an empty one.
func (m *Meter) rollLocked(now time.Time) {
	if now.Before(m.cur.End) {
		return
	}
	start, end := periodAt(now, m.day)
	pstart, pend := periodBefore(start, m.day)
	if m.cur.End.After(pstart) {
		m.prev = m.cur
	} else {
		m.prev = Period{Start: pstart, End: pend}
	}
	m.cur = Period{Start: start, End: end}
	m.reported = [len(quotaMarks)]bool{}
	m.version++
	m.log.Info("usage: new billing period", "iccid", m.iccid, "start", start,
		"previous_bytes", m.prev.Total())
}

// LoadWarning returns why the state file found by Open was set aside (a
// *StateFileError wrapping ErrCorrupt or ErrForeign), or nil.
func (m *Meter) LoadWarning() error { return m.warning }

// ICCID returns the normalized ICCID the meter counts for.
func (m *Meter) ICCID() string { return m.iccid }

// Path returns the state file's path.
func (m *Meter) Path() string { return m.path }

// Snapshot returns the counters, rolled over to the period holding now.
func (m *Meter) Snapshot() Snapshot {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.rollLocked(m.clock())
	return Snapshot{
		ICCID:      m.iccid,
		BillingDay: m.day,
		Quota:      m.quota,
		Current:    m.cur,
		Previous:   m.prev,
		Saved:      m.saved,
	}
}

// Link counts one PPP link's bytes into its meter. Create one per link with
// NewLink; its counters are that link's own, starting at zero.
type Link struct {
	m      *Meter
	rx, tx uint64 // counters last observed; guarded by m.mu
	ended  bool   // guarded by m.mu
}

// NewLink starts counting a new link, whose counters begin at zero.
func (m *Meter) NewLink() *Link { return &Link{m: m} }

// Observe adds what the link moved since its last observation, given the
// link's cumulative byte counters, and returns the quota marks this
// reached. A counter that went backwards is taken to have restarted from
// zero. Observations after End are ignored.
func (l *Link) Observe(rx, tx uint64) []QuotaEvent { return l.observe(rx, tx, false) }

// End observes the link's final counters and ends it: later calls of
// Observe and End on l do nothing.
func (l *Link) End(rx, tx uint64) []QuotaEvent { return l.observe(rx, tx, true) }

func (l *Link) observe(rx, tx uint64, end bool) []QuotaEvent {
	m := l.m
	m.mu.Lock()
	defer m.mu.Unlock()
	if l.ended {
		return nil
	}
	l.ended = end
	m.rollLocked(m.clock())
	drx, dtx := since(rx, l.rx), since(tx, l.tx)
	l.rx, l.tx = rx, tx
	if drx != 0 || dtx != 0 {
		m.cur.RxBytes = addSat(m.cur.RxBytes, drx)
		m.cur.TxBytes = addSat(m.cur.TxBytes, dtx)
		m.version++
	}
	return m.quotaLocked()
}

// since is what a cumulative counter moved from last to now; a counter
// below last restarted from zero.
func since(now, last uint64) uint64 {
	if now < last {
		return now
	}
	return now - last
}

func addSat(a, b uint64) uint64 {
	if s := a + b; s >= a {
		return s
	}
	return ^uint64(0)
}

// quotaLocked reports the marks the current period reached and has not
// reported yet. The test is used*100 >= quota*percent in 128 bits, exact
// for any quota.
func (m *Meter) quotaLocked() []QuotaEvent {
	if m.quota == 0 {
		return nil
	}
	used := m.cur.Total()
	var evs []QuotaEvent
	for i, pct := range quotaMarks {
		if m.reported[i] {
			continue
		}
		uh, ul := bits.Mul64(used, 100)
		qh, ql := bits.Mul64(m.quota, uint64(pct))
		if uh > qh || uh == qh && ul >= ql {
			m.reported[i] = true
			evs = append(evs, QuotaEvent{Percent: pct, Used: used, Quota: m.quota})
		}
	}
	return evs
}

// Flush writes the state file if anything changed since the last write
// (a rollover counts as a change). The write goes on if ctx ends first; Flush
// then returns ctx's error, and the file is either the old or the new one.
func (m *Meter) Flush(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("usage: flush: %w", err)
	}
	done := make(chan error, 1)
	go func() { done <- m.flush() }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return fmt.Errorf("usage: flush: %w", context.Cause(ctx))
	}
}

func (m *Meter) flush() error {
	m.flushMu.Lock()
	defer m.flushMu.Unlock()
	m.mu.Lock()
	now := m.clock()
	m.rollLocked(now)
	version := m.version
	if version == m.savedVersion {
		m.mu.Unlock()
		return nil
	}
	data, err := encodeState(fileState{
		ICCID:      m.iccid,
		BillingDay: m.day,
		Saved:      now,
		Current:    toFile(m.cur),
		Previous:   toFile(m.prev),
	})
	m.mu.Unlock()
	if err != nil {
		return fmt.Errorf("usage: encode state: %w", err)
	}
	if err := atomicfile.Write(m.path, data); err != nil {
		return fmt.Errorf("usage: write state file: %w", err)
	}
	m.savedVersion = version
	m.mu.Lock()
	m.saved = now
	m.mu.Unlock()
	return nil
}

// Run flushes every interval (a minute when interval is not positive) until
// ctx ends, then flushes once more within Options.StopTimeout and returns
// that flush's error. Failed periodic flushes are logged and retried at the
// next tick.
func (m *Meter) Run(ctx context.Context, interval time.Duration) error {
	if interval <= 0 {
		interval = time.Minute
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), m.stop)
			defer cancel()
			return m.Flush(fctx)
		case <-t.C:
			if err := m.Flush(ctx); err != nil && ctx.Err() == nil {
				m.log.Warn("usage: flush failed", "err", err)
			}
		}
	}
}
