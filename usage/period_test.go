package usage

import (
	"math/rand/v2"
	"testing"
	"time"
	_ "time/tzdata" // DST zones for the property test, whatever the host has

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func date(y int, m time.Month, d, h int) time.Time {
	return time.Date(y, m, d, h, 0, 0, 0, time.UTC)
}

func TestPeriodAt(t *testing.T) {
	tests := []struct {
		name       string
		at         time.Time
		day        int
		start, end time.Time
	}{
		{"mid-month, day 1", date(2026, 3, 15, 12), 1, date(2026, 3, 1, 0), date(2026, 4, 1, 0)},
		{"day 31 before February's last day", date(2026, 2, 20, 0), 31, date(2026, 1, 31, 0), date(2026, 2, 28, 0)},
		{"day 31 on February's last day", date(2026, 2, 28, 0), 31, date(2026, 2, 28, 0), date(2026, 3, 31, 0)},
		{"day 31 in March", date(2026, 3, 30, 23), 31, date(2026, 2, 28, 0), date(2026, 3, 31, 0)},
		{"day 31 in April (30 days)", date(2026, 4, 30, 1), 31, date(2026, 4, 30, 0), date(2026, 5, 31, 0)},
		{"day 30, leap February", date(2024, 2, 29, 12), 30, date(2024, 2, 29, 0), date(2024, 3, 30, 0)},
		{"day 30, leap February, day before", date(2024, 2, 28, 23), 30, date(2024, 1, 30, 0), date(2024, 2, 29, 0)},
		{"day 29, common February", date(2025, 2, 28, 0), 29, date(2025, 2, 28, 0), date(2025, 3, 29, 0)},
		{"day 29, leap February", date(2024, 2, 28, 0), 29, date(2024, 1, 29, 0), date(2024, 2, 29, 0)},
		{"year end", date(2025, 12, 20, 0), 15, date(2025, 12, 15, 0), date(2026, 1, 15, 0)},
		{"year start", date(2026, 1, 10, 0), 15, date(2025, 12, 15, 0), date(2026, 1, 15, 0)},
		{"at the boundary", date(2026, 5, 15, 0), 15, date(2026, 5, 15, 0), date(2026, 6, 15, 0)},
		{"a nanosecond before the boundary", date(2026, 5, 15, 0).Add(-1), 15, date(2026, 4, 15, 0), date(2026, 5, 15, 0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start, end := periodAt(tt.at, tt.day)
			assert.Equal(t, tt.start, start, "start")
			assert.Equal(t, tt.end, end, "end")
		})
	}
}

// Every instant lies in exactly one period, periods tile the calendar, and a
// period starts on the billing day (or the month's last day) at the first
// instant of that local day, also where daylight saving time skips midnight.
func TestPeriodAtProperties(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, zone := range []string{"UTC", "Europe/Berlin", "America/Sao_Paulo", "Pacific/Apia", "Australia/Lord_Howe"} {
		loc, err := time.LoadLocation(zone)
		require.NoError(t, err)
		for range 3000 {
			at := time.Unix(r.Int64N(2_000_000_000), r.Int64N(1e9)).In(loc)
			day := 1 + r.IntN(31)
			start, end := periodAt(at, day)
			require.False(t, at.Before(start), "%s day %d: start %s after it", at, day, start)
			require.True(t, at.Before(end), "%s day %d: end %s", at, day, end)
			require.LessOrEqual(t, end.Sub(start), maxPeriod)
			s2, e2 := periodAt(end, day)
			require.Equal(t, end, s2, "the next period starts where this one ends")
			require.True(t, e2.After(s2))
			last := time.Date(start.Year(), start.Month()+1, 0, 12, 0, 0, 0, loc).Day()
			require.Equal(t, min(day, last), start.Day(), "%s day %d: start %s", at, day, start)
			require.NotEqual(t, start.Day(), start.Add(-time.Nanosecond).Day(), "start is the day's first instant")
			ps, pe := periodBefore(start, day)
			require.Equal(t, start, pe)
			require.Equal(t, ps, must(periodAt(ps, day)))
		}
	}
}

func must(start, _ time.Time) time.Time { return start }
