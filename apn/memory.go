package apn

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

	"github.com/pppdial/pppdial/internal/atomicfile"
)

// ErrCorruptMemory is wrapped by Recall's error for a remembered-APN file it cannot use; the file
// is then ignored (and replaced by the next Remember).
var ErrCorruptMemory = errors.New("apn: remembered APN file is corrupt")

// memoryVersion is the file format's version; another version is ignored as corrupt.
const memoryVersion = 1

// maxMemory bounds what Recall reads: a record is a few hundred bytes.
const maxMemory = 16 << 10

// record is the file Remember writes. It holds the candidate's password because the next start
// needs it: the file is 0600 in a state directory created 0700.
type record struct {
	Version int    `json:"version"`
	Key     string `json:"key"`
	DB      string `json:"db"`
	candidateJSON
}

// memoryFile returns the file for a SIM and the key written into it. The name is a hash of the
// IMSI so the directory listing does not show the subscriber's identity. (A hash of a 15-digit
// number is no secret against brute force; it keeps the IMSI out of plain sight, as
// file names end up in logs, backups and bug reports.)
func memoryFile(dir, imsi string) (path, key string, err error) {
	if err := checkIMSI(imsi); err != nil {
		return "", "", err
	}
	sum := sha256.Sum256([]byte("pppdial apn memory\x00" + imsi))
	key = hex.EncodeToString(sum[:16])
	return filepath.Join(dir, "apn-"+key+".json"), key, nil
}

// Remember records in dir that c worked for the SIM with this IMSI, so Recall puts it first on
// the next start. The file is replaced atomically (written to a temporary file, synced, renamed)
// with mode 0600; dir is created (0700) if missing.
func Remember(dir, imsi string, c Candidate) error {
	path, key, err := memoryFile(dir, imsi)
	if err != nil {
		return err
	}
	if err := validCandidate(c); err != nil {
		return fmt.Errorf("apn: remember: %w", err)
	}
	c.Remembered = false
	data, err := json.Marshal(record{Version: memoryVersion, Key: key, DB: dbVersion, candidateJSON: c.wire(c.Password)})
	if err != nil {
		return fmt.Errorf("apn: remember: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("apn: remember: %w", err)
	}
	if err := atomicfile.Write(path, append(data, '\n')); err != nil {
		return fmt.Errorf("apn: remember: %w", err)
	}
	return nil
}

// Recall returns cands with the candidate remembered in dir for this SIM first, marked
// Remembered: moved to the front if cands holds it, otherwise added there (the database may have
// changed since). Without a remembered candidate it returns cands as they are and a nil error.
// A file it cannot read or use is ignored: it returns cands as they are and an error to log
// (wrapping ErrCorruptMemory for a corrupt file). cands itself is never modified.
func Recall(dir, imsi string, cands []Candidate) ([]Candidate, error) {
	c, err := recall(dir, imsi)
	if err != nil || c == nil {
		return cands, err
	}
	out := make([]Candidate, 0, len(cands)+1)
	if i := slices.IndexFunc(cands, c.same); i >= 0 {
		first := cands[i]
		first.Remembered = true
		out = append(append(append(out, first), cands[:i]...), cands[i+1:]...)
		return out, nil
	}
	return append(append(out, *c), cands...), nil
}

// recall reads the remembered candidate; nil, nil when there is none.
func recall(dir, imsi string) (*Candidate, error) {
	path, key, err := memoryFile(dir, imsi)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("apn: recall: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxMemory+1))
	if err != nil {
		return nil, fmt.Errorf("apn: recall: %w", err)
	}
	c, err := parseRecord(data, key)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrCorruptMemory, path, err)
	}
	return c, nil
}

// parseRecord decodes and checks a remembered-APN file written for key.
func parseRecord(data []byte, key string) (*Candidate, error) {
	if len(data) > maxMemory {
		return nil, fmt.Errorf("longer than %d bytes", maxMemory)
	}
	var r record
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, err
	}
	if r.Version != memoryVersion {
		return nil, fmt.Errorf("version %d, want %d", r.Version, memoryVersion)
	}
	if r.Key != key {
		return nil, errors.New("written for another SIM")
	}
	c, err := r.candidate()
	if err != nil {
		return nil, err
	}
	c.Remembered = true
	if err := validCandidate(c); err != nil {
		return nil, err
	}
	return &c, nil
}

// maxAPN is the longest APN (3GPP TS 23.003 9.1: 100 octets).
const maxAPN = 100

// validCandidate checks what goes into AT+CGDCONT and the PPP authentication: an APN of printable
// ASCII without quotes (empty exactly for the network default), credentials without control
// characters or quotes.
func validCandidate(c Candidate) error {
	if c.Default != (c.APN == "") {
		return fmt.Errorf("APN %q with default %t", c.APN, c.Default)
	}
	if len(c.APN) > maxAPN {
		return fmt.Errorf("APN of %d bytes, at most %d", len(c.APN), maxAPN)
	}
	for _, f := range []struct{ name, v string }{{"APN", c.APN}, {"username", c.Username}, {"password", c.Password}} {
		for i := 0; i < len(f.v); i++ {
			if b := f.v[i]; b < 0x20 || b == '"' || b == 0x7f || (f.name == "APN" && b > 0x7e) {
				return fmt.Errorf("%s has byte %#02x at %d", f.name, b, i)
			}
		}
	}
	return nil
}
