package usage

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// goodFile returns a state file for iccid with some bytes counted.
func goodFile(t testing.TB, iccid string) []byte {
	t.Helper()
	dir := t.TempDir()
	m, err := Open(dir, iccid, Options{Clock: newClock(date(2026, 5, 10, 12)).Now})
	require.NoError(t, err)
	m.NewLink().End(4242, 77)
	flush(t, m)
	data, err := os.ReadFile(m.Path())
	require.NoError(t, err)
	return data
}

func TestStateFileRoundTrip(t *testing.T) {
	data := goodFile(t, testICCID)
	assert.True(t, bytes.HasSuffix(data, []byte("\n")))
	assert.Equal(t, 1, bytes.Count(data, []byte("\n")), "one line")
	s, err := parseState(data, testICCID)
	require.NoError(t, err)
	assert.Equal(t, uint64(4242), s.Current.RxBytes)
	again, err := encodeState(s)
	require.NoError(t, err)
	assert.Equal(t, string(data), string(again))
}

// A state file that is not whole, not intact or not this SIM's is set aside
// with a warning, and the meter starts from zero.
func TestBadStateFileSetAside(t *testing.T) {
	good := goodFile(t, testICCID)
	foreign := goodFile(t, "8949226189123456789")
	replace := func(old, new string) []byte {
		t.Helper()
		require.Contains(t, string(good), old)
		return []byte(strings.Replace(string(good), old, new, 1))
	}
	tests := []struct {
		name string
		data []byte
		want error
	}{
		{"truncated", good[:len(good)/2], ErrCorrupt},
		{"truncated by one byte before the newline", good[:len(good)-2], ErrCorrupt},
		{"empty", []byte{}, ErrCorrupt},
		{"garbage", []byte("\x00\x01\xffPK\x03\x04 not json"), ErrCorrupt},
		{"bad checksum: counter edited", replace(`"rx_bytes":4242`, `"rx_bytes":9242`), ErrCorrupt},
		{"bad checksum: checksum edited", flipCRC(t, good), ErrCorrupt},
		{"checksum not hex", replace(`"crc32c":"`, `"crc32c":"zz`), ErrCorrupt},
		{"data after the state", append(bytes.Clone(good), []byte("{}\n")...), ErrCorrupt},
		{"foreign ICCID", foreign, ErrForeign},
		{"another format", []byte(`{"format":"vnstat","version":1,"crc32c":"00000000","state":{}}`), ErrForeign},
		{"a future version", replace(`"version":1`, `"version":2`), ErrForeign},
		{"JSON of another shape", []byte(`[1,2,3]`), ErrCorrupt},
		{"oversized", append(bytes.Clone(good), bytes.Repeat([]byte(" "), maxFileSize)...), ErrCorrupt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, fileName(testICCID))
			require.NoError(t, os.WriteFile(path, tt.data, 0o600))
			var logs bytes.Buffer
			clk := newClock(date(2026, 5, 11, 8))
			m, err := Open(dir, testICCID, Options{Clock: clk.Now, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
			require.NoError(t, err, "a bad state file never fails Open")

			warn := m.LoadWarning()
			require.ErrorIs(t, warn, tt.want)
			var sfe *StateFileError
			require.ErrorAs(t, warn, &sfe)
			assert.Equal(t, path, sfe.Path)
			assert.Equal(t, path+".corrupt-20260511T080000Z", sfe.MovedTo)
			assert.Contains(t, logs.String(), "level=WARN")
			assert.Contains(t, logs.String(), "set aside")

			kept, err := os.ReadFile(sfe.MovedTo)
			require.NoError(t, err)
			assert.Equal(t, tt.data, kept, "the bad file is kept as it was")
			assert.NoFileExists(t, path)
			assert.Zero(t, m.Snapshot().Current.Total(), "nothing trusted from it")

			m.NewLink().End(5, 6)
			flush(t, m)
			s, err := parseStateFile(path)
			require.NoError(t, err)
			assert.Equal(t, uint64(11), s.Current.RxBytes+s.Current.TxBytes)
		})
	}
}

// flipCRC changes the first digit of the file's checksum.
func flipCRC(t *testing.T, good []byte) []byte {
	key := []byte(`"crc32c":"`)
	i := bytes.Index(good, key)
	require.GreaterOrEqual(t, i, 0)
	bad := bytes.Clone(good)
	bad[i+len(key)] = "10"[min(1, int(bad[i+len(key)]-'0'))]
	require.NotEqual(t, good, bad)
	return bad
}

// Invalid values behind a valid checksum (a buggy writer) are not trusted.
func TestStateFileInvalidValues(t *testing.T) {
	base := fileState{
		ICCID:      testICCID,
		BillingDay: 1,
		Current:    filePeriod{Start: date(2026, 5, 1, 0), End: date(2026, 6, 1, 0)},
		Previous:   filePeriod{Start: date(2026, 4, 1, 0), End: date(2026, 5, 1, 0)},
	}
	tests := []struct {
		name   string
		change func(*fileState)
		want   error
	}{
		{"billing day 0", func(s *fileState) { s.BillingDay = 0 }, ErrCorrupt},
		{"billing day 32", func(s *fileState) { s.BillingDay = 32 }, ErrCorrupt},
		{"bad ICCID", func(s *fileState) { s.ICCID = "12ab" }, ErrCorrupt},
		{"period ends before it starts", func(s *fileState) { s.Current.End = s.Current.Start.Add(-time.Hour) }, ErrCorrupt},
		{"empty period", func(s *fileState) { s.Previous.End = s.Previous.Start }, ErrCorrupt},
		{"zero times", func(s *fileState) { s.Previous = filePeriod{} }, ErrCorrupt},
		{"a year-long period", func(s *fileState) { s.Current.End = s.Current.Start.AddDate(1, 0, 0) }, ErrCorrupt},
		{"other SIM", func(s *fileState) { s.ICCID = "8949226189123456789" }, ErrForeign},
		{"same SIM padded with F", func(s *fileState) { s.ICCID = testICCID + "F" }, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := base
			tt.change(&s)
			data, err := encodeState(s)
			require.NoError(t, err)
			_, err = parseState(data, testICCID)
			if tt.want == nil {
				assert.NoError(t, err)
			} else {
				assert.ErrorIs(t, err, tt.want)
			}
		})
	}
}

// Two bad files in the same second do not overwrite each other aside.
func TestSetAsideTwice(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, fileName(testICCID))
	clk := newClock(date(2026, 5, 11, 8))
	for i, data := range []string{"first", "second"} {
		require.NoError(t, os.WriteFile(path, []byte(data), 0o600))
		m, err := Open(dir, testICCID, Options{Clock: clk.Now})
		require.NoError(t, err)
		var sfe *StateFileError
		require.ErrorAs(t, m.LoadWarning(), &sfe)
		want := path + ".corrupt-20260511T080000Z"
		if i == 1 {
			want += "-2"
		}
		assert.Equal(t, want, sfe.MovedTo)
		kept, err := os.ReadFile(sfe.MovedTo)
		require.NoError(t, err)
		assert.Equal(t, data, string(kept))
	}
}
