package usage

import "time"

// Period is one billing period, [Start, End), and the bytes counted in it.
type Period struct {
	Start   time.Time
	End     time.Time
	RxBytes uint64 // received from the network
	TxBytes uint64 // sent to the network
}

// Total is the bytes received and sent; operators bill both directions.
// It saturates instead of wrapping.
func (p Period) Total() uint64 {
	t := p.RxBytes + p.TxBytes
	if t < p.RxBytes {
		return ^uint64(0)
	}
	return t
}

// periodAt returns the bounds of the billing period holding t: from local
// midnight (in t's location) on billing day day of a month to the same
// moment a month later. A month shorter than day starts its period on its
// last day.
func periodAt(t time.Time, day int) (start, end time.Time) {
	y, m, _ := t.Date()
	start = periodStart(y, m, day, t.Location())
	if t.Before(start) {
		return periodStart(y, m-1, day, t.Location()), start
	}
	return start, periodStart(y, m+1, day, t.Location())
}

// periodBefore returns the bounds of the billing period that ends where the
// one starting at start begins.
func periodBefore(start time.Time, day int) (time.Time, time.Time) {
	s, _ := periodAt(start.Add(-time.Nanosecond), day)
	return s, start
}

// periodStart is midnight of billing day day in month m of year y (m may be
// out of range: time.Date normalizes it), clamped to the month's last day:
// the first instant of that local day.
func periodStart(y int, m time.Month, day int, loc *time.Location) time.Time {
	first := time.Date(y, m, 1, 0, 0, 0, 0, loc)
	y, m = first.Year(), first.Month()
	last := time.Date(y, m+1, 0, 0, 0, 0, 0, loc).Day()
	d := min(day, last)
	s := time.Date(y, m, d, 0, 0, 0, 0, loc)
	if s.Day() != d {
		// Daylight saving time skipped this midnight (America/Sao_Paulo
		// did) and time.Date went back into the day before: the day
		// begins where that zone offset ends.
		_, s = s.ZoneBounds()
	}
	return s
}
