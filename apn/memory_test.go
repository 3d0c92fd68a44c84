package apn

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const o2IMSI = "262071234567890"

func TestRememberRecall(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state") // missing: Remember creates it
	_, cands, err := Lookup(o2IMSI)
	require.NoError(t, err)
	orig := append([]Candidate(nil), cands...)

	got, err := Recall(dir, o2IMSI, cands)
	require.NoError(t, err, "nothing remembered yet is no error")
	assert.Equal(t, cands, got)

	worked := cands[4] // FONIC's: APN shared with O2, own credentials
	require.Equal(t, "fonic", worked.Username)
	require.NoError(t, Remember(dir, o2IMSI, worked))

	got, err = Recall(dir, o2IMSI, cands)
	require.NoError(t, err)
	require.Len(t, got, len(cands), "moved, not added")
	want := worked
	want.Remembered = true
	assert.Equal(t, want, got[0])
	assert.Equal(t, brief(append(append([]Candidate{worked}, cands[:4]...), cands[5:]...)), brief(got))
	assert.Equal(t, orig, cands, "Recall leaves its argument alone")

	// One file, 0600, in a 0700 directory, named without the IMSI.
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, entries, 1)
	name := entries[0].Name()
	assert.NotContains(t, name, o2IMSI[5:])
	assert.Regexp(t, `^apn-[0-9a-f]{32}\.json$`, name)
	fi, err := os.Stat(filepath.Join(dir, name))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	di, err := os.Stat(dir)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o700), di.Mode().Perm())

	// Another SIM on the same network has its own memory.
	other := "262079999999999"
	got, err = Recall(dir, other, cands)
	require.NoError(t, err)
	assert.Equal(t, cands, got)

	// Remembering again replaces the file.
	require.NoError(t, Remember(dir, o2IMSI, NetworkDefault()))
	got, err = Recall(dir, o2IMSI, cands)
	require.NoError(t, err)
	assert.True(t, got[0].Default && got[0].Remembered)
	assert.Len(t, got, len(cands))
	entries, err = os.ReadDir(dir)
	require.NoError(t, err)
	assert.Len(t, entries, 1, "no temporary file left behind")
}

// A remembered APN the database no longer lists (or that was never in it) still goes first.
func TestRecallCandidateNotInList(t *testing.T) {
	dir := t.TempDir()
	c := Candidate{APN: "private.corp", Username: "u", Password: "p", Auth: AuthPAP, Providers: []string{"Corp"}}
	require.NoError(t, Remember(dir, o2IMSI, c))
	_, cands, err := Lookup(o2IMSI)
	require.NoError(t, err)
	got, err := Recall(dir, o2IMSI, cands)
	require.NoError(t, err)
	require.Len(t, got, len(cands)+1)
	c.Remembered = true
	assert.Equal(t, c, got[0])
	assert.Equal(t, cands, got[1:])

	got, err = Recall(dir, o2IMSI, nil)
	require.NoError(t, err)
	assert.Equal(t, []Candidate{c}, got)
}

func TestRecallCorruptFile(t *testing.T) {
	_, cands, err := Lookup(o2IMSI)
	require.NoError(t, err)
	valid := `{"version":1,"key":"KEY","db":"x","apn":"internet"}`
	tests := []struct{ name, content, why string }{
		{"garbage", "\x00\xffnot json", "invalid character"},
		{"truncated", valid[:20], "unexpected end of JSON input"},
		{"empty", "", "unexpected end of JSON input"},
		{"other version", strings.Replace(valid, `"version":1`, `"version":2`, 1), "version 2, want 1"},
		{"other SIM", strings.Replace(valid, "KEY", "0123", 1), "written for another SIM"},
		{"quote in APN", strings.Replace(valid, `"internet"`, `"inter\"net"`, 1), "APN has byte 0x22 at 5"},
		{"control byte in password", strings.Replace(valid, `"apn"`, `"password":"a\rb","apn"`, 1), "password has byte 0x0d at 1"},
		{"empty APN not default", strings.Replace(valid, `"internet"`, `""`, 1), `APN "" with default false`},
		{"unknown auth", strings.Replace(valid, `"apn"`, `"auth":"eap","apn"`, 1), `authentication "eap"`},
		{"too long", valid + strings.Repeat(" ", maxMemory), "longer than 16384 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path, key, err := memoryFile(dir, o2IMSI)
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(path, []byte(strings.Replace(tt.content, "KEY", key, 1)), 0o600))
			got, err := Recall(dir, o2IMSI, cands)
			require.ErrorIs(t, err, ErrCorruptMemory)
			assert.Contains(t, err.Error(), tt.why)
			assert.Contains(t, err.Error(), path, "the log says which file")
			assert.Equal(t, cands, got, "ignored: the candidates as Lookup gave them")

			// Remember replaces the corrupt file.
			require.NoError(t, Remember(dir, o2IMSI, cands[1]))
			got, err = Recall(dir, o2IMSI, cands)
			require.NoError(t, err)
			assert.Equal(t, cands[1].APN, got[0].APN)
		})
	}
	// The valid template is valid: the cases above fail for their one defect.
	dir := t.TempDir()
	path, key, err := memoryFile(dir, o2IMSI)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path, []byte(strings.Replace(valid, "KEY", key, 1)), 0o600))
	got, err := Recall(dir, o2IMSI, cands)
	require.NoError(t, err)
	assert.Equal(t, "internet (O2)", brief(got[:1])[0])
}

func TestMemoryErrors(t *testing.T) {
	dir := t.TempDir()
	assert.ErrorIs(t, Remember(dir, "12345", Candidate{APN: "internet"}), ErrInvalidIMSI)
	_, err := Recall(dir, "12345", nil)
	assert.ErrorIs(t, err, ErrInvalidIMSI)
	assert.ErrorContains(t, Remember(dir, o2IMSI, Candidate{APN: `a"b`}), "APN has byte 0x22")
	assert.ErrorContains(t, Remember(dir, o2IMSI, Candidate{APN: "x", Default: true}), `APN "x" with default true`)
	assert.ErrorContains(t, Remember(dir, o2IMSI, Candidate{APN: strings.Repeat("a", 101)}), "APN of 101 bytes")

	// The state directory is a file: Remember says so, Recall too (it cannot read under it).
	file := filepath.Join(dir, "file")
	require.NoError(t, os.WriteFile(file, nil, 0o600))
	assert.Error(t, Remember(file, o2IMSI, Candidate{APN: "internet"}))
	got, err := Recall(file, o2IMSI, []Candidate{NetworkDefault()})
	assert.Error(t, err)
	assert.False(t, errors.Is(err, ErrCorruptMemory))
	assert.Equal(t, []Candidate{NetworkDefault()}, got)
}
