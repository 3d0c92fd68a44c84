package usage

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/pppdial/pppdial/internal/atomicfile"
)

// Errors that say why a state file was set aside; match them with errors.Is
// on [Meter.LoadWarning].
var (
	// ErrCorrupt: the file is not a whole, intact state file (truncated,
	// checksum mismatch, invalid values, not JSON at all).
	ErrCorrupt = errors.New("usage: state file corrupt")
	// ErrForeign: the file is intact but not this SIM's (another ICCID)
	// or not a state file of a format this version reads.
	ErrForeign = errors.New("usage: state file is foreign")
)

// StateFileError reports a state file that was set aside.
type StateFileError struct {
	Path    string // where the file was
	MovedTo string // where it is now
	Err     error  // wraps ErrCorrupt or ErrForeign with the detail
}

func (e *StateFileError) Error() string {
	return fmt.Sprintf("%v: %s set aside as %s", e.Err, e.Path, e.MovedTo)
}

func (e *StateFileError) Unwrap() error { return e.Err }

const (
	fileFormat  = "pppdial-usage"
	fileVersion = 1
	// maxFileSize bounds what is read: a state file is a few hundred bytes.
	maxFileSize = 64 << 10
	// maxPeriod is the longest a billing period can be: 31 days and a
	// daylight-saving hour, rounded up to 32 days.
	maxPeriod = 32 * 24 * time.Hour
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// envelope is the file: a format name and version, and the state with its
// CRC-32C. The checksum covers the state's bytes exactly as they are in the
// file, so no re-encoding is needed to check it.
type envelope struct {
	Format  string          `json:"format"`
	Version int             `json:"version"`
	CRC32C  string          `json:"crc32c"`
	State   json.RawMessage `json:"state"`
}

// fileState is what the meter keeps, as written.
type fileState struct {
	ICCID      string     `json:"iccid"`
	BillingDay int        `json:"billing_day"`
	Saved      time.Time  `json:"saved"`
	Current    filePeriod `json:"current"`
	Previous   filePeriod `json:"previous"`
}

type filePeriod struct {
	Start   time.Time `json:"start"`
	End     time.Time `json:"end"`
	RxBytes uint64    `json:"rx_bytes"`
	TxBytes uint64    `json:"tx_bytes"`
}

func toFile(p Period) filePeriod {
	return filePeriod{Start: p.Start, End: p.End, RxBytes: p.RxBytes, TxBytes: p.TxBytes}
}

func (p filePeriod) period() Period {
	return Period{Start: p.Start, End: p.End, RxBytes: p.RxBytes, TxBytes: p.TxBytes}
}

// encodeState returns the file's bytes: one line of JSON.
func encodeState(s fileState) ([]byte, error) {
	body, err := json.Marshal(s)
	if err != nil {
		return nil, err
	}
	sum := crc32.Checksum(body, castagnoli)
	out, err := json.Marshal(envelope{
		Format:  fileFormat,
		Version: fileVersion,
		CRC32C:  fmt.Sprintf("%08x", sum),
		State:   body,
	})
	if err != nil {
		return nil, err
	}
	return append(out, '\n'), nil
}

// parseState checks a state file's bytes and returns its state when it is
// intact and belongs to iccid (normalized). Every error wraps ErrCorrupt or
// ErrForeign.
func parseState(data []byte, iccid string) (fileState, error) {
	if len(data) > maxFileSize {
		return fileState{}, fmt.Errorf("%w: larger than %d bytes", ErrCorrupt, maxFileSize)
	}
	var env envelope
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&env); err != nil {
		return fileState{}, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return fileState{}, fmt.Errorf("%w: data after the state", ErrCorrupt)
	}
	if env.Format != fileFormat || env.Version != fileVersion {
		return fileState{}, fmt.Errorf("%w: format %q version %d, want %q version %d",
			ErrForeign, env.Format, env.Version, fileFormat, fileVersion)
	}
	want, err := strconv.ParseUint(env.CRC32C, 16, 32)
	if err != nil || len(env.CRC32C) != 8 {
		return fileState{}, fmt.Errorf("%w: checksum %q is not 8 hex digits", ErrCorrupt, env.CRC32C)
	}
	if crc32.Checksum(env.State, castagnoli) != uint32(want) {
		return fileState{}, fmt.Errorf("%w: checksum mismatch", ErrCorrupt)
	}
	var s fileState
	sdec := json.NewDecoder(bytes.NewReader(env.State))
	sdec.DisallowUnknownFields()
	if err := sdec.Decode(&s); err != nil {
		return fileState{}, fmt.Errorf("%w: state: %v", ErrCorrupt, err)
	}
	id, err := NormalizeICCID(s.ICCID)
	if err != nil {
		return fileState{}, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	if id != iccid {
		return fileState{}, fmt.Errorf("%w: ICCID %s, want %s", ErrForeign, id, iccid)
	}
	s.ICCID = id
	if s.BillingDay < 1 || s.BillingDay > 31 {
		return fileState{}, fmt.Errorf("%w: billing day %d", ErrCorrupt, s.BillingDay)
	}
	for _, p := range []struct {
		name string
		p    filePeriod
	}{{"current", s.Current}, {"previous", s.Previous}} {
		if d := p.p.End.Sub(p.p.Start); d <= 0 || d > maxPeriod {
			return fileState{}, fmt.Errorf("%w: %s period %s..%s", ErrCorrupt, p.name,
				p.p.Start.Format(time.RFC3339), p.p.End.Format(time.RFC3339))
		}
	}
	return s, nil
}

// readState reads path, at most a byte more than maxFileSize: enough for
// parseState to tell a file that is too large.
func readState(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, maxFileSize+1))
}

// setAside renames a bad state file to <path>.corrupt-<UTC timestamp>
// (with a -N suffix when that name is taken) and returns the new path.
func setAside(path string, now time.Time) (string, error) {
	base := path + ".corrupt-" + now.UTC().Format("20060102T150405Z")
	to := base
	for i := 2; ; i++ {
		if _, err := os.Lstat(to); errors.Is(err, os.ErrNotExist) {
			break
		}
		to = fmt.Sprintf("%s-%d", base, i)
	}
	if err := os.Rename(path, to); err != nil {
		return "", err
	}
	return to, atomicfile.SyncDir(filepath.Dir(path))
}
