package usage

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"testing"
)

// FuzzParseState: any bytes in the state file give a state or an error
// wrapping ErrCorrupt or ErrForeign, never a panic; a state that parses
// encodes to a file that parses to the same state. Each input is tried as
// a whole file and, when it is JSON, as the state inside a file with the
// right checksum, so the checks behind the checksum are reached too.
func FuzzParseState(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		checkParse(t, data)
		var body bytes.Buffer
		if json.Compact(&body, data) == nil {
			checkParse(t, fmt.Appendf(nil, `{"format":%q,"version":%d,"crc32c":"%08x","state":%s}`,
				fileFormat, fileVersion, crc32.Checksum(body.Bytes(), castagnoli), body.Bytes()))
		}
	})
}

func checkParse(t *testing.T, data []byte) {
	s, err := parseState(data, testICCID)
	if err != nil {
		if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrForeign) {
			t.Fatalf("error of no kind: %v", err)
		}
		return
	}
	if s.ICCID != testICCID {
		t.Fatalf("accepted ICCID %q", s.ICCID)
	}
	out, err := encodeState(s)
	if err != nil {
		t.Fatalf("encode what parsed: %v", err)
	}
	s2, err := parseState(out, testICCID)
	if err != nil {
		t.Fatalf("reparse: %v\n%s", err, out)
	}
	again, err := encodeState(s2)
	if err != nil || string(again) != string(out) {
		t.Fatalf("round trip changed the file:\n%s\n%s", out, again)
	}
}
